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
from crossmargin.margin.pm.charges import delta_shock_charge_usd
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.margin.rendering import margin_result_to_json
from crossmargin.margin.var.model import expected_shortfall, value_at_risk
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, apply_trade, load_portfolio_file, portfolio_from_dict
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
    "collateral": {"USDC": 10000},
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
        "isolated": "2006.94",
        "cross": "2006.94",
        "pm": "10221.67",
        "span": "11365.71",
        "var": "15025.80",
    },
    "covered_call": {
        "isolated": "150614.66",
        "cross": "150614.66",
        "pm": "122400.00",
        "span": "105832.67",
        "var": "110916.37",
    },
    "hedged_straddle": {
        "isolated": "38120.71",
        "cross": "200.07",
        "pm": "15230.28",
        "span": "14747.74",
        "var": "7794.55",
    },
    "call_spread": {
        "isolated": "28163.51",
        "cross": "18508.60",
        "pm": "4761.89",
        "span": "5063.92",
        "var": "4050.77",
    },
    "calendar_spread": {
        "isolated": "21995.37",
        "cross": "21628.46",
        "pm": "15475.97",
        "span": "10098.61",
        "var": "9326.64",
    },
    "btc_eth_book": {
        "isolated": "126006.52",
        "cross": "88004.75",
        "pm": "111252.36",
        "span": "99172.98",
        "var": "100456.68",
    },
    "btc_cash_and_carry": {
        "isolated": "14760.00",
        "cross": "14760.00",
        "pm": "16081.13",
        "span": "10800.00",
        "var": "0.00",
    },
    "btc_short_future_usdc": {
        "isolated": "14760.00",
        "cross": "14760.00",
        "pm": "115391.47",
        "span": "122400.00",
        "var": "161816.30",
    },
    "deribit_eth_perpetual_capture": {
        "isolated": "38.97",
        "cross": "38.97",
        "pm": "306.95",
        "span": "389.67",
        "var": "608.09",
    },
}
SIDE_BY_SIDE_RATIOS: dict[str, dict[str, str]] = {
    "naked_perpetual": {"cross": "1.000", "pm": "5.093", "span": "5.663", "var": "7.487"},
    "covered_call": {"cross": "1.000", "pm": "0.813", "span": "0.703", "var": "0.736"},
    "hedged_straddle": {"cross": "0.005", "pm": "0.400", "span": "0.387", "var": "0.204"},
    "call_spread": {"cross": "0.657", "pm": "0.169", "span": "0.180", "var": "0.144"},
    "calendar_spread": {"cross": "0.983", "pm": "0.704", "span": "0.459", "var": "0.424"},
    "btc_eth_book": {"cross": "0.698", "pm": "0.883", "span": "0.787", "var": "0.797"},
    "btc_cash_and_carry": {"cross": "1.000", "pm": "1.090", "span": "0.732", "var": "0.000"},
    "btc_short_future_usdc": {"cross": "1.000", "pm": "7.818", "span": "8.293", "var": "10.963"},
    "deribit_eth_perpetual_capture": {
        "cross": "1.000",
        "pm": "7.876",
        "span": "9.998",
        "var": "15.602",
    },
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
    BTC on a 100,000 notional; IM 2.006944 %, MM 1.006944 %. The 10 % haircut is on the net BTC
    holding 0.5 − 0.039682540 = 0.460317460 BTC (issue 12 finding 3): 3,314.285714, collateral
    36,000 − 3,314.285714 = 32,685.714285 (rounded down), equity 32,685.714285 − 2,857.142857."""
    portfolio, market = _example("naked_perpetual")
    mark_value = -100_000 * (S / 70_000 - 1)
    rate_im = 0.02 + 0.00005 * 100_000 / S
    assert mark_value == pytest.approx(-2_857.142857, abs=1e-6)
    assert rate_im == pytest.approx(0.02006944, abs=5e-9)
    net_btc = 0.5 + mark_value / S
    assert net_btc == pytest.approx(0.460317460, abs=5e-10)
    assert 0.10 * net_btc * S == pytest.approx(3_314.285714, abs=1e-6)
    assert 0.5 * S - 0.10 * net_btc * S == pytest.approx(32_685.714286, abs=1e-6)
    for model in (IsolatedMargin(), CrossMargin()):
        result = model.margin(portfolio, market)
        assert result.initial_margin == Decimal("2006.944445")
        assert result.maintenance_margin == Decimal("1006.944445")
        assert result.collateral_value == Decimal("32685.714285")
        assert result.equity == Decimal("29828.571428")
        assert result.components["futures_im"] == Decimal("2006.944445")
        assert result.positions[0].mark_value_usd == pytest.approx(-2_857.142857, abs=1e-6)
    isolated = IsolatedMargin().margin(portfolio, market)
    assert isolated.components["own_value_held_im"] == Decimal("0.000000")


def test_short_inverse_perpetual_liquidation_price() -> None:
    """Haircut on the net BTC holding (issue 12 finding 3): C + v = 0.9 × (0.5·S' + v(S')) =
    90,000 − 0.8357143·S' = 1,000 + 500,000/S', i.e. 0.8357143·S'² − 89,000·S' + 500,000 = 0:
    the root near the index is 106,490.11 (+47.9 %), where the net holding is still 0.010483 BTC."""
    portfolio, market = _example("naked_perpetual")
    a = 0.9 * 100_000 / 70_000 - 0.45
    assert a == pytest.approx(0.8357143, abs=5e-8)
    root = math.sqrt(89_000.0**2 - 4 * a * 500_000)
    assert root == pytest.approx(88_990.609456, abs=1e-6)
    price = (89_000 + root) / (2 * a)
    assert (89_000 - root) / (2 * a) == pytest.approx(5.62, abs=0.005)
    assert 0.5 + (100_000 - price / 0.7) / price == pytest.approx(0.010483, abs=5e-7)
    liquidation = liquidation_prices(portfolio, market)["BTC-PERPETUAL"]
    assert liquidation is not None
    assert liquidation == pytest.approx(price, abs=1e-6)
    assert round(liquidation, 2) == 106_490.11
    assert liquidation / S - 1 == pytest.approx(0.479, abs=5e-4)


def test_short_inverse_perpetual_pm() -> None:
    """One (BTC, BTC) vector: U(m) = −102,857.142857·m + 0.5 × 72,000·m = −66,857.142857·m. At
    +16 %: −10,697.142857 USD over 83,520 = −0.128078818 BTC, 9,221.674877 at 72,000; the +50 %
    extended row weighs 0.32 (−10,697.142857) and its 212,500 dampener takes it to 0. Roll shock
    0.01 × 1.388889 BTC × 72,000 = 1,000.000001. IM 10,221.674878, MM 8,177.339903."""
    portfolio, market = _example("naked_perpetual")
    model = PortfolioMargin()
    result = model.margin(portfolio, market)
    assert result.initial_margin == Decimal("10221.674878")
    assert result.maintenance_margin == Decimal("8177.339903")
    assert result.components["worst_case"] == Decimal("9221.674877")
    assert result.components["roll_shock:BTC"] == Decimal("1000.000001")
    assert result.maintenance_components["worst_case"] == Decimal("7377.339902")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +16% vol up"
    assert result.worst_scenario.pnl_usd == pytest.approx(-9_221.674877, abs=1e-6)
    assert result.positions[0].contribution_usd == pytest.approx(10_221.674877, abs=1e-6)
    risk = model.risk(view_account(portfolio, market, default_haircuts()))
    (vector,) = risk.vectors
    assert vector.balance_coin == 0.5
    scenarios = risk.sets["BTC"]
    (k,) = [i for i, label in enumerate(scenarios.labels) if label.startswith("BTC +50%")]
    assert float(vector.raw_pnl_usd[k]) == pytest.approx(-33_428.571429, abs=1e-6)
    assert scenarios.weights[k] * vector.raw_pnl_usd[k] == pytest.approx(-10_697.142857, abs=1e-6)
    assert scenarios.dampeners_usd[k] * 100_000 == pytest.approx(212_500.0)
    assert float(vector.coin[24]) == pytest.approx(-0.128078818, abs=1e-9)
    assert float(vector.coin[0]) == pytest.approx(0.176870748, abs=1e-9)
    extended = [s for s in result.scenarios if "extended" in s.label]
    assert len(extended) == 8 and all(s.pnl_usd == 0.0 for s in extended)


def test_short_inverse_perpetual_span() -> None:
    """The 0.5 BTC balance is a spot position: −66,857.142857·m. Scenario 11 (+17 %) loses
    11,365.714286; scenario 15 (+34 % at 35 %) 7,956.00."""
    portfolio, market = _example("naked_perpetual")
    result = SpanMargin().margin(portfolio, market)
    assert result.initial_margin == Decimal("11365.714286")
    assert result.maintenance_margin == Decimal("10332.467533")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label.startswith("BTC scenario 11:")
    assert result.scenarios[14].pnl_usd == pytest.approx(-7_956.0, abs=1e-6)
    assert any("BTC 0.5" in note for note in result.notes)


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
    """Perpetual 2.05 % of 720,000 (its 5,000 value is below it, so nothing is held); the short
    call 10 × (0.10 × 72,000 + 6,385.466178). One equity for both (issue 12 finding 4): 200,000 +
    5,000 − 63,854.661775, the calls' net BTC a liability with no haircut; the excess −9,469.32
    is the older isolated rule's."""
    portfolio, market = _example("covered_call")
    isolated = IsolatedMargin().margin(portfolio, market)
    assert dict(isolated.components) == {
        "futures_im": Decimal("14760.000000"),
        "short_option_im": Decimal("135854.661776"),
        "short_spot_im": Decimal("0.000000"),
        "own_value_held_im": Decimal("0.000000"),
    }
    assert isolated.maintenance_components["futures_mm"] == Decimal("7560.000001")
    assert isolated.maintenance_components["short_option_mm"] == Decimal("117854.661776")
    assert isolated.maintenance_components["own_value_held_mm"] == Decimal("0.000000")
    assert isolated.initial_margin == Decimal("150614.661776")
    assert isolated.maintenance_margin == Decimal("125414.661777")
    assert isolated.collateral_value == Decimal("200000.000000")
    assert isolated.equity == Decimal("141145.338225")
    assert _cents(isolated.available_usd) == "-9469.32"
    cross = CrossMargin().margin(portfolio, market)
    assert cross.components["futures_im"] == Decimal("14760.000000")
    assert cross.initial_margin == Decimal("150614.661776")
    assert cross.maintenance_margin == Decimal("125414.661777")
    assert cross.equity == Decimal("141145.338225")
    assert cross.available_usd == isolated.available_usd


