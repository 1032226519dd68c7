"""SpanMargin on our portfolios, with the shipped parameters (config/span.toml)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin import MarginModel
from crossmargin.margin.span.model import SpanMargin
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position, value_portfolio
from support.markets import NOW

MARKET = MarketSnapshot(
    valuation_time=NOW,
    index_usd={"BTC": 72_000.0, "ETH": 4_000.0, "XRP": 0.6},
    vol_surfaces={"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
)
MODEL = SpanMargin()


def _margin(positions: list[Position], collateral: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return MODEL.margin(Portfolio.of(positions, collateral or {"USDC": 100_000}), MARKET)


def test_is_a_margin_model_named_span() -> None:
    assert isinstance(MODEL, MarginModel)
    assert MODEL.name == "span"


def test_naked_linear_perpetual() -> None:
    """+1 BTC linear perp at 72,000, BTC price scan range 17 %: scan = 12,240 at scenario 13
    (price −17 %, vol +18 points); IM = 12,240; MM = 12,240 / 1.1 = 11,127.272728 (rounded up)."""
    result = _margin([Position.of("BTC_USDC-PERPETUAL", 1.0, 72_000.0)])
    assert result.initial_margin == Decimal("12240.000000")
    assert result.maintenance_margin == Decimal("11127.272728")
    assert result.components["scan_risk"] == Decimal("12240.000000")
    worst = result.worst_scenario
    assert worst is not None
    assert (worst.underlying, worst.price_move, worst.vol_shock) == ("BTC", -0.17, 0.18)
    assert worst.pnl_usd == pytest.approx(-12_240.0)
    assert "scenario 13" in worst.label
    assert len(result.scenarios) == 16 and result.scenario_pnl.shape == (16,)
    assert result.positions[0].contribution_usd == pytest.approx(12_240.0)


def test_calendar_spread_pays_the_intra_charge_only() -> None:
    """Long 1 BTC of the 29MAR24 linear future (18 days, tier 1) and short 1 of 27DEC24 (291 days,
    tier 4), rate 0: both forwards are 72,000 and move alike, so scan = 0; the 1v4 spread of
    72,000 USD delta costs 2 % = 1,440. Outright long 1: 12,240."""
    result = _margin([Position.of("BTC_USDC-29MAR24", 1.0), Position.of("BTC_USDC-27DEC24", -1.0)])
    assert result.components["scan_risk"] == Decimal("0.000000")
    assert result.components["intra_spread_charge"] == Decimal("1440.000000")
    assert result.initial_margin == Decimal("1440.000000")
    assert sum(p.contribution_usd for p in result.positions) == pytest.approx(1440.0)


def test_btc_eth_inter_commodity_credit() -> None:
    """+1 BTC perp (72,000 USD delta) vs −18 ETH perp (−72,000): scans 12,240 + 14,400 (ETH 20 %,
    scenario 11). WPR 0.17 and 0.20 per USD of delta; one spread of 72,000 at 60 %:
    credit = 0.6 × 72,000 × (0.17 + 0.20) = 15,984 → IM = 26,640 − 15,984 = 10,656."""
    result = _margin(
        [
            Position.of("BTC_USDC-PERPETUAL", 1.0, 72_000.0),
            Position.of("ETH_USDC-PERPETUAL", -18.0, 4_000.0),
        ]
    )
    assert result.components["scan_risk"] == Decimal("26640.000000")
    assert result.components["inter_spread_credit"] == Decimal("-15984.000000")
    assert result.initial_margin == Decimal("10656.000000")
    assert float(result.maintenance_margin) == pytest.approx(10_656 / 1.1, abs=1e-5)
    assert result.worst_scenario is not None and result.worst_scenario.underlying == "ETH"
    assert len(result.scenarios) == 32


def test_short_option_minimum_on_a_far_put() -> None:
    """Short 2 BTC-29MAR24-20000-P: even −34 % (scenario 16) leaves it far out of the money, so
    the scan risk is tiny; the minimum 0.01 × 72,000 × 2 = 1,440 applies; IM = 1,440."""
    result = _margin([Position.of("BTC-29MAR24-20000-P", -2.0)])
    assert float(result.components["scan_risk"]) < 100.0
    assert float(result.components["short_option_minimum_addon"]) > 1_300.0
    assert float(result.initial_margin) == pytest.approx(1_440.0, abs=2e-6)


def test_components_add_up_and_im_covers_mm_on_a_mixed_book() -> None:
    """A mixed BTC/ETH book: components add up (MarginResult checks), IM ≥ MM, contributions
    add up to the IM."""
    result = _margin(
        [
            Position.of("BTC-28JUN24-60000-P", -5.0),
            Position.of("BTC-27SEP24-90000-C", 3.0),
            Position.of("BTC-PERPETUAL", 50_000.0),
            Position.of("ETH-28JUN24-3500-P", -40.0),
            Position.of("ETH_USDC-PERPETUAL", -20.0, 3_900.0),
        ]
    )
    assert result.initial_margin >= result.maintenance_margin > 0
    assert sum(p.contribution_usd for p in result.positions) == pytest.approx(
        float(result.initial_margin), abs=1e-4
    )
    assert result.parameters_version == MODEL.parameters.version


def test_scenario_pnl_is_a_full_revaluation() -> None:
    """Scenarios 1–14 of each underlying equal the change in mark value under
    ``MarketSnapshot.shocked`` (flat vols, no look-ahead; the perpetual needs its entry price or
    the shocked market would re-enter it at the new mark); 15–16 are 35 % of it."""
    positions = [
        Position.of("BTC-28JUN24-70000-C", -3.0),
        Position.of("BTC-PERPETUAL", 100_000.0, 72_000.0),
        Position.of("ETH-28JUN24-3500-P", 10.0),
    ]
    portfolio = Portfolio.of(positions, {"USDC": 1_000})
    result = MODEL.margin(portfolio, MARKET)
    haircuts = MODEL.haircuts
    base = value_portfolio(portfolio, MARKET, haircuts)
    for index, scenario in enumerate(result.scenarios):
        shocked = MARKET.shocked(
            {scenario.underlying: scenario.price_move},
            {scenario.underlying: float(scenario.vol_shock)},
        )
        moved = value_portfolio(portfolio, shocked, haircuts)
        change = sum(
            after.mark_value_usd - before.mark_value_usd
            for before, after in zip(base.positions, moved.positions, strict=True)
            if before.underlying == scenario.underlying
        )
        weight = 0.35 if index % 16 >= 14 else 1.0
        assert scenario.pnl_usd == pytest.approx(weight * change, rel=1e-9, abs=1e-6)


def test_empty_portfolio_needs_nothing() -> None:
    result = _margin([])
    assert result.initial_margin == result.maintenance_margin == Decimal(0)
    assert result.worst_scenario is None and result.scenarios == ()


def test_underlying_without_parameters_is_rejected() -> None:
    with pytest.raises(InputError, match=r"underlying = 'XRP'.*commodities\.XRP"):
        _margin([Position.of("XRP_USDC-PERPETUAL", 1_000.0, 0.6)])


def test_a_coin_balance_is_a_spot_position_in_the_scenarios() -> None:
    """Issue 11: 2 BTC of collateral and nothing else is 2 BTC of spot in the scenarios: scenario
    13 (−17 %) loses 2 × 72,000 × 0.17 = 24,480 (scenario 16, −34 % at 35 %, 17,136 less). Short
    1 BTC of linear perpetual against it nets to a 1 BTC long: 12,240. Equity is unchanged (the
    balance at its haircut); a note names the balance."""
    alone = _margin([], {"BTC": 2})
    assert alone.initial_margin == Decimal("24480.000000")
    assert any("BTC 2" in note for note in alone.notes)
    hedged = _margin([Position.of("BTC_USDC-PERPETUAL", -1.0, 72_000.0)], {"BTC": 2})
    assert hedged.initial_margin == Decimal("12240.000000")
    assert hedged.equity == alone.equity
    assert len(hedged.positions) == 1
