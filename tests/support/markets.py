"""The markets, times and files the tests share, defined once.

The example portfolios (``examples/*.toml``) are valued at :data:`NOW`, the 2024-03-11 15:17 UTC
snapshot of the real Deribit BTC chain in ``shared/data/options`` (see its README), with BTC at
72,000 USD and ETH at 4,000 USD on flat vols of 60 % and 70 %: :data:`MARKET` is that market.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from crossmargin.market import MarketSnapshot, VolSurface

__all__ = [
    "EXAMPLES",
    "EXAMPLE_FILES",
    "MARKET",
    "NOW",
    "REPOSITORY",
    "flat_market",
    "t_years_to",
]

#: The repository's root folder.
REPOSITORY = Path(__file__).resolve().parents[2]

#: ``examples/``, and its portfolio files in name order.
EXAMPLES = REPOSITORY / "examples"
EXAMPLE_FILES = tuple(sorted(EXAMPLES.glob("*.toml")))

#: Valuation time of the examples and of most hand-derived tests (ACT/365 from here).
NOW = datetime(2024, 3, 11, 15, 17, tzinfo=UTC)


def flat_market(
    index_usd: Mapping[str, float] | None = None,
    vols_annual: Mapping[str, float] | None = None,
    rate_annual: float = 0.0,
    valuation_time: datetime = NOW,
) -> MarketSnapshot:
    """A snapshot with flat vol surfaces: by default BTC 72,000 USD at 60 % and ETH 4,000 USD at
    70 %, rate 0, at :data:`NOW`. ``vols_annual`` names the assets that get a surface."""
    index = {"BTC": 72_000.0, "ETH": 4_000.0} if index_usd is None else dict(index_usd)
    vols = {"BTC": 0.6, "ETH": 0.7} if vols_annual is None else dict(vols_annual)
    return MarketSnapshot(
        valuation_time=valuation_time,
        index_usd=index,
        rate_annual=rate_annual,
        vol_surfaces={asset: VolSurface.flat(vol) for asset, vol in vols.items()},
    )


#: The examples' market: BTC 72,000 (60 %), ETH 4,000 (70 %), rate 0, at :data:`NOW`.
MARKET = flat_market()
#: :data:`MARKET` moved: BTC 66,000 (70 %), ETH 3,700 (80 %), rate 0, at :data:`NOW`.
MOVED_MARKET = flat_market({"BTC": 66_000.0, "ETH": 3_700.0}, {"BTC": 0.7, "ETH": 0.8})


def t_years_to(expiry: datetime, now: datetime = NOW) -> float:
    """ACT/365 years from ``now`` to ``expiry`` (to the second)."""
    return (expiry - now).total_seconds() / 86_400.0 / 365.0