def test_covered_call_pm() -> None:
    """Two vectors: USDC (the perpetual) −115,200 at −16 % vol up; BTC (the calls) +10,014.487959
    USD, 0.165583465 BTC at 60,480, 11,922.009475 at 72,000. Worst case 103,277.990526;
    correlation contingency 11,922.009475 (BTC pnl_offset 0); roll 7,200 (USDC). IM
    122,400.000001, MM 97,920.000001; every −16 % row −115,200."""
    portfolio, market = _example("covered_call")
    result = PortfolioMargin().margin(portfolio, market)
    assert dict(result.components) == {
        "worst_case": Decimal("103277.990526"),
        "correlation_contingency": Decimal("11922.009475"),
        "roll_shock:BTC": Decimal("0.000000"),
        "roll_shock:USDC": Decimal("7200.000000"),
        "delta_shock:BTC": Decimal("0.000000"),
        "delta_shock:USDC": Decimal("0.000000"),
    }
    assert result.initial_margin == Decimal("122400.000001")
    assert result.maintenance_margin == Decimal("97920.000001")
    assert result.maintenance_components["worst_case"] == Decimal("82622.392421")
    assert result.maintenance_components["correlation_contingency"] == Decimal("9537.607580")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC -16% vol up"
    assert result.worst_scenario.vol_shock == pytest.approx(0.2537692, abs=5e-8)
    assert result.worst_scenario.pnl_usd == pytest.approx(-115_200.0, abs=1e-6)
    for label in ("BTC -16% vol unchanged", "BTC -16% vol down"):
        assert _scenario(result, label) == pytest.approx(-115_200.0, abs=1e-6)
    assert pytest.approx(0.165583465, abs=1e-9) == 10_014.487959 / 60_480
    assert [p.contribution_usd for p in result.positions] == pytest.approx(
        [135_698.239872, -13_298.239872], abs=1e-6
    )


