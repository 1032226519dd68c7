"""The ledger's initial-margin rule shown with the live desk's book engine.

The ledger holds every user withdrawal and trade to its rule (equity after ≥ initial margin
after, :mod:`crossmargin.ledger.risk`) under the enforced model, here ``pm``. A single-account
``pm`` run costs about a millisecond; the book engine gives the same initial margin from the
account's positions and coin balances in tens of microseconds
(:meth:`~crossmargin.service.book_state.BookState.initial_margin_of`).
:class:`EngineMarginScreen` is the ledger's :class:`~crossmargin.ledger.risk.MarginScreen`:

* the account's equity after the operation is the model's own valuation
  (:func:`~crossmargin.portfolio.portfolio_equity_usd` with the model's haircuts, ``Decimal``
  USD: the equity of :func:`~crossmargin.portfolio.value_portfolio`, without the Greeks);
* its initial margin after is the engine's, where the engine gives the model's number;
* the operation is shown to pass when equity ≥ IM × (1 + :data:`RELATIVE_MARGIN`) +
  :data:`ABSOLUTE_MARGIN_USD`: the engine agrees with the model to 1e-9 relative and the model
  rounds each of its components up to 1e-6 USD, so such an operation passes the model's check.

Everything else — an operation closer to its limit, one the engine cannot margin exactly, a
refusal — goes to the model, which decides and words any refusal exactly as before. The screen
therefore never changes a decision; it only skips the model run where the answer is certain.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeGuard

from crossmargin.collateral import HaircutSchedule
from crossmargin.ledger.risk import MarginCheck, holdings_portfolio
from crossmargin.ledger.state import AccountHoldings
from crossmargin.margin.base import MarginModel
from crossmargin.margin.pm import PortfolioMargin
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import portfolio_equity_usd
from crossmargin.service.book_state import BookState

__all__ = ["ABSOLUTE_MARGIN_USD", "RELATIVE_MARGIN", "EngineMarginScreen", "engine_matches"]

_LOG = logging.getLogger(__name__)

#: Relative headroom above the engine's IM before the screen lets an operation through: the
#: engine equals the model to 1e-9, a thousand times inside this.
RELATIVE_MARGIN = 1e-6
#: Absolute headroom (USD): above the model's rounding of each component up to 1e-6 USD.
ABSOLUTE_MARGIN_USD = 0.01


def engine_matches(model: MarginModel) -> TypeGuard[PortfolioMargin]:
    """Whether the live desk's book engine (``pm``, the shipped parameters) margins as
    ``model`` does: ``model`` is :class:`PortfolioMargin` with those same parameters."""
    return isinstance(model, PortfolioMargin) and model.parameters == load_pm_parameters()


class EngineMarginScreen:
    """The ledger's margin screen on the live desk's book engine (see the module docstring).

    Parameters
    ----------
    book:
        The live desk's risk state.
    market:
        The current market, as the ledger's risk check reads it.
    haircuts:
        The enforced model's collateral haircuts (its equity).
    """

    def __init__(
        self,
        book: BookState,
        market: Callable[[], MarketSnapshot],
        haircuts: HaircutSchedule,
    ) -> None:
        self._book = book
        self._market = market
        self._haircuts = haircuts
        self._lock = threading.Lock()
        #: Operations shown to pass by the engine (the model was not run).
        self.shown = 0
        #: Operations handed to the model (not shown: near the limit, refused, or not exact).
        self.deferred = 0

    def __call__(self, check: MarginCheck, after: AccountHoldings) -> bool:
        """Whether the operation that leaves the account holding ``after`` provably passes
        the initial-margin rule (``check`` is a withdrawal's or a trade's: the rule on the
        state after is the same for both)."""
        shown = check is not MarginCheck.NONE and self._shows(after)
        with self._lock:
            if shown:
                self.shown += 1
            else:
                self.deferred += 1
        return shown

    def _shows(self, after: AccountHoldings) -> bool:
        market = self._market()
        try:
            initial = self._book.initial_margin_of(after.positions, after.balances, market)
        except Exception:  # the screen only ever spares the model a run: it never refuses
            _LOG.exception("margin screen: the engine failed; the model decides")
            return False
        if initial is None:
            return False
        equity = float(portfolio_equity_usd(holdings_portfolio(after), market, self._haircuts))
        return equity >= initial * (1.0 + RELATIVE_MARGIN) + ABSOLUTE_MARGIN_USD
