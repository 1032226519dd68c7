"""The planner's margin function over a registered margin model (the slow, exact path).

:class:`ScenarioMargin` (:mod:`crossmargin.liquidation.account`) approximates a venue's model
with one matrix product, fast enough for a whole book; :class:`ModelMargin` asks the real model
(``pm``, ``cross``, ``span``, ``var``, ``derive-pmrm``, …, any
:class:`~crossmargin.margin.base.MarginModel`) for every candidate size vector instead, so the
health, the planner's "margin after closing" and the CEX rounds' "never add risk" checks are the
venue's own numbers. One model call per distinct candidate (a few milliseconds each for ``pm``):
right for one account (the CLI, the service), too slow for a book of millions.

:func:`account_under_model` builds the account and the matching function in one go: the
account's equity is the model's equity (collateral after the model's haircuts + mark value), so
health under the adapter is exactly the model's ``MarginResult`` health.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.numeric import STABLECOINS, decimal_to_float
from crossmargin.instruments import Instrument
from crossmargin.liquidation.account import AccountRisk, MarginFunction
from crossmargin.liquidation.build import account_risk
from crossmargin.liquidation.parameters import LiquidationParameters
from crossmargin.margin.base import MarginModel
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position

__all__ = ["SCENARIO_MODEL", "ModelMargin", "account_under_model"]

FloatArray = NDArray[np.float64]

#: The name that selects the fast path (:class:`ScenarioMargin`) instead of a registered model.
SCENARIO_MODEL = "scenario"


class ModelMargin:
    """A :class:`~crossmargin.liquidation.account.MarginFunction` that margins each candidate
    size vector with ``model`` at ``market``.

    Parameters
    ----------
    model:
        Any registered margin model.
    instruments:
        (n,) the account's instruments, in the order of the size vectors.
    market:
        The market to margin at.
    collateral:
        The account's balances by currency (held fixed for every candidate: closing at mark
        moves the P&L into cash, which the planner counts in equity, not in the requirement).
    average_prices:
        (n,) entry price per position (``None``: entered at mark), passed to the model.

    Results are memoised per distinct size vector on the instance (one instance per account and
    market; no state outlives it).
    """

    def __init__(
        self,
        model: MarginModel,
        instruments: Sequence[Instrument],
        market: MarketSnapshot,
        collateral: Mapping[str, Decimal],
        average_prices: Sequence[float | None] | None = None,
    ) -> None:
        self.model = model
        self.instruments = tuple(instruments)
        self.market = market
        self.collateral = dict(collateral)
        self.average_prices = tuple(average_prices or (None,) * len(self.instruments))
        self._known: dict[tuple[float, ...], tuple[float, float]] = {}

    def portfolio(self, sizes: FloatArray) -> Portfolio:
        """The portfolio holding ``sizes`` (n,) native units (zero sizes left out)."""
        positions = tuple(
            Position(instrument, float(size), price)
            for instrument, size, price in zip(
                self.instruments, sizes, self.average_prices, strict=True
            )
            if size != 0.0
        )
        return Portfolio(positions, self.collateral)

    def _one(self, sizes: FloatArray) -> tuple[float, float]:
        key = tuple(float(s) for s in sizes)
        found = self._known.get(key)
        if found is None:
            result = self.model.margin(self.portfolio(sizes), self.market)
            found = (
                decimal_to_float(result.initial_margin),
                decimal_to_float(result.maintenance_margin),
            )
            self._known[key] = found
        return found

    def __call__(self, sizes: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(IM (k,), MM (k,)) in USD ≥ 0 of each row of ``sizes`` (k, n), from the model's
        rounded-up requirements."""
        rows = np.atleast_2d(np.asarray(sizes, dtype=np.float64))
        pairs = np.array([self._one(row) for row in rows], dtype=np.float64).reshape(-1, 2)
        return pairs[:, 0].copy(), pairs[:, 1].copy()


def account_under_model(
    model: MarginModel | None,
    portfolio: Portfolio,
    market: MarketSnapshot,
    parameters: LiquidationParameters,
) -> tuple[AccountRisk, MarginFunction]:
    """One account, as the liquidation engine sees it, and its margin function.

    Parameters
    ----------
    model:
        The margin model that decides health and the planner's requirement
        (:class:`ModelMargin`), or ``None`` for the fast path (:class:`ScenarioMargin` over the
        scenarios of ``parameters``).
    portfolio:
        Positions (with entry prices) and balances.
    market:
        The market to value and liquidate at.
    parameters:
        Liquidation parameters (fees, depth, scenarios, hedge correlation).

    Returns
    -------
    (AccountRisk, MarginFunction)
        With a model, the account's ``collateral_usd`` is set so that its equity (USD) equals
        the model's equity; without one, it is the balances valued at the index (stablecoins
        at 1 USD), as the book engine counts them.
    """
    instruments = [p.instrument for p in portfolio.positions]
    sizes = np.array([p.size for p in portfolio.positions], dtype=np.float64)
    entries = np.array(
        [np.nan if p.average_price is None else p.average_price for p in portfolio.positions],
        dtype=np.float64,
    )
    if model is None:
        cash = sum(
            (
                decimal_to_float(amount) * _unit_value_usd(currency, market)
                for currency, amount in portfolio.collateral.items()
            ),
            0.0,
        )
        risk, fast = account_risk(instruments, sizes, market, cash, parameters, entries)
        scenario: MarginFunction = fast
        return risk, scenario
    risk, _ = account_risk(instruments, sizes, market, 0.0, parameters, entries)
    equity = decimal_to_float(model.margin(portfolio, market).equity)
    collateral_usd = equity - float(sizes @ risk.unit_mark_usd)
    adapter = ModelMargin(
        model,
        instruments,
        market,
        portfolio.collateral,
        [p.average_price for p in portfolio.positions],
    )
    return risk.with_state(risk.size, collateral_usd), adapter


def _unit_value_usd(currency: str, market: MarketSnapshot) -> float:
    """USD value of one unit of ``currency``: its index, 1 for a stablecoin without one."""
    if currency in market.index_usd:
        return market.index_usd[currency]
    return 1.0 if currency in STABLECOINS else 0.0
