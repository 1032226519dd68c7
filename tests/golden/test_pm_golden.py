"""Portfolio margin against external numbers: a Deribit risk-matrix response, Deribit's published
rule examples, and QuantLib as the option-pricing oracle for scenario revaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813

from crossmargin.instruments import parse_instrument
from crossmargin.margin.pm.model import PortfolioMargin, deribit_scenario_set
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import instrument_arrays
from crossmargin.scenarios import scenario_pnl_matrix
from support.markets import NOW

# Deribit private/pme/simulate, currency ETH, simulated position ETH-PERPETUAL −1 (a public capture
# of the response, 2026-02-15, usIn 1771197609585683): eth_usd index 1949.34, position
# −0.999487053 ETH, model_params eth_usd price_range 0.18, buckets_count 4, currency eth
# extended_dampener 200000. "pre_aggregated_risk_vectors" (P&L in ETH before pnl_offset and the
# dampener): standard = 9 buckets × 3 vol scenarios, extended = 8 moves.
DERIBIT_ETH_INDEX = 1949.34
DERIBIT_ETH_POSITION = -0.999487053
DERIBIT_STANDARD_BUCKETS = [
    0.21939959699999997,
    0.155989308849711,
    0.09885036787912087,
    0.04709624857068063,
    0.0,
    -0.04304011233014354,
    -0.08252645391743119,
    -0.11888171996035243,
    -0.15246412672881357,
]
DERIBIT_EXTENDED = [0.21939959699999997] * 2 + [-0.15246412672881357] * 6
DERIBIT_WORST_CASE = 0.15246412672881357


def _deribit_eth_model() -> PortfolioMargin:
    defaults = load_pm_parameters()
    eth = defaults.for_underlying("ETH").model_copy(
        update={"price_range": 0.18, "extended_dampener_usd": 200_000.0}
    )
    return PortfolioMargin(defaults.model_copy(update={"underlyings": {"ETH": eth}}))


def test_deribit_risk_vector_of_a_short_inverse_perpetual() -> None:
    """Deribit's risk vectors are in coin at the scenario price; ours in USD. For a short inverse
    perpetual of face N = q·S (q = 0.999487053 ETH) our USD P&L is −N·m, i.e. −q·m/(1 + m) ETH
    at S(1 + m): every standard bucket matches. Extended moves count 0.18/|m| of the P&L, which
    Deribit converts at the grid's edge price S(1 ± 0.18): all eight equal the edge buckets, as
    in the response, and the 200,000 dampener takes them to 0 (the response's aggregated extended
    vector is all zeros). The worst case 0.152464 ETH is our scan risk over S·1.18."""
    face = -DERIBIT_ETH_POSITION * DERIBIT_ETH_INDEX
    market = MarketSnapshot(NOW, {"ETH": DERIBIT_ETH_INDEX}, 0.0, {"ETH": VolSurface.flat(0.7)})
    model = _deribit_eth_model()
    result = model.margin(Portfolio.of([("ETH-PERPETUAL", -face)]), market)
    rows = result.scenarios
    moves = np.array([row.price_move for row in rows[:27]])
    coin = np.array([row.pnl_usd for row in rows[:27]]) / (DERIBIT_ETH_INDEX * (1 + moves))
    assert coin == pytest.approx(np.repeat(DERIBIT_STANDARD_BUCKETS, 3), rel=1e-8, abs=1e-12)
    arrays = instrument_arrays(Portfolio.of([("ETH-PERPETUAL", -face)]).instruments, market)
    scenario_set = deribit_scenario_set("ETH", arrays, market, model.parameters)
    weighted = scenario_pnl_matrix(arrays, scenario_set)[27:35, 0] * -face
    weighted *= scenario_set.weights[27:35]
    edge = DERIBIT_ETH_INDEX * (1 + np.sign(scenario_set.price_moves[27:35]) * 0.18)
    assert weighted / edge == pytest.approx(DERIBIT_EXTENDED, rel=1e-8)
    assert [row.pnl_usd for row in rows[27:35]] == [0.0] * 8
    scan = float(result.components["scan_risk:ETH"])
    assert scan / (DERIBIT_ETH_INDEX * 1.18) == pytest.approx(DERIBIT_WORST_CASE, rel=1e-8)


def test_deribit_published_contingency_examples() -> None:
    """deribit.com/pages/docs/portfoliomargin: "call +10 and put −20 [at strike X] … 10·0.01 BTC
    extra" = 0.1 BTC; "long 100 BTC in Future A, and short 100 BTC in Future B, then 1.00 %·100
    BTC" = 1 BTC. At S = 72,000 and r = 0 (F = S, so 100 BTC = 7.2M USD of inverse face)."""
    market = MarketSnapshot(NOW, {"BTC": 72000.0}, 0.0, {"BTC": VolSurface.flat(0.6)})
    model = PortfolioMargin()
    options = model.margin(
        Portfolio.of([("BTC-28JUN24-80000-C", 10), ("BTC-28JUN24-80000-P", -20)]), market
    )
    futures = model.margin(Portfolio.of([("BTC-29MAR24", 7.2e6), ("BTC-28JUN24", -7.2e6)]), market)
    assert float(options.components["short_option:BTC"]) / 72000 == pytest.approx(0.1)
    assert float(futures.components["basis:BTC"]) / 72000 == pytest.approx(1.0)


