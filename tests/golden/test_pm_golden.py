"""Portfolio margin against external numbers: a captured Deribit ``private/pme/simulate``
response, the risk vectors of Deribit's API documentation example, and QuantLib as the
option-pricing oracle for scenario revaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813

from crossmargin.instruments import parse_instrument
from crossmargin.margin.common import view_account
from crossmargin.margin.pm.charges import VectorCounting, offset_gains, risk_vector_coin
from crossmargin.margin.pm.model import PortfolioMargin, deribit_scenario_set
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import instrument_arrays
from crossmargin.scenarios import scenario_pnl_matrix
from support.markets import NOW

# Deribit private/pme/simulate, currency ETH, simulated position ETH-PERPETUAL (a public capture
# of the response, 2026-02-15, usIn 1771197609585683; shared/reference/venues.md, Deribit,
# "Current rule set"): eth_usd index 1949.34, position −0.999487053 ETH, the shipped ETH
# parameters (price_range 0.18, extended_dampener 200000, min_annualised_move 0.005, pnl_offset
# 0.6, mm_factor 0.8). "pre_aggregated_risk_vectors" eth_eth (ETH at the scenario price, before
# the dampener and pnl_offset): standard = 9 buckets × 3 vol scenarios, extended = 8 moves; the
# aggregated extended vector is all zeros; margins: worst_case, roll_shock, delta_shock 0,
# correlation_contingency 0; IM and MM.
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
DERIBIT_ROLL_SHOCK = 0.004997435
DERIBIT_IM = 0.157461562
DERIBIT_MM = 0.125969250

# docs.deribit.com, private/pme/simulate, example response (currency BTC, 2024-06-17): the
# "initial_risk_vectors" of BTC-PERPETUAL and the "aggregated_risk_vectors" btc_btc, standard
# scenarios (each value repeated for the three vol scenarios), price moves −16 % … +4 %.
DOCS_MOVES = [-0.16, -0.12, -0.08, -0.04, 0.0, 0.04]
DOCS_INITIAL = [
    -0.05991206933333334,
    -0.04289159509090909,
    -0.027351162086956524,
    -0.013105765166666668,
    0.0,
    0.012097629384615385,
]
DOCS_AGGREGATED = [
    -0.05968587238095239,
    -0.04272965863636364,
    -0.02724789826086957,
    -0.013056284583333334,
    0.0,
    0.0,
]


def _eth_market() -> MarketSnapshot:
    return MarketSnapshot(
        NOW, {"ETH": DERIBIT_ETH_INDEX, "USDC": 1.0}, 0.0, {"ETH": VolSurface.flat(0.7)}
    )


def _capture_portfolio(collateral: dict[str, object] | None = None) -> Portfolio:
    face = DERIBIT_ETH_POSITION * DERIBIT_ETH_INDEX
    return Portfolio.of([("ETH-PERPETUAL", face)], collateral or {"USDC": 1000})


def test_deribit_capture_im_and_mm_of_one_short_eth_perpetual() -> None:
    """The capture's margins, ETH: worst_case 0.152464127 = 0.999487053 × 0.18/1.18 (the short's
    coin loss at +18 %, the grid's edge), roll_shock = max(0.05·0 (a perpetual), 0.005) ×
    0.999487053 = 0.004997435, delta_shock and correlation_contingency 0, IM = 0.157461562 and
    MM = 0.8 × IM = 0.125969250 (the response's nine decimals); in USD the components add up to
    IM × 1949.34."""
    model = PortfolioMargin()
    portfolio = _capture_portfolio()
    risk = model.risk(view_account(portfolio, _eth_market(), model.haircuts))
    (eth,) = model.currency_requirements(risk)
    assert eth.currency == "ETH"
    assert eth.worst_case == pytest.approx(DERIBIT_WORST_CASE, rel=1e-12)
    assert round(eth.roll_shock, 9) == DERIBIT_ROLL_SHOCK
    assert eth.delta_shock == 0.0 and eth.correlation_contingency == 0.0
    assert round(eth.initial_margin, 9) == DERIBIT_IM
    assert round(eth.maintenance_margin, 9) == DERIBIT_MM
    result = model.margin(portfolio, _eth_market())
    assert float(result.initial_margin) == pytest.approx(DERIBIT_IM * DERIBIT_ETH_INDEX, abs=5e-6)
    assert float(result.maintenance_margin) == pytest.approx(
        DERIBIT_MM * DERIBIT_ETH_INDEX, abs=5e-6
    )
    assert result.parameters_version == load_pm_parameters().version


def test_deribit_capture_pre_aggregated_and_aggregated_vectors() -> None:
    """The eth_eth vector before aggregation: the short's USD P&L −N·m (N = q·S of face) in ETH at
    the scenario price S(1 + m) is −q·m/(1 + m), so every standard bucket matches (the three vol
    scenarios agree for a perpetual). Extended moves count 0.18/|m| of the USD P&L at the grid's
    edge price S(1 ± 0.18): all eight equal the edge buckets, as in the response. After the
    dampener ((|m|/0.18 − 1) × 200,000 USD) the extended vector is all zeros, as the response's
    aggregated vector; the worst case is the standard vector's minimum."""
    model = PortfolioMargin()
    risk = model.risk(view_account(_capture_portfolio(), _eth_market(), model.haircuts))
    (vector,) = risk.vectors
    assert (vector.pair, vector.currency) == ("ETH", "ETH")
    scenario_set = risk.sets["ETH"]
    unweighted = VectorCounting(scenario_set.weights, np.zeros(scenario_set.count))
    price = DERIBIT_ETH_INDEX * scenario_set.coin_price_factors
    pre = risk_vector_coin(vector.raw_pnl_usd, unweighted, price)
    assert pre[:27] == pytest.approx(np.repeat(DERIBIT_STANDARD_BUCKETS, 3), rel=1e-9, abs=1e-15)
    assert pre[27:] == pytest.approx(DERIBIT_EXTENDED, rel=1e-9)
    aggregated = offset_gains(vector.coin, 0.6, 20_000_000 / DERIBIT_ETH_INDEX)
    assert aggregated[27:].tolist() == [0.0] * 8
    assert -aggregated.min() == pytest.approx(DERIBIT_WORST_CASE, rel=1e-12)


def test_deribit_docs_example_balance_enters_as_its_usd_pnl_at_the_scenario_price() -> None:
    """Deribit's documented example: the aggregated btc_btc vector differs from the perpetual's
    initial vector by E·m/(1 + m), the USD P&L of a BTC balance E expressed in BTC at the scenario
    price (equity_side_impact "both"), and its gains are 0 (BTC pnl_offset 0). From the −16 %
    entries: q = 0.0599121/(0.16/0.84) = 0.314538 BTC long, E = −0.001188 BTC. Our BTC vector of
    that perpetual and that balance reproduces the other five entries of both vectors."""
    ratio = [m / (1 + m) for m in DOCS_MOVES]
    q = DOCS_INITIAL[0] / ratio[0]
    balance = DOCS_AGGREGATED[0] / ratio[0] - q
    index = 66_000.0
    market = MarketSnapshot(NOW, {"BTC": index}, 0.0, {"BTC": VolSurface.flat(0.5)})
    model = PortfolioMargin()
    portfolio = Portfolio.of([("BTC-PERPETUAL", q * index)], {"BTC": balance})
    risk = model.risk(view_account(portfolio, market, model.haircuts))
    (vector,) = risk.vectors
    grid = risk.sets["BTC"].price_moves[:27:3]
    at = [int(np.flatnonzero(np.isclose(grid, m))[0]) * 3 for m in DOCS_MOVES]
    perpetual_only = model.risk(
        view_account(Portfolio.of([("BTC-PERPETUAL", q * index)]), market, model.haircuts)
    ).vectors[0]
    assert perpetual_only.coin[at] == pytest.approx(DOCS_INITIAL, rel=1e-9, abs=1e-15)
    assert offset_gains(vector.coin[at], 0.0, 0.0) == pytest.approx(
        DOCS_AGGREGATED, rel=1e-9, abs=1e-15
    )


def _quantlib_call(forward: float, strike: float, t: float, vol: float, rate: float) -> float:
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, strike)
    calculator = ql.BlackCalculator(payoff, forward, vol * math.sqrt(t), math.exp(-rate * t))
    return float(calculator.value())


def test_scenario_revaluation_matches_quantlib_black() -> None:
    """QuantLib's BlackCalculator as the oracle. r = 3 %, 28JUN24 options, S = 72,000, flat 60 %:
    F = S·e^{rT}. Scenario "+8 % vol up": F' = 1.08·F, σ' = 0.6·(1 + 0.5·x) (x the 108.7-day
    term-structure factor, the strike's own vol). Linear call P&L = C(F', σ') − C(F, σ) in USDC;
    inverse call P&L = C(F', σ')/F'·S' − C(F, σ)/F·S in USD."""
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
