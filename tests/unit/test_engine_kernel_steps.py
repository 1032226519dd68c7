"""The pm kernel's steps of issue 18: plain rows added in runs, the first worst scenario found
in interleaved chains, caller-provided scratch, one-pass thread chunks, outputs written in full.

Accounts of at least ``_RUN_POSITIONS`` positions add consecutive plain rows of one risk vector
two at a time (another summation order than one at a time), so they are held to the twin
(1e-12) and the single-account model (1e-9) here, and their stored lanes, held counts, factor
weights, bucket nets and roll shocks to the one-at-a-time pass.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.collateral import HaircutSchedule
from crossmargin.engine import BookEngine, MarginArrays
from crossmargin.engine.columns import (
    R_RUN,
    VF_CAP_COIN,
    VF_INDEX,
    VF_OFFSET,
    VF_PRICE,
    VI_COUNT,
    VI_OFFSET,
    VI_UNDERLYING,
    VT_CONVERSION,
    VT_DAMPENER,
    VT_WEIGHT,
)
from crossmargin.engine.execution import balanced_bounds
from crossmargin.engine.kernels_pm import (
    _RUN_POSITIONS,
    _add_positions,
    _add_span,
    _close_bucket,
    _requirement,
    kernel_scratch,
    pm_book_kernel,
)
from crossmargin.engine.specs import model_spec
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.portfolio import Portfolio, Position
from support.markets import MARKET

OPTIONS = tuple(
    f"BTC{quote}-{expiry}-{strike}-{kind}"
    for quote in ("", "_USDC")
    for expiry in ("29MAR24", "28JUN24")
    for strike in (60000, 72000, 85000)
    for kind in ("C", "P")
) + tuple(f"ETH-28JUN24-{strike}-{kind}" for strike in (3500, 4000, 4500) for kind in ("C", "P"))
DELTA_ONE = ("BTC-PERPETUAL", "BTC-29MAR24", "BTC-28JUN24", "BTC_USDC-PERPETUAL", "ETH-PERPETUAL")
NAMES = OPTIONS + DELTA_ONE
NO_HAIRCUTS = HaircutSchedule(
    version="none",
    source="tests: no haircuts",
    haircuts={"USD": 0.0, "USDC": 0.0, "BTC": 0.0, "ETH": 0.0},
)


def _market_makers(model: str = "pm", accounts: int = 24, seed: int = 5) -> BookEngine:
    """Accounts of 3 to 30 random options and delta-one contracts (most of them large)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, float]] = []
    for a in range(accounts):
        count = int(rng.integers(3, 31))
        for i in rng.choice(len(NAMES), size=count, replace=False):
            inverse = NAMES[i] in DELTA_ONE and "_" not in NAMES[i]
            size = rng.uniform(1_000.0, 200_000.0) if inverse else rng.uniform(0.1, 30.0)
            rows.append((a, int(i), float(size if rng.random() < 0.5 else -size)))
    engine = BookEngine(NAMES, MARKET, model)
    account, instrument, size = (np.array(column) for column in zip(*rows, strict=True))
    engine.load_positions(account, instrument, size, rng.uniform(0.0, 2e6, accounts))
    return engine


def _run_lengths(engine: BookEngine, account: int) -> list[int]:
    """Lengths of the runs of consecutive plain rows of one vector in ``account``'s row."""
    start = int(engine._book.row_start[account])
    cols = engine._book.cols[start : start + int(engine._book.row_len[account])]
    runs = engine.tables.packed.record_int[cols, R_RUN]
    return [len(list(group)) for key, group in itertools.groupby(runs.tolist()) if key >= 0]


def test_large_accounts_add_runs_of_rows_and_still_equal_the_twin_and_the_model() -> None:
    engine = _market_makers()
    large = [a for a in range(engine.account_count) if engine._book.row_len[a] >= _RUN_POSITIONS]
    assert len(large) > 10
    assert max(max(_run_lengths(engine, a), default=0) for a in large) >= 4  # pairs and a rest
    fused = engine.margin_all()
    twin = engine.margin_all_reference()
    np.testing.assert_allclose(fused.initial_margin, twin.initial_margin, rtol=1e-12)
    np.testing.assert_allclose(fused.equity, twin.equity, rtol=1e-12)
    model = PortfolioMargin(haircuts=NO_HAIRCUTS)
    entries = engine.entry_prices_usd
    for account in large[:6]:
        cols, sizes = engine.positions(account)
        positions = tuple(
            Position(
                engine.instruments[i],
                float(s),
                None if np.isnan(entries[i]) else float(entries[i]),
            )
            for i, s in zip(cols, sizes, strict=True)
        )
        collateral = {"USD": Decimal(repr(float(engine.collateral_usd[account])))}
        expected = model.margin(Portfolio(positions, collateral), engine.market)
        assert fused.initial_margin[account] == pytest.approx(
            float(expected.initial_margin), rel=1e-9, abs=1e-5
        )