def test_covered_call_pm_tail_is_dampened() -> None:
    """The USDC perpetual's −33 % edge loss 115,200 less (0.33/0.16 − 1) × 25,000 = 26,562.50
    counts −88,637.50; the calls' tail gains are dampened away (BTC dampener 100,000)."""
    portfolio, market = _example("covered_call")
    result = PortfolioMargin().margin(portfolio, market)
    assert _scenario(result, "BTC -33% vol up (extended)") == pytest.approx(-88_637.5, abs=1e-6)


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
    """+16 %: −728.060672 USD over 83,520 at 72,000 = −627.638510; roll: 0.687758 BTC at 0.01
    (March) and 0.623441 BTC at 0.075 × 0.7964288 (December), × 72,000 = 3,176.429930; IM
    3,804.068441, MM 3,043.254753."""
    portfolio, market = _calendar_futures()
    roll = (50_000 / 72_700 * 0.01 + 50_000 / 80_200 * 0.075 * 290.6965278 / 365) * S
    assert roll == pytest.approx(3_176.429930, abs=1e-5)
    result = PortfolioMargin().margin(portfolio, market)
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +16% vol up"
    assert result.worst_scenario.pnl_usd == pytest.approx(-627.638510, abs=1e-6)
    assert pytest.approx(-627.638510, abs=1e-6) == -728.060672 / 1.16
    assert result.components["worst_case"] == Decimal("627.638511")
    assert result.components["roll_shock:BTC"] == Decimal("3176.429930")
    assert result.initial_margin == Decimal("3804.068441")
    assert result.maintenance_margin == Decimal("3043.254753")


