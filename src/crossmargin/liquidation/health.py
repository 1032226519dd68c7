"""Health of every account at once, and where one account goes bankrupt or liquidatable.

* :func:`book_health` — the health state, both ratios, the liquidatable mask and the
  deterministic liquidation order of all accounts of a :class:`~crossmargin.engine.BookEngine`
  (arrays; the rules are :mod:`crossmargin.margin.health`'s, written once there);
* :func:`account_bankruptcy_prices` — per underlying, the index price at which the account's
  equity reaches 0 (every other price fixed), beside the liquidation price (equity = MM) of
  :func:`crossmargin.margin.liquidation_price.account_liquidation_prices`;
* :func:`distances_to_liquidation` — both as relative moves from the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from crossmargin.core.errors import CrossmarginError
from crossmargin.engine import BookMarginResult
from crossmargin.margin.base import MarginModel
from crossmargin.margin.health import (
    DEFAULT_HEALTH_BANDS,
    HEALTH_STATES,
    HealthBands,
    HealthState,
    equity_to_maintenance,
    health_codes,
    is_liquidatable,
    margin_ratio,
)
from crossmargin.margin.liquidation_price import account_liquidation_prices
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = [
    "BookHealth",
    "UnderlyingDistance",
    "account_bankruptcy_prices",
    "book_health",
    "distances_to_liquidation",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_LIQUIDATABLE = HEALTH_STATES.index(HealthState.LIQUIDATABLE)
_DOWN = (
    -0.01,
    -0.02,
    -0.04,
    -0.07,
    -0.1,
    -0.15,
    -0.2,
    -0.3,
    -0.4,
    -0.5,
    -0.6,
    -0.7,
    -0.8,
    -0.9,
    -0.95,
    -0.99,
)
_UP = (0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


@dataclass(frozen=True, eq=False)
class BookHealth:
    """Health of every account (index = account).

    Attributes
    ----------
    codes:
        (n,) int8 indices into :data:`crossmargin.margin.health.HEALTH_STATES`.
    equity_to_maintenance:
        (n,) equity / MM, the band quantity (``inf`` with no MM and equity > 0).
    margin_ratio:
        (n,) MM / equity (Deribit's convention; > 1 is liquidatable).
    liquidatable:
        (n,) the hard breach, equity < MM with MM > 0.
    shortfall_to_initial_usd:
        (n,) max(0, IM − equity), USD: what a liquidation must recover to restore IM.
    liquidation_order:
        Accounts in the liquidatable or bankrupt band with margin due, most underwater first
        (highest margin ratio; ties by account index): the order a book-wide pass takes
        (dYdX liquidates the most underwater first, venues.md).
    """

    codes: NDArray[np.int8]
    equity_to_maintenance: FloatArray
    margin_ratio: FloatArray
    liquidatable: NDArray[np.bool_]
    shortfall_to_initial_usd: FloatArray
    liquidation_order: IntArray

    def state(self, account: int) -> HealthState:
        """The :class:`HealthState` of ``account``."""
        return HEALTH_STATES[int(self.codes[account])]

    def counts(self) -> dict[HealthState, int]:
        """How many accounts are in each state."""
        tally = np.bincount(self.codes.astype(np.int64), minlength=len(HEALTH_STATES))
        return {state: int(tally[i]) for i, state in enumerate(HEALTH_STATES)}


def book_health(
    equity_usd: ArrayLike | BookMarginResult,
    maintenance_margin_usd: ArrayLike | None = None,
    initial_margin_usd: ArrayLike | None = None,
    bands: HealthBands = DEFAULT_HEALTH_BANDS,
) -> BookHealth:
    """Health of many accounts from their equity and requirements (USD float arrays) or from a
    :class:`BookMarginResult` (``engine.margin_all()``) passed as the first argument.

    Worked example: equity (100, 100, 100, −5) against MM (50, 90, 99.9, 10) and IM (60, 110,
    120, 12): equity / MM = 2.0, 1.111, 1.001, −0.5 → healthy, reduce-only, liquidatable,
    bankrupt; liquidatable (hard breach) only the last; shortfall to IM 0, 10, 20, 17; order
    [3, 2] (margin ratio ∞, then 0.999).
    """
    if isinstance(equity_usd, BookMarginResult):
        result = equity_usd
        equity = np.asarray(result.equity, dtype=np.float64)
        maintenance = np.asarray(result.maintenance_margin, dtype=np.float64)
        initial = np.asarray(result.initial_margin, dtype=np.float64)
    else:
        if maintenance_margin_usd is None:
            raise CrossmarginError("book_health needs maintenance_margin_usd with equity arrays")
        equity = np.asarray(equity_usd, dtype=np.float64)
        maintenance = np.asarray(maintenance_margin_usd, dtype=np.float64)
        initial = maintenance if initial_margin_usd is None else np.asarray(initial_margin_usd)
    codes = health_codes(equity, maintenance, bands)
    ratio = margin_ratio(maintenance, equity)
    in_band = (codes >= _LIQUIDATABLE) & (maintenance > 0)
    candidates = np.flatnonzero(in_band)
    order = candidates[np.lexsort((candidates, -ratio[candidates]))].astype(np.int64)
    return BookHealth(
        codes=codes,
        equity_to_maintenance=equity_to_maintenance(equity, maintenance),
        margin_ratio=ratio,
        liquidatable=np.asarray(is_liquidatable(equity, maintenance)),
        shortfall_to_initial_usd=np.maximum(initial.astype(np.float64) - equity, 0.0),
        liquidation_order=order,
    )


def _nearest_root(
    value_at: Callable[[float], float | None], moves: tuple[float, ...]
) -> float | None:
    """The move nearest 0 along ``moves`` where ``value_at`` (positive at 0) reaches 0."""
    inside = 0.0
    for move in moves:
        value = value_at(move)
        if value is None:
            return None
        if value <= 0.0:
            if value == 0.0:
                return move
            low, high = sorted((inside, move))

            def scalar(x: float) -> float:
                found = value_at(x)
                return -1.0 if found is None else found

            return float(brentq(scalar, low, high, xtol=1e-9, rtol=1e-10))
        inside = move
    return None


@dataclass(frozen=True, slots=True)
class UnderlyingDistance:
    """Where one underlying's index makes the account liquidatable, then bankrupt.

    Prices are USD per coin (``None``: not within −99 % … +1,000 %); moves are relative to
    ``index_usd`` (−0.12 = a 12 % fall).
    """

    underlying: str
    index_usd: float
    liquidation_below_usd: float | None
    liquidation_above_usd: float | None
    bankruptcy_below_usd: float | None
    bankruptcy_above_usd: float | None

    @property
    def distance_to_liquidation(self) -> float | None:
        """The smaller |move| to a liquidation price (signed), or ``None``."""
        moves = [
            p / self.index_usd - 1.0
            for p in (self.liquidation_below_usd, self.liquidation_above_usd)
            if p is not None
        ]
        return min(moves, key=abs) if moves else None


def account_bankruptcy_prices(
    model: MarginModel, portfolio: Portfolio, market: MarketSnapshot
) -> dict[str, tuple[float | None, float | None]]:
    """Per underlying held, the nearest index price below and above at which equity = 0.

    The underlying's index, forwards and coin collateral move together, vols are held, and the
    model revalues the account at each move (as the liquidation price does); an account already
    at equity ≤ 0 reports the index on both sides.
    """
    prices: dict[str, tuple[float | None, float | None]] = {}
    for underlying in portfolio.underlyings:
        index = market.index(underlying)

        def equity_at(move: float, u: str = underlying) -> float | None:
            try:
                moved = market.shocked({u: move}) if move else market
                return float(model.margin(portfolio, moved).equity)
            except CrossmarginError:
                return None

        now = equity_at(0.0)
        if now is None or now <= 0.0:
            prices[underlying] = (index, index)
            continue
        down, up = _nearest_root(equity_at, _DOWN), _nearest_root(equity_at, _UP)
        prices[underlying] = (
            None if down is None else index * (1.0 + down),
            None if up is None else index * (1.0 + up),
        )
    return prices


def distances_to_liquidation(
    model: MarginModel, portfolio: Portfolio, market: MarketSnapshot
) -> tuple[UnderlyingDistance, ...]:
    """Liquidation and bankruptcy prices of every underlying held, sorted by name."""
    bankrupt = account_bankruptcy_prices(model, portfolio, market)
    return tuple(
        UnderlyingDistance(
            price.underlying,
            price.index_usd,
            price.below_usd,
            price.above_usd,
            *bankrupt[price.underlying],
        )
        for price in account_liquidation_prices(model, portfolio, market)
    )
