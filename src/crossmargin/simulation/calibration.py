"""Checking the cascade's liquidity against real cascade days.

A replay takes one real day (2020-03-12, 2021-05-19, 2022-11-09: venues.md "Cascade days"), its
liquidity the 30 days before (:func:`~crossmargin.simulation.liquidity.liquidity_from_daily`),
and starts the cascade from a real move, the rest of the day left to the cascade:

* ``start="first_bar"`` — the first 4-hour bar's close against the previous day's close;
* ``start="close"`` — the whole day's close-to-close move at once; the cascade's trough is then
  compared with the day's low (the intraday overshoot below the close is where forced selling
  shows).

The simulated end move and trough are set against the real close and low, and the liquidated
notional (book USD × :meth:`MarketLiquidity.real_usd_per_book_usd`) against the published lower
bound of the day (venues.md). Everything is passed in (bars as arrays): the library does not look
for the data set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from crossmargin.core.errors import InputError
from crossmargin.simulation.liquidity import (
    DEFAULT_VENUE_SHARE,
    DailyBars,
    MarketLiquidity,
    liquidity_from_daily,
)
from crossmargin.simulation.sweep import (
    BookLike,
    Scenario,
    ScenarioOutcome,
    _table,
    book_gross_delta_usd,
    run_scenario,
)
from crossmargin.simulation.venues import VenueMode

__all__ = [
    "PUBLISHED_LIQUIDATIONS_USD",
    "ReplayDay",
    "ReplayOutcome",
    "replay_day",
    "run_replay",
]

#: Published lower bounds of a day's liquidations, USD (venues.md "Cascade days"; several
#: secondary sources): 2020-03-12 > $700M in BitMEX's first leg, 2021-05-19 > $8.6B in 24 h,
#: 2022-11-08 > $846M (the FTX week's figure, set against 2022-11-09).
PUBLISHED_LIQUIDATIONS_USD = {"2020-03-12": 700e6, "2021-05-19": 8.6e9, "2022-11-09": 846e6}


@dataclass(frozen=True)
class ReplayDay:
    """A real day per market: relative moves against the previous day's close (−0.1 = −10 %)
    of the first 4-hour bar's close, the day's low and its close, and the liquidity before."""

    day: str
    first_bar_move: Mapping[str, float]
    low_move: Mapping[str, float]
    close_move: Mapping[str, float]
    liquidity: MarketLiquidity


def replay_day(
    day: str,
    daily: Mapping[str, DailyBars],
    first_bar_close_usd: Mapping[str, float],
    impact_y: float = 1.0,
    venue_share: float = DEFAULT_VENUE_SHARE,
) -> ReplayDay:
    """The :class:`ReplayDay` of ``day`` from daily bars (previous close, low, close, liquidity)
    and the close of the day's first 4-hour bar per market (USD)."""
    first, low, close = {}, {}, {}
    for market, bars in daily.items():
        i = bars.index(day)
        previous = float(bars.close_usd[i - 1])
        if market not in first_bar_close_usd:
            raise InputError("first_bar_close_usd", sorted(first_bar_close_usd),
                             f"must give {market}")  # fmt: skip
        first[market] = float(first_bar_close_usd[market]) / previous - 1.0
        low[market] = float(bars.low_usd[i]) / previous - 1.0
        close[market] = float(bars.close_usd[i]) / previous - 1.0
    liquidity = liquidity_from_daily(daily, day, impact_y, venue_share)
    return ReplayDay(day, first, low, close, liquidity)


@dataclass(frozen=True, eq=False)
class ReplayOutcome:
    """A replay's cascade and its comparison numbers (moves relative, notional USD)."""

    replay: ReplayDay
    start: str
    outcome: ScenarioOutcome
    real_usd_per_book_usd: float

    def simulated_end(self, market: str) -> float:
        """Simulated end price over the previous close − 1."""
        return self.outcome.result.price_move(market)

    def simulated_trough(self, market: str) -> float:
        """Lowest simulated price over the previous close − 1."""
        k = self.outcome.result.markets.index(market)
        prices = self.outcome.result.prices[:, k]
        return float(prices.min() / prices[0] - 1.0)

    @property
    def liquidated_real_usd(self) -> float:
        """Liquidated notional in real USD (book USD × :attr:`real_usd_per_book_usd`)."""
        return self.outcome.result.total("liquidated_notional_usd") * self.real_usd_per_book_usd


def run_replay(
    book: BookLike,
    replay: ReplayDay,
    model: str = "cross",
    start: str = "first_bar",
    mode: VenueMode = VenueMode.CEX,
    fund_usd: float = 1_000_000.0,
    max_rounds: int = 240,
    **scenario_options: object,
) -> ReplayOutcome:
    """Run ``book`` through ``replay`` from its first bar's move (``start="first_bar"``) or its
    close-to-close move (``"close"``), BTC and ETH at once; the cascade runs until it stops or
    ``max_rounds`` (240 one-minute rounds: four hours)."""
    if start not in ("first_bar", "close"):
        raise InputError("start", start, "must be first_bar or close")
    moves = replay.first_bar_move if start == "first_bar" else replay.close_move
    markets = tuple(sorted(replay.liquidity.daily_vol))
    row = np.array([[float(np.log1p(moves.get(m, 0.0))) for m in markets]])
    scenario = Scenario(
        f"replay {replay.day} {start} {model}", markets, row, model=model, mode=mode,
        fund_usd=fund_usd, liquidity=replay.liquidity, max_rounds=max_rounds,
    )  # fmt: skip
    if scenario_options:
        scenario = replace(scenario, **scenario_options)  # type: ignore[arg-type]
    outcome = run_scenario(book, scenario)
    gross = book_gross_delta_usd(_table(book))
    return ReplayOutcome(replay, start, outcome, replay.liquidity.real_usd_per_book_usd(gross))
