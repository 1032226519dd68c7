"""Book engine (issue 18): the pre-trade pool, the pm check kernel's stored state, the packed
rows and the results assembled in the kernel, on small hand-made books.

Market: 2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols 60 % / 70 %, r = 0, default ``pm``
parameters (±16 % grid, MM = 0.8 × IM).
"""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine, MarginArrays
from crossmargin.engine.columns import F_DELTA, F_VALUE
from crossmargin.engine.results import margin_ratios
from crossmargin.engine.specs import model_spec
from support.engine_books import ENGINE_NAMES
from support.markets import MARKET

NAMES = ENGINE_NAMES
ACCOUNTS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 5])
INSTRUMENTS = np.array([0, 4, 5, 2, 3, 6, 7, 8, 9, 10, 1])
SIZES = np.array([10_000.0, -2.0, 1.0, 50_000.0, -50_000.0, -3.0, -3.0, 20_000.0, 15.0, 2.0, 1.0])
COLLATERAL = np.array([100_000.0, 50_000.0, 80_000.0, 0.0, 5_000.0, 1_000.0])


def _engine(check_slots: int | None = None) -> BookEngine:
    engine = BookEngine(NAMES, MARKET, "pm", check_slots=check_slots)
    engine.load_positions(ACCOUNTS, INSTRUMENTS, SIZES, COLLATERAL)
    return engine


def test_closing_the_only_position_leaves_no_margin() -> None:
    """Account 5 holds 1 BTC of BTC_USDC-PERPETUAL: IM = 0.16 × 72,000 (worst case at −16 %)
    + 0.01 × 72,000 (USDC's minimum roll move on 1 BTC) = 12,240, MM = 9,792. Selling the
    1 BTC empties its only vector: IM and MM 0, no worst scenario, equity still 1,000."""
    check = _engine().pre_trade(5, 1, -1.0)
    assert check.initial_margin_before == pytest.approx(12_240.0, rel=1e-12)
    assert check.maintenance_margin_before == pytest.approx(9_792.0, rel=1e-12)
    assert check.initial_margin == 0.0
    assert check.maintenance_margin == 0.0
    assert check.worst_scenario_index == -1
    assert check.equity == pytest.approx(1_000.0, rel=1e-12)


def test_the_pool_is_presized_and_recycles_its_slots() -> None:
    """A pool of 2 slots serves 6 accounts: it never grows, and an account whose slot was given
    away is rebuilt from its positions, with the numbers of margin_all."""
    engine = _engine(check_slots=2)
    assert engine.check_slots == 2
    expected = engine.margin_all()
    for account in (0, 1, 2, 3, 4, 5, 0, 2, 5):
        check = engine.pre_trade(account, 4, 0.0)
        assert check.initial_margin_before == pytest.approx(
            expected.initial_margin[account], rel=1e-12, abs=1e-9
        )
        assert check.initial_margin == pytest.approx(
            expected.initial_margin[account], rel=1e-12, abs=1e-9
        )
        assert check.worst_scenario_index == expected.worst_scenario_index[account]
    assert engine.check_slots == 2
    assert _engine().check_slots == 6  # at most one slot per account


def test_committed_trades_move_the_stored_state_exactly() -> None:
    """Trades applied one after another (a new option, more of it, a future closed, a new
    perpetual) move the account's stored vectors, held counts and bucket nets; a check then
    equals margin_all and a fresh engine loaded with the resulting positions."""
    engine = _engine()
    trades = [(9, 1.0), (9, 2.0), (0, -10_000.0), (8, 5_000.0), (4, 2.0)]
    for instrument, size in trades:
        engine.apply_trade(0, instrument, size)
    check = engine.pre_trade(0, 6, 0.0)
    result = engine.margin_all()
    assert check.initial_margin == pytest.approx(result.initial_margin[0], rel=1e-12)
    assert check.worst_scenario_index == result.worst_scenario_index[0]
    cols, sizes = engine.positions(0)
    fresh = BookEngine(NAMES, MARKET, "pm")
    fresh.load_positions(np.zeros(cols.size, dtype=np.int64), cols, sizes, [0.0])
    assert fresh.pre_trade(0, 6, 0.0).initial_margin == pytest.approx(
        check.initial_margin, rel=1e-12
    )
    assert cols.tolist() == [5, 8, 9]


