"""Mark price, funding, stable price, on-chain timing and the replay source: hand-derived."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.oracles import (
    Bars,
    FundingParams,
    MarkPriceParams,
    OracleMode,
    OracleTiming,
    ReplaySource,
    StablePriceParams,
    average_premium,
    funding_rate,
    mark_price_path,
    observe,
    premium_index,
    stable_price_path,
)

BINANCE = FundingParams(interest_rate=0.0001, interest_clamp=0.0005, cap=0.003)


def test_mark_follows_basis_by_ema_and_stays_in_band() -> None:
    """τ = 30 s, one observation per 30 s: weight 1 − e^−1 = 0.632. Index 100, impact mid 101
    (basis 1), EMA starting at 0 at t = 0: 0.632 then 0.865. A mid of 200 at the third step:
    EMA 0.865 + 0.632 × 99.1 = 63.5, clamped to the band 10 % × 100 = 10 → mark 110."""
    params = MarkPriceParams(ema_window_s=30.0, max_basis=0.10)
    times = np.array([30.0, 60.0, 90.0])
    index = np.full(3, 100.0)
    bid = np.array([100.5, 100.5, 199.5])
    ask = np.array([101.5, 101.5, 200.5])
    path = mark_price_path(times, index, bid, ask, params, start_s=0.0)
    w = 1 - math.exp(-1)
    assert path.basis_ema_usd[0] == pytest.approx(w)
    assert path.basis_ema_usd[1] == pytest.approx(w + w * (1 - w))
    assert path.mark_usd[:2] == pytest.approx(100 + path.basis_ema_usd[:2])
    assert path.mark_usd[2] == pytest.approx(110.0)


def test_premium_index_binance_formula() -> None:
    """Impact bid 101 above index 100 → +1 %; impact ask 99 below index 100 → −1 %; inside → 0."""
    values = premium_index(
        np.array([100.0, 100.0, 100.0]),
        np.array([101.0, 98.0, 99.5]),
        np.array([102.0, 99.0, 100.5]),
    )
    assert values == pytest.approx([0.01, -0.01, 0.0])


def test_average_premium_weights_later_samples_more() -> None:
    """(1·0 + 2·0 + 3·0.003) / 6 = 0.0015."""
    assert average_premium(np.array([0.0, 0.0, 0.003])) == pytest.approx(0.0015)


@pytest.mark.parametrize(
    ("premium", "expected"),
    [
        (0.0, 0.0001),  # I − P = 0.0001 inside ±0.0005 → F = I
        (0.0003, 0.0001),  # clamp(0.0001 − 0.0003) = −0.0002 → 0.0001
        (0.001, 0.0005),  # clamp(−0.0009) = −0.0005 → 0.0005
        (-0.002, -0.0015),  # clamp(0.0021) = 0.0005 → −0.0015
        (-0.01, -0.003),  # −0.0095 capped at −0.3 %
        (0.02, 0.003),  # 0.0195 capped at +0.3 %
    ],
)
def test_funding_rate_with_clamp_and_cap(premium: float, expected: float) -> None:
    assert funding_rate(premium, BINANCE) == pytest.approx(expected)


def test_stable_price_grows_at_most_at_its_limit() -> None:
    """1e-3 per s over 10 s steps: at most ×e^0.01 per step; a jump to 10 gives 1·e^0.01."""
    params = StablePriceParams(max_growth_per_s=1e-3)
    stable = stable_price_path(np.array([0.0, 10.0, 20.0]), np.array([1.0, 10.0, 10.0]), params)
    assert stable == pytest.approx([1.0, math.exp(0.01), math.exp(0.02)])
    falling = stable_price_path(np.array([0.0, 10.0]), np.array([1.0, 0.999]), params)
    assert falling[1] == pytest.approx(0.999)


def test_on_chain_updates_per_block_with_lag() -> None:
    """Updates at 0, 5, 13, 25 s (prices 1..4). 12-s blocks: at 14 s the current block started
    at 12 s → sees the update of 5 s (price 2); with one block of lag it sees block 0 → price 1
    (at 30 s: block 12 → price 2)."""
    times = np.array([0.0, 5.0, 13.0, 25.0])
    prices = np.array([1.0, 2.0, 3.0, 4.0])
    queries = np.array([14.0, 24.5, 30.0])
    seen, age = observe(times, prices, queries, OracleTiming(OracleMode.ON_CHAIN, 12.0, 0))
    assert seen == pytest.approx([2.0, 3.0, 3.0])
    assert age == pytest.approx([9.0, 11.5, 17.0])
    lagged, _ = observe(times, prices, queries, OracleTiming(OracleMode.ON_CHAIN, 12.0, 1))
    assert lagged == pytest.approx([1.0, 2.0, 2.0])
    continuous, _ = observe(times, prices, queries, OracleTiming())
    assert continuous == pytest.approx([3.0, 3.0, 4.0])
    fast, _ = observe(times, prices, queries, OracleTiming("on-chain", 2.0, 0))
    assert fast == pytest.approx([3.0, 3.0, 4.0])


def test_timing_rejects_negative_lag() -> None:
    with pytest.raises(InputError, match=r"timing\.lag_blocks"):
        OracleTiming(OracleMode.ON_CHAIN, 12.0, -1)


def test_replay_source_publishes_last_closed_bar() -> None:
    opens = np.array(["2024-01-01T00:00", "2024-01-01T04:00"], dtype="datetime64[s]")
    closes = np.array([100.0, 110.0])
    bars = Bars("BTC", opens, 14_400, closes, closes, closes, closes)
    source = ReplaySource("binance-4h", {"BTC": bars})
    assert source.quotes("BTC", datetime(2024, 1, 1, 3, 59, tzinfo=UTC)) == ()
    (quote,) = source.quotes("BTC", datetime(2024, 1, 1, 7, tzinfo=UTC))
    assert quote.price_usd == 100.0 and quote.published_at == datetime(2024, 1, 1, 4, tzinfo=UTC)
    (last,) = source.quotes("BTC", datetime(2024, 1, 2, tzinfo=UTC))
    assert last.price_usd == 110.0
    assert source.quotes("ETH", datetime(2024, 1, 2, tzinfo=UTC)) == ()