def test_runs_give_the_lanes_counts_and_nets_of_one_position_at_a_time() -> None:
    """Held counts, touched flags, factor weights, bucket nets and roll shocks bit for bit; the
    accumulators (summed two rows at a time) to the rounding of a sum of |size × row|."""
    engine = _market_makers()
    p = engine.tables.packed
    book = engine._book
    vectors, width, buckets = p.vector_int.shape[0], p.width, max(p.bucket_count, 1)

    def state() -> list[np.ndarray]:
        return [
            np.zeros((vectors, width)), np.zeros(vectors), np.zeros(vectors, dtype=np.int64),
            np.zeros(vectors, dtype=np.int64), np.zeros(vectors, dtype=np.int64),
            np.zeros(buckets), np.zeros(vectors),
        ]  # fmt: skip

    checked = 0
    for a in range(engine.account_count):
        start = int(book.row_start[a])
        stop = start + int(book.row_len[a])
        if stop - start < _RUN_POSITIONS:
            continue
        runs, single = state(), state()
        _add_positions(
            start, stop, book.cols, book.sizes, p.lanes, p.record_int, p.record_float,
            *runs, p.bucket_int, p.vector_float, p.delta_lane, p.value_lane,
        )  # fmt: skip
        bucket, i_bucket, net = _add_span(
            start, stop, book.cols, book.sizes, p.lanes, p.record_int, p.record_float,
            *single, p.bucket_int, p.vector_float, p.delta_lane, p.value_lane, -1, 0, 0.0,
        )  # fmt: skip
        if bucket >= 0:
            _close_bucket(
                bucket, i_bucket, net, single[5], single[6], p.bucket_int, p.record_float,
                p.vector_float,
            )  # fmt: skip
        for got, want in zip(runs[1:], single[1:], strict=True):
            np.testing.assert_array_equal(got, want)
        scale = np.zeros((vectors, width))
        for j in range(start, stop):
            i = int(book.cols[j])
            scale[p.record_int[i, 0]] += np.abs(book.sizes[j] * p.lanes[i])
        bound = 2 * (stop - start) * np.finfo(np.float64).eps * scale  # two roundings of a sum
        assert np.all(np.abs(runs[0] - single[0]) <= bound)
        checked += 1
    assert checked > 10


def _sequential_requirement(
    acc: np.ndarray, holds: np.ndarray, vector_int: np.ndarray, table: np.ndarray, vf: np.ndarray
) -> tuple[float, int]:
    """IM without roll and delta shocks and the global worst scenario, one scenario after the
    other in plain Python (the order the kernel's chains must reproduce)."""
    count = int(vector_int[0, VI_COUNT])
    full = [0.0] * count
    offset = [0.0] * count
    coin = {}
    for v in range(acc.shape[0]):
        if holds[v] <= 0:
            continue
        for k in range(count):
            weighted = table[v, VT_WEIGHT, k] * acc[v, k]
            shrunk = max(abs(weighted) - table[v, VT_DAMPENER, k], 0.0)
            x = (math.copysign(shrunk, weighted) + 0.0) * table[v, VT_CONVERSION, k]
            coin[v, k] = x
            full[k] += vf[v, VF_PRICE] * x
            gain = min(vf[v, VF_OFFSET] * max(x, 0.0), vf[v, VF_CAP_COIN])
            offset[k] += vf[v, VF_PRICE] * (min(x, 0.0) + gain)
    lowest_full = min((f for f in full if not math.isnan(f)), default=math.inf)
    lowest, worst = math.inf, 0
    for k, value in enumerate(offset):
        if value < lowest:
            lowest, worst = value, k
    worst_case = max(0.0, -lowest_full) + 0.0
    correlation = max(max(0.0, -lowest) - worst_case, 0.0) + 0.0
    held = [v for v in range(acc.shape[0]) if holds[v] > 0]
    loss: dict[int, float] = {}
    for v in held:
        x = coin[v, worst]
        value = vf[v, VF_PRICE] * (
            min(x, 0.0) + min(vf[v, VF_OFFSET] * max(x, 0.0), vf[v, VF_CAP_COIN])
        )
        u = int(vector_int[v, VI_UNDERLYING])
        loss[u] = value if u not in loss or math.isnan(loss[u]) else loss[u] + value
    valid = [u for u in sorted(loss) if not math.isnan(loss[u])]
    chosen = min(valid, key=lambda u: (loss[u], u)) if valid else -1
    first = next((int(vector_int[v, VI_OFFSET]) for v in range(acc.shape[0])
                  if vector_int[v, VI_UNDERLYING] == chosen), 0)  # fmt: skip
    return worst_case + correlation, first + worst


