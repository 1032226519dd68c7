"""Standard cross margin: per-position Deribit rates summed, collateral and P&L pooled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.margin.base import MarginModel
from crossmargin.margin.standard.cross import CrossMargin
from crossmargin.portfolio import Portfolio, Position, load_portfolio_file
from support.markets import EXAMPLES, MARKET


def test_naked_perpetual_example_by_hand() -> None:
    """examples/naked_perpetual.toml: short 100,000 USD BTC-PERPETUAL entered at 70,000, index
    72,000, collateral 0.5 BTC (haircut 10 %).
    IM = (2 % + 1.388889 × 0.005 %) × 100,000 = 2,006.9444444 → rounded up 2,006.944445;
    MM = 1,006.944445. The BTC haircut applies to the net BTC holding, balance + the perpetual's
    P&L in BTC: 0.5 − 100,000 × (1/70,000 − 1/72,000) = 0.5 − 0.0396825 = 0.4603175 BTC, so
    collateral = 36,000 − 0.1 × 0.4603175 × 72,000 = 32,685.714286 (rounded down) and equity =
    32,685.714286 − 2,857.142857 = 0.4603175 × 72,000 × 0.9 = 29,828.571428 (micro-dollar
    rounding of each part)."""
    loaded = load_portfolio_file(EXAMPLES / "naked_perpetual.toml")
    result = CrossMargin().margin(loaded.portfolio, loaded.market)
    assert result.model == "cross"
    assert result.initial_margin == Decimal("2006.944445")
    assert result.maintenance_margin == Decimal("1006.944445")
    assert result.equity == Decimal("29828.571428")
    assert result.collateral_value == Decimal("32685.714285")
    assert dict(result.components) == {
        "futures_im": Decimal("2006.944445"),
        "short_option_im": Decimal("0.000000"),
        "short_spot_im": Decimal("0.000000"),
    }
    assert result.maintenance_components["futures_mm"] == Decimal("1006.944445")
    assert result.positions[0].contribution_usd == pytest.approx(2_006.944444, abs=1e-6)
    assert result.margin_ratio == pytest.approx(1_006.944445 / 29_828.571428, rel=1e-12)
    assert result.parameters_version == "deribit-standard-2022-01-11.1"


def test_collateral_and_pnl_pooled_across_positions_and_currencies() -> None:
    """Collateral 10 ETH (haircut 10 % → 36,000 USD); long 1 BTC_USDC-PERPETUAL entered 70,000
    (+2,000), short 10 ETH_USDC-PERPETUAL entered 3,900 (−1,000).
    Equity = 36,000 + 2,000 − 1,000 = 37,000 (the BTC gain supports the ETH loss).
    IM = 2.005 % × 72,000 + 2.004 % × 40,000 = 1,443.6 + 801.6 = 2,245.2;
    MM = 1.005 % × 72,000 + 1.004 % × 40,000 = 723.6 + 401.6 = 1,125.2."""
    portfolio = Portfolio(
        (
            Position.of("BTC_USDC-PERPETUAL", 1, 70_000.0),
            Position.of("ETH_USDC-PERPETUAL", -10, 3_900.0),
        ),
        {"ETH": Decimal(10)},
    )
    result = CrossMargin().margin(portfolio, MARKET)
    assert result.equity == Decimal("37000.000000")
    assert result.initial_margin == Decimal("2245.200000")
    assert result.maintenance_margin == Decimal("1125.200000")
    assert [p.contribution_usd for p in result.positions] == pytest.approx([1_443.6, 801.6])


def test_short_call_uses_deribit_formula_with_its_mark() -> None:
    """Short 10 BTC-28JUN24-80000-C, USDC collateral 100,000: OTM 8,000/72,000 > 0.05, so
    IM = 10 × (0.10 × 72,000 + mark) = 72,000 + 10·mark and MM = 54,000 + 10·mark, where
    10·mark = −(the position's mark value). Equity = 100,000 − 10·mark."""
    portfolio = Portfolio((Position.of("BTC-28JUN24-80000-C", -10),), {"USDC": Decimal(100_000)})
    result = CrossMargin().margin(portfolio, MARKET)
    premium = -result.positions[0].mark_value_usd
    assert float(result.initial_margin) == pytest.approx(72_000 + premium, abs=1e-6)
    assert float(result.maintenance_margin) == pytest.approx(54_000 + premium, abs=1e-6)
    assert float(result.equity) == pytest.approx(100_000 - premium, abs=1e-6)
    assert result.components["futures_im"] == 0


def test_long_options_need_nothing_beyond_their_premium() -> None:
    """A long call and a long put: IM = MM = 0; their value is in equity. The inverse options'
    value is BTC, so the 10 % BTC haircut applies to 1 BTC + their value in BTC (V/S)."""
    portfolio = Portfolio(
        (Position.of("BTC-29MAR24-72000-C", 5), Position.of("BTC-29MAR24-72000-P", 5)),
        {"BTC": Decimal(1)},
    )
    result = CrossMargin().margin(portfolio, MARKET)
    assert result.initial_margin == 0 and result.maintenance_margin == 0
    assert result.margin_ratio == 0.0
    value = sum(p.mark_value_usd for p in result.positions)
    assert float(result.equity) == pytest.approx((72_000 + value) * 0.9, abs=1e-5)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_examples_add_up_and_keep_im_above_mm(example: str) -> None:
    """On every example: components add up (checked by MarginResult), IM ≥ MM ≥ 0, and the
    per-position contributions sum to the IM (within the rounding of three components)."""
    loaded = load_portfolio_file(EXAMPLES / example)
    result = CrossMargin().margin(loaded.portfolio, loaded.market)
    assert result.initial_margin >= result.maintenance_margin >= 0
    total = sum(p.contribution_usd for p in result.positions)
    assert float(result.initial_margin) == pytest.approx(total, abs=3e-6)


def test_empty_account_and_protocol() -> None:
    """No positions: nothing due. CrossMargin satisfies the MarginModel protocol."""
    model = CrossMargin()
    assert isinstance(model, MarginModel)
    result = model.margin(Portfolio.of([], {"USDC": 5}), MARKET)
    assert result.initial_margin == 0 and result.equity == Decimal("5.000000")
