"""Hypothesis strategies the property tests share."""

from __future__ import annotations

from hypothesis import strategies as st

from crossmargin.market import MarketSnapshot, VolSurface
from support.markets import NOW

__all__ = ["flat_markets"]


def flat_markets(
    btc_usd: tuple[float, float] = (40_000.0, 90_000.0),
    eth_usd: tuple[float, float] = (2_000.0, 5_000.0),
    rate_annual: tuple[float, float] = (0.0, 0.08),
    vol_annual: tuple[float, float] = (0.25, 1.2),
) -> st.SearchStrategy[MarketSnapshot]:
    """BTC and ETH markets at :data:`~support.markets.NOW` with flat vol surfaces, each input
    drawn uniformly from its (low, high) range: index prices in USD, the continuously
    compounded rate, one vol per asset (0.6 = 60 %)."""

    @st.composite
    def markets(draw: st.DrawFn) -> MarketSnapshot:
        return MarketSnapshot(
            valuation_time=NOW,
            index_usd={"BTC": draw(st.floats(*btc_usd)), "ETH": draw(st.floats(*eth_usd))},
            rate_annual=draw(st.floats(*rate_annual)),
            vol_surfaces={
                "BTC": VolSurface.flat(draw(st.floats(*vol_annual))),
                "ETH": VolSurface.flat(draw(st.floats(*vol_annual))),
            },
        )

    return markets()
