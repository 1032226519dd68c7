"""apply_trade: netting, entry averaging, realised P&L and premium cash flows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_instrument
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position, apply_trade
from support.markets import NOW

MARKET = MarketSnapshot(
    valuation_time=NOW,
    index_usd={"BTC": 72_000.0},
    vol_surfaces={"BTC": VolSurface.flat(0.6)},
)
PERP = parse_instrument("BTC-PERPETUAL")
LINEAR = parse_instrument("BTC_USDC-PERPETUAL")


def test_increasing_an_inverse_position_averages_entry_harmonically() -> None:
    """10,000 USD at 70,000 plus 20,000 USD at 75,000: coin exposure 1/7 + 4/15 = 0.409524 BTC,
    entry = 30,000 / 0.409524 = 73,255.81."""
    start = Portfolio.of([Position(PERP, 10_000, 70_000.0)])
    after = apply_trade(start, PERP, 20_000, MARKET, price=75_000.0)
    (position,) = after.positions
    assert position.size == 30_000
    assert position.average_price == pytest.approx(30_000 / (10_000 / 70_000 + 20_000 / 75_000))


def test_reducing_realises_pnl_into_the_settlement_currency() -> None:
    """Close 4 of 10 BTC linear bought at 70,000 at 72,000: +8,000 USDC; entry unchanged."""
    start = Portfolio.of([Position(LINEAR, 10, 70_000.0)], {"USDC": "100"})
    after = apply_trade(start, LINEAR, -4, MARKET, price=72_000.0)
    (position,) = after.positions
    assert position.size == 6 and position.average_price == 70_000.0
    assert after.collateral["USDC"] == Decimal("8100")


def test_reversal_realises_the_old_part_and_enters_the_new_at_the_trade_price() -> None:
    """Short 10,000 USD at 75,000, buy 30,000 at 72,000: realise −10,000·(1/75,000 − 1/72,000)
    = +0.00555556 BTC; the remaining long 20,000 enters at 72,000."""
    start = Portfolio.of([Position(PERP, -10_000, 75_000.0)])
    after = apply_trade(start, PERP, 30_000, MARKET, price=72_000.0)
    (position,) = after.positions
    assert position.size == 20_000 and position.average_price == 72_000.0
    assert after.collateral["BTC"] == Decimal("0.00555556")


def test_buying_an_option_pays_its_premium_and_closing_removes_it() -> None:
    option = parse_instrument("BTC-28JUN24-80000-C")
    bought = apply_trade(Portfolio.of([], {"BTC": 1}), option, 2, MARKET, price=0.05)
    assert bought.collateral["BTC"] == Decimal("0.90")
    closed = apply_trade(bought, option, -2, MARKET, price=0.06)
    assert closed.positions == ()
    assert closed.collateral["BTC"] == Decimal("1.02")


def test_spot_purchase_moves_quote_cash() -> None:
    spot = parse_instrument("BTC_USDC")
    after = apply_trade(Portfolio.of([], {"USDC": 100_000}), spot, 0.5, MARKET, price=72_000.0)
    assert after.collateral["USDC"] == Decimal("64000")
    assert after.positions[0].size == 0.5


def test_bad_trades_are_refused_by_field() -> None:
    with pytest.raises(InputError, match=r"trade\.size"):
        apply_trade(Portfolio.of(), PERP, 0.0, MARKET)
    with pytest.raises(InputError, match=r"trade\.price"):
        apply_trade(Portfolio.of(), PERP, 10.0, MARKET, price=-1.0)
