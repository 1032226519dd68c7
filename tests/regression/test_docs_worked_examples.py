"""Golden: the worked examples of docs/margin-models.md, recomputed through the library.

Every figure the page derives by hand is asserted here: reported margin amounts exactly
(``Decimal`` to the 10⁻⁶ USD quantum), intermediate floats to the precision the page prints them.
The side-by-side table is recomputed model by model. The last tests check that the page still
prints these figures and that its TOML and JSON inputs are the ones used here, so the page and the
code cannot drift apart silently.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from decimal import Decimal
from functools import cache
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from crossmargin.cli.span_command import span_document
from crossmargin.collateral import default_haircuts
from crossmargin.compat.cme_risk_arrays import span_file_from_dict, span_file_requirement
from crossmargin.instruments import parse_instrument
from crossmargin.margin import (
    CrossMargin,
    IsolatedMargin,
    MarginResult,
    PortfolioMargin,
    SpanMargin,
    build_model,
    liquidation_prices,
)
from crossmargin.margin.common import view_account
from crossmargin.margin.pm.model import delta_shock_usd
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.margin.rendering import margin_result_to_json
from crossmargin.margin.var.model import expected_shortfall, value_at_risk
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, apply_trade, load_portfolio_file, portfolio_from_dict
from crossmargin.scenarios import ScenarioKind, scenario_pnl_matrix
from support.markets import EXAMPLES, REPOSITORY
from support.shared_data import history_for

DOC = REPOSITORY / "docs" / "margin-models.md"
S = 72_000.0
N = NormalDist().cdf

# Worked example 3: the two futures legs of examples/calendar_spread.toml, as the page prints them.
CALENDAR_FUTURES: dict[str, Any] = {
    "market": {
        "valuation_time": "2024-03-11T15:17:00Z",
        "rate_annual": 0.0,
        "index_usd": {"BTC": 72000.0},
        "forwards_usd": {"BTC-29MAR24": 72700.0, "BTC-27DEC24": 80200.0},
    },
    "collateral": {"BTC": 1.0},
    "positions": [
        {"instrument": "BTC-29MAR24", "size": -50000, "average_price": 71000.0},
        {"instrument": "BTC-27DEC24", "size": 50000, "average_price": 78000.0},
    ],
}

# Worked example 4: CME "Spread calculations", corn vs soybeans 2:1 at 55 %, as the page prints it.
# Risk array of +1 future: −fraction × outright in scenarios 1–14, ∓0.35 × 2 × outright in 15–16.
CORN_ARRAY = [0, 0, -583.33, -583.33, 583.33, 583.33, -1166.67, -1166.67,
              1166.67, 1166.67, -1750, -1750, 1750, 1750, -1225, 1225]  # fmt: skip
SOYBEANS_ARRAY = [0, 0, -833.33, -833.33, 833.33, 833.33, -1666.67, -1666.67,
                  1666.67, 1666.67, -2500, -2500, 2500, 2500, -1750, 1750]  # fmt: skip
CORN_SOYBEANS: dict[str, Any] = {
    "currency": "USD",
    "instruments": {
        "corn": {
            "combined_commodity": "C",
            "delta": 1,
            "risk_array": CORN_ARRAY,
        },
        "soybeans": {
            "combined_commodity": "S",
            "delta": 1,
            "risk_array": SOYBEANS_ARRAY,
        },
    },
    "positions": [{"instrument": "corn", "size": 2}, {"instrument": "soybeans", "size": -1}],
    "parameters": {
        "inter_spreads": [
            {
                "method": "delta",
                "credit_rate": 0.55,
                "legs": [
                    {"combined_commodity": "C", "delta_ratio": 2, "side": "A"},
                    {"combined_commodity": "S", "delta_ratio": 1, "side": "B"},
                ],
            }
        ]
    },
}

# The side-by-side table: IM (USD, to the cent) per example and model, and the ratio to isolated.
ISSUE_4_MODELS = ("isolated", "cross", "pm", "span", "var")

SIDE_BY_SIDE: dict[str, dict[str, str]] = {
    "naked_perpetual": {
        "isolated": "2006.94", "cross": "2006.94", "pm": "16457.14",
        "span": "17485.71", "var": "23116.61",
    },
    "covered_call": {
        "isolated": "145614.66", "cross": "150614.66", "pm": "112385.51",
        "span": "105832.67", "var": "110916.37",
    },
    "hedged_straddle": {
        "isolated": "200.07", "cross": "200.07", "pm": "11096.97",
        "span": "11466.35", "var": "5298.64",
    },
    "call_spread": {
        "isolated": "18508.60", "cross": "18508.60", "pm": "6201.89",
        "span": "5063.92", "var": "4050.77",
    },
    "calendar_spread": {
        "isolated": "20729.31", "cross": "21628.46", "pm": "14774.16",
        "span": "13102.71", "var": "12222.12",
    },
    "btc_eth_book": {
        "isolated": "86398.35", "cross": "88004.75", "pm": "81279.46",
        "span": "80812.98", "var": "82407.80",
    },
}  # fmt: skip
SIDE_BY_SIDE_RATIOS: dict[str, dict[str, str]] = {
    "naked_perpetual": {"cross": "1.000", "pm": "8.200", "span": "8.713", "var": "11.518"},
    "covered_call": {"cross": "1.034", "pm": "0.772", "span": "0.727", "var": "0.762"},
    "hedged_straddle": {"cross": "1.000", "pm": "55.466", "span": "57.312", "var": "26.484"},
    "call_spread": {"cross": "1.000", "pm": "0.335", "span": "0.274", "var": "0.219"},
    "calendar_spread": {"cross": "1.043", "pm": "0.713", "span": "0.632", "var": "0.590"},
    "btc_eth_book": {"cross": "1.019", "pm": "0.941", "span": "0.935", "var": "0.954"},
}


def _example(name: str) -> tuple[Portfolio, MarketSnapshot]:
    loaded = load_portfolio_file(EXAMPLES / f"{name}.toml")
    return loaded.portfolio, loaded.market


def _calendar_futures() -> tuple[Portfolio, MarketSnapshot]:
    return portfolio_from_dict(CALENDAR_FUTURES)


@cache
def _margin(example: str, model: str) -> MarginResult:
    """``model``'s result on ``examples/<example>.toml`` (VaR skips without the shared data)."""
    portfolio, market = _example(example)
    return build_model(model, history=history_for(model)).margin(portfolio, market)


