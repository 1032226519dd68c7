"""Deribit-style portfolio margin: hand-derived requirements, contingencies and the breakdown.

Market unless said otherwise: 2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols 60 % / 70 %,
r = 0 (so every forward equals the index). 28JUN24 is T = 108.696528 days = 0.2977987 years out.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from statistics import NormalDist

import numpy as np
import pytest

from crossmargin.margin import MarginModel
from crossmargin.margin.pm.model import (
    PortfolioMargin,
    basis_charge,
    delta_one_buckets,
    delta_shock_usd,
    deribit_scenario_set,
    option_strike_groups,
    short_option_charge,
)
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position
from crossmargin.pricing import delta_one_coin_per_unit, instrument_arrays
from support.markets import NOW

T_JUN = (datetime(2024, 6, 28, 8, tzinfo=UTC) - NOW).total_seconds() / 86400 / 365
T_MAR = (datetime(2024, 3, 29, 8, tzinfo=UTC) - NOW).total_seconds() / 86400 / 365
MARKET = MarketSnapshot(
    NOW,
    {"BTC": 72000.0, "ETH": 4000.0},
    0.0,
    {"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
)
PM = PortfolioMargin()


def _call(forward: float, strike: float, t: float, vol: float) -> float:
    """Black-76 call at r = 0, written out independently of the pricing module."""
    d1 = (math.log(forward / strike) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    cdf = NormalDist().cdf
    return forward * cdf(d1) - strike * cdf(d2)


def _margin(positions: list[Position | tuple[str, float]], model: PortfolioMargin = PM):  # type: ignore[no-untyped-def]
    return model.margin(Portfolio.of(positions, {"USDC": 1_000_000}), MARKET)


def test_is_a_margin_model_named_pm() -> None:
    assert isinstance(PM, MarginModel) and PM.name == "pm"
    assert PM.parameters.version == load_pm_parameters().version


def test_short_inverse_perpetual_scan_risk_is_16_percent_of_face_at_entry() -> None:
    """Short N = 100,000 USD face entered at E = 70,000, S = 72,000. USD value per face S'/E − 1,
    so P&L(m) = −N·S·m/E, linear in m; worst at +16 %: 0.16·100000·72000/70000 = 16,457.142857
    (16 % of face exactly when E = S; in coin at the scenario price 16457.14/83520 = 0.19705 BTC).
    The extended table weighs +50 % … +500 % by 0.16/|m|, which gives the same −16,457.14 before
    the dampener. MM = 0.8 × IM = 13,165.714286."""
    result = _margin([Position.of("BTC-PERPETUAL", -100_000, 70_000.0)])
    assert result.components["scan_risk:BTC"] == Decimal("16457.142858")
    assert result.initial_margin == Decimal("16457.142858")
    assert result.maintenance_margin == Decimal("13165.714286")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +16% vol up"
    assert result.worst_scenario.pnl_usd == pytest.approx(-16457.142857142857, rel=1e-12)
    assert result.positions[0].contribution_usd == pytest.approx(16457.142857142857, rel=1e-12)


def test_short_linear_perpetual_scan_risk_is_16_percent_of_notional() -> None:
    """Short 10 BTC_USDC-PERPETUAL: P&L(m) = −10·72000·m → 0.16·720,000 = 115,200 USD."""
    result = _margin([("BTC_USDC-PERPETUAL", -10)])
    assert result.initial_margin == Decimal("115200.000000")
    assert result.maintenance_margin == Decimal("92160.000000")


def test_long_call_worst_scenario_is_down_16_with_vol_down() -> None:
    """Long 1 BTC_USDC-28JUN24-80000-C. Mark C(72000, 0.6) = 6,385.4662. 108.7 days ≥ 30, so
    x = (30/108.6965)^0.13 = 0.8458975, σ_down = 0.6·(1 − 0.25·x) = 0.4731154. At −16 %
    (F = 60,480) the call is worth C(60480, 0.4731154) = 1,266.4435: loss 5,119.0226, the scan
    risk; below the premium 6,385.47."""
    x = (30 / (T_JUN * 365)) ** 0.13
    mark = _call(72000, 80000, T_JUN, 0.6)
    worst = _call(60480, 80000, T_JUN, 0.6 * (1 - 0.25 * x)) - mark
    assert x == pytest.approx(0.8458974696882509, rel=1e-12)
    assert worst == pytest.approx(-5119.0226, abs=1e-3)
    result = _margin([("BTC_USDC-28JUN24-80000-C", 1)])
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC -16% vol down"
    assert result.worst_scenario.vol_shock == pytest.approx(-0.25 * 0.6 * x, rel=1e-12)
    assert result.worst_scenario.pnl_usd == pytest.approx(worst, rel=1e-10)
    assert float(result.initial_margin) == pytest.approx(-worst, abs=1e-6)
    assert float(result.initial_margin) < result.positions[0].mark_value_usd


def test_extended_scenario_binds_for_a_large_short_wing() -> None:
    """Short 2,000 BTC_USDC-28JUN24-150000-C (mark 146.0139 each). Vol up: σ_up =
    max(0.6·(1 + 0.5·0.8458975), 0.5) = 0.8537692. At +500 % (F = 432,000) the loss is
    2000·(C(432000) − 146.0139) = 564,634,237; counted 0.16/5 of it, less the dampener
    (5/0.16 − 1)·100,000 = 3,025,000: 15,043,296, above the grid's worst (+16 %: 4,814,144).
    Short option charge 0.01·72000·2000 = 1,440,000."""
    up = 0.6 * (1 + 0.5 * (30 / (T_JUN * 365)) ** 0.13)
    loss = 2000 * (_call(432000, 150000, T_JUN, up) - _call(72000, 150000, T_JUN, 0.6))
    counted = 0.16 / 5 * loss - (5 / 0.16 - 1) * 100_000
    result = _margin([("BTC_USDC-28JUN24-150000-C", -2000)])
    assert counted == pytest.approx(15_043_296, abs=1)
    assert float(result.components["scan_risk:BTC"]) == pytest.approx(counted, rel=1e-9)
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +500% vol up (extended)"
    assert result.components["short_option:BTC"] == Decimal("1440000.000000")


def test_calendar_futures_spread_pays_rate_shock_and_basis() -> None:
    """Long 7.2M USD face of BTC-29MAR24, short 7.2M of BTC-28JUN24 (100 BTC each at F = 72,000).
    Per face an inverse future is worth (1 + m) − e^{−Δr·T}, so the spread's P&L is
    N·(e^{−Δr·T_jun} − e^{−Δr·T_mar}) whatever the price: at Δr = +0.075 a loss of
    7.2M·(e^{−0.075·0.048489} − e^{−0.075·0.297799}) = 132,895.12. Basis: 1 % of the 100 BTC
    offsetting = 72,000 USD."""
    expected = 7.2e6 * (math.exp(-0.075 * T_MAR) - math.exp(-0.075 * T_JUN))
    result = _margin([("BTC-29MAR24", 7.2e6), ("BTC-28JUN24", -7.2e6)])
    assert expected == pytest.approx(132895.12, abs=0.01)
    assert float(result.components["scan_risk:BTC"]) == pytest.approx(expected, rel=1e-9)
    assert result.components["basis:BTC"] == Decimal("72000.000000")
    assert result.worst_scenario is not None and "rate +7.5 pts" in result.worst_scenario.label
    contributions = [p.contribution_usd for p in result.positions]
    assert contributions[0] + contributions[1] == pytest.approx(expected + 72000, rel=1e-9)


def test_short_option_charge_nets_calls_and_puts_per_strike() -> None:
    """+10 calls and −20 puts at 28JUN24/80,000: net short 10 → 10 × 0.01 BTC × 72,000 = 7,200;
    a long call at another strike does not offset it."""
    result = _margin(
        [("BTC-28JUN24-80000-C", 10), ("BTC-28JUN24-80000-P", -20), ("BTC-28JUN24-90000-C", 5)]
    )
    assert result.components["short_option:BTC"] == Decimal("7200.000000")


def test_delta_shock_beyond_the_liquidity_threshold() -> None:
    """Long 1,000 BTC_USDC-PERPETUAL: δ = 1,000 BTC = 72M USD > 20M. Excess 1000 − 20M/72000 =
    722.22 BTC → extra move 0.00005·722.22 = 3.6111 % → 72M·0.036111 = 2,600,000 USD, on top of
    the 11,520,000 scan risk. At 3,000 BTC the move is capped at 10 %: 21,600,000."""
    result = _margin([("BTC_USDC-PERPETUAL", 1000)])
    assert result.components["delta_shock:BTC"] == Decimal("2600000.000000")
    assert result.initial_margin == Decimal("14120000.000000")
    parameters = load_pm_parameters().for_underlying("BTC")
    assert delta_shock_usd(-3000.0, 72000.0, parameters) == pytest.approx(21_600_000.0)
    assert delta_shock_usd(277.0, 72000.0, parameters) == 0.0


def test_long_option_book_is_capped_at_its_mark_value() -> None:
    """Long 30,000 BTC_USDC-15MAR24-80000-C (3.7 days): the scan loss stays under the premium but
    a 1,296 BTC delta draws a delta shock that would push IM above the options' mark value
    (2,250,888.04 USD); the requirement is capped there, components scaled pro rata."""
    result = _margin([("BTC_USDC-15MAR24-80000-C", 30000)])
    mark = result.positions[0].mark_value_usd
    assert mark == pytest.approx(2250888.04, abs=0.01)
    assert result.initial_margin <= Decimal(repr(mark)) + Decimal("0.00001")
    assert result.components["delta_shock:BTC"] > 0
    assert any("capped" in note for note in result.notes)


def test_two_underlyings_sum_and_report_the_worst_of_the_larger() -> None:
    """Long 10 BTC linear perp (scan 115,200) and short 100 ETH linear perp (0.16·400,000 =
    64,000): IM 179,200; the worst scenario is BTC's −16 %."""
    result = _margin([("BTC_USDC-PERPETUAL", 10), ("ETH_USDC-PERPETUAL", -100)])
    assert result.initial_margin == Decimal("179200.000000")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC -16% vol up"
    assert len(result.scenarios) == 2 * 53 and result.scenario_pnl.shape == (106,)
    assert list(result.components) == [
        "scan_risk:BTC",
        "delta_shock:BTC",
        "short_option:BTC",
        "basis:BTC",
        "scan_risk:ETH",
        "delta_shock:ETH",
        "short_option:ETH",
        "basis:ETH",
    ]


