"""Portfolio valuation: hand-derived values per contract type, Greeks, collateral and equity."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813

from crossmargin.collateral import default_haircuts
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position, apply_trade, value_portfolio
from support.markets import NOW


def _market(rate: float = 0.0) -> MarketSnapshot:
    return MarketSnapshot(
        valuation_time=NOW,
        index_usd={"BTC": 72000.0, "ETH": 4000.0},
        rate_annual=rate,
        vol_surfaces={"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
    )


def _value(
    positions: list[Position], collateral: dict[str, object] | None = None, rate: float = 0.0
):  # type: ignore[no-untyped-def]
    return value_portfolio(
        Portfolio.of(positions, collateral or {}), _market(rate), default_haircuts()
    )


def test_inverse_perpetual_unrealised_pnl_and_delta() -> None:
    """Short 100,000 USD face entered at 70,000, index 72,000:
    P&L = N·(1/E − 1/F)·S = −100000·(72000/70000 − 1) = −2857.142857 USD, i.e. −0.0396825 BTC;
    delta = N/E = −1.4285714 BTC."""
    row = _value([Position.of("BTC-PERPETUAL", -100_000, 70_000.0)]).positions[0]
    assert row.mark_value_usd == pytest.approx(-100_000 * (72_000 / 70_000 - 1), rel=1e-12)
    assert row.mark_value_settlement == pytest.approx(-2857.142857142857 / 72_000, rel=1e-12)
    assert row.settlement_currency == "BTC"
    assert row.delta_coin == pytest.approx(-100_000 / 70_000, rel=1e-12)
    assert row.delta_usd == pytest.approx(-100_000 / 70_000 * 72_000, rel=1e-12)
    assert row.gamma_coin_per_usd == 0.0 and row.vega_usd_per_vol == 0.0


def test_linear_perpetual_and_spot() -> None:
    """10 BTC linear perp entered at 71,500 → +5,000 USDC; 2 BTC spot → 144,000 USD."""
    valuation = _value(
        [Position.of("BTC_USDC-PERPETUAL", 10, 71_500.0), Position.of("BTC_USDC", 2)]
    )
    perp, spot = valuation.positions
    assert perp.mark_value_usd == pytest.approx(5_000.0, rel=1e-12)
    assert perp.delta_coin == pytest.approx(10.0)
    assert spot.mark_value_usd == pytest.approx(144_000.0)
    assert valuation.underlyings[0].delta_coin == pytest.approx(12.0)


def test_future_without_entry_is_worth_nothing_and_uses_the_forward() -> None:
    """Entered at the mark: zero P&L. Forward = 72000·e^{0.05·T}; inverse delta = N/F."""
    valuation = _value([Position.of("BTC-27DEC24", 50_000)], rate=0.05)
    row = valuation.positions[0]
    t_years = (datetime(2024, 12, 27, 8, tzinfo=UTC) - NOW).total_seconds() / (365 * 86400)
    forward = 72_000 * math.exp(0.05 * t_years)
    assert row.mark_value_usd == pytest.approx(0.0, abs=1e-9)
    assert row.delta_coin == pytest.approx(50_000 / forward, rel=1e-12)


def _quantlib_price(
    forward: float, strike: float, t_years: float, vol: float, rate: float, call: bool
) -> float:
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike)
    return float(
        ql.BlackCalculator(
            payoff, forward, vol * math.sqrt(t_years), math.exp(-rate * t_years)
        ).value()
    )


@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_inverse_and_linear_options_match_quantlib(rate: float) -> None:
    """Inverse option: USD value = Black(F)/F·S (premium in BTC times index). Linear: Black(F)."""
    valuation = _value(
        [Position.of("BTC-28JUN24-80000-C", -10), Position.of("BTC_USDC-28JUN24-60000-P", 3)],
        rate=rate,
    )
    t_years = (datetime(2024, 6, 28, 8, tzinfo=UTC) - NOW).total_seconds() / (365 * 86400)
    forward = 72_000 * math.exp(rate * t_years)
    call = _quantlib_price(forward, 80_000, t_years, 0.6, rate, True)
    put = _quantlib_price(forward, 60_000, t_years, 0.6, rate, False)
    inverse, linear = valuation.positions
    assert inverse.mark_value_settlement == pytest.approx(-10 * call / forward, rel=1e-9)
    assert inverse.mark_value_usd == pytest.approx(-10 * call / forward * 72_000, rel=1e-9)
    assert linear.mark_value_usd == pytest.approx(3 * put, rel=1e-9)


def test_option_greeks_against_finite_differences_of_the_usd_value() -> None:
    """delta and gamma are dV/dS and d²V/dS² of the USD value; checked by central differences of
    a full revaluation at S·(1 ± h)."""
    positions = [Position.of("BTC-28JUN24-80000-C", -10), Position.of("ETH_USDC-28JUN24-3500-P", 7)]
    base = _value(positions, rate=0.03)
    for row in base.positions:
        underlying = row.underlying
        spot = _market().index(underlying)
        h = 1e-4
        values = []
        for move in (-h, 0.0, h):
            market = _market(0.03).shocked({underlying: move})
            shocked = value_portfolio(Portfolio.of(positions), market, default_haircuts())
            values.append(
                next(r for r in shocked.positions if r.instrument == row.instrument).mark_value_usd
            )
        ds = spot * h
        assert row.delta_coin == pytest.approx((values[2] - values[0]) / (2 * ds), rel=1e-6)
        assert row.gamma_coin_per_usd == pytest.approx(
            (values[2] - 2 * values[1] + values[0]) / ds**2, rel=1e-4
        )


def test_collateral_haircuts_and_equity() -> None:
    """0.5 BTC at 72,000 less 10 % = 32,400; 1,000.5 USDC at 0 % = 1,000.5; no positions, so
    equity is the collateral value."""
    valuation = _value([], {"BTC": "0.5", "USDC": "1000.5"})
    assert valuation.collateral.gross_usd == Decimal("37000.5")
    assert valuation.collateral.value_usd == Decimal("33400.5")
    assert valuation.equity_usd == Decimal("33400.5")
    lines = {line.currency: line for line in valuation.collateral.lines}
    assert lines["BTC"].haircut == pytest.approx(0.10)


def test_a_negative_balance_is_a_liability_at_its_full_price() -> None:
    """−1,000 USDT borrowed (haircut 1 %) counts −1,000 USD: a haircut discounts an asset and
    neither shrinks nor inflates a debt (issue 12; it counted −1,010 before)."""
    valuation = _value([], {"USDT": "-1000", "USDC": "5000"})
    assert valuation.collateral.value_usd == Decimal("4000")
    (_usdc, usdt) = valuation.collateral.lines
    assert usdt.value_usd == Decimal("-1000") and usdt.haircut_usd == 0


def test_the_haircut_applies_to_a_currencys_net_holding() -> None:
    """1 BTC (haircut 10 %) and a short inverse perpetual losing 0.0396825 BTC (100,000 USD face,
    entered 70,000, index 72,000): the haircut is taken on 0.9603175 BTC, 6,914.285714 USD,
    not on the 1 BTC balance alone (7,200)."""
    valuation = _value([Position.of("BTC-PERPETUAL", -100_000, 70_000.0)], {"BTC": 1})
    (line,) = valuation.collateral.lines
    assert line.positions_value == pytest.approx(-100_000 * (1 / 70_000 - 1 / 72_000))
    assert float(line.haircut_usd) == pytest.approx(6_914.285714, abs=2e-6)


def test_a_trade_at_the_mark_moves_no_equity() -> None:
    """Buying an inverse call at its mark with USDC collateral only: the BTC premium paid makes
    the BTC balance negative by exactly the option's BTC value, so the net BTC holding, and the
    equity, stay where they were (to the BTC quantum of the premium, 1e-8 × 72,000 USD)."""
    market = _market(0.0)
    before = Portfolio.of([], {"USDC": 100_000})
    after = apply_trade(before, Position.of("BTC-28JUN24-80000-C", 1).instrument, 10.0, market)
    equity_before = value_portfolio(before, market, default_haircuts()).equity_usd
    equity_after = value_portfolio(after, market, default_haircuts()).equity_usd
    assert after.collateral["BTC"] < 0
    assert abs(equity_after - equity_before) <= Decimal("0.0008")


def test_equity_is_collateral_plus_positions() -> None:
    valuation = _value([Position.of("BTC-PERPETUAL", -100_000, 70_000.0)], {"BTC": 1})
    assert valuation.equity_usd == valuation.collateral.value_usd + valuation.positions_value_usd
    net_btc = 1 - 100_000 * (1 / 70_000 - 1 / 72_000)
    assert float(valuation.equity_usd) == pytest.approx(net_btc * 72_000 * 0.9, abs=2e-6)
    assert np.isclose(float(valuation.positions_value_usd), -2857.142857, atol=1e-6)


def test_expired_instrument_is_rejected_with_its_name() -> None:
    with pytest.raises(ValueError, match="BTC-8MAR24-70000-C"):
        _value([Position.of("BTC-8MAR24-70000-C", 1)])
