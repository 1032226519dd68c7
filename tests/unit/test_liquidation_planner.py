"""The partial-liquidation planner against its baselines, and the slippage model, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.liquidation import (
    AccountRisk,
    ScenarioMargin,
    SlippageParameters,
    execution_cost_usd,
    hedge_groups,
    load_liquidation_parameters,
    plan_close_everything,
    plan_largest_first,
    plan_partial_liquidation,
    rounded_close,
)

PARAMS = load_liquidation_parameters()
S = 60_000.0
MOVES = np.linspace(-0.16, 0.16, 9)


def _account(sizes: list[float], unit_pnl: np.ndarray, collateral: float) -> AccountRisk:
    n = len(sizes)
    size = np.array(sizes)
    return AccountRisk(
        tuple(f"P{i}" for i in range(n)), size, np.full(n, 0.001), unit_pnl, np.zeros(n),
        np.full(n, S), np.full(n, 14e6), np.full(n, 0.005), collateral,
        hedge_groups(size[:, None] * unit_pnl),
    )  # fmt: skip


def test_execution_cost_worked_example() -> None:
    """$1M on a $14M-deep book, half spread 1 bp, 1 % impact at depth:
    0.0001 + 0.01·√(1/14) = 0.00277261… → $2,772.61."""
    cost = execution_cost_usd([1e6, 0.0], 14e6, SlippageParameters())
    assert cost[0] == pytest.approx(1e6 * (0.0001 + 0.01 / np.sqrt(14.0)), rel=1e-12)
    assert round(float(cost[0]), 2) == 2772.61 and cost[1] == 0.0


def test_rounded_close_respects_minimum_sizes() -> None:
    """Raw closes 0.00042 and 0.0126 on positions 1.0 and −0.0131 with minimum 0.001: the first
    rounds up to one minimum (0.001); the second rounds to 0.013, leaving 0.0001 < half a
    minimum, so the whole −0.0131 is closed."""
    closed = rounded_close(np.array([0.00042, -0.0126]), np.array([1.0, -0.0131]),
                           np.array([0.001, 0.001]))  # fmt: skip
    np.testing.assert_allclose(closed, [0.001, -0.0131])


def test_partial_closes_the_naked_surplus_at_least_cost() -> None:
    """Long 1 (P0) and short 1 (P1) hedge each other; P2 is a naked long 2. Scenario moves
    ±16 % of S = 60,000: IM = worst loss = 2 BTC × 9,600 = 19,200, MM = 0.8·IM = 15,360 >
    equity 14,000 (liquidatable). Closing x BTC of the net long gives IM (2 − x)·9,600 and costs
    0.5 % fee + 1 bp + √ impact per step. Steps of 0.1 BTC (6,000 USD: 6,000·(0.0051 +
    0.01·√(6,000/14M)) = 31.84) ×5 and a refined last step of 0.07 (4,200·(0.0051 +
    0.01·√(4,200/14M)) = 22.15): x = 0.57, cost 181.36, IM 13,728 ≤ equity 13,818.64; 0.56
    would leave IM 13,824 > 13,818.64 + … The hedge pair is left untouched; the baselines
    cost more: close everything 1,413.66, largest first (P2 whole) 723.10."""
    unit_pnl = np.array([S * MOVES, S * MOVES, S * MOVES])
    account = _account([1.0, -1.0, 2.0], unit_pnl, 14_000.0)
    margin = ScenarioMargin(unit_pnl)
    partial = plan_partial_liquidation(account, margin, PARAMS.planner, PARAMS.slippage)
    assert np.abs(partial.close_size).sum() == pytest.approx(0.57)
    assert partial.close_size[1] == 0.0  # the short hedge stays
    assert partial.cost_usd == pytest.approx(5 * 31.84 + 22.15, abs=0.02)
    assert partial.initial_after_usd == pytest.approx(13_728.0)
    assert partial.target_met and partial.equity_after_usd >= partial.initial_after_usd
    whole = plan_close_everything(account, margin, PARAMS.planner, PARAMS.slippage)
    largest = plan_largest_first(account, margin, PARAMS.planner, PARAMS.slippage)
    assert whole.cost_usd == pytest.approx(1413.66, abs=0.01)
    assert largest.cost_usd == pytest.approx(723.10, abs=0.01)
    assert partial.cost_usd < largest.cost_usd < whole.cost_usd


def test_hedge_is_never_stripped_from_its_naked_leg() -> None:
    """Long 3 (P0) hedged by short 2 (P1): net long 1. Largest first closes P0 (3 BTC, the
    largest) first and leaves the short 2 naked: IM rises from 9,600 to 19,200 before it closes
    that too. The planner closes the net surplus instead and never raises MM (7,680 before)."""
    unit_pnl = np.array([S * MOVES, S * MOVES])
    account = _account([3.0, -2.0], unit_pnl, 7_000.0)
    margin = ScenarioMargin(unit_pnl)
    largest = plan_largest_first(account, margin, PARAMS.planner, PARAMS.slippage)
    assert largest.steps[0].tolist() == [3.0, 0.0]
    stripped, _ = margin(account.size[None, :] - largest.steps[0])
    assert stripped[0] == pytest.approx(19_200.0)  # the short 2 left naked
    partial = plan_partial_liquidation(account, margin, PARAMS.planner, PARAMS.slippage)
    assert partial.maintenance_after_usd <= partial.maintenance_before_usd
    assert partial.size_after[0] >= -partial.size_after[1] - 1e-12  # never net short
    assert partial.target_met


def test_healthy_account_gets_an_empty_plan_and_bankrupt_is_closed_whole() -> None:
    unit_pnl = np.array([S * MOVES])
    margin = ScenarioMargin(unit_pnl)
    healthy = plan_partial_liquidation(_account([1.0], unit_pnl, 50_000.0), margin,
                                       PARAMS.planner, PARAMS.slippage)  # fmt: skip
    assert healthy.steps == () and healthy.cost_usd == 0.0 and healthy.target_met
    bankrupt = plan_partial_liquidation(_account([1.0], unit_pnl, -10.0), margin,
                                        PARAMS.planner, PARAMS.slippage)  # fmt: skip
    assert bankrupt.close_size.tolist() == [1.0] and not bankrupt.target_met
