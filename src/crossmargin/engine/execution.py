"""Running the kernels: through the model's spec, threads over account chunks, Dask partitions.

Threads rather than numba's ``parallel=True`` (as :mod:`crossmargin.pricing` does): the kernels
release the GIL, the same serial code computes every account whatever the thread count, and
concurrent calls from several Python threads (a service, the Dask threads scheduler) are safe
under every numba threading layer. A partition is a plain CSR slice of accounts, so a task ships
only its own positions plus the shared tables.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import I_UNDERLYING
from crossmargin.engine.compiled import compiled_call
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.model_spec import KernelRun, Rows, State
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.specs import model_spec
from crossmargin.engine.tables import KernelTables

__all__ = [
    "CheckBuffers",
    "MarginArrays",
    "available_cpus",
    "balanced_bounds",
    "check_account",
    "compiled_call",
    "held_underlyings",
    "margin_accounts",
    "margin_partition",
    "reference_margin",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Below this many positions a second thread does not pay for itself.
MIN_POSITIONS_PER_THREAD = 20_000


def available_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_NO_TRADES_INT = np.zeros(0, dtype=np.int64)
_NO_TRADES_FLOAT = np.zeros(0)
_NO_STATE: State = (_NO_TRADES_INT, np.zeros((1, 1, 1)), np.zeros(1, dtype=np.int64), 0)


@numba.njit(cache=True, nogil=True)
def _positions(accounts: IntArray, row_len: IntArray) -> int:  # pragma: no cover - compiled
    """Number of positions of ``accounts``."""
    total = 0
    for t in range(accounts.shape[0]):
        total += row_len[accounts[t]]
    return total


@numba.njit(cache=True, nogil=True)
def _edges(
    accounts: IntArray, row_len: IntArray, parts: int, positions: int
) -> IntArray:  # pragma: no cover - compiled
    """Chunk edges of :func:`balanced_bounds` for the lengths ``row_len[accounts]`` (summing to
    ``positions``), in one pass without temporaries: a cut at the first account whose running
    work (positions + 4 per account) exceeds ``total × p / parts`` (as
    ``np.searchsorted(work, target, side="right")``), repeated cuts merged."""
    count = accounts.shape[0]
    total = float(positions + 4 * count)
    edges = np.empty(parts + 1, dtype=np.int64)
    edges[0] = 0
    kept = 1
    p = 1
    target = total * p / parts
    work = 0.0
    for t in range(count):
        if p >= parts:
            break
        work += row_len[accounts[t]] + 4
        while p < parts and work > target:
            if t > edges[kept - 1]:
                edges[kept] = t
                kept += 1
            p += 1
            target = total * p / parts
    if count > edges[kept - 1]:
        edges[kept] = count
        kept += 1
    return edges[:kept]


def balanced_bounds(lengths: IntArray, parts: int) -> list[tuple[int, int]]:
    """Split accounts with ``lengths`` positions into at most ``parts`` contiguous, non-empty
    ranges of about equal work (positions plus a fixed cost per account)."""
    accounts = np.arange(lengths.shape[0], dtype=np.int64)
    row_len = np.ascontiguousarray(lengths, dtype=np.int64)
    return _pairs(_edges(accounts, row_len, parts, _positions(accounts, row_len)))


def _pairs(edges: IntArray) -> list[tuple[int, int]]:
    return [(int(lo), int(hi)) for lo, hi in itertools.pairwise(edges.tolist())]


def margin_accounts(
    kernel: KernelRun,
    tables: KernelTables,
    accounts: IntArray,
    rows: Rows,
    collateral: FloatArray,
    out: MarginArrays,
    threads: int | None = None,
) -> None:
    """Margin of ``accounts`` (ids into the row arrays) into ``out[t]`` for ``accounts[t]`` by the
    model's ``kernel``, over threads (contiguous chunks of about equal positions)."""
    wanted = available_cpus() if threads is None else threads
    positions = _positions(accounts, rows[1])
    count = max(1, min(wanted, positions // MIN_POSITIONS_PER_THREAD))
    if count == 1:
        kernel(tables, accounts, _NO_TRADES_INT, _NO_TRADES_FLOAT, rows, collateral, out, _NO_STATE)
        return
    bounds = _pairs(_edges(accounts, rows[1], count, positions))
    with ThreadPoolExecutor(max_workers=len(bounds)) as pool:
        futures = [
            pool.submit(
                kernel,
                tables,
                accounts[lo:hi],
                _NO_TRADES_INT,
                _NO_TRADES_FLOAT,
                rows,
                collateral,
                out.slice(lo, hi),
                _NO_STATE,
            )
            for lo, hi in bounds
        ]
        for future in futures:
            future.result()


def margin_partition(
    tables: KernelTables, rows: PackedRows, collateral: FloatArray
) -> MarginArrays:
    """Margin of the accounts of one partition (a CSR slice and its collateral): the Dask task.
    Pure function of its arguments (the kernel is that of the model the tables name), so it runs
    the same on any worker."""
    count = rows.indptr.shape[0] - 1
    out = MarginArrays.for_kernel(count)
    model_spec(tables.model).kernel(
        tables, np.arange(count, dtype=np.int64), _NO_TRADES_INT, _NO_TRADES_FLOAT,
        (rows.row_start, rows.row_len, rows.cols, rows.sizes), collateral, out, _NO_STATE,
    )  # fmt: skip
    return out


class CheckBuffers:
    """Reusable request and output arrays of one pre-trade check (two requests: the account now
    and after the trade), so a check allocates nothing."""

    def __init__(self) -> None:
        self.accounts = np.zeros(2, dtype=np.int64)
        self.instruments = np.array([-1, -1], dtype=np.int64)
        self.sizes = np.zeros(2)
        self.slots = np.zeros(2, dtype=np.int64)
        self.out = MarginArrays.empty(2)


def check_account(
    kernel: KernelRun,
    tables: KernelTables,
    account: int,
    instrument: int,
    size: float,
    rows: Rows,
    collateral: FloatArray,
    state: tuple[int, FloatArray, IntArray, int],
    buffers: CheckBuffers,
) -> MarginArrays:
    """Two results for ``account`` in ``buffers.out`` by the model's ``kernel``: now (index 0)
    and after ``size`` more of ``instrument`` (index 1), from its stored scenario vector in slot
    ``state[0]`` of ``state[1]`` (rebuilt first when ``state[2][slot]`` is not the epoch
    ``state[3]``)."""
    slot, vectors, epochs, epoch = state
    buffers.accounts[:] = account
    buffers.instruments[1] = instrument
    buffers.sizes[1] = size
    buffers.slots[:] = slot
    kernel(
        tables, buffers.accounts, buffers.instruments, buffers.sizes, rows, collateral,
        buffers.out, (buffers.slots, vectors, epochs, epoch),
    )  # fmt: skip
    return buffers.out


@numba.njit(cache=True, nogil=True)
def _held_masks(
    row_start: IntArray, row_len: IntArray, cols: NDArray[np.int32], underlying: IntArray
) -> NDArray[np.uint64]:  # pragma: no cover - compiled
    masks = np.zeros(row_start.shape[0], dtype=np.uint64)
    for a in range(row_start.shape[0]):
        mask = np.uint64(0)
        for j in range(row_start[a], row_start[a] + row_len[a]):
            mask |= np.uint64(1) << np.uint64(underlying[cols[j]])
        masks[a] = mask
    return masks


def held_underlyings(
    tables: KernelTables, row_start: IntArray, row_len: IntArray, cols: NDArray[np.int32]
) -> NDArray[np.uint64]:
    """Bit u of ``mask[a]`` is set when account a holds an instrument of underlying u (every bit
    is set when there are more than 64 underlyings)."""
    if tables.underlying_count > 64:
        return np.full(row_start.shape[0], np.iinfo(np.uint64).max, dtype=np.uint64)
    underlying = np.ascontiguousarray(tables.instrument_int[:, I_UNDERLYING])
    return np.asarray(_held_masks(row_start, row_len, cols, underlying), dtype=np.uint64)


def reference_margin(
    tables: KernelTables,
    underlyings: Sequence[str],
    rows: PackedRows,
    collateral_usd: FloatArray,
) -> MarginArrays:
    """Margin of every account of ``rows`` through the numpy twin of the tables' model (its
    spec's ``twin``): the kernel's numbers up to floating-point summation order."""
    return model_spec(tables.model).twin(tables, underlyings, rows, collateral_usd)