def test_futures_calendar_isolated_and_cross() -> None:
    """Legs −1,185.655889 and +1,266.065605; IMs 992.074229 and 899.154856, cross 1,891.229085.
    Isolated holds the December leg's value above its IM (issue 12 finding 4): 1,891.229085 +
    366.910750 = 2,258.139835, MM 947.165585 + 815.788555. The legs' net BTC value 80.409716 takes
    the 10 % haircut (issue 12 finding 3): collateral 9,991.959028, equity 10,072.368744."""
    portfolio, market = _calendar_futures()
    march = -50_000 * (1 / 71_000 - 1 / 72_700) * S
    december = 50_000 * (1 / 78_000 - 1 / 80_200) * S
    assert (march, december) == pytest.approx((-1_185.655889, 1_266.065605), abs=1e-6)
    coin = (50_000 / 72_700, 50_000 / 80_200)
    im = [(0.02 + 0.00005 * c) * c * S for c in coin]
    mm = [(0.01 + 0.00005 * c) * c * S for c in coin]
    assert im == pytest.approx([992.074229, 899.154856], abs=1e-6)
    assert mm == pytest.approx([496.888534, 450.277051], abs=1e-6)
    assert december - im[1] == pytest.approx(366.910749, abs=1e-6)
    assert december - mm[1] == pytest.approx(815.788555, abs=1e-6)
    assert 0.10 * (march + december) == pytest.approx(8.040972, abs=1e-6)
    isolated = IsolatedMargin().margin(portfolio, market)
    assert dict(isolated.components) == {
        "futures_im": Decimal("1891.229085"),
        "short_option_im": Decimal("0.000000"),
        "short_spot_im": Decimal("0.000000"),
        "own_value_held_im": Decimal("366.910750"),
    }
    assert isolated.initial_margin == Decimal("2258.139835")
    assert isolated.maintenance_margin == Decimal("1762.954140")
    assert isolated.collateral_value == Decimal("9991.959028")
    assert isolated.equity == Decimal("10072.368744")
    assert isolated.available_usd == Decimal("7814.228909")
    cross = CrossMargin().margin(portfolio, market)
    assert cross.initial_margin == Decimal("1891.229085")
    assert cross.maintenance_margin == Decimal("947.165585")
    assert cross.equity == Decimal("10072.368744")
    assert cross.available_usd == Decimal("8181.139659")


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
    btc = load_pm_parameters().for_pair("BTC")
    excess_coin = 400 - 20_000_000 / S
    assert excess_coin == pytest.approx(122.222222, abs=1e-6)
    for delta in (400.0, -400.0):
        charge = delta_shock_charge_usd(
            delta, S, btc.delta_shock_threshold_usd, btc.max_delta_shock,
            btc.delta_shock_increment_per_coin,
        )  # fmt: skip
        assert float(charge) == pytest.approx(176_000.0, abs=1e-6)


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
    """The figures the explanations quote: the straddle's −4 % vol-down worst case with its 2 BTC
    inside, and its 11,096.97 vol-down loss without them; the cash-and-carry's roll, SPAN spread
    and zero VaR; the naked short's VaR vol."""
    straddle = _margin("hedged_straddle", "pm")
    assert straddle.worst_scenario is not None
    assert straddle.worst_scenario.label == "BTC -4% vol down"
    assert _cents(straddle.components["worst_case"]) == "15130.28"
    assert straddle.components["roll_shock:BTC"] == Decimal("100.000000")
    portfolio, market = _example("hedged_straddle")
    without = PortfolioMargin().margin(Portfolio(portfolio.positions, {"USDC": 1}), market)
    assert without.worst_scenario is not None
    assert without.worst_scenario.label == "BTC 0% vol down"
    assert without.worst_scenario.pnl_usd == pytest.approx(-11_096.97, abs=0.005)
    days = 17 + (24 * 60 - 7 * 60 - 17) / 1440
    x = (30 / days) ** 0.30
    assert (round(days, 2), round(x, 4)) == (17.70, 1.1716)
    assert round(0.6 * (1 - 0.25 * x), 4) == 0.4243
    assert sum(p.mark_value_usd for p in straddle.positions) == pytest.approx(37_920.64, abs=0.005)
    carry = _margin("btc_cash_and_carry", "pm")
    assert _cents(carry.components["roll_shock:BTC"]) == "16081.13"
    assert pytest.approx(16_081.13, abs=0.01) == 0.075 * 0.2977987 * 10 * S
    assert _margin("btc_cash_and_carry", "var").initial_margin <= Decimal("0.000002")
    naked = _margin("btc_short_future_usdc", "pm")
    assert _cents(naked.components["worst_case"]) == "99310.34"
    covered = _margin("covered_call", "pm")
    assert _cents(covered.components["correlation_contingency"]) == "11922.01"
    perpetual = _margin("naked_perpetual", "var")
    assert any("BTC 3.34 %" in note for note in perpetual.notes)


