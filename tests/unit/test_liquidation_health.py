"""Liquidation health: every account at once, bankruptcy prices and distances per underlying."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.engine import BookMarginResult
from crossmargin.liquidation import book_health, distances_to_liquidation
from crossmargin.margin.health import HealthState
from crossmargin.margin.standard.cross import CrossMargin
from crossmargin.portfolio import Portfolio, Position
from support.markets import MARKET


def test_book_health_worked_example() -> None:
    """Equity (100, 100, 100, −5) against MM (50, 90, 99.9, 10) and IM (60, 110, 120, 12):
    equity / MM = 2.0, 1.111, 1.001, −0.5 → healthy, reduce-only, liquidatable (band < 1.05),
    bankrupt; only the last is a hard breach (equity < MM); shortfall to IM 0, 10, 20, 17;
    order: most underwater first, margin ratio ∞ (account 3) then 99.9/100 (account 2)."""
    health = book_health([100.0, 100.0, 100.0, -5.0], [50.0, 90.0, 99.9, 10.0],
                         [60.0, 110.0, 120.0, 12.0])  # fmt: skip
    assert [health.state(a) for a in range(4)] == [
        HealthState.HEALTHY, HealthState.REDUCE_ONLY, HealthState.LIQUIDATABLE,
        HealthState.BANKRUPT,
    ]  # fmt: skip
    assert health.liquidatable.tolist() == [False, False, False, True]
    np.testing.assert_allclose(health.shortfall_to_initial_usd, [0.0, 10.0, 20.0, 17.0])
    assert health.liquidation_order.tolist() == [3, 2]
    np.testing.assert_allclose(health.equity_to_maintenance[:3], [2.0, 100 / 90, 100 / 99.9])
    assert health.counts()[HealthState.WARNING] == 0


def test_book_health_from_engine_result_and_ties_by_index() -> None:
    """A BookMarginResult is read directly; two accounts at the same ratio 1/0.9 are ordered
    by index; an account with no MM and negative equity is bankrupt but never in the order."""
    equity = np.array([90.0, 0.0, -1.0, 90.0])
    maintenance = np.array([100.0, 0.0, 0.0, 100.0])
    result = BookMarginResult("pm", maintenance * 1.25, maintenance, equity,
                              np.zeros(4), np.zeros(4, np.int64), ())  # fmt: skip
    health = book_health(result)
    assert health.liquidation_order.tolist() == [0, 3]
    assert health.state(2) is HealthState.BANKRUPT
    np.testing.assert_allclose(health.shortfall_to_initial_usd, [35.0, 0.0, 1.0, 35.0])


def test_bankruptcy_and_liquidation_price_long_linear_perpetual() -> None:
    """Long 20 BTC_USDC-PERPETUAL at 72,000 with 100,000 USDC under cross margin: equity
    100,000 + 20·(P − 72,000) = 0 at P = 67,000 (bankruptcy, −6.94 %); equity = MM = 1.1 %·20·P
    at P = 1,340,000 / 19.78 = 67,745.197… (liquidation, −5.909 %). Nothing above."""
    portfolio = Portfolio(
        (Position.of("BTC_USDC-PERPETUAL", 20, 72_000.0),), {"USDC": Decimal(100_000)}
    )
    (distance,) = distances_to_liquidation(CrossMargin(), portfolio, MARKET)
    assert distance.bankruptcy_below_usd == pytest.approx(67_000.0, rel=1e-9)
    assert distance.liquidation_below_usd == pytest.approx(1_340_000 / 19.78, rel=1e-9)
    assert distance.bankruptcy_above_usd is None and distance.liquidation_above_usd is None
    assert distance.distance_to_liquidation == pytest.approx(1_340_000 / 19.78 / 72_000 - 1)
    assert distance.bankruptcy_below_usd < distance.liquidation_below_usd