def test_correlation_credit_when_enabled() -> None:
    """Same book with cross_underlying_offset 0.5: aligned −16 % counts BTC −115,200 + 0.5·64,000
    = −83,200; +16 % counts 0.5·115,200 − 64,000 = −6,400. IM = 83,200; the credit 96,000 is
    taken off the scan risks in proportion (BTC 61,714.29, ETH 34,285.71)."""
    parameters = load_pm_parameters().model_copy(update={"cross_underlying_offset": 0.5})
    result = _margin(
        [("BTC_USDC-PERPETUAL", 10), ("ETH_USDC-PERPETUAL", -100)], PortfolioMargin(parameters)
    )
    assert float(result.initial_margin) == pytest.approx(83200, abs=1e-5)
    assert float(result.components["scan_risk:BTC"]) == pytest.approx(
        115200 - 61714.285714, abs=1e-5
    )
    assert sum(p.contribution_usd for p in result.positions) == pytest.approx(83200, rel=1e-12)
    assert any("correlation credit" in note for note in result.notes)


def test_contributions_add_up_and_mm_is_80_percent() -> None:
    """A mixed book: contributions add up to IM within rounding; every MM component is 0.8 × the
    IM component (each rounded up)."""
    result = _margin(
        [
            ("BTC-28JUN24-80000-C", -3),
            ("BTC-PERPETUAL", 100_000),
            ("BTC-29MAR24", -50_000),
            ("ETH-28JUN24-3500-P", -10),
        ]
    )
    total = sum(p.contribution_usd for p in result.positions)
    assert total == pytest.approx(float(result.initial_margin), abs=1e-5)
    for name, value in result.components.items():
        assert result.maintenance_components[name] <= value
        assert float(result.maintenance_components[name]) == pytest.approx(
            0.8 * float(value), abs=1e-5
        )