# ------------------------------------------------------------ reading a result


def test_reading_a_result_json() -> None:
    """The fields the page shows for ``margin examples/naked_perpetual.toml --model pm --json``."""
    document = margin_result_to_json(_margin("naked_perpetual", "pm"))
    assert {key: document[key] for key in ("model", "currency", "initial_margin")} == {
        "model": "pm",
        "currency": "USD",
        "initial_margin": "10221.674878",
    }
    assert document["maintenance_margin"] == "8177.339903"
    assert document["equity"] == "29828.571428"
    assert document["collateral_value"] == "32685.714285"
    assert document["available"] == "19606.896550"
    assert document["margin_ratio"] == pytest.approx(0.27414453698322117)
    assert document["parameters_version"] == "deribit-xpm-2026-02-15.1"
    assert document["worst_scenario"]["label"] == "BTC +16% vol up"
    assert len(document["scenarios"]) == 35
    assert document["scenarios"][0]["label"] == "BTC -16% vol up"
    assert document["scenarios"][0]["pnl_usd"] == 0.0
    assert document["positions"][0]["delta_coin"] == pytest.approx(-1.4285714285714286)


def test_whatif_buying_back_half() -> None:
    """Buying 50,000 of the −100,000 perpetual at the mark: IM 10,221.674878 → 2,825.123156
    (−16,857.142857·m: 2,697.142857 over 1.16 = 2,325.123155, roll 500.000001);
    −50,000 × (1/70,000 − 1/72,000) = −0.019841 BTC realised, 0.480159 BTC left."""
    portfolio, market = _example("naked_perpetual")
    model = PortfolioMargin()
    before = model.margin(portfolio, market)
    after_portfolio = apply_trade(portfolio, parse_instrument("BTC-PERPETUAL"), 50_000.0, market)
    after = model.margin(after_portfolio, market)
    assert after.initial_margin == Decimal("2825.123156")
    assert after.components["worst_case"] == Decimal("2325.123155")
    assert after.initial_margin - before.initial_margin == Decimal("-7396.551722")
    assert after.maintenance_margin - before.maintenance_margin == Decimal("-5917.241378")
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
        "2,006.944445", "1,006.944445", "32,685.714285", "29,828.571428", "0.460317460",
        "3,314.285714", "88,990.609456", "106,490.11", "10,221.674878",
        "8,177.339903", "9,221.674877", "0.128078818", "0.176870748", "1,000.000001",
        "11,365.714286", "10,332.467533", "7,956.00", "212,500",
        # 2. covered call
        "6,385.466178", "0.8458975", "0.8537692", "0.4731154", "5,384.017382", "+10,014.487959",
        "0.165583465", "103,277.990526", "11,922.009475", "7,200.000000", "122,400.000001",
        "97,920.000001", "135,698.239872", "−13,298.239872", "88,637.50",
        "14,760.000000", "125,414.661777", "150,614.661776", "141,145.338225",
        # 3. futures calendar spread
        "−4,550.379198", "773.564464", "923.076924", "1,696.641388", "1,542.401262",
        "627.638511", "3,176.429930", "3,804.068441", "3,043.254753",
        "992.074229", "899.154856", "366.910750", "2,258.139835", "1,762.954140", "1,891.229085",
        "9,991.959028", "10,072.368744", "7,814.228909", "8,181.139659",
        # 4. corn vs soybeans
        "6,000.00", "−3,300.00", "2,700.00", "2,454.545455",
        # model sections, reading a result, what if
        "176,000.00", "84.00", "60.00", "2,825.123156", "-7396.551722", "-5917.241378",
        "0.157461562", "0.125969250", "16,081.13", "115,391.47",
    ]  # fmt: skip
    missing = [figure for figure in figures if figure not in text]
    assert not missing, f"docs/margin-models.md no longer prints {missing}"
    for example, cells in SIDE_BY_SIDE.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{example}` |"))
        for model, cell in cells.items():
            ratio = SIDE_BY_SIDE_RATIOS[example].get(model, "1.000")
            assert f"{float(cell):,.2f} ({ratio})" in row, (example, model)