def _scenario(result: MarginResult, label: str) -> float:
    (pnl,) = [s.pnl_usd for s in result.scenarios if s.label == label]
    return pnl


def _cents(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _black76_call(forward: float, strike: float, t_years: float, vol: float) -> float:
    """Black-76 call with r = 0, written out as the page does."""
    sd = vol * math.sqrt(t_years)
    d1 = (math.log(forward / strike) + sd * sd / 2.0) / sd
    return forward * N(d1) - strike * N(d1 - sd)


# ------------------------------------------------------------ 1. short inverse perpetual


def test_short_inverse_perpetual_isolated_and_cross() -> None:
    """N = −100,000 USD face at E = 70,000, S = 72,000, 0.5 BTC: v = −2,857.142857; c = 1.388889
    BTC on a 100,000 notional; IM 2.006944 %, MM 1.006944 %; equity 32,400 − 2,857.142857."""
    portfolio, market = _example("naked_perpetual")
    mark_value = -100_000 * (S / 70_000 - 1)
    rate_im = 0.02 + 0.00005 * 100_000 / S
    assert mark_value == pytest.approx(-2_857.142857, abs=1e-6)
    assert rate_im == pytest.approx(0.02006944, abs=5e-9)
    for model in (IsolatedMargin(), CrossMargin()):
        result = model.margin(portfolio, market)
        assert result.initial_margin == Decimal("2006.944445")
        assert result.maintenance_margin == Decimal("1006.944445")
        assert result.collateral_value == Decimal("32400.000000")
        assert result.equity == Decimal("29542.857143")
        assert result.components["futures_im"] == Decimal("2006.944445")
        assert result.positions[0].mark_value_usd == pytest.approx(-2_857.142857, abs=1e-6)


def test_short_inverse_perpetual_liquidation_price() -> None:
    """0.45·S' + 100,000 − 1.4285714·S' = 1,000 + 500,000/S', i.e.
    0.9785714·S'² − 99,000·S' + 500,000 = 0: the root near the index is 101,162.83."""
    portfolio, market = _example("naked_perpetual")
    a = 100_000 / 70_000 - 0.45
    root = math.sqrt(99_000.0**2 - 4 * a * 500_000)
    assert root == pytest.approx(98_990.114947, abs=1e-6)
    price = (99_000 + root) / (2 * a)
    assert (99_000 - root) / (2 * a) == pytest.approx(5.05, abs=0.005)
    liquidation = liquidation_prices(portfolio, market)["BTC-PERPETUAL"]
    assert liquidation is not None
    assert liquidation == pytest.approx(price, abs=1e-6)
    assert round(liquidation, 2) == 101_162.83
    assert liquidation / S - 1 == pytest.approx(0.405, abs=5e-4)


def test_short_inverse_perpetual_pm() -> None:
    """P&L(m) = −102,857.142857·m: +16 % loses 16,457.142857; the +50 % extended row weighs 0.32
    and its 212,500 dampener takes it to 0. IM 16,457.142858, MM 13,165.714286."""
    portfolio, market = _example("naked_perpetual")
    model = PortfolioMargin()
    result = model.margin(portfolio, market)
    assert result.initial_margin == Decimal("16457.142858")
    assert result.maintenance_margin == Decimal("13165.714286")
    assert result.components["scan_risk:BTC"] == Decimal("16457.142858")
    assert sum(v for k, v in result.components.items() if k != "scan_risk:BTC") == 0
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +16% vol up"
    assert result.worst_scenario.pnl_usd == pytest.approx(-16_457.142857, abs=1e-6)
    assert result.positions[0].contribution_usd == pytest.approx(16_457.142857, abs=1e-6)
    view = view_account(portfolio, market, default_haircuts())
    scenarios = model.scenario_set("BTC", view.valuation.arrays, market)
    (k,) = [i for i, label in enumerate(scenarios.labels) if label.startswith("BTC +50%")]
    raw = float((scenario_pnl_matrix(view.valuation.arrays, scenarios) @ view.sizes)[k])
    assert raw == pytest.approx(-51_428.571429, abs=1e-6)
    assert scenarios.weights[k] == pytest.approx(0.32)
    assert scenarios.weights[k] * raw == pytest.approx(-16_457.142857, abs=1e-6)
    assert scenarios.dampeners_usd[k] == pytest.approx(212_500.0)
    extended = [s for s in result.scenarios if "extended" in s.label]
    assert len(extended) == 8 and all(s.pnl_usd == 0.0 for s in extended)


def test_short_inverse_perpetual_span() -> None:
    """Scenario 11 (+17 %) loses 17,485.714286; scenario 15 (+34 % at 35 %) 12,240.00."""
    portfolio, market = _example("naked_perpetual")
    result = SpanMargin().margin(portfolio, market)
    assert result.initial_margin == Decimal("17485.714286")
    assert result.maintenance_margin == Decimal("15896.103897")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label.startswith("BTC scenario 11:")
    assert result.scenarios[14].pnl_usd == pytest.approx(-12_240.0, abs=1e-6)


# ------------------------------------------------------------ 2. covered call


def test_covered_call_black76_by_hand() -> None:
    """T = 108 d 16 h 43 min; C = 6,385.466178; x = 0.8458975, σ_up 0.8537692, σ_down 0.4731154;
    at −16 %: C' = 5,384.017382 (vol up), 2,465.433193 (unchanged), 1,266.443546 (down)."""
    portfolio, market = _example("covered_call")
    days = 108 + (16 * 60 + 43) / 1440
    assert days == pytest.approx(108.6965278, abs=1e-7)
    t_years = days / 365
    assert t_years == pytest.approx(0.297798706, abs=1e-9)
    assert market.t_years(portfolio.positions[1].instrument.expiry) == pytest.approx(t_years)
    sd = 0.6 * math.sqrt(t_years)
    d1 = (math.log(S / 80_000) + sd * sd / 2) / sd
    assert (sd, d1, d1 - sd) == pytest.approx((0.3274256, -0.1580718, -0.4854974), abs=5e-8)
    assert (N(d1), N(d1 - sd)) == pytest.approx((0.4372001, 0.3136618), abs=5e-8)
    call = _black76_call(S, 80_000, t_years, 0.6)
    assert call == pytest.approx(6_385.466178, abs=1e-6)
    valuation = PortfolioMargin().margin(portfolio, market)
    assert valuation.positions[1].mark_value_usd == pytest.approx(-10 * call, abs=1e-6)
    x = (30 / days) ** 0.13
    up, down = max(0.6 * (1 + 0.5 * x), 0.5), 0.6 * (1 - 0.25 * x)
    assert (x, up, down) == pytest.approx((0.8458975, 0.8537692, 0.4731154), abs=5e-8)
    shocked = [_black76_call(S * 0.84, 80_000, t_years, vol) for vol in (up, 0.6, down)]
    assert shocked == pytest.approx([5_384.017382, 2_465.433193, 1_266.443546], abs=1e-6)
    assert -10 * (shocked[0] - call) == pytest.approx(10_014.487959, abs=1e-6)


def test_covered_call_isolated_and_cross() -> None:
    """Perpetual 2.05 % of 720,000 less its own 5,000 profit; the short call
    10 × (0.10 × 72,000 + 6,385.466178); cross keeps the profit in the equity instead."""
    portfolio, market = _example("covered_call")
    isolated = IsolatedMargin().margin(portfolio, market)
    assert dict(isolated.components) == {
        "futures_im": Decimal("9760.000000"),
        "short_option_im": Decimal("135854.661776"),
        "short_spot_im": Decimal("0.000000"),
    }
    assert isolated.maintenance_components["futures_mm"] == Decimal("2560.000001")
    assert isolated.maintenance_components["short_option_mm"] == Decimal("117854.661776")
    assert isolated.initial_margin == Decimal("145614.661776")
    assert isolated.maintenance_margin == Decimal("120414.661777")
    assert isolated.equity == Decimal("136145.338225")
    assert _cents(isolated.available_usd) == "-9469.32"
    cross = CrossMargin().margin(portfolio, market)
    assert cross.components["futures_im"] == Decimal("14760.000000")
    assert cross.initial_margin == Decimal("150614.661776")
    assert cross.maintenance_margin == Decimal("125414.661777")
    assert cross.equity == Decimal("141145.338225")


def test_covered_call_pm() -> None:
    """Worst −16 % vol up: −115,200 + 10,014.487959 = −105,185.512041; short option charge 7,200;
    IM 112,385.512042, MM 89,908.409634; the other −16 % rows and the tail lose less."""
    portfolio, market = _example("covered_call")
    result = PortfolioMargin().margin(portfolio, market)
    assert dict(result.components) == {
        "scan_risk:BTC": Decimal("105185.512042"),
        "delta_shock:BTC": Decimal("0.000000"),
        "short_option:BTC": Decimal("7200.000000"),
        "basis:BTC": Decimal("0.000000"),
    }
    assert result.initial_margin == Decimal("112385.512042")
    assert result.maintenance_margin == Decimal("89908.409634")
    assert result.maintenance_components["scan_risk:BTC"] == Decimal("84148.409634")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC -16% vol up"
    assert result.worst_scenario.vol_shock == pytest.approx(0.2537692, abs=5e-8)
    assert result.worst_scenario.pnl_usd == pytest.approx(-105_185.512041, abs=1e-6)
    others = {
        "BTC -16% vol unchanged": -75_999.670156,
        "BTC -16% vol down": -64_009.773682,
        "BTC -16% rate +7.5 pts": -78_264.797420,
        "BTC -16% rate -7.5 pts": -73_851.585290,
    }
    for label, pnl in others.items():
        assert _scenario(result, label) == pytest.approx(pnl, abs=1e-6)
    assert all(s.pnl_usd == 0.0 for s in result.scenarios if "extended" in s.label)
    assert [p.contribution_usd for p in result.positions] == pytest.approx(
        [115_200.0, -2_814.487959], abs=1e-6
    )
    assert result.positions[1].delta_coin == pytest.approx(-4.372001, abs=5e-7)
    assert _cents(result.available_usd) == "28759.83"


def test_covered_call_pm_tail_is_dampened() -> None:
    """−33 %: 193,816.27 × 0.16/0.33 = 93,971.52 < 106,250; −66 %: 99,806.10 < 312,500."""
    portfolio, market = _example("covered_call")
    model = PortfolioMargin()
    view = view_account(portfolio, market, default_haircuts())
    scenarios = model.scenario_set("BTC", view.valuation.arrays, market)
    raw = scenario_pnl_matrix(view.valuation.arrays, scenarios) @ view.sizes
    rows = {
        label.split()[1]: k
        for k, label in enumerate(scenarios.labels)
        if scenarios.kinds[k] is ScenarioKind.EXTENDED
    }
    for move, loss, weighted, dampener in (
        ("-33%", 193_816.27, 93_971.52, 106_250.0),
        ("-66%", None, 99_806.10, 312_500.0),
    ):
        k = rows[move]
        if loss is not None:
            assert -raw[k] == pytest.approx(loss, abs=0.005)
        assert -scenarios.weights[k] * raw[k] == pytest.approx(weighted, abs=0.005)
        assert scenarios.dampeners_usd[k] == pytest.approx(dampener)


# ------------------------------------------------------------ 3. futures calendar spread


def test_futures_calendar_span() -> None:
    """Net −4,550.379198·m: scenario 11 loses 773.564464; tier 1 v tier 4 spread of
    46,153.846154 USD delta at 2 % = 923.076923; IM 1,696.641388, MM 1,542.401262."""
    portfolio, market = _calendar_futures()
    slope = 50_000 * S / 71_000 - 50_000 * S / 78_000
    assert slope == pytest.approx(4_550.379198, abs=1e-6)
    assert slope * 0.34 * 0.35 == pytest.approx(541.495125, abs=1e-6)
    model = SpanMargin()
    breakdown, _ = model.breakdown(view_account(portfolio, market, default_haircuts()))
    (btc,) = breakdown.commodities
    assert btc.scan_risk == pytest.approx(773.564464, abs=1e-6)
    assert btc.worst_scenario == 11
    (spread,) = btc.intra_spreads
    assert (spread.month_a, spread.month_b) == ("29MAR24", "27DEC24")
    assert spread.spreads == pytest.approx(46_153.846154, abs=1e-6)
    assert spread.charge == pytest.approx(923.076923, abs=1e-6)
    result = model.margin(portfolio, market)
    assert result.components["scan_risk"] == Decimal("773.564464")
    assert result.components["intra_spread_charge"] == Decimal("923.076924")
    assert result.initial_margin == Decimal("1696.641388")
    assert result.maintenance_components["scan_risk"] == Decimal("703.240422")
    assert result.maintenance_components["intra_spread_charge"] == Decimal("839.160840")
    assert result.maintenance_margin == Decimal("1542.401262")


def test_futures_calendar_pm() -> None:
    """+16 % with rates −7.5 points: −7,932.285251 + 4,621.674377 = −3,310.610874; basis
    0.01 × 72,000 × 0.623441 = 448.877806; IM 3,759.488680. Isolated 992.074229."""
    portfolio, market = _calendar_futures()
    legs = {}
    for name, size, entry, forward, days in (
        ("March", -50_000, 71_000.0, 72_700.0, 17.6965278),
        ("December", 50_000, 78_000.0, 80_200.0, 290.6965278),
    ):
        roll = S / forward * (math.exp(0.075 * days / 365) - 1)
        legs[name] = size * (S * 0.16 / entry - roll)
    assert legs["March"] == pytest.approx(-7_932.285251, abs=1e-5)
    assert legs["December"] == pytest.approx(4_621.674377, abs=1e-5)
    result = PortfolioMargin().margin(portfolio, market)
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +16% rate -7.5 pts"
    assert result.worst_scenario.pnl_usd == pytest.approx(-3_310.610874, abs=1e-6)
    assert _scenario(result, "BTC +16% vol up") == pytest.approx(-728.060672, abs=1e-6)
    assert result.components["scan_risk:BTC"] == Decimal("3310.610874")
    assert result.components["basis:BTC"] == Decimal("448.877806")
    assert result.initial_margin == Decimal("3759.488680")
    assert result.maintenance_margin == Decimal("3007.590945")
    assert IsolatedMargin().margin(portfolio, market).initial_margin == Decimal("992.074229")
    assert CrossMargin().margin(portfolio, market).initial_margin == Decimal("1891.229085")


# ------------------------------------------------------------ 4. CME corn vs soybeans


def test_cme_corn_soybeans_risk_array_file() -> None:
    """Scan 3,500 + 2,500; WPR 1,750 and 2,500; credit 0.55 × (2 × 1,750 + 2,500) = 3,300;
    IM 2,700 (CME's figure), MM 2,700 / 1.1."""
    span_file = span_file_from_dict(CORN_SOYBEANS)
    breakdown = span_file_requirement(span_file)
    corn, soybeans = breakdown.commodities
    assert (corn.scan_risk, corn.worst_scenario) == (pytest.approx(3_500.0), 13)
    assert (soybeans.scan_risk, soybeans.worst_scenario) == (pytest.approx(2_500.0), 11)
    assert corn.weighted_price_risk == pytest.approx(1_750.0)
    assert soybeans.weighted_price_risk == pytest.approx(2_500.0)
    assert corn.inter_spread_credit == pytest.approx(-1_925.0)
    assert soybeans.inter_spread_credit == pytest.approx(-1_375.0)
    document = span_document(span_file, breakdown)
    assert document["scan_risk"] == pytest.approx(6_000.0)
    assert document["components"]["inter_spread_credit"] == pytest.approx(-3_300.0)
    assert document["initial_margin"] == pytest.approx(2_700.0)
    assert document["maintenance_margin"] == pytest.approx(2_454.545455, abs=1e-9)


# ------------------------------------------------------------ small checks in the model sections


def test_expected_shortfall_and_var_of_the_page_example() -> None:
    """250 scenarios, worst −100, −80, −60: nα = 2.5, ES = (100 + 80 + 0.5 × 60)/2.5 = 84,
    VaR = 60."""
    pnl = np.array([-100.0, -80.0, -60.0] + [10.0] * 247)
    assert expected_shortfall(pnl, 0.99) == pytest.approx(84.0)
    assert value_at_risk(pnl, 0.99) == pytest.approx(60.0)


def test_delta_shock_of_the_page_example() -> None:
    """400 BTC at 72,000: excess 122.222222 BTC, move 0.006111, charge 176,000."""
    parameters = load_pm_parameters().for_underlying("BTC")
    excess_coin = 400 - 20_000_000 / S
    assert excess_coin == pytest.approx(122.222222, abs=1e-6)
    assert delta_shock_usd(400.0, S, parameters) == pytest.approx(176_000.0, abs=1e-6)
    assert delta_shock_usd(-400.0, S, parameters) == pytest.approx(176_000.0, abs=1e-6)


# ------------------------------------------------------------ side by side


@pytest.mark.parametrize("model", ISSUE_4_MODELS)
@pytest.mark.parametrize("example", list(SIDE_BY_SIDE))
def test_side_by_side_table(example: str, model: str) -> None:
    """Each cell of the table: IM to the cent and its ratio to isolated to 3 decimals."""
    result = _margin(example, model)
    assert _cents(result.initial_margin) == SIDE_BY_SIDE[example][model]
    if model != "isolated":
        ratio = float(result.initial_margin / _margin(example, "isolated").initial_margin)
        assert f"{ratio:.3f}" == SIDE_BY_SIDE_RATIOS[example][model]


def test_side_by_side_explanations() -> None:
    """The figures the explanations quote: the straddle's vol-down worst case, its premium and
    SPAN intra charge, the call spread's scan risk, the book's VaR stress floor."""
    straddle = _margin("hedged_straddle", "pm")
    assert straddle.worst_scenario is not None
    assert straddle.worst_scenario.label == "BTC 0% vol down"
    assert straddle.worst_scenario.pnl_usd == pytest.approx(-11_096.97, abs=0.005)
    days = 17 + (24 * 60 - 7 * 60 - 17) / 1440
    x = (30 / days) ** 0.30
    assert (round(days, 2), round(x, 4)) == (17.70, 1.1716)
    assert 0.6 + straddle.worst_scenario.vol_shock == pytest.approx(0.6 * (1 - 0.25 * x))
    assert round(0.6 * (1 - 0.25 * x), 4) == 0.4243
    assert sum(p.mark_value_usd for p in straddle.positions) == pytest.approx(37_920.64, abs=0.005)
    assert all(s.pnl_usd > 0 for s in straddle.scenarios if abs(s.price_move) == 0.16)
    span = _margin("hedged_straddle", "span")
    assert span.components["intra_spread_charge"] == Decimal("100.000000")
    assert _cents(span.components["scan_risk"]) == "11366.35"
    spread = _margin("call_spread", "pm")
    assert _cents(spread.components["scan_risk:BTC"]) == "4761.89"
    assert spread.components["short_option:BTC"] == Decimal("1440.000000")
    calendar = _margin("calendar_spread", "isolated")
    assert _cents(calendar.components["short_option_im"]) == "19737.23"
    book = _margin("btc_eth_book", "var")
    assert _cents(book.components["stress_floor_addon"]) == "4806.62"
    perpetual = _margin("naked_perpetual", "var")
    assert any("BTC 3.34 %" in note for note in perpetual.notes)


# ------------------------------------------------------------ reading a result


def test_reading_a_result_json() -> None:
    """The fields the page shows for ``margin examples/naked_perpetual.toml --model pm --json``."""
    document = margin_result_to_json(_margin("naked_perpetual", "pm"))
    assert {key: document[key] for key in ("model", "currency", "initial_margin")} == {
        "model": "pm",
        "currency": "USD",
        "initial_margin": "16457.142858",
    }
    assert document["maintenance_margin"] == "13165.714286"
    assert document["equity"] == "29542.857143"
    assert document["collateral_value"] == "32400.000000"
    assert document["available"] == "13085.714285"
    assert document["margin_ratio"] == pytest.approx(0.4456479690597406)
    assert document["parameters_version"] == "deribit-pm-2024-06-17.1"
    assert document["worst_scenario"]["label"] == "BTC +16% vol up"
    assert len(document["scenarios"]) == 53
    assert document["scenarios"][0]["label"] == "BTC -16% vol up"
    assert document["positions"][0]["delta_coin"] == pytest.approx(-1.4285714285714286)


def test_whatif_buying_back_half() -> None:
    """Buying 50,000 of the −100,000 perpetual at the mark: IM 16,457.142858 → 8,228.571429;
    −50,000 × (1/70,000 − 1/72,000) = −0.019841 BTC realised, 0.480159 BTC left."""
    portfolio, market = _example("naked_perpetual")
    model = PortfolioMargin()
    before = model.margin(portfolio, market)
    after_portfolio = apply_trade(portfolio, parse_instrument("BTC-PERPETUAL"), 50_000.0, market)
    after = model.margin(after_portfolio, market)
    assert after.initial_margin == Decimal("8228.571429")
    assert after.initial_margin - before.initial_margin == Decimal("-8228.571429")
    assert after.maintenance_margin - before.maintenance_margin == Decimal("-6582.857143")
    realised_btc = -50_000 * (1 / 70_000 - 1 / S)
    assert realised_btc == pytest.approx(-0.019841, abs=5e-7)
    assert after_portfolio.collateral["BTC"].quantize(Decimal("0.000001")) == Decimal("0.480159")


# ------------------------------------------------------------ the page itself


def _code_blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_page_inputs_are_the_tested_ones() -> None:
    """The TOML of example 3 and the risk-array JSON of example 4 are exactly the inputs above."""
    tomls = [tomllib.loads(block) for block in _code_blocks("toml")]
    assert CALENDAR_FUTURES in tomls
    documents = [json.loads(block) for block in _code_blocks("json") if '"corn"' in block]
    assert documents == [CORN_SOYBEANS]


def test_page_prints_the_checked_figures() -> None:
    """Every figure asserted above appears on the page as printed (thousands with commas)."""
    text = DOC.read_text(encoding="utf-8")
    figures = [
        # 1. short inverse perpetual
        "2,006.944445", "1,006.944445", "29,542.857143", "101,162.83", "16,457.142858",
        "13,165.714286", "17,485.714286", "15,896.103897", "212,500",
        # 2. covered call
        "6,385.466178", "0.8458975", "0.8537692", "0.4731154", "5,384.017382", "+10,014.487959",
        "−105,185.512041", "105,185.512042", "7,200.000000", "112,385.512042", "89,908.409634",
        "145,614.661776", "120,414.661777", "150,614.661776", "136,145.338225", "141,145.338225",
        "−2,814.487959", "−75,999.670156", "−64,009.773682", "−78,264.797420", "−73,851.585290",
        # 3. futures calendar spread
        "−4,550.379198", "773.564464", "923.076924", "1,696.641388", "1,542.401262",
        "−7,932.285251", "+4,621.674377", "3,310.610874", "448.877806", "3,759.488680",
        "3,007.590945", "992.074229", "1,891.229085",
        # 4. corn vs soybeans
        "6,000.00", "−3,300.00", "2,700.00", "2,454.545455",
        # model sections, reading a result
        "176,000.00", "84.00", "60.00", "8,228.571429", "-8228.571429", "-6582.857143",
    ]  # fmt: skip
    missing = [figure for figure in figures if figure not in text]
    assert not missing, f"docs/margin-models.md no longer prints {missing}"
    for example, cells in SIDE_BY_SIDE.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{example}` |"))
        for model, cell in cells.items():
            ratio = SIDE_BY_SIDE_RATIOS[example].get(model, "1.000")
            assert f"{float(cell):,.2f} ({ratio})" in row, (example, model)
