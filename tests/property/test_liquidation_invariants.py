"""Liquidation invariants over random accounts, price paths and shortfalls (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.core.numeric import collateral_to_decimal
from crossmargin.liquidation import (
    AccountRisk,
    InsuranceFund,
    ScenarioMargin,
    auction_price_factor,
    auto_deleverage,
    book_health,
    buffer_margin_usd,
    hedge_groups,
    load_liquidation_parameters,
    max_bid_fraction,
    plan_close_everything,
    plan_partial_liquidation,
    run_cex_liquidation,
    socialise_loss,
)
from crossmargin.margin.health import HEALTH_STATES, health_state

PARAMS = load_liquidation_parameters()
MOVES = np.linspace(-0.2, 0.2, 9)


@st.composite
def accounts(draw: st.DrawFn) -> AccountRisk:
    """2–5 positions: linear (P&L ∝ move) or option-like (convex or concave), random sizes in
    minimum lots, collateral between 20 % and 120 % of the worst scenario loss."""
    n = draw(st.integers(2, 5))
    rows, prices = [], []
    for _ in range(n):
        price = draw(st.sampled_from([60_000.0, 3_000.0]))
        curve = draw(st.sampled_from(["linear", "convex", "concave"]))
        shape = {"linear": MOVES, "convex": np.maximum(MOVES, 0.0) - 0.02,
                 "concave": 0.02 - np.maximum(MOVES, 0.0)}[curve]  # fmt: skip
        rows.append(price * shape)
        prices.append(price)
    unit_pnl = np.array(rows)
    lots = np.array(draw(st.lists(st.integers(-40, 40).filter(bool), min_size=n, max_size=n)))
    size = lots * 0.1
    worst = float(np.maximum(-(size @ unit_pnl).min(), 1.0))
    collateral = worst * draw(st.floats(0.2, 1.2))
    return AccountRisk(
        tuple(f"I{i}" for i in range(n)), size, np.full(n, 0.1), unit_pnl, np.zeros(n),
        np.array(prices), np.full(n, 2e6), np.full(n, 0.005), collateral,
        hedge_groups(size[:, None] * unit_pnl),
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(accounts())
def test_planner_never_raises_margin_and_never_costs_more_than_closing_all(
    account: AccountRisk,
) -> None:
    margin = ScenarioMargin(account.unit_pnl_usd)
    plan = plan_partial_liquidation(account, margin, PARAMS.planner, PARAMS.slippage)
    closed = plan.close_size
    assert np.all(np.abs(closed) <= np.abs(account.size) + 1e-9)
    assert np.all(closed * account.size >= -1e-12)  # closes only, never flips or opens
    remaining = account.size.copy()
    _, before = margin(remaining[None, :])
    for step in plan.steps:
        remaining = remaining - step
        _, after = margin(remaining[None, :])
        assert after[0] <= before[0] + 1e-6
        before = after
    whole = plan_close_everything(account, margin, PARAMS.planner, PARAMS.slippage)
    assert plan.cost_usd <= whole.cost_usd + 1e-6
    if plan.target_met:
        assert plan.equity_after_usd >= plan.initial_after_usd - 1e-6


@settings(max_examples=30, deadline=None)
@given(accounts(), st.integers(0, 2**32 - 1), st.lists(st.floats(-0.05, 0.05), max_size=5))
def test_cex_rounds_conserve_money_and_never_add_risk(
    account: AccountRisk, seed: int, path: list[float]
) -> None:
    """Δcollateral = realised + variation − slippage − fund delta, to the last micro-dollar;
    the fund never goes negative; in rounds without a market move MM never rises."""
    margin = ScenarioMargin(account.unit_pnl_usd)
    changes = np.array([[m * u for u in account.unit_notional_usd] for m in path]).reshape(
        len(path), account.position_count
    )
    run = run_cex_liquidation(account, margin, PARAMS, InsuranceFund(Decimal(500)),
                              np.random.default_rng(seed),
                              mark_change_usd=changes if path else None)  # fmt: skip
    start = collateral_to_decimal(account.collateral_usd)
    assert run.collateral - start == (
        run.realised + run.variation_margin - run.market_slippage - run.fund_delta
    )
    assert run.fund.balance >= 0 and run.bad_debt >= 0
    _, mm = margin(account.size[None, :])
    previous = float(mm[0])
    for r in run.rounds:
        if r.index >= len(path) and r.equity_after_usd > 0:
            assert r.maintenance_after_usd <= previous + 1e-6
        previous = r.maintenance_after_usd


@given(
    st.decimals(Decimal("0.000001"), Decimal("1e9"), places=6),
    st.lists(st.tuples(st.integers(1, 10**6), st.floats(0, 10)), min_size=1, max_size=8),
)
def test_adl_losses_add_up_to_the_shortfall(
    shortfall: Decimal, legs: list[tuple[int, float]]
) -> None:
    sizes = [Decimal(lots) / 1000 for lots, _ in legs]
    fills = auto_deleverage(shortfall, sum(sizes, Decimal(0)), list(range(len(legs))), sizes,
                            [score for _, score in legs])  # fmt: skip
    assert sum((f.loss for f in fills), Decimal(0)) == shortfall
    assert all(f.loss >= 0 for f in fills)


@given(
    st.decimals(Decimal("0"), Decimal("1e9"), places=6),
    st.lists(st.decimals(Decimal("-1e6"), Decimal("1e6"), places=6), min_size=1, max_size=8).filter(
        lambda p: any(x > 0 for x in p)
    ),
)
def test_socialised_shares_add_up_and_spare_losers(
    shortfall: Decimal, profits: list[Decimal]
) -> None:
    shares = socialise_loss(shortfall, profits)
    assert sum(shares, Decimal(0)) == shortfall
    assert all(s == 0 for s, p in zip(shares, profits, strict=True) if p <= 0)


@given(st.lists(st.decimals(Decimal("-1e6"), Decimal("1e6"), places=6), max_size=20))
def test_fund_never_goes_negative(flows: list[Decimal]) -> None:
    fund, total_in, total_out = InsuranceFund(Decimal(100)), Decimal(100), Decimal(0)
    for flow in flows:
        if flow >= 0:
            fund, total_in = fund.deposit(flow), total_in + flow
        else:
            drawn = fund.draw(-flow)
            fund, total_out = drawn.fund, total_out + drawn.covered
            assert drawn.covered + drawn.uncovered == -flow
        assert fund.balance >= 0
    assert fund.balance == total_in - total_out


@given(st.floats(0, 50_000), st.floats(0, 50_000))
def test_price_factor_falls_from_095_to_0(t1: float, t2: float) -> None:
    early, late = sorted((t1, t2))
    factors = auction_price_factor([early, late], PARAMS.auction)
    assert 0.95 >= factors[0] >= factors[1] >= 0.0


@given(st.floats(1.0, 1e6), st.floats(0.0, 1e6), st.floats(0.05, 0.95), st.floats(0, 1e5))
def test_largest_bid_restores_buffer_margin(
    positions: float, required: float, factor: float, cash: float
) -> None:
    bm = float(buffer_margin_usd(positions + cash, required, 0.15))
    f = max_bid_fraction(bm, positions + cash, factor, cash)
    assert 0.0 <= f <= 1.0
    if 0.0 < f < 1.0:
        after = (1 - f) * positions + cash + factor * positions * f - 1.15 * (1 - f) * required
        assert abs(after) <= 1e-6 * max(positions, required, cash, 1.0)


CENTS = st.integers(-(10**8), 10**8).map(lambda cents: cents / 100)


@given(st.lists(st.tuples(CENTS, CENTS.map(abs)), min_size=1, max_size=30))
def test_book_health_matches_one_account_and_relabelling_changes_nothing(
    rows: list[tuple[float, float]],
) -> None:
    equity = np.array([e for e, _ in rows])
    maintenance = np.array([m for _, m in rows])
    health = book_health(equity, maintenance)
    for a in range(len(rows)):
        assert HEALTH_STATES[int(health.codes[a])] is health_state(equity[a], maintenance[a])
    permutation = np.random.default_rng(len(rows)).permutation(len(rows))
    moved = book_health(equity[permutation], maintenance[permutation])
    assert sorted(permutation[moved.liquidation_order].tolist()) == sorted(
        health.liquidation_order.tolist()
    )
