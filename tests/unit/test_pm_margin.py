"""Deribit's cross-collateral portfolio margin: hand-derived requirements and the breakdown.

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
from crossmargin.margin.common import risk_portfolio, view_account
from crossmargin.margin.pm.model import PortfolioMargin, deribit_scenario_set
from crossmargin.margin.pm.parameters import load_pm_parameters
from crossmargin.market import MarketSnapshot, VolSmile, VolSurface
from crossmargin.portfolio import Portfolio, Position
from crossmargin.pricing import instrument_arrays
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


def _margin(  # type: ignore[no-untyped-def]
    positions: list[Position | tuple[str, float]],
    model: PortfolioMargin = PM,
    collateral: dict[str, object] | None = None,
):
    return model.margin(Portfolio.of(positions, collateral or {"USDC": 1_000_000}), MARKET)


def test_is_a_margin_model_named_pm() -> None:
    assert isinstance(PM, MarginModel)
    assert PM.name == "pm"


def test_short_inverse_perpetual_costs_its_coin_loss_at_plus_16_percent_and_its_roll() -> None:
    """Short 100,000 USD face of BTC-PERPETUAL entered at 70,000, index 72,000, USDC collateral
    (enters no scenario). USD P&L at m: −N·S·m/E; in BTC at S(1 + m), valued at S: the worst is
    +16 %: 0.16·100,000·72,000/70,000/1.16 = 14,187.192118 USD (finding 3: in USD it would be
    16,457.14). Roll shock: BTC min_annualised_move 0.01 × 100,000/72,000 BTC × 72,000 = 1,000
    (a perpetual, T = 0). IM = 15,187.192118, MM = 0.8 × IM."""
    result = _margin([Position.of("BTC-PERPETUAL", -100_000, 70_000.0)])
    worst = 0.16 * 100_000 * 72_000 / 70_000 / 1.16
    assert float(result.components["worst_case"]) == pytest.approx(worst, abs=1e-6)
    assert float(result.components["roll_shock:BTC"]) == pytest.approx(1000.0, abs=1e-6)
    assert float(result.initial_margin) == pytest.approx(worst + 1000.0, abs=2e-6)
    assert float(result.maintenance_margin) == pytest.approx(0.8 * (worst + 1000.0), abs=2e-6)
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +16% vol up"
    assert result.positions[0].contribution_usd == pytest.approx(worst + 1000.0, rel=1e-12)


def test_short_linear_perpetual_is_margined_in_usdc_at_its_notional() -> None:
    """Short 1 BTC of BTC_USDC-PERPETUAL: the USDC vector's loss at +16 % is 0.16 × 72,000 =
    11,520; roll shock 0.01 (usd min_annualised_move) × 72,000 = 720."""
    result = _margin([("BTC_USDC-PERPETUAL", -1)])
    assert float(result.components["worst_case"]) == pytest.approx(11_520.0, abs=1e-6)
    assert float(result.components["roll_shock:USDC"]) == pytest.approx(720.0, abs=1e-6)


def test_long_call_worst_scenario_is_down_16_with_vol_down() -> None:
    """Long 1 BTC_USDC-28JUN24-80000-C. Mark C(72000, 0.6) = 6,385.4662. 108.7 days ≥ 30, so
    x = (30/108.6965)^0.13 = 0.8458975, σ_down = 0.6·(1 − 0.25·x) = 0.4731154 (the strike's own
    vol). At −16 % (F = 60,480) the call is worth C(60480, 0.4731154) = 1,266.4435: loss
    5,119.0226 in USDC, the worst case and the IM (no futures: no roll; no delta shock)."""
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


def test_extended_scenario_binds_for_a_large_short_wing() -> None:
    """Short 2,000 BTC_USDC-28JUN24-150000-C. Vol up: σ_up = max(0.6·(1 + 0.5·0.8458975), 0.5)
    = 0.8537692. At +500 % (F = 432,000) the loss is 2000·(C(432000) − C(72000)) = 564,634,237
    USDC; counted 0.16/5 of it, less the USDC dampener (5/0.16 − 1)·25,000 = 756,250:
    17,312,046, above the grid's worst; in USDC (price 1 in every scenario)."""
    up = 0.6 * (1 + 0.5 * (30 / (T_JUN * 365)) ** 0.13)
    loss = 2000 * (_call(432000, 150000, T_JUN, up) - _call(72000, 150000, T_JUN, 0.6))
    counted = 0.16 / 5 * loss - (5 / 0.16 - 1) * 25_000
    result = _margin([("BTC_USDC-28JUN24-150000-C", -2000)])
    assert counted == pytest.approx(17_312_046, abs=1)
    assert float(result.components["worst_case"]) == pytest.approx(counted, rel=1e-9)
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC +500% vol up (extended)"


