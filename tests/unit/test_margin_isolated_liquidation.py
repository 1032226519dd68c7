"""Isolated liquidation prices: by hand where there is a closed form, and by revaluation."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.collateral import default_haircuts
from crossmargin.margin.liquidation_price import account_liquidation_prices
from crossmargin.margin.standard.cross import CrossMargin
from crossmargin.margin.standard.isolated import (
    IsolatedMargin,
    allocated_collateral,
    liquidation_prices,
)
from crossmargin.margin.standard.parameters import load_standard_parameters
from crossmargin.margin.standard.rates import rate_arrays, standard_requirements_usd
from crossmargin.portfolio import Portfolio, Position, load_portfolio_file, value_portfolio
from crossmargin.pricing import instrument_arrays
from support.markets import EXAMPLES, MARKET


def _ratio_at(portfolio: Portfolio, price: float) -> tuple[float, float]:
    """Margin ratio (MM / equity) under isolated and cross after moving BTC to ``price``."""
    moved = MARKET.shocked({"BTC": price / 72_000.0 - 1.0})
    return (
        IsolatedMargin().margin(portfolio, moved).margin_ratio,
        CrossMargin().margin(portfolio, moved).margin_ratio,
    )


def test_short_inverse_perpetual_by_hand_and_by_revaluation() -> None:
    """Short N = 1,000,000 USD BTC-PERPETUAL entered at E = 70,000, collateral 5 BTC (haircut
    10 %), one position, so isolated and cross liquidate at the same price. The haircut applies
    to the net BTC holding 5 + N/P − N/E, so equity = 0.9·(5 − N/E)·P + 0.9·N, and MM =
    (1 % + 0.005 % · N/P)·N. Equity = MM ⇔ 0.9·(5 − N/E)·P² + 0.89·N·P − 0.00005·N² = 0,
    larger root ≈ 106,440; revalued there, the margin ratio is 1 under both models."""
    n, entry = 1_000_000.0, 70_000.0
    a, b, c = 0.9 * (5 - n / entry), 0.89 * n, -0.00005 * n * n
    expected = (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
    portfolio = Portfolio((Position.of("BTC-PERPETUAL", -n, entry),), {"BTC": Decimal(5)})
    price = liquidation_prices(portfolio, MARKET)["BTC-PERPETUAL"]
    assert price == pytest.approx(expected, rel=1e-12)
    assert 106_400 < expected < 106_500
    (cross_price,) = account_liquidation_prices(CrossMargin(), portfolio, MARKET)
    assert cross_price.below_usd is None
    assert cross_price.above_usd == pytest.approx(expected, rel=1e-9)
    isolated_ratio, cross_ratio = _ratio_at(portfolio, expected)
    assert isolated_ratio == pytest.approx(1.0, abs=1e-8)
    assert cross_ratio == pytest.approx(1.0, abs=1e-8)
    assert f"liquidation at BTC {price:,.2f} USD" in " ".join(
        IsolatedMargin().margin(portfolio, MARKET).notes
    )


def test_long_linear_perpetual_by_hand() -> None:
    """Long 20 BTC_USDC-PERPETUAL at 72,000 (no P&L yet), 100,000 USDC: MM rate 1 % + 20 ×
    0.005 % = 1.1 %. 100,000 + 20·(P − 72,000) = 0.011·20·P ⇒ P = 1,340,000 / 19.78
    = 67,745.197… Revalued there, the margin ratio is 1."""
    portfolio = Portfolio(
        (Position.of("BTC_USDC-PERPETUAL", 20, 72_000.0),), {"USDC": Decimal(100_000)}
    )
    price = liquidation_prices(portfolio, MARKET)["BTC_USDC-PERPETUAL"]
    assert price == pytest.approx(1_340_000 / 19.78, rel=1e-12)
    assert _ratio_at(portfolio, 1_340_000 / 19.78)[0] == pytest.approx(1.0, abs=1e-9)


def test_short_put_liquidates_below_and_long_options_never() -> None:
    """Short 10 BTC-28JUN24-60000-P with 150,000 USDC: liquidated when BTC falls (revalued there,
    ratio 1); the long call beside it never is (None)."""
    portfolio = Portfolio(
        (Position.of("BTC-28JUN24-60000-P", -10), Position.of("BTC-28JUN24-90000-C", 1)),
        {"USDC": Decimal(150_000)},
    )
    prices = liquidation_prices(portfolio, MARKET)
    assert prices["BTC-28JUN24-90000-C"] is None
    put_price = prices["BTC-28JUN24-60000-P"]
    assert put_price is not None and 40_000 < put_price < 72_000
    alone = Portfolio((portfolio.positions[0],), portfolio.collateral)
    assert liquidation_prices(alone, MARKET)["BTC-28JUN24-60000-P"] == pytest.approx(put_price)
    assert _ratio_at(alone, put_price)[0] == pytest.approx(1.0, abs=1e-9)


def test_coin_collateral_larger_than_a_short_inverse_loss_is_never_liquidated() -> None:
    """examples/hedged_straddle.toml: short 10,000 USD inverse perp against 2 BTC. Its coin loss
    never exceeds 10,000/72,000 = 0.139 BTC, so no rise liquidates it; only as BTC nears zero
    does its MM (0.005 % · N/P of N, USD) outgrow the balance and its own profit after the 10 %
    haircut on them: below 1 USD a coin, a 99.999 % fall. The long options never are."""
    loaded = load_portfolio_file(EXAMPLES / "hedged_straddle.toml")
    prices = liquidation_prices(loaded.portfolio, loaded.market)
    assert prices["BTC-29MAR24-72000-C"] is None and prices["BTC-29MAR24-72000-P"] is None
    perpetual = prices["BTC-PERPETUAL"]
    assert perpetual is not None and perpetual < 1.0


def test_a_position_already_below_maintenance_reports_the_current_index() -> None:
    """Short 1,000,000 USD BTC-PERPETUAL entered at 60,000 with 0.1 BTC: it has lost
    1,000,000·(72/60 − 1) = 200,000 USD, far beyond its collateral: liquidation price = 72,000."""
    portfolio = Portfolio(
        (Position.of("BTC-PERPETUAL", -1_000_000, 60_000.0),), {"BTC": Decimal("0.1")}
    )
    assert liquidation_prices(portfolio, MARKET) == {"BTC-PERPETUAL": 72_000.0}


def test_each_position_meets_its_maintenance_at_its_own_price_in_a_book() -> None:
    """examples/btc_eth_book.toml: for every position with a liquidation price, its allocated
    share of its pool + its own value equals its MM at that price. The pool: every other
    currency at today's value, and its underlying's coin b·S' − h·max(b + own coin value, 0)·S'
    (an inverse position's own value settles in the coin; a linear one's does not)."""
    loaded = load_portfolio_file(EXAMPLES / "btc_eth_book.toml")
    portfolio, market = loaded.portfolio, loaded.market
    parameters = load_standard_parameters()
    arrays = instrument_arrays(
        portfolio.instruments, market, [p.average_price for p in portfolio.positions]
    )
    sizes = np.array([p.size for p in portfolio.positions])
    rates = rate_arrays(parameters, list(arrays.underlying))
    base = standard_requirements_usd(arrays, sizes, rates)
    valuation = value_portfolio(portfolio, market, default_haircuts())
    lines = {line.currency: line for line in valuation.collateral.lines}
    pool = float(valuation.collateral.value_usd)
    shares = allocated_collateral(pool, base.initial_usd, base.value_usd) / pool
    prices = liquidation_prices(portfolio, market, parameters)
    checked = 0
    for j, position in enumerate(portfolio.positions):
        price = prices[position.instrument.name]
        if price is None:
            continue
        move = price / arrays.index_usd[j] - 1.0
        coin = position.instrument.underlying
        moved = standard_requirements_usd(arrays, sizes, rates, move)
        balance = float(lines[coin].balance) if coin in lines else 0.0
        today = float(lines[coin].value_usd) if coin in lines else 0.0
        own = moved.value_usd[j] / price if position.instrument.is_inverse else 0.0
        line = (
            balance * price - default_haircuts().haircut_for(coin) * max(balance + own, 0) * price
        )
        moved_pool = pool - today + line
        excess = shares[j] * moved_pool + moved.value_usd[j] - moved.maintenance_usd[j]
        assert abs(excess) < 1e-5 + 1e-9 * moved.maintenance_usd[j]
        checked += 1
    assert checked == 4  # both puts and both perpetuals; the long options never liquidate
