"""Isolated margin: no offsets, no other position's profit, its own share of the collateral."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.margin.base import MarginModel
from crossmargin.margin.standard.cross import CrossMargin
from crossmargin.margin.standard.isolated import IsolatedMargin, allocated_collateral
from crossmargin.portfolio import Portfolio, Position, load_portfolio_file
from support.markets import EXAMPLES, MARKET


def test_a_single_losing_position_is_margined_as_under_cross() -> None:
    """examples/naked_perpetual.toml (one position, at a loss): isolated and cross agree —
    IM 2,006.944445, MM 1,006.944445, equity 29,542.857143 (see the cross test)."""
    loaded = load_portfolio_file(EXAMPLES / "naked_perpetual.toml")
    isolated = IsolatedMargin().margin(loaded.portfolio, loaded.market)
    cross = CrossMargin().margin(loaded.portfolio, loaded.market)
    assert isolated.model == "isolated"
    assert (isolated.initial_margin, isolated.maintenance_margin, isolated.equity) == (
        cross.initial_margin,
        cross.maintenance_margin,
        cross.equity,
    )
    assert dict(isolated.components) == dict(cross.components)


def test_one_positions_profit_does_not_support_another() -> None:
    """Collateral 10 ETH (36,000 USD after haircut); long 1 BTC_USDC-PERPETUAL entered 70,000
    (+2,000, IM 1,443.6, MM 723.6), short 10 ETH_USDC-PERPETUAL entered 3,900 (−1,000, IM 801.6,
    MM 401.6). Isolated: the BTC gain covers only its own requirement (max(1,443.6 − 2,000, 0) = 0),
    so IM = 801.6, MM = 401.6; equity counts the loss, not the gain: 36,000 − 1,000 = 35,000.
    Room: isolated 35,000 − 801.6 = 34,198.4 < cross 37,000 − 2,245.2 = 34,754.8."""
    portfolio = Portfolio(
        (
            Position.of("BTC_USDC-PERPETUAL", 1, 70_000.0),
            Position.of("ETH_USDC-PERPETUAL", -10, 3_900.0),
        ),
        {"ETH": Decimal(10)},
    )
    isolated = IsolatedMargin().margin(portfolio, MARKET)
    cross = CrossMargin().margin(portfolio, MARKET)
    assert isolated.initial_margin == Decimal("801.600000")
    assert isolated.maintenance_margin == Decimal("401.600000")
    assert isolated.equity == Decimal("35000.000000")
    assert isolated.components["futures_im"] == Decimal("801.600000")
    assert [p.contribution_usd for p in isolated.positions] == pytest.approx([0.0, 801.6])
    assert isolated.available_usd == Decimal("34198.400000")
    assert cross.available_usd == Decimal("34754.800000")
    assert "Own-profit credit against own requirements: 1,443.60 USD." in isolated.notes


def test_a_partial_profit_reduces_its_own_requirement() -> None:
    """Long 1 BTC_USDC-PERPETUAL entered 71,000 (+1,000): IM = 1,443.6 − 1,000 = 443.6,
    MM = max(723.6 − 1,000, 0) = 0; equity = 10,000 USDC (the gain is not pooled)."""
    portfolio = Portfolio(
        (Position.of("BTC_USDC-PERPETUAL", 1, 71_000.0),), {"USDC": Decimal(10_000)}
    )
    result = IsolatedMargin().margin(portfolio, MARKET)
    assert float(result.initial_margin) == pytest.approx(443.6, abs=1e-6)  # rounded up
    assert result.maintenance_margin == Decimal("0.000000")
    assert result.equity == Decimal("10000.000000")


def test_long_options_value_supports_only_itself() -> None:
    """Long 5 calls and short 2 puts, USDC 20,000: the long call needs 0 and its value is not in
    equity (equity = 20,000 + the puts' negative value); the short puts need their own IM."""
    portfolio = Portfolio(
        (Position.of("BTC-29MAR24-72000-C", 5), Position.of("BTC-29MAR24-60000-P", -2)),
        {"USDC": Decimal(20_000)},
    )
    isolated = IsolatedMargin().margin(portfolio, MARKET)
    cross = CrossMargin().margin(portfolio, MARKET)
    call, put = isolated.positions
    assert call.contribution_usd == 0.0
    assert isolated.initial_margin == cross.initial_margin
    assert float(isolated.equity) == pytest.approx(20_000 + put.mark_value_usd, abs=1e-6)
    assert float(cross.equity - isolated.equity) == pytest.approx(call.mark_value_usd, abs=1e-6)
    assert "BTC-29MAR24-72000-C: allocated collateral 0.00 USD; never liquidated" in isolated.notes


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_isolated_asks_at_least_what_cross_asks_of_equity(example: str) -> None:
    """On every example: equity − IM and equity − MM are no larger under isolated than under
    cross (a few quanta of rounding aside), and IM ≥ MM ≥ 0."""
    loaded = load_portfolio_file(EXAMPLES / example)
    isolated = IsolatedMargin().margin(loaded.portfolio, loaded.market)
    cross = CrossMargin().margin(loaded.portfolio, loaded.market)
    slack = Decimal("0.00001")
    assert isolated.available_usd <= cross.available_usd + slack
    assert (
        isolated.equity - isolated.maintenance_margin
        <= cross.equity - cross.maintenance_margin + slack
    )
    assert isolated.initial_margin >= isolated.maintenance_margin >= 0


def test_allocation_covers_every_need_then_shares_the_rest_by_im() -> None:
    """IM (100, 50, 0), values (−20, +80, +5): needs max(IM − v, 0) = (120, 0, 0). Pool 420:
    spare 300 shared 2:1:0 → (320, 100, 0). Pool 60 < 120: all to the needy one → (60, 0, 0).
    Nothing needed, nothing at risk: equal shares."""
    initial = np.array([100.0, 50.0, 0.0])
    values = np.array([-20.0, 80.0, 5.0])
    np.testing.assert_allclose(allocated_collateral(420.0, initial, values), [320.0, 100.0, 0.0])
    np.testing.assert_allclose(allocated_collateral(60.0, initial, values), [60.0, 0.0, 0.0])
    np.testing.assert_allclose(allocated_collateral(-30.0, initial, values), [-30.0, 0.0, 0.0])
    np.testing.assert_allclose(allocated_collateral(9.0, np.zeros(3), np.ones(3)), [3.0] * 3)
    assert allocated_collateral(1.0, np.zeros(0), np.zeros(0)).shape == (0,)


def test_protocol_and_empty_account() -> None:
    """IsolatedMargin satisfies MarginModel; an empty account owes nothing."""
    model = IsolatedMargin()
    assert isinstance(model, MarginModel)
    result = model.margin(Portfolio.of([], {"BTC": 1}), MARKET)
    assert result.initial_margin == 0
    assert result.equity == Decimal("64800.000000")