def test_calendar_futures_spread_pays_a_roll_shock_per_expiry() -> None:
    """Long 50,000 face of BTC-29MAR24, short 50,000 of BTC-28JUN24, r = 0 (F = S): the price
    moves cancel (worst case 0). Roll: 50,000/72,000 = 0.694444 BTC per bucket at
    max(0.075·T, 0.01): March (T = 0.0484934) 0.01, June 0.075 × 0.2977987 = 0.0223349; IM =
    (0.01 + 0.0223349) × 0.694444 × 72,000 = 1,616.745148 (finding 1: no 1 % basis charge)."""
    result = _margin([("BTC-29MAR24", 50_000), ("BTC-28JUN24", -50_000)])
    roll = (max(0.075 * T_MAR, 0.01) + max(0.075 * T_JUN, 0.01)) * 50_000
    assert float(result.components["worst_case"]) == pytest.approx(0.0, abs=1e-6)
    assert float(result.components["roll_shock:BTC"]) == pytest.approx(roll, abs=1e-6)
    assert roll == pytest.approx(1616.745148, abs=1e-6)
    assert set(result.components) == {
        "worst_case", "correlation_contingency", "roll_shock:BTC", "delta_shock:BTC",
    }  # fmt: skip


def test_delta_shock_beyond_the_liquidity_threshold() -> None:
    """400 BTC of BTC_USDC-PERPETUAL at 72,000: δ·S = 28.8M > 20M; excess 400 − 20M/72,000 =
    122.222 BTC, move 0.00005 × 122.222 = 0.006111, shock 400 × 72,000 × 0.006111 = 176,000."""
    result = _margin([("BTC_USDC-PERPETUAL", 400)])
    assert float(result.components["delta_shock:USDC"]) == pytest.approx(176_000.0, abs=1e-5)


def test_two_currencies_offset_gains_at_pnl_offset_and_the_rest_is_correlation() -> None:
    """Long 1 BTC of BTC_USDC-PERPETUAL (USDC vector: 72,000·m_b) and short 2 ETH of
    ETH-PERPETUAL (8,000 face; ETH vector −2·m_e/(1 + m_e) ETH). Aligned first scenario
    (BTC −16 %, ETH −18 %): USDC −11,520, ETH +2·0.18/0.82 ETH = 1,756.0976 USD. Worst case
    (full netting) 9,763.9024; with the ETH gain at pnl_offset 0.6: 10,466.3415, so the
    correlation contingency is 0.4 × 1,756.0976 = 702.4390. Roll: 720 (USDC) + 0.005 × 2 ETH ×
    4,000 = 40 (ETH)."""
    result = _margin([("BTC_USDC-PERPETUAL", 1), ("ETH-PERPETUAL", -8000)])
    gain = 8000 * 0.18 / 0.82
    assert float(result.components["worst_case"]) == pytest.approx(11_520 - gain, abs=1e-6)
    assert float(result.components["correlation_contingency"]) == pytest.approx(
        0.4 * gain, abs=1e-6
    )
    assert float(result.components["roll_shock:USDC"]) == pytest.approx(720.0, abs=1e-6)
    assert float(result.components["roll_shock:ETH"]) == pytest.approx(40.0, abs=1e-6)
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC -16% vol up"


def test_a_cash_and_carry_pays_only_its_roll_shock() -> None:
    """10 BTC of collateral and short 720,000 face of BTC-PERPETUAL (10 BTC at 72,000): the
    balance's USD P&L 10·S·m offsets the short's −10·S·m in every scenario (finding 4), so the
    worst case is 0 and IM is the roll shock 0.01 × 10 BTC × 72,000 = 7,200. Against 720,000
    USDC instead the short pays its loss at +16 %: 10 × 0.16/1.16 × 72,000 = 99,310.344828."""
    carry = _margin([("BTC-PERPETUAL", -720_000)], collateral={"BTC": 10})
    assert float(carry.components["worst_case"]) == pytest.approx(0.0, abs=2e-6)
    assert float(carry.initial_margin) == pytest.approx(7200.0, abs=3e-6)
    assert any("BTC balance 10 inside the BTC scenarios" in note for note in carry.notes)
    naked = _margin([("BTC-PERPETUAL", -720_000)], collateral={"USDC": 720_000})
    assert float(naked.components["worst_case"]) == pytest.approx(
        10 * 0.16 / 1.16 * 72_000, abs=1e-6
    )


def test_a_coin_balance_alone_is_a_long_in_its_scenarios() -> None:
    """2 BTC and nothing else: equity_side_impact "both" puts the balance in the BTC scenarios;
    its worst is −16 %: 2 × 0.16/0.84 BTC × 72,000 = 27,428.571429 USD. USDC enters none."""
    result = PM.margin(Portfolio.of([], {"BTC": 2, "USDC": 5}), MARKET)
    assert float(result.initial_margin) == pytest.approx(2 * 0.16 / 0.84 * 72_000, abs=1e-6)
    assert result.positions == ()


