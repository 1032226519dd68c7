"""Hand-derived cascades on three accounts, and the pieces they use (impact, depth, ADL)."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.market import MarketSnapshot
from crossmargin.simulation import (
    AdlPolicy,
    CascadeConfig,
    DepthParameters,
    ImpactParameters,
    VenueParameters,
    allocate_adl,
    run_cascade,
    shock_moves,
)
from crossmargin.simulation.depth import depth_factor, next_stress
from crossmargin.simulation.impact import impact_log_move, propagated_log_impact
from support.cascades import S0, LinearMargin, perps
from support.markets import flat_market


@pytest.fixture(scope="module")
def market() -> MarketSnapshot:
    return flat_market({"BTC": S0})


def _config(shock: float, depth: float, **options: object) -> CascadeConfig:
    return CascadeConfig(
        ("BTC",), shock_moves(("BTC",), {"BTC": shock}), {"BTC": depth},
        venue=VenueParameters(fee_rate_btc=0.0, fee_rate_other=0.0),
        impact=ImpactParameters(impact_at_depth=0.01, half_spread=0.0, permanent_fraction=1.0),
        depth=DepthParameters(reacting=False), **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_three_accounts_cascade_round_by_round(market: MarketSnapshot) -> None:
    """Three accounts long 1 BTC at S0 = 50,000; cash A 0.15·S0, B 0.20·S0, C 1.0·S0; shock −10 %,
    depth D = 0.9·S0/25 (taking 0.9·S0 at once moves the log price by 1 %·√25 = 5 %).

    Round 0 at 0.9·S0: equity A = 0.15 − 0.10 = 0.05·S0 < 1.05 × MM 0.09·S0 = 0.0945·S0 →
    liquidated; B: 0.10 ≥ 0.0945 → kept. A's cost estimate: its own 0.9·S0 alone fills 2/3 × 5 %
    away → 0.03·S0; fraction (IM − E)/(IM − cost) = (0.18 − 0.05)/(0.18 − 0.03) = 0.8667 → 0.9
    (tenths). Flow −0.81·S0 → log impact −1 %·√(0.81/0.036) = −0.047434.
    Round 1 at S1 = 0.9·e^−0.047434·S0 = 0.858309·S0: B equity 0.20 − 0.141691 = 0.058309·S0 <
    1.05 × 0.0858309 = 0.090122 → liquidated. C: 1 − 0.141691 ≫ 0.1·0.858 → never.
    """
    source = LinearMargin(perps(market, [1.0, 1.0, 1.0]))
    cash = np.array([0.15, 0.20, 1.0]) * S0
    result = run_cascade(source, cash, _config(-0.10, 0.9 * S0 / 25.0))
    assert result.first_liquidated.tolist() == [0, 1, -1]
    assert result.rounds["liquidated"][:3].tolist() == [1.0, 1.0, 0.0]
    assert result.prices[1, 0] == pytest.approx(0.9 * S0)
    assert result.prices[2, 0] / S0 == pytest.approx(0.9 * np.exp(-0.0474342), rel=1e-6)
    assert result.flow_usd[0, 0] == pytest.approx(-0.81 * S0)
    # A's liquidation: 0.9 of 0.9·S0 notional closed
    assert result.rounds["liquidated_notional_usd"][0] == pytest.approx(0.81 * S0)


def test_bankrupt_account_draws_the_fund_then_adl(market: MarketSnapshot) -> None:
    """A long 1 BTC with cash 0.15·S0 (healthy at the start: 0.15 ≥ 1.05 × 0.1), B short 1 BTC
    with cash 1·S0; shock −30 %, depth huge (no impact). A: equity 0.15 − 0.30 = −0.15·S0 ≤ 0 →
    closed whole, shortfall 0.15·S0 = 7,500; fund 2,500 covers 2,500, ADL passes 5,000 to B (the
    only opposing account), in profit 0.3·S0 = 15,000 ≥ 5,000: its 0.7·S0 = 35,000 of short
    delta closed counts as over-liquidation; B ends at S0 + 15,000 − 5,000."""
    source = LinearMargin(perps(market, [1.0, -1.0]))
    cash = np.array([0.15, 1.0]) * S0
    result = run_cascade(source, cash, _config(-0.30, 1e15, fund_usd=2_500.0))
    assert result.total("shortfall_usd") == pytest.approx(7_500.0)
    assert result.total("fund_cover_usd") == pytest.approx(2_500.0)
    assert result.total("adl_loss_usd") == pytest.approx(5_000.0)
    assert result.total("unresolved_usd") == 0.0
    assert result.total("adl_events") == 1.0
    assert result.total("over_liquidation_usd") == pytest.approx(35_000.0)
    assert result.fund_end == 0.0
    assert result.equity_end[0] == pytest.approx(0.0, abs=1e-9)
    assert result.equity_end[1] == pytest.approx(S0 + 15_000.0 - 5_000.0)


def test_adl_policies_hand_numbers() -> None:
    """Q = 100, L = 10 over opposing 60, 30, 50 (profits 5, 20, −1; wallets 100; MM 10).
    Binance scores 0.05·10/105, 0.2·10/120, 0 → order 1, 0, 2: takes 30, 60, 10.
    Pro-rata: 100/140 of each. Scan from the seeded start takes in index order, wrapping."""
    opposing = np.array([60.0, 30.0, 50.0])
    upnl, wallet, mm = np.array([5.0, 20.0, -1.0]), np.full(3, 100.0), np.full(3, 10.0)
    rng = np.random.default_rng(0)
    queue = allocate_adl(AdlPolicy.PROFIT_LEVERAGE, 100.0, 10.0, opposing, upnl, wallet, mm, rng)
    assert dict(zip(queue.account.tolist(), queue.closed_usd.tolist(), strict=True)) == {
        0: 60.0, 1: 30.0, 2: 10.0}  # fmt: skip
    assert queue.loss_usd.sum() == pytest.approx(10.0)
    pro = allocate_adl(AdlPolicy.PRO_RATA, 100.0, 10.0, opposing, upnl, wallet, mm, rng)
    assert pro.closed_usd.tolist() == pytest.approx((opposing * 100 / 140).tolist())
    scan = allocate_adl(AdlPolicy.SCAN, 100.0, 10.0, opposing, upnl, wallet, mm,
                        np.random.default_rng(0))  # fmt: skip
    assert scan.closed_usd.sum() == pytest.approx(100.0)
    short = allocate_adl(AdlPolicy.PRO_RATA, 200.0, 10.0, opposing, upnl, wallet, mm, rng)
    assert short.left_usd == pytest.approx(60.0)


def test_impact_and_depth_numbers() -> None:
    """$14M sold into $14M → −1 %; a 1 % round takes depth to 1/1.55 = 64.5 %, 2 % to 47.6 %;
    a permanent fraction of 2/3 leaves 2/3 + 1/3/√2 of a one-round-old impact."""
    params = ImpactParameters()
    assert impact_log_move(-14e6, 14e6, params) == pytest.approx(-0.01)
    depth = DepthParameters()
    z1 = next_stress(0.0, -0.01, 0.0, 1.0, depth)
    z2 = next_stress(0.0, 0.02, 0.0, 1.0, depth)
    assert depth_factor(z1, depth) == pytest.approx(1 / 1.55)
    assert depth_factor(z2, depth) == pytest.approx(1 / 2.1)
    old = propagated_log_impact(np.array([[-0.03], [0.0]]), params)
    assert old[0] == pytest.approx(-0.03 * (2 / 3 + 1 / 3 / np.sqrt(2)))
