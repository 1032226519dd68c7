"""Risk arrays from our pricing: the 16 CME scenarios on a single future and a short call."""

from __future__ import annotations

from datetime import UTC, datetime
from math import log, sqrt

import numpy as np
import pytest
from scipy.stats import norm

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_instrument
from crossmargin.margin.span.arithmetic import scan_risk
from crossmargin.margin.span.risk_arrays import risk_arrays_usd, scenario_moves
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.pricing import instrument_arrays
from support.markets import NOW

EXPIRY = datetime(2024, 3, 29, 8, tzinfo=UTC)
MARKET = MarketSnapshot(
    valuation_time=NOW, index_usd={"BTC": 60_000.0}, vol_surfaces={"BTC": VolSurface.flat(0.5)}
)


def _arrays(*names: str, entries: list[float | None] | None = None):  # type: ignore[no-untyped-def]
    return instrument_arrays([parse_instrument(n) for n in names], MARKET, entries)


def _black_call(forward: float, strike: float, vol: float) -> float:
    t_years = (EXPIRY - NOW).total_seconds() / (365 * 86_400)
    d1 = (log(forward / strike) + 0.5 * vol * vol * t_years) / (vol * sqrt(t_years))
    d2 = d1 - vol * sqrt(t_years)
    return forward * norm.cdf(d1) - strike * norm.cdf(d2)


def test_scenario_moves_per_instrument() -> None:
    """Range 0.15 and 0.30 for two instruments: scenario 3 moves +5 % / +10 %, scenario 16 −30 % /
    −60 %; vol range 0.1: +0.1, −0.1 …, 0 for 15–16."""
    moves, shifts = scenario_moves(np.array([0.15, 0.30]), np.array([0.1, 0.1]))
    assert moves.shape == (16, 2)
    assert moves[2] == pytest.approx([0.05, 0.10])
    assert moves[15] == pytest.approx([-0.30, -0.60])
    assert shifts[:, 0].tolist() == pytest.approx([0.1, -0.1] * 7 + [0.0, 0.0])
    with pytest.raises(InputError, match="price_scan_range"):
        scenario_moves(0.5, 0.1)


def test_linear_perpetual_hand_example() -> None:
    """+1 BTC of BTC_USDC-PERPETUAL at S = 60,000, range 15 %: 1/3 of the range is 3,000 USD, so
    losses are 0, 0, −3,000, −3,000, +3,000, +3,000, −6,000, −6,000, +6,000, +6,000, −9,000,
    −9,000, +9,000, +9,000, then 0.35 × ∓18,000 = −6,300, +6,300. Scan 9,000 at scenario 13."""
    losses = risk_arrays_usd(_arrays("BTC_USDC-PERPETUAL", entries=[60_000.0]), 0.15, 0.10)[0]
    expected = [
        0,
        0,
        -3000,
        -3000,
        3000,
        3000,
        -6000,
        -6000,
        6000,
        6000,
        -9000,
        -9000,
        9000,
        9000,
        -6300,
        6300,
    ]
    assert losses == pytest.approx(expected, abs=1e-7)
    result = scan_risk(losses)
    assert (result.scan_risk, result.worst_scenario) == (pytest.approx(9000.0), 13)


def test_inverse_perpetual_per_usd_of_face() -> None:
    """BTC-PERPETUAL per USD of face entered at 60,000: value (1/E − 1/S')·S' = S'/E − 1, so the
    loss per USD of face in scenario 11 is −0.15 and in 16 is +0.35 × 0.30 = 0.105."""
    losses = risk_arrays_usd(_arrays("BTC-PERPETUAL", entries=[60_000.0]), 0.15, 0.10)[0]
    assert losses[10] == pytest.approx(-0.15)
    assert losses[15] == pytest.approx(0.105)


def test_short_call_hand_example() -> None:
    """Short 1 BTC-29MAR24-60000-C (inverse; rate 0 so F = S and the USD value is the Black-76
    price), σ = 50 %, range 15 %, vol range 10 points, t = 17.70 days = 0.0484836 y.
    C0 = C(60,000; 50 %) = 2,633.96. Short loss = C(scenario) − C0:
    scenario 1 (vol up): +526.09; 2 (vol down): −526.41; 11 (F 69,000, σ 60 %): +6,998.68;
    13 (F 51,000, σ 60 %): −2,249.24; 15: 0.35 × (C(78,000; 50 %) − C0) = +5,385.65.
    Scan 6,998.68 at scenario 11 (price up 3/3, vol up)."""
    arrays = _arrays("BTC-29MAR24-60000-C")
    losses = -risk_arrays_usd(arrays, 0.15, 0.10)[0]
    c0 = _black_call(60_000, 60_000, 0.5)
    assert c0 == pytest.approx(2633.96, abs=0.01)
    moves = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 2, -2]
    vols = [0.1, -0.1] * 7 + [0.0, 0.0]
    weights = [1.0] * 14 + [0.35, 0.35]
    expected = [
        w * (_black_call(60_000 * (1 + 0.15 * m), 60_000, 0.5 + v) - c0)
        for m, v, w in zip(moves, vols, weights, strict=True)
    ]
    assert losses == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert losses[[0, 1, 10, 12, 14]] == pytest.approx(
        [526.0906, -526.4095, 6998.6821, -2249.2368, 5385.6493], abs=1e-3
    )
    result = scan_risk(losses)
    assert result.worst_scenario == 11
    assert result.scan_risk == pytest.approx(6998.6821, abs=1e-3)


def test_look_ahead_time_decays_a_long_option() -> None:
    """With one day of look-ahead a long call loses theta even in scenarios 1–2 on average:
    (L1 + L2)/2 > 0, while without it the average is the small vol convexity only."""
    arrays = _arrays("BTC-29MAR24-60000-C")
    with_time = risk_arrays_usd(arrays, 0.15, 0.10, look_ahead_days=1.0)[0]
    without = risk_arrays_usd(arrays, 0.15, 0.10)[0]
    assert (with_time[0] + with_time[1]) / 2 > (without[0] + without[1]) / 2 + 50.0