def test_vol_shocks_scale_each_strikes_own_vol() -> None:
    """Finding 5: a smile 95/45/85 % at 60,000/80,000/110,000 for 29MAR24 (17.7 days < 30, x =
    (30/17.70)^0.3): the up shock of the 110,000 call is 0.85·0.5·x, of the 80,000 call 0.45·0.5
    x (from max(σ_K·(1 + 0.5x), 0.5) − σ_K, above the floor here), not one ATM shift."""
    smile = VolSmile.from_strikes(
        datetime(2024, 3, 29, 8, tzinfo=UTC), [60000.0, 80000.0, 110000.0], [0.95, 0.45, 0.85],
        72000.0,
    )  # fmt: skip
    market = MarketSnapshot(NOW, {"BTC": 72000.0}, 0.0, {"BTC": VolSurface.from_smiles([smile])})
    names = ["BTC-29MAR24-110000-C", "BTC-29MAR24-80000-C"]
    arrays = instrument_arrays([Position.of(n, 1).instrument for n in names], market)
    scenario_set = deribit_scenario_set("BTC", arrays, market, load_pm_parameters())
    x = (30 / (T_MAR * 365)) ** 0.3
    up = scenario_set.labels.index("BTC 0% vol up")
    vols = arrays.vol_annual
    assert scenario_set.vol_shifts[up, 0] == pytest.approx(vols[0] * 0.5 * x, rel=1e-12)
    assert scenario_set.vol_shifts[up, 1] == pytest.approx(
        max(vols[1] * (1 + 0.5 * x), 0.5) - vols[1], rel=1e-12
    )
    assert vols[0] > vols[1]


def test_contributions_add_up_and_mm_is_80_percent() -> None:
    """A mixed book without coin balances: contributions add up to IM within rounding; every MM
    component is 0.8 × its IM component (each rounded up)."""
    result = _margin(
        [
            ("BTC-28JUN24-80000-C", -3),
            ("BTC_USDC-PERPETUAL", 2),
            ("BTC-29MAR24", 30_000),
            ("ETH-28JUN24-4000-P", -10),
        ]
    )
    total = sum(p.contribution_usd for p in result.positions)
    assert total == pytest.approx(float(result.initial_margin), abs=1e-4)
    for name, value in result.components.items():
        assert result.maintenance_components[name] == pytest.approx(
            Decimal("0.8") * value, abs=Decimal("0.000002")
        )


def test_empty_portfolio_needs_nothing_and_records_the_parameter_version() -> None:
    result = PM.margin(Portfolio.of([], {"USDC": 100}), MARKET)
    assert result.initial_margin == 0 and result.worst_scenario is None
    assert result.parameters_version == "deribit-xpm-2026-02-15.1"


def test_scenario_set_layout() -> None:
    """27 standard scenarios (9 moves × up/unchanged/down) then 8 extended (vol up), no rate
    scenarios; extended weights 0.16/|m|, unit dampeners |m|/0.16 − 1 (times a currency's
    dampener), coin conversion at the grid's edge."""
    arrays = instrument_arrays([Position.of("BTC-PERPETUAL", 1).instrument], MARKET)
    scenario_set = deribit_scenario_set("BTC", arrays, MARKET, load_pm_parameters())
    assert scenario_set.count == 35
    assert scenario_set.weights[27:] == pytest.approx(
        [0.16 / abs(m) for m in scenario_set.price_moves[27:]]
    )
    assert scenario_set.dampeners_usd[27] == pytest.approx(0.66 / 0.16 - 1)
    assert scenario_set.coin_price_factors[27:] == pytest.approx([0.84, 0.84] + [1.16] * 6)
    assert np.all(scenario_set.rate_shifts == 0.0)


def test_view_and_risk_expose_the_vectors() -> None:
    """One vector per (pair, currency): BTC inverse and USDC linear positions on BTC are two."""
    portfolio = Portfolio.of([("BTC-PERPETUAL", 1000), ("BTC_USDC-PERPETUAL", 1)])
    risk = PM.risk(view_account(portfolio, MARKET, PM.haircuts))
    assert [(v.pair, v.currency) for v in risk.vectors] == [("BTC", "BTC"), ("BTC", "USDC")]
    assert math.isclose(risk.vectors[1].price_usd, 1.0)


def test_risk_portfolio_adds_coin_balances_as_spot_after_the_positions() -> None:
    """BTC 1.5 and ETH −2 become BTC_USDC +1.5 and ETH_USDC −2 after the positions (an existing
    BTC_USDC spot grows by the balance instead); USDC is not a position."""
    portfolio = Portfolio.of(
        [("BTC-PERPETUAL", -1000), ("BTC_USDC", 0.5)], {"BTC": 1.5, "ETH": -2, "USDC": 9}
    )
    risky = risk_portfolio(portfolio)
    assert [(p.instrument.name, p.size) for p in risky.positions] == [
        ("BTC-PERPETUAL", -1000.0),
        ("BTC_USDC", 2.0),
        ("ETH_USDC", -2.0),
    ]
    assert risky.collateral == portfolio.collateral