def test_empty_portfolio_needs_nothing() -> None:
    result = PM.margin(Portfolio.of([], {"USDC": 10}), MARKET)
    assert result.initial_margin == 0 and result.worst_scenario is None


def test_scenario_set_layout() -> None:
    """53 scenarios: 27 grid (per move: vol up, unchanged, down), 8 extended (weight 0.16/|m|,
    dampener (|m|/0.16 − 1)·100,000), 18 rate shocks (per move: +0.075 then −0.075)."""
    arrays = instrument_arrays(Portfolio.of([("BTC-28JUN24-80000-C", 1)]).instruments, MARKET)
    scenarios = deribit_scenario_set("BTC", arrays, MARKET, load_pm_parameters())
    assert scenarios.count == 53
    assert scenarios.labels[0] == "BTC -16% vol up" and scenarios.labels[26] == "BTC +16% vol down"
    assert scenarios.labels[27] == "BTC -66% vol up (extended)"
    assert scenarios.weights[27] == pytest.approx(0.16 / 0.66)
    assert scenarios.dampeners_usd[34] == pytest.approx((5 / 0.16 - 1) * 100_000)
    assert scenarios.rate_shifts[35:37].tolist() == [0.075, -0.075]
    assert np.all(scenarios.weights[:27] == 1.0) and np.all(scenarios.dampeners_usd[:27] == 0)


