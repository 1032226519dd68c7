"""Cascades on a small synthetic book: money balances every round, the same seed gives the same
numbers, the Dask sweep equals the serial run, and pm margin scales with the positions."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.simulation import (
    AdlPolicy,
    EngineMargin,
    PositionTable,
    Scenario,
    SyntheticBook,
    VenueMode,
    collateral_mix,
    run_scenario,
    run_sweep,
    synthetic_book,
)
from support.shared_data import require_shared_data

MARKETS = ("BTC", "ETH", "USDC")


@pytest.fixture(scope="module")
def book() -> SyntheticBook:
    return synthetic_book(400, 60, seed=3, data_dir=require_shared_data(), positions_per_account=4)


def _scenario(label: str, shock: float, **options: object) -> Scenario:
    row = np.array([[np.log1p(shock), 0.0, 0.0]])
    return Scenario(label, MARKETS, row, fund_usd=20_000.0, **options)  # type: ignore[arg-type]


def test_engine_margin_is_homogeneous_in_the_positions(book: SyntheticBook) -> None:
    """pm margin of 0.37 × every position = 0.37 × the margin (the scale trick's premise)."""
    table = PositionTable.build(book.instruments, book.market, book.account_index,
                                book.instrument_index, book.size, book.account_count)  # fmt: skip
    half = PositionTable.build(
        book.instruments,
        book.market,
        book.account_index,
        book.instrument_index,
        book.size * 0.37,
        book.account_count,
    )
    ones = np.ones(book.account_count)
    full = EngineMargin(table).margin({"BTC": -0.07}, ones)
    part = EngineMargin(half).margin({"BTC": -0.07}, ones)
    np.testing.assert_allclose(full.initial * 0.37, part.initial, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(full.maintenance * 0.37, part.maintenance, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(full.value * 0.37, part.value, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("model", ["pm", "cross", "isolated"])
@pytest.mark.parametrize("mode", [VenueMode.CEX, VenueMode.ONCHAIN])
def test_money_balances_every_round(book: SyntheticBook, model: str, mode: VenueMode) -> None:
    """Per round: liquidated accounts' equity change = −(slippage + fees + keeper); shortfall =
    fund cover + ADL + unresolved; over the run the fund moves by fees − cover + recovered."""
    outcome = run_scenario(book, _scenario("t", -0.25, model=model, mode=mode))
    rounds = outcome.result.rounds
    np.testing.assert_allclose(
        rounds["equity_change_usd"],
        -(rounds["slippage_usd"] + rounds["fees_usd"] + rounds["keeper_usd"]),
        rtol=1e-9, atol=1e-4,
    )  # fmt: skip
    np.testing.assert_allclose(
        rounds["shortfall_usd"],
        rounds["fund_cover_usd"] + rounds["adl_loss_usd"] + rounds["unresolved_usd"],
        rtol=1e-9, atol=1e-4,
    )  # fmt: skip
    fund = outcome.result
    assert fund.fund_end - fund.fund_start == pytest.approx(
        outcome.result.total("fees_usd") - outcome.result.total("fund_cover_usd")
        + outcome.result.total("bridge_recovered_usd"), abs=1e-4,
    )  # fmt: skip
    assert np.all(rounds["fund_usd"] >= 0.0)
    assert outcome.result.accounts_liquidated > 0


def test_same_seed_same_numbers(book: SyntheticBook) -> None:
    """Two runs of the same scenario agree bit for bit (ADL scan uses the seeded generator)."""
    scenario = _scenario("t", -0.3, model="pm", adl_policy=AdlPolicy.SCAN)
    first, second = run_scenario(book, scenario), run_scenario(book, scenario)
    for name, column in first.result.rounds.items():
        assert np.array_equal(column, second.result.rounds[name]), name
    assert np.array_equal(first.result.prices, second.result.prices)
    assert np.array_equal(first.result.first_liquidated, second.result.first_liquidated)


def test_dask_sweep_equals_serial(book: SyntheticBook) -> None:
    """shock × model × mode on Dask threads gives exactly the serial numbers, in order."""
    scenarios = [
        _scenario(f"{s} {m} {v}", s, model=m, mode=v)
        for s in (-0.1, -0.2) for m in ("cross", "pm") for v in (VenueMode.CEX, VenueMode.ONCHAIN)
    ]  # fmt: skip
    serial = run_sweep(book, scenarios)
    parallel = run_sweep(book, scenarios, scheduler="threads")
    for one, other in zip(serial, parallel, strict=True):
        assert one.scenario.label == other.scenario.label
        assert one.summary() == other.summary()
        assert np.array_equal(one.result.prices, other.result.prices)


def test_eth_collateral_moves_eth_in_a_btc_crash(book: SyntheticBook) -> None:
    """Half the accounts hold 30–90 % of their collateral in ETH: a BTC-only crash liquidates
    some of them, their ETH is sold, and ETH falls although it was not shocked."""
    cash, holdings = collateral_mix(
        book.collateral_usd, {"ETH": book.market.index("ETH")}, {"ETH": 0.5}, {"ETH": 0.1},
        np.random.default_rng(1),
    )  # fmt: skip
    moved = run_scenario(book, _scenario("eth", -0.3, model="cross", collateral=(cash, holdings)))
    plain = run_scenario(book, _scenario("plain", -0.3, model="cross"))
    assert moved.result.price_move("ETH") < plain.result.price_move("ETH") - 1e-6


def test_halted_bridge_adds_bad_debt_then_the_fund_recovers(book: SyntheticBook) -> None:
    """Collateral behind a bridge halted for 5 rounds cannot be counted or seized: the same
    crash liquidates at least as many accounts; the seized coins return to the fund at reopening."""
    cash, holdings = collateral_mix(
        book.collateral_usd, {"ETH": book.market.index("ETH")}, {"ETH": 0.6}, {"ETH": 0.1},
        np.random.default_rng(2), bridged_share=1.0,
    )  # fmt: skip
    base = _scenario("open", -0.2, model="cross", collateral=(cash, holdings))
    open_bridge = run_scenario(book, base)
    halted = run_scenario(book, Scenario("halt", MARKETS, base.log_moves, model="cross",
                                         fund_usd=20_000.0, collateral=(cash, holdings),
                                         bridge_halt_rounds=5))  # fmt: skip
    assert halted.result.accounts_liquidated >= open_bridge.result.accounts_liquidated
    assert halted.result.total("bridge_recovered_usd") >= 0.0
    if halted.result.total("bridge_seized_usd") > 0:
        assert halted.result.total("bridge_recovered_usd") > 0