def test_margin_ratio_is_assembled_by_the_health_rule() -> None:
    """The kernel writes MM / equity itself: 0 without margin (account 4 holds nothing), inf
    with margin and equity ≤ 0, the quotient otherwise — exactly :func:`margin_ratios`."""
    engine = BookEngine(NAMES, MARKET, "pm")
    sizes = SIZES.copy()
    sizes[8:10] = (-40.0, 0.1)  # account 3: short 40 ETH calls, 0.1 BTC, no collateral: equity < 0
    engine.load_positions(ACCOUNTS, INSTRUMENTS, sizes, COLLATERAL)
    result = engine.margin_all()
    expected = margin_ratios(result.maintenance_margin, result.equity)
    assert np.array_equal(result.margin_ratio, expected)
    assert result.equity[3] < 0.0
    assert result.margin_ratio[3] == np.inf
    assert result.margin_ratio[4] == 0.0
    assert result.margin_ratio[5] == pytest.approx(9_792.0 / 1_000.0, rel=1e-12)


def test_a_result_is_not_changed_by_later_trades() -> None:
    """margin_all hands out its own arrays (read-only, no copies); the next incremental call
    works on copies, so an earlier result keeps its numbers."""
    engine = _engine()
    first = engine.margin_all(incremental=False)
    kept = first.initial_margin.copy()
    assert not first.initial_margin.flags.writeable
    engine.apply_trade(5, 1, 1.0)
    second = engine.margin_all()
    assert np.array_equal(first.initial_margin, kept)
    assert second.initial_margin[5] == pytest.approx(2 * 12_240.0, rel=1e-12)


def test_packed_rows_carry_delta_and_value_in_two_lanes() -> None:
    """Each P&L row keeps its 35 scenarios (zeros after), then the unit delta (coin) and mark
    value (USD) in the last two of its 40 lanes; the factor shapes are zero there."""
    tables = _engine().tables
    packed = tables.packed
    assert packed.width == 40
    assert (packed.delta_lane, packed.value_lane) == (38, 39)
    assert np.array_equal(packed.lanes[:, :35], tables.pnl[:, :35])
    assert not packed.lanes[:, 35:38].any()
    assert np.array_equal(packed.lanes[:, 38], tables.instrument_float[:, F_DELTA])
    assert np.array_equal(packed.lanes[:, 39], tables.instrument_float[:, F_VALUE])
    assert not packed.factor_rows[:, 38:].any()


def test_the_pm_kernel_run_with_trades_equals_the_checks() -> None:
    """The spec's kernel called with trades (the KernelRun protocol, no stored state) gives the
    margin after each trade that pre_trade gives."""
    engine = _engine()
    orders = [(0, 4, 1.5), (2, 8, -5_000.0), (5, 1, -1.0)]
    accounts = np.array([a for a, _, _ in orders], dtype=np.int64)
    columns = np.array([int(engine._rank[i]) for _, i, _ in orders], dtype=np.int64)
    sizes = np.array([s for _, _, s in orders])
    out = MarginArrays.empty(len(orders))
    book = engine._book  # the engine's rows (test-only access)
    rows = (book.row_start, book.row_len, book.cols, book.sizes)
    no_state = (np.zeros(0, dtype=np.int64), np.zeros((1, 1, 1)), np.zeros(1, np.int64), 0)
    model_spec("pm").kernel(
        engine.tables, accounts, columns, sizes, rows, engine.collateral_usd, out, no_state
    )
    for t, (account, instrument, size) in enumerate(orders):
        check = engine.pre_trade(account, instrument, size)
        assert out.initial_margin[t] == pytest.approx(check.initial_margin, rel=1e-12, abs=1e-9)
        assert out.worst_scenario_index[t] == check.worst_scenario_index


def test_check_slots_must_be_a_positive_int() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="check_slots"):
            BookEngine(NAMES, MARKET, "pm", check_slots=bad)  # type: ignore[arg-type]
