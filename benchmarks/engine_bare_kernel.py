"""The floor the book engine is measured against: a bare fused kernel (issue 18).

Per account, the CSR row of positions times the dense instruments × scenarios P&L matrix (the
engine's own rows, each instrument over its underlying's scenarios), and the minimum over the
scenarios — nothing else: no counting, no contingencies, no equity, no worst-scenario index, no
result assembly. numba ``prange`` over chunks of about equal positions (the engine's own split),
one accumulator per chunk. Whatever the engine does beyond this is its cost of being a margin
engine; ``interleaved_ratio`` measures that cost as a ratio, median of interleaved repetitions
in one process.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from crossmargin.engine import BookEngine, MarginArrays
from crossmargin.engine.execution import balanced_bounds, margin_accounts

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@numba.njit(parallel=True, nogil=True, cache=True)
def bare_fused_kernel(
    bounds: IntArray,
    row_start: IntArray,
    row_len: IntArray,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    pnl: FloatArray,
    count: int,
    out: FloatArray,
) -> None:  # pragma: no cover - compiled
    """``out[a]`` = min over the first ``count`` scenarios of Σ_j size_j × pnl[col_j] over
    account a's row (USD, negative is a loss); accounts ``bounds[c] .. bounds[c + 1] - 1`` form
    chunk c."""
    width = pnl.shape[1]
    for c in numba.prange(bounds.shape[0] - 1):
        acc = np.empty(width)
        for a in range(bounds[c], bounds[c + 1]):
            for k in range(width):
                acc[k] = 0.0
            for j in range(row_start[a], row_start[a] + row_len[a]):
                i = cols[j]
                size = sizes[j]
                for k in range(width):
                    acc[k] += size * pnl[i, k]
            lowest = np.inf
            for k in range(count):
                lowest = min(lowest, acc[k])
            out[a] = lowest


@dataclass(frozen=True)
class RatioRun:
    """Medians (seconds) of the interleaved repetitions and the ratios to the bare kernel."""

    repetitions: int
    bare: float
    engine_kernel: float
    margin_all: float
    bare_runs: tuple[float, ...]
    margin_all_runs: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """Full recompute (``margin_all(incremental=False)``) / bare kernel."""
        return self.margin_all / self.bare

    @property
    def kernel_ratio(self) -> float:
        """Engine kernel alone (no result assembly) / bare kernel."""
        return self.engine_kernel / self.bare


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def interleaved_ratio(engine: BookEngine, repetitions: int, threads: int) -> RatioRun:
    """Bare kernel, the engine's kernel alone and the engine's full recompute, each timed once
    per repetition in turn (after one warm-up of each), ``repetitions`` times; medians."""
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    book = engine._book  # the engine's CSR rows (benchmark-only access)
    tables = engine.tables
    accounts = np.arange(engine.account_count, dtype=np.int64)
    edges = balanced_bounds(book.row_len, threads)
    bounds = np.array([lo for lo, _ in edges] + [engine.account_count], dtype=np.int64)
    count = int(tables.scenario_count.max())
    floor = np.empty(engine.account_count)
    rows = (book.row_start, book.row_len, book.cols, book.sizes)
    collateral = engine._collateral

    def bare() -> None:
        bare_fused_kernel(bounds, *rows, tables.pnl, count, floor)

    def kernel_only() -> None:
        out = MarginArrays.for_kernel(engine.account_count)  # as margin_all
        margin_accounts(model_kernel, tables, accounts, rows, collateral, out, threads)

    model_kernel = engine._spec.kernel

    def full() -> None:
        engine.margin_all(incremental=False)

    for run in (bare, kernel_only, full):
        run()
    times: dict[str, list[float]] = {"bare": [], "kernel": [], "full": []}
    for _ in range(repetitions):
        times["bare"].append(_seconds(bare))
        times["kernel"].append(_seconds(kernel_only))
        times["full"].append(_seconds(full))
    return RatioRun(
        repetitions=repetitions,
        bare=statistics.median(times["bare"]),
        engine_kernel=statistics.median(times["kernel"]),
        margin_all=statistics.median(times["full"]),
        bare_runs=tuple(times["bare"]),
        margin_all_runs=tuple(times["full"]),
    )