def test_the_first_worst_scenario_is_found_among_ties_and_nans() -> None:
    """The offset aggregate's minimum is searched in four interleaved chains: on P&L drawn from
    a few values (ties in every chain), with NaN now and then, the kernel finds the first
    minimum of one pass in scenario order, and the same IM."""
    p = _market_makers(accounts=2).tables.packed
    vectors, width = p.vector_int.shape[0], p.width
    table = np.zeros_like(p.vector_table)
    table[:, VT_WEIGHT, :] = 1.0
    table[:, VT_CONVERSION, :] = 1.0
    vf = p.vector_float.copy()
    vf[:, VF_INDEX] = 1.0
    rng = np.random.default_rng(3)
    levels = np.array([-3.0, -3.0, -1.0, 0.0, -0.0, 2.0, np.nan])
    for trial in range(300):
        acc = np.zeros((vectors, width))
        acc[:, : p.vector_int[0, VI_COUNT]] = rng.choice(
            levels, size=(vectors, int(p.vector_int[0, VI_COUNT]))
        )
        holds = (rng.random(vectors) < 0.6).astype(np.int64)
        holds[trial % vectors] = 1
        got = _requirement(
            acc, holds, np.zeros(vectors), p.vector_int, table, vf, np.zeros(width),
            np.zeros(width), np.zeros(int(p.vector_int[:, VI_UNDERLYING].max()) + 1), p.delta_lane,
        )  # fmt: skip
        want = _sequential_requirement(acc, holds, p.vector_int, table, vf)
        assert got[1] == want[1]
        assert got[0] == want[0] or (math.isnan(got[0]) and math.isnan(want[0]))


def test_a_kernel_refuses_scratch_that_is_too_small() -> None:
    engine = _market_makers(accounts=3)
    p, book, n = engine.tables.packed, engine._book, engine.account_count
    out = [np.zeros(n) for _ in range(4)] + [np.zeros(n, dtype=np.int64)]
    floats, ints = kernel_scratch(p.vector_int, p.width, p.bucket_count, n - 1)
    with pytest.raises(ValueError, match="scratch too small"):
        pm_book_kernel(
            np.arange(n, dtype=np.int64), book.row_start, book.row_len, book.cols, book.sizes,
            engine._collateral, p.lanes, p.factor_rows, p.record_int, p.record_float,
            p.vector_int, p.vector_table, p.vector_float, p.bucket_int, p.delta_lane,
            p.value_lane, *out, p.loss_scenarios, p.pair_scenarios, floats, ints,
        )  # fmt: skip


def test_thread_chunks_cut_where_the_running_work_passes_each_share() -> None:
    """:func:`balanced_bounds` (one pass, no temporaries) against the cumulative-sum search it
    replaces, on lengths with empty accounts and one huge one."""
    rng = np.random.default_rng(8)
    for trial in range(400):
        n = int(rng.integers(0, 40))
        parts = int(rng.integers(1, 7))
        lengths = rng.integers(0, 2 if trial % 3 == 0 else 300, n).astype(np.int64)
        if n and trial % 5 == 0:
            lengths[int(rng.integers(n))] = 1_000_000
        expected: list[tuple[int, int]] = []
        if n:
            work = np.cumsum(lengths + 4, dtype=np.float64)
            cuts = np.searchsorted(work, work[-1] * np.arange(1, parts) / parts, side="right")
            edges = np.unique(np.concatenate(([0], cuts, [n])))
            expected = [(int(lo), int(hi)) for lo, hi in itertools.pairwise(edges) if hi > lo]
        assert balanced_bounds(lengths, parts) == expected


@pytest.mark.parametrize("model", ["pm", "span"])
def test_every_kernel_writes_every_output_of_every_account(model: str) -> None:
    """``margin_all`` hands the kernels uninitialised arrays (``MarginArrays.for_kernel``): every
    element must be written. Outputs filled with NaN first come back without one, and equal to
    a run on zeroed arrays."""
    engine = _market_makers(model, accounts=40)
    n = engine.account_count
    book = engine._book
    rows = (book.row_start, book.row_len, book.cols, book.sizes)
    results = []
    for fill in (np.nan, 0.0):
        out = MarginArrays(
            np.full(n, fill), np.full(n, fill), np.full(n, fill),
            np.full(n, -7, dtype=np.int64), np.full(n, fill),
        )  # fmt: skip
        model_spec(engine.model).kernel(
            engine.tables, np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64),
            np.zeros(0), rows, engine._collateral, out,
            (np.zeros(0, dtype=np.int64), np.zeros((1, 1, 1)), np.zeros(1, dtype=np.int64), 0),
        )  # fmt: skip
        results.append(out)
    nan_filled, zeroed = results
    for name in ("initial_margin", "maintenance_margin", "equity", "margin_ratio"):
        assert not np.isnan(getattr(nan_filled, name)).any()
        np.testing.assert_array_equal(getattr(nan_filled, name), getattr(zeroed, name))
    assert np.all(nan_filled.worst_scenario_index != -7)
    np.testing.assert_array_equal(nan_filled.worst_scenario_index, zeroed.worst_scenario_index)
