"""CEX liquidation rounds: caps, fees to the fund, conservation, takeover of a bankrupt account."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.liquidation import (
    AccountRisk,
    CexLiquidation,
    InsuranceFund,
    ScenarioMargin,
    hedge_groups,
    load_liquidation_parameters,
    run_cex_liquidation,
)
from crossmargin.margin.health import HealthState

PARAMS = load_liquidation_parameters()
S = 60_000.0
MOVES = np.linspace(-0.16, 0.16, 9)
UNIT_PNL = np.array([S * MOVES, S * MOVES, S * MOVES])


def _account(collateral: float, marks: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> AccountRisk:
    size = np.array([1.0, -1.0, 2.0])
    return AccountRisk(
        ("BTC_USDC-PERPETUAL", "BTC_USDC-29MAR24", "BTC_USDC-28JUN24"), size, np.full(3, 0.001),
        UNIT_PNL, np.array(marks), np.full(3, S), np.full(3, 14e6), np.full(3, 0.005),
        collateral, hedge_groups(size[:, None] * UNIT_PNL),
    )  # fmt: skip


def _conserved(run: CexLiquidation, collateral_before: Decimal) -> None:
    """collateral after − before = realised + variation − slippage − fund delta, exactly."""
    assert run.collateral - collateral_before == (
        run.realised + run.variation_margin - run.market_slippage - run.fund_delta
    )


def test_rounds_are_capped_fees_go_to_the_fund_and_money_is_conserved() -> None:
    """The plan closes 0.57 BTC (34,200 USD of notional: see the planner test); at 2,500 USD a
    round that is ⌈34,200 / 2,500⌉ = 14 rounds, one per second; fees 0.5 % × 34,200 = 171.00
    (each round's fee rounded up to the micro-dollar) go to the fund; MM never rises."""
    account = _account(14_000.0)
    run = run_cex_liquidation(account, ScenarioMargin(UNIT_PNL), PARAMS,
                              InsuranceFund(Decimal(1000)), np.random.default_rng(7))  # fmt: skip
    assert len(run.rounds) == 14
    assert [r.time_s for r in run.rounds] == [float(i) for i in range(14)]
    assert all(sum(f.notional_usd for f in r.fills) <= 2500.0 + 1e-6 for r in run.rounds)
    assert run.fund_delta == sum(r.fee for r in run.rounds)
    assert float(run.fund_delta) == pytest.approx(171.0, abs=1e-4)
    maintenance = [15_360.0] + [r.maintenance_after_usd for r in run.rounds]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(maintenance))
    assert run.health_before is HealthState.LIQUIDATABLE
    assert run.health_after is HealthState.WARNING
    assert run.bad_debt == 0
    _conserved(run, Decimal("14000.000000"))


def test_same_seed_same_rounds() -> None:
    """The depth of each round is drawn from the seeded generator: same seed, same bytes."""
    args = (_account(14_000.0), ScenarioMargin(UNIT_PNL), PARAMS, InsuranceFund(Decimal(0)))
    first = run_cex_liquidation(*args, np.random.default_rng(3))
    again = run_cex_liquidation(*args, np.random.default_rng(3))
    other = run_cex_liquidation(*args, np.random.default_rng(4))
    assert first.rounds == again.rounds
    assert first.market_slippage != other.market_slippage


def test_crash_makes_the_account_bankrupt_and_the_fund_covers_what_it_can() -> None:
    """Net long 2 BTC with 14,000 USD; the market drops 20 % at once (mark −12,000 per BTC):
    variation margin −24,000 → equity −10,000 ≤ 0, so the venue takes the account over in one
    round; the fund (3,000) covers 3,000 and the remaining ≈ 7,000 + slippage is bad debt."""
    change = np.array([[-12_000.0, -12_000.0, -12_000.0]])
    run = run_cex_liquidation(_account(14_000.0), ScenarioMargin(UNIT_PNL), PARAMS,
                              InsuranceFund(Decimal(3000)), np.random.default_rng(0),
                              mark_change_usd=change)  # fmt: skip
    assert run.variation_margin == Decimal("-24000.000000")
    assert len(run.rounds) == 1 and run.rounds[0].fee == 0
    assert run.fund.balance == 0 and run.fund_delta == Decimal(-3000)
    assert run.bad_debt == Decimal(7000) + run.market_slippage
    assert not np.any(run.account.size)
    _conserved(run, Decimal("14000.000000"))


def test_hedging_trade_cuts_risk_before_closing() -> None:
    """With hedging on, a short in the perpetual row (index 0 here holds +1) is cheaper per
    unit of risk than closing: the first round sells the perpetual and MM falls."""
    params = replace(PARAMS, cex=replace(PARAMS.cex, hedge_with_perpetual=True))
    run = run_cex_liquidation(_account(14_000.0), ScenarioMargin(UNIT_PNL), params,
                              InsuranceFund(Decimal(0)), np.random.default_rng(0),
                              hedge_index=0)  # fmt: skip
    first = run.rounds[0]
    assert [f.instrument for f in first.fills] == ["BTC_USDC-PERPETUAL"]
    assert first.fills[0].size < 0 and first.maintenance_after_usd < 15_360.0
    _conserved(run, Decimal("14000.000000"))
