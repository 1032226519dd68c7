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
    IM 2,006.944445, MM 1,006.944445, the one equity 29,828.571428 (see the cross test); the
    position holds no value above its requirement (``own_value_held_im`` = 0)."""
    loaded = load_portfolio_file(EXAMPLES / "naked_perpetual.toml")
    isolated = IsolatedMargin().margin(loaded.portfolio, loaded.market)
    cross = CrossMargin().margin(loaded.portfolio, loaded.market)
    assert isolated.model == "isolated"
    assert (isolated.initial_margin, isolated.maintenance_margin, isolated.equity) == (
        cross.initial_margin,
        cross.maintenance_margin,
        cross.equity,
    )
    assert dict(isolated.components) == {
        **cross.components,
        "own_value_held_im": Decimal("0.000000"),
    }


def test_one_positions_profit_does_not_support_another() -> None:
    """Collateral 10 ETH (36,000 USD after haircut); long 1 BTC_USDC-PERPETUAL entered 70,000
    (+2,000, IM 1,443.6, MM 723.6), short 10 ETH_USDC-PERPETUAL entered 3,900 (−1,000, IM 801.6,
    MM 401.6). One equity: 36,000 + 2,000 − 1,000 = 37,000. Isolated: the BTC gain stays with
    its position, so IM = 1,443.6 + 801.6 + (2,000 − 1,443.6) = 2,801.6 and MM = 723.6 + 401.6
    + (2,000 − 723.6) = 2,401.6. Room: isolated 37,000 − 2,801.6 = 34,198.4 < cross 37,000 −
    2,245.2 = 34,754.8."""
    portfolio = Portfolio(
        (
            Position.of("BTC_USDC-PERPETUAL", 1, 70_000.0),
            Position.of("ETH_USDC-PERPETUAL", -10, 3_900.0),
        ),
        {"ETH": Decimal(10)},
    )
    isolated = IsolatedMargin().margin(portfolio, MARKET)
    cross = CrossMargin().margin(portfolio, MARKET)
    assert isolated.initial_margin == Decimal("2801.600000")
    assert isolated.maintenance_margin == Decimal("2401.600000")
    assert isolated.equity == cross.equity == Decimal("37000.000000")
    assert isolated.components["futures_im"] == Decimal("2245.200000")
    assert isolated.components["own_value_held_im"] == Decimal("556.400000")
    assert [p.contribution_usd for p in isolated.positions] == pytest.approx([2_000.0, 801.6])
    assert isolated.available_usd == Decimal("34198.400000")
    assert cross.available_usd == Decimal("34754.800000")
    assert "Own value held above own requirements: 556.40 USD." in isolated.notes


def test_a_partial_profit_is_held_up_to_its_requirement() -> None:
    """Long 1 BTC_USDC-PERPETUAL entered 71,000 (+1,000): IM = max(1,443.6, 1,000) = 1,443.6,
    MM = max(723.6, 1,000) = 1,000; equity = 11,000; excess 9,556.4, as much as cross leaves."""
    portfolio = Portfolio(
        (Position.of("BTC_USDC-PERPETUAL", 1, 71_000.0),), {"USDC": Decimal(10_000)}
    )
    result = IsolatedMargin().margin(portfolio, MARKET)
    assert float(result.initial_margin) == pytest.approx(1_443.6, abs=2e-6)  # rounded up
    assert float(result.maintenance_margin) == pytest.approx(1_000.0, abs=2e-6)
    assert result.equity == Decimal("11000.000000")
    assert float(result.available_usd) == pytest.approx(9_556.4, abs=3e-6)


def test_long_options_value_supports_only_itself() -> None:
    """Long 5 calls and short 2 puts, USDC 20,000: the long call's value is held by it (its
    contribution is its value, and nothing of it is free for the puts); one equity for both
    models, so isolated's excess is cross's less the call's value."""
    portfolio = Portfolio(
        (Position.of("BTC-29MAR24-72000-C", 5), Position.of("BTC-29MAR24-60000-P", -2)),
        {"USDC": Decimal(20_000)},
    )
    isolated = IsolatedMargin().margin(portfolio, MARKET)
    cross = CrossMargin().margin(portfolio, MARKET)
    call, _put = isolated.positions
    assert call.contribution_usd == pytest.approx(call.mark_value_usd)
    assert isolated.equity == cross.equity
    assert float(cross.available_usd - isolated.available_usd) == pytest.approx(
        call.mark_value_usd, abs=2e-6
    )
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
