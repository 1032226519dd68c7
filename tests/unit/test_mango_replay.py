"""A replay of the Mango Markets attack of 11 Oct 2022 (shared/reference/venues.md): MNGO from
$0.038 to as high as $0.91 within minutes on the few venues the attacker bought on (Mango spot,
AscendEX, FTX), 483M MNGO of exposure, about $110–116M borrowed against the inflated collateral.

The path is synthetic but shaped by those figures: 30 minutes at 10-second steps, the three venues
ramping geometrically from 0.038 to 0.91 between minute 5 and minute 15. Two oracle set-ups:

* **minority** — four deeper venues (hypothetical, seeded noise around 0.038) also quote: the
  median of seven ignores the three spiked ones, and the MNGO-PERP mark, whose own thin book is
  spiked too, stays within the 10 % band of that index;
* **majority** — only the spiked venues quote MNGO, as in 2022: the index follows the spike, but
  the growth-limited stable price bounds the collateral value, and the size-scaled weight caps what
  483M MNGO can borrow near its pre-attack level.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from crossmargin.collateral.dynamic import DynamicHaircutParams, SizeScaling, dynamic_haircut
from crossmargin.oracles import (
    MarkPriceParams,
    OraclePolicy,
    Quote,
    StablePriceParams,
    aggregate,
    asset_price,
    mark_price_path,
    stable_price_path,
)

START = datetime(2022, 10, 11, 22, 0, tzinfo=UTC)
TIMES_S = np.arange(0.0, 1800.0 + 1, 10.0)
CALM_USD, PEAK_USD = 0.038, 0.91
HOLDING_MNGO = 483e6
SPIKED = ("mango-spot", "ascendex", "ftx")
DEEP = ("venue-d", "venue-e", "venue-f", "venue-g")
POLICY = OraclePolicy(max_age_s=60.0, max_deviation=0.02, min_sources=2)
MARK = MarkPriceParams(ema_window_s=30.0, max_basis=0.10)
STABLE = StablePriceParams(max_growth_per_s=1e-4)
#: MNGO as collateral: a 20 % base haircut, no vol term (to isolate the size term), the
#: square-root size scaling against $1M of depth (crossmargin assumptions for a thin token).
MNGO = DynamicHaircutParams(0.2, 0.0, 0.2, SizeScaling.SQRT, 1.0)
MNGO_DEPTH_USD = 1e6


def spiked_path() -> np.ndarray:
    """0.038 until 300 s, geometric ramp to 0.91 at 900 s, then held."""
    fraction = np.clip((TIMES_S - 300.0) / 600.0, 0.0, 1.0)
    return CALM_USD * (PEAK_USD / CALM_USD) ** fraction


def index_path(sources: tuple[str, ...]) -> np.ndarray:
    rng = np.random.default_rng(20221011)
    spiked = spiked_path()
    prices = []
    for k, seconds in enumerate(TIMES_S):
        now = START + timedelta(seconds=float(seconds))
        quotes = [Quote(name, float(spiked[k]), now) for name in SPIKED]
        quotes += [
            Quote(name, CALM_USD * (1 + 0.002 * float(rng.standard_normal())), now)
            for name in sources
        ]
        result = aggregate(quotes, now, POLICY)
        assert result.price_usd is not None
        prices.append(result.price_usd)
    return np.array(prices)


def test_minority_spike_leaves_index_and_mark_bounded() -> None:
    index = index_path(DEEP)
    assert np.all(np.abs(index / CALM_USD - 1) < 0.01)
    book = spiked_path()
    mark = mark_price_path(TIMES_S, index, book * 0.99, book * 1.01, MARK).mark_usd
    assert mark.max() <= 1.10 * index.max() + 1e-12
    assert mark.max() < 0.0425  # vs a perp book at 0.91
    collateral_usd = HOLDING_MNGO * mark.max()
    assert collateral_usd < 20.6e6  # vs 483M × 0.91 = $439.5M at the book price


def test_majority_spike_stable_price_and_size_weights_cap_borrowing() -> None:
    index = index_path(())
    assert index.max() == pytest.approx(PEAK_USD)
    stable = stable_price_path(TIMES_S, index, STABLE)
    valued = asset_price(index, stable)
    # 1500 s of growth at 1e-4/s at most: ×e^0.15 = ×1.162 → 0.0442 USD.
    assert valued.max() <= CALM_USD * np.exp(1e-4 * 1500) * (1 + 1e-12)
    holding_usd = HOLDING_MNGO * valued
    naive = HOLDING_MNGO * index * (1 - MNGO.base)
    size_only = (
        HOLDING_MNGO
        * index
        * (1 - dynamic_haircut(MNGO, 0.0, HOLDING_MNGO * index, MNGO_DEPTH_USD).total)
    )
    both = holding_usd * (1 - dynamic_haircut(MNGO, 0.0, holding_usd, MNGO_DEPTH_USD).total)
    before = both[0]
    # naive: 483M × 0.91 × 0.8 = $351.6M; size-scaled at 0.91: w = 2 / (1 + √440.5) → $40.0M;
    # stable price and size weights: ≈ $7.5M against $6.8M before the attack.
    assert naive.max() == pytest.approx(351.6e6, rel=1e-3)
    assert size_only.max() == pytest.approx(39.96e6, rel=1e-2)
    assert before == pytest.approx(6.80e6, rel=1e-2)
    assert both.max() <= 1.2 * before
    assert both.max() < 110e6 / 10  # a tenth of what was borrowed in 2022
