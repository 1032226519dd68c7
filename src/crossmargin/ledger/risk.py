"""Pre-trade and pre-withdrawal margin checks.

The ledger does not know margin models; it is given a :class:`RiskCheck`, a callable that
margins a :class:`~crossmargin.portfolio.Portfolio` and returns a
:class:`~crossmargin.margin.result.MarginResult` (USD). :class:`MarginModelRiskCheck` builds one
from a margin model and the current market snapshot, which is what a service supplies.

The rule (:func:`enforce_initial_margin`): an operation is refused with
:class:`~crossmargin.ledger.errors.InsufficientMarginError` when equity after it is below the
initial margin after it. A trade that leaves the account no worse off — its margin excess
(equity − initial margin) does not fall — is always allowed, so an under-margined account can
still reduce its risk; a withdrawal never improves the excess and is always held to the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from crossmargin.core.numeric import decimal_to_float
from crossmargin.instruments import parse_instrument
from crossmargin.ledger.entries import EntryDraft
from crossmargin.ledger.errors import InsufficientMarginError
from crossmargin.ledger.rules import UncoveredDebit
from crossmargin.ledger.state import AccountHoldings, LedgerPosition
from crossmargin.margin.base import MarginModel, requirement_run
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position

__all__ = [
    "MarginCheck",
    "MarginModelRiskCheck",
    "MarginScreen",
    "RiskCheck",
    "TradePreview",
    "enforce_initial_margin",
    "holdings_portfolio",
    "portfolio_from_holdings",
]


@runtime_checkable
class RiskCheck(Protocol):
    """Anything that margins a portfolio: ``risk_check(portfolio) -> MarginResult``."""

    def __call__(self, portfolio: Portfolio) -> MarginResult:
        """Margin ``portfolio``; amounts in USD."""
        ...


@runtime_checkable
class MarginScreen(Protocol):
    """A faster proof of the rule of the module docstring, tried before the risk check:
    ``screen(check, after)`` returns True only when it has shown that the account's equity after
    the operation (``after``: its holdings then) covers its initial margin then under the risk
    check's own model — the operation passes, and the risk check is not run. False means
    "not shown" (not "refused"): the risk check then decides, as without a screen."""

    def __call__(self, check: MarginCheck, after: AccountHoldings) -> bool:
        """Whether the operation provably passes (see the class docstring)."""
        ...


class MarginCheck(StrEnum):
    """Which margin rule an operation is held to."""

    NONE = "none"
    WITHDRAWAL = "withdrawal"
    TRADE = "trade"


class MarginModelRiskCheck:
    """A :class:`RiskCheck` from a margin model and a market snapshot.

    ``market`` is a snapshot, or a zero-argument callable returning the current one (a service
    passes the accessor of its latest tick).
    """

    def __init__(
        self, model: MarginModel, market: MarketSnapshot | Callable[[], MarketSnapshot]
    ) -> None:
        self.model = model
        self._market = market
        self._run = requirement_run(model)

    def __call__(self, portfolio: Portfolio) -> MarginResult:
        """The model's margin of ``portfolio`` at the current market (its cheaper
        ``requirement`` run when it has one: the check reads no explanation)."""
        market = self._market() if callable(self._market) else self._market
        return self._run(portfolio, market)


def portfolio_from_holdings(
    balances: Mapping[str, Decimal], positions: Sequence[LedgerPosition]
) -> Portfolio:
    """The risk view of an account: sizes and entry prices cross to float64 through
    :func:`crossmargin.core.numeric.decimal_to_float`; balances stay ``Decimal``."""
    return Portfolio(
        tuple(
            Position(
                parse_instrument(p.instrument),
                decimal_to_float(p.size),
                None if p.average_price is None else decimal_to_float(p.average_price),
            )
            for p in positions
        ),
        dict(balances),
    )


def holdings_portfolio(holdings: AccountHoldings) -> Portfolio:
    """:func:`portfolio_from_holdings` of an :class:`AccountHoldings`."""
    return portfolio_from_holdings(holdings.balances, holdings.positions)


@dataclass(frozen=True, slots=True)
class TradePreview:
    """What a trade would do to an account, computed exactly as posting it would, but not
    posted (:meth:`crossmargin.ledger.Ledger.preview_trade`).

    ``entry`` holds the postings and position changes; ``before`` and ``after`` the account's
    holdings; ``uncovered`` the debits its balances would not cover (the trade would be refused
    with :class:`~crossmargin.ledger.errors.InsufficientBalanceError` when non-empty).
    """

    entry: EntryDraft
    before: AccountHoldings
    after: AccountHoldings
    uncovered: tuple[UncoveredDebit, ...]

    @property
    def portfolio_before(self) -> Portfolio:
        """The account before the trade, for a margin model."""
        return holdings_portfolio(self.before)

    @property
    def portfolio_after(self) -> Portfolio:
        """The account after the trade, for a margin model."""
        return holdings_portfolio(self.after)


def enforce_initial_margin(
    risk_check: RiskCheck,
    account_id: int,
    check: MarginCheck,
    before: Portfolio,
    after: Portfolio,
) -> None:
    """Apply the rule of the module docstring; raises :class:`InsufficientMarginError` carrying
    equity and initial margin before and after."""
    if check is MarginCheck.NONE:
        return
    result_after = risk_check(after)
    if result_after.equity >= result_after.initial_margin:
        return
    result_before = risk_check(before)
    if check is MarginCheck.TRADE and result_after.available_usd >= result_before.available_usd:
        return
    raise InsufficientMarginError(
        account_id,
        check.value,
        equity_before=result_before.equity,
        equity_after=result_after.equity,
        initial_margin_before=result_before.initial_margin,
        initial_margin_after=result_after.initial_margin,
        currency=result_after.currency,
        model=result_after.model,
    )
