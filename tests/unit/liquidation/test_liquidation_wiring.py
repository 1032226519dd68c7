"""The wiring of issue 15: the model adapter, ledger transfers and the whole-book pass."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.engine import BookEngine
from crossmargin.instruments import parse_instrument
from crossmargin.liquidation import (
    InsuranceFund,
    ModelMargin,
    account_under_model,
    liquidate_book,
    liquidation_queue,
    load_liquidation_parameters,
    plan_partial_liquidation,
    round_transfers,
    run_cex_liquidation,
)
from crossmargin.margin.registry import build_model
from crossmargin.portfolio import Portfolio, Position
from support.markets import MARKET

PARAMS = load_liquidation_parameters()
PERP = parse_instrument("BTC_USDC-PERPETUAL")


def test_model_margin_is_the_model_and_equity_is_the_models() -> None:
    """Long 1 BTC_USDC-PERPETUAL at 72,000 with 12,000 USDC under cross margin: the adapter's
    IM/MM for the held sizes are the model's own (rounded-up) numbers, half the size gives the
    model's numbers for half, zero gives 0; the account's equity is the model's equity."""
    model = build_model("cross")
    portfolio = Portfolio((Position(PERP, 1.0, 72_000.0),), {"USDC": Decimal(12_000)})
    account, margin = account_under_model(model, portfolio, MARKET, PARAMS)
    assert isinstance(margin, ModelMargin)
    initial, maintenance = margin(np.array([[1.0], [0.5], [0.0]]))
    full = model.margin(portfolio, MARKET)
    half = model.margin(Portfolio((Position(PERP, 0.5, 72_000.0),), portfolio.collateral), MARKET)
    assert (initial[0], maintenance[0]) == (
        float(full.initial_margin),
        float(full.maintenance_margin),
    )
    assert (initial[1], maintenance[1]) == (
        float(half.initial_margin),
        float(half.maintenance_margin),
    )
    assert initial[2] == 0.0 and maintenance[2] == 0.0
    assert account.equity_usd() == pytest.approx(float(full.equity), abs=1e-9)


def test_planner_under_the_pm_model_never_raises_mm_and_meets_im() -> None:
    """Long 2 BTC_USDC-PERPETUAL at 72,000 with 20,000 USDC, BTC −8 % (66,240): equity
    20,000 − 11,520 = 8,480 USD, below the pm MM. The partial plan under the pm model itself
    reaches equity ≥ IM (pm's IM after), and pm's MM never rises from step to step."""
    model = build_model("pm")
    portfolio = Portfolio((Position(PERP, 2.0, 72_000.0),), {"USDC": Decimal(20_000)})
    moved = MARKET.shocked({"BTC": -0.08})
    account, margin = account_under_model(model, portfolio, moved, PARAMS)
    assert account.equity_usd() == pytest.approx(8_480.0)
    plan = plan_partial_liquidation(account, margin, PARAMS.planner, PARAMS.slippage)
    assert plan.maintenance_before_usd > plan.equity_before_usd and plan.target_met
    sizes = account.size - np.cumsum(np.array(plan.steps), axis=0)
    _, mm = margin(np.vstack([account.size, sizes]))
    assert np.all(np.diff(mm) <= 1e-7)
    assert plan.equity_after_usd >= plan.initial_after_usd


def test_round_transfers_fee_and_sizes_add_up() -> None:
    """A CEX liquidation of a two-leg USDC account: each round's fees (USDC) add up to the
    library's round fee exactly, the fills' sizes add up to what was closed, and the last
    fill of a closed position is flagged ``closes_position``."""
    names = ["BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL"]
    instruments = [parse_instrument(n) for n in names]
    portfolio = Portfolio(
        (Position(instruments[0], 0.3, 72_000.0), Position(instruments[1], 5.0, 4_000.0)),
        {"USDC": Decimal(9_000)},
    )
    moved = MARKET.shocked({"BTC": -0.2, "ETH": -0.2})
    account, margin = account_under_model(None, portfolio, moved, PARAMS)
    result = run_cex_liquidation(
        account, margin, PARAMS, InsuranceFund(Decimal(0)), np.random.default_rng(3)
    )
    transfers = round_transfers(result, instruments, moved)
    assert len(transfers) == sum(1 for r in result.rounds if r.fills)
    for transfer, cex_round in zip(transfers, [r for r in result.rounds if r.fills], strict=True):
        assert sum(transfer.fees.values(), Decimal(0)) == cex_round.fee
        assert set(transfer.fees) <= {"USDC"}
    for i, name in enumerate(names):
        closed = sum(
            (f.size for t in transfers for f in t.fills if f.instrument == name), Decimal(0)
        )
        assert float(closed) == pytest.approx(result.account.size[i] - account.size[i], abs=1e-9)
        if result.account.size[i] == 0.0:
            last = [f for t in transfers for f in t.fills if f.instrument == name][-1]
            assert last.closes_position


def _book() -> BookEngine:
    names = ["BTC_USDC-PERPETUAL", "BTC_USDC-29MAR24-80000-C"]
    engine = BookEngine(names, MARKET, "pm")
    # account 0 long 2 perp with 15,000 (liquidatable at −10 %), 1 short 2 perp rich,
    # 2 long 1 perp with 2,000 (bankrupt at −10 %), 3 short 1 perp rich.
    engine.load_positions([0, 1, 2, 3], [0, 0, 0, 0], [2.0, -2.0, 1.0, -1.0],
                          [15_000.0, 500_000.0, 2_000.0, 500_000.0])  # fmt: skip
    engine.update_market(MARKET.shocked({"BTC": -0.1}))
    return engine


def test_book_pass_is_ordered_deterministic_and_conserves() -> None:
    """BTC −10 % (64,800): account 2 (equity 2,000 − 7,200 < 0) is bankrupt, account 0
    (15,000 − 14,400 = 600) liquidatable; the pass takes them most underwater first — 2 then
    0 — as the queue says. With an empty fund account 2's loss is passed on by ADL to the
    shorts (1 and 3), whose losses add up to the bad debt exactly. Fund change = fees − cover.
    The same inputs give the same pass."""
    engine = _book()
    _, queue = liquidation_queue(engine, PARAMS)
    book = liquidate_book(engine, PARAMS, InsuranceFund(Decimal(0)), np.random.default_rng(1))
    assert [a.account for a in book.accounts] == queue.tolist() == [2, 0]
    fees = sum((r.fee for a in book.accounts for r in a.result.rounds), Decimal(0))
    covered = sum((a.result.fund_delta for a in book.accounts), Decimal(0))
    assert book.fund_delta == covered and fees >= book.fund_delta
    bankrupt = book.accounts[0]
    assert bankrupt.result.bad_debt > 0 and bankrupt.resolution is not None
    losses = sum((f.loss for f in bankrupt.resolution.adl_fills), Decimal(0))
    assert losses == bankrupt.result.bad_debt == book.bad_debt and book.unresolved == 0
    assert {bankrupt.counterparties[f.account] for f in bankrupt.resolution.adl_fills} <= {1, 3}
    again = liquidate_book(_book(), PARAMS, InsuranceFund(Decimal(0)), np.random.default_rng(1))
    assert [(a, f) for a, f in again.fills] == [(a, f) for a, f in book.fills]
    for liquidation in book.accounts:
        closed = liquidation.closed_size
        assert np.all(np.abs(closed) <= np.abs(liquidation.size_before) + 1e-12)