def test_contingency_groups_and_allocations() -> None:
    """Strike groups net calls and puts, inverse and linear, per underlying/expiry/strike; basis
    buckets are per underlying/expiry with the perpetual its own bucket; an inverse future is 1/F
    coin per USD of face. +10 inverse calls and −20 linear puts at 80,000 → net −10: 7,200 USD,
    allocated −7,200 to the call and +14,400 to the put."""
    names = [
        "BTC-28JUN24-80000-C",
        "BTC_USDC-28JUN24-80000-P",
        "BTC-28JUN24-90000-C",
        "BTC-PERPETUAL",
        "BTC_USDC-PERPETUAL",
        "BTC-28JUN24",
        "ETH-28JUN24-80000-C",
    ]
    arrays = instrument_arrays(Portfolio.of([(n, 1) for n in names]).instruments, MARKET)
    assert option_strike_groups(arrays).tolist() == [0, 0, 1, -1, -1, -1, 2]
    assert delta_one_buckets(arrays).tolist() == [-1, -1, -1, 0, 0, 1, -1]
    assert delta_one_coin_per_unit(arrays) == pytest.approx([0, 0, 0, 1 / 72000, 1, 1 / 72000, 0])
    sizes = np.array([10.0, -20.0, 0, 0, 0, 0, -5.0])
    parameters = load_pm_parameters().for_underlying("BTC")
    total, allocation = short_option_charge(arrays, sizes, "BTC", parameters)
    assert total == pytest.approx(7200.0)
    assert allocation == pytest.approx([-7200.0, 14400.0, 0, 0, 0, 0, 0])
    sizes = np.array([0, 0, 0, 7.2e6, -50.0, -3.6e6, 0])
    total, allocation = basis_charge(arrays, sizes, "BTC", parameters)
    assert total == pytest.approx(0.01 * 72000 * 50)
    assert allocation.sum() == pytest.approx(total)