def _quantlib_call(forward: float, strike: float, t: float, vol: float, rate: float) -> float:
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, strike)
    calculator = ql.BlackCalculator(payoff, forward, vol * math.sqrt(t), math.exp(-rate * t))
    return float(calculator.value())


def test_scenario_revaluation_matches_quantlib_black() -> None:
    """QuantLib's BlackCalculator as the oracle. r = 3 %, 28JUN24 options, S = 72,000, flat 60 %:
    F = S·e^{rT}. Scenario "+8 % vol up": F' = 1.08·F, σ' = 0.6 + 0.5·0.6·x (x the 108.7-day
    term-structure factor). Linear call P&L = C(F', σ') − C(F, σ) in USDC; inverse call P&L =
    C(F', σ')/F'·S' − C(F, σ)/F·S in USD. Rate scenario "−16 % rate +7.5": F'' = 0.84·F·e^{0.075T},
    discounted at 10.5 %."""
    rate = 0.03
    market = MarketSnapshot(NOW, {"BTC": 72000.0}, rate, {"BTC": VolSurface.flat(0.6)})
    names = ["BTC_USDC-28JUN24-80000-C", "BTC-28JUN24-80000-C"]
    arrays = instrument_arrays([parse_instrument(n) for n in names], market)
    scenario_set = deribit_scenario_set("BTC", arrays, market, load_pm_parameters())
    matrix = scenario_pnl_matrix(arrays, scenario_set)
    t = float(arrays.t_years[0])
    forward = 72000.0 * math.exp(rate * t)
    base = _quantlib_call(forward, 80000, t, 0.6, rate)
    up = scenario_set.labels.index("BTC +8% vol up")
    vol_up = 0.6 * (1 + 0.5 * (30 / (t * 365)) ** 0.13)
    shocked = _quantlib_call(1.08 * forward, 80000, t, vol_up, rate)
    assert matrix[up, 0] == pytest.approx(shocked - base, rel=1e-10)
    inverse = shocked / (1.08 * forward) * 1.08 * 72000 - base / forward * 72000
    assert matrix[up, 1] == pytest.approx(inverse, rel=1e-10)
    rated = scenario_set.labels.index("BTC -16% rate +7.5 pts")
    moved = 0.84 * forward * math.exp(0.075 * t)
    expected = _quantlib_call(moved, 80000, t, 0.6, rate + 0.075) - base
    assert matrix[rated, 0] == pytest.approx(expected, rel=1e-10)
