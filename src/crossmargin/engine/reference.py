"""The numpy/scipy twin of the fused kernels, kept for tests and as the benchmark's baseline.

It materialises what the kernels avoid: per underlying, the accounts × scenarios P&L matrix as
``positions (CSR) @ P&L rows`` (every instrument through its full row, no linear factors), then
counts, minimises and adds the contingencies with whole-array operations. SPAN's spread logic runs
per account through the pure functions of :mod:`crossmargin.margin.span.arithmetic`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from crossmargin.engine.columns import (
    F_BUCKET_COIN,
    F_DELTA,
    F_VALUE,
    I_BUCKET,
    I_GROUP,
    I_IS_CALL,
    I_IS_OPTION,
    I_MONTH,
    I_UNDERLYING,
    M_IM_TO_MM,
    M_MM_FACTOR,
    M_OFFSET,
    U_BASIS_RATE,
    U_INCREMENT,
    U_INDEX,
    U_MAX_SHOCK,
    U_SHORT_MINIMUM,
    U_SHORT_PER_COIN,
    U_THRESHOLD,
)
from crossmargin.engine.layout import MarginModelName
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.tables import KernelTables
from crossmargin.margin.span.arithmetic import (
    CommodityRisk,
    InterLeg,
    InterSpread,
    MonthDelta,
    TierSpread,
    span_requirement,
)

__all__ = ["ReferenceMargin", "counted_matrix", "reference_margin", "underlying_rows"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ReferenceMargin:
    """Arrays over accounts, as :class:`crossmargin.engine.BookMarginResult` holds them."""

    initial_margin: FloatArray
    maintenance_margin: FloatArray
    equity: FloatArray
    worst_scenario_index: IntArray


def underlying_rows(tables: KernelTables, rows: PackedRows, u: int) -> sparse.csr_matrix:
    """The positions of underlying ``u`` as an accounts × instruments CSR matrix."""
    keep = tables.instrument_int[rows.cols, I_UNDERLYING] == u
    accounts = rows.indptr.shape[0] - 1
    owner = np.repeat(np.arange(accounts), np.diff(rows.indptr))
    indptr = np.zeros(accounts + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[keep], minlength=accounts), out=indptr[1:])
    shape = (accounts, tables.instrument_int.shape[0])
    return sparse.csr_matrix((rows.sizes[keep], rows.cols[keep], indptr), shape=shape)


def counted_matrix(raw: FloatArray, weights: FloatArray, dampeners: FloatArray) -> FloatArray:
    """:func:`crossmargin.scenarios.counted_pnl` over an accounts × scenarios matrix."""
    weighted = raw * weights
    shrunk = np.maximum(np.abs(weighted) - dampeners, 0.0)
    return np.asarray(np.sign(weighted) * shrunk + 0.0, dtype=np.float64)


def _row_sums(matrix: sparse.csr_matrix) -> FloatArray:
    return np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()


def _indicator(ids: IntArray, weights: FloatArray, columns: int) -> sparse.csr_matrix:
    """instruments × ids matrix with ``weights[i]`` at (i, ids[i]) where ids[i] ≥ 0."""
    rows = np.flatnonzero(ids >= 0)
    return sparse.csr_matrix(
        (weights[rows], (rows, ids[rows])), shape=(ids.shape[0], max(columns, 1))
    )


def _pm(tables: KernelTables, rows: PackedRows) -> tuple[FloatArray, IntArray]:
    ii, ff, uf = tables.instrument_int, tables.instrument_float, tables.underlying_float
    accounts = rows.indptr.shape[0] - 1
    is_option = ii[:, I_IS_OPTION] == 1
    groups = _indicator(ii[:, I_GROUP], np.ones(ii.shape[0]), tables.group_underlying.shape[0])
    buckets = _indicator(ii[:, I_BUCKET], ff[:, F_BUCKET_COIN], tables.bucket_underlying.shape[0])
    scans, others, worsts, helds, counteds = [], [], [], [], []
    for u in range(tables.underlying_count):
        own = underlying_rows(tables, rows, u)
        count = int(tables.scenario_count[u])
        raw = np.asarray(own @ tables.pnl[:, :count]).reshape(accounts, count)
        counted = counted_matrix(raw, tables.weights[u, :count], tables.dampeners[u, :count])
        worst = np.argmin(counted, axis=1) if count else np.zeros(accounts, np.int64)
        scan = np.maximum(0.0, -counted[np.arange(accounts), worst]) if count else worst * 0.0
        held = np.diff(own.indptr)
        flags = ~is_option[own.indices] | (own.data < 0.0)
        nonlong = _row_sums(sparse.csr_matrix((flags.astype(np.float64), own.indices, own.indptr),
                                              shape=own.shape))  # fmt: skip
        premium = own @ np.where(is_option, ff[:, F_VALUE], 0.0)
        net_delta = own @ ff[:, F_DELTA]
        index = uf[u, U_INDEX]
        size = np.abs(net_delta)
        excess = np.maximum(size - uf[u, U_THRESHOLD] / index, 0.0)
        shock = size * index * np.minimum(uf[u, U_MAX_SHOCK], uf[u, U_INCREMENT] * excess)
        group_nets = sparse.csr_matrix(own @ groups)
        group_nets.data = np.maximum(-group_nets.data, 0.0)
        short = uf[u, U_SHORT_PER_COIN] * index * _row_sums(group_nets)
        bucket_nets = sparse.csr_matrix(own @ buckets)
        longs = _row_sums(bucket_nets.maximum(0.0))
        shorts = _row_sums((-bucket_nets).maximum(0.0))
        offsetting = np.minimum(longs, shorts)
        basis = np.where(offsetting > 0.0, uf[u, U_BASIS_RATE] * index * offsetting, 0.0)
        total = scan + shock + short + basis
        capped = (held > 0) & (nonlong == 0) & (total > premium)
        factor = np.where(capped, premium / np.where(capped, total, 1.0), 1.0)
        scans.append(scan * factor)
        others.append((shock * factor) + (short * factor) + (basis * factor))
        worsts.append(worst)
        helds.append(held > 0)
        counteds.append(counted)
    credits = [np.zeros(accounts) for _ in scans]
    offset = tables.model_float[M_OFFSET]
    if offset > 0.0 and len(scans) >= 2:
        combined = sum(np.minimum(c, 0.0) + offset * np.maximum(c, 0.0) for c in counteds)
        total_scan = np.sum(scans, axis=0)
        credit = total_scan - np.maximum(0.0, -np.min(combined, axis=1))
        apply = (np.sum(helds, axis=0) >= 2) & (credit > 0.0)
        for u, scan in enumerate(scans):
            share = np.where(apply, credit * scan / np.where(apply, total_scan, 1.0), 0.0)
            keep = np.where(scan > 0.0, (scan - share) / np.where(scan > 0.0, scan, 1.0), 1.0)
            scans[u] = np.where(apply, scan * keep, scan)
            credits[u] = share
    initial = np.zeros(accounts)
    largest = np.full(accounts, -1.0)
    worst_global = np.full(accounts, -1, dtype=np.int64)
    for u in range(len(scans)):
        held = helds[u]
        initial += np.where(held, scans[u] + others[u], 0.0)
        effective = scans[u] + credits[u]
        better = held & (effective > largest)
        largest = np.where(better, effective, largest)
        worst_global = np.where(better, tables.scenario_offset[u] + worsts[u], worst_global)
    return initial, worst_global


def _span(
    tables: KernelTables, underlyings: Sequence[str], rows: PackedRows
) -> tuple[FloatArray, IntArray]:
    ii, ff, uf = tables.instrument_int, tables.instrument_float, tables.underlying_float
    accounts = rows.indptr.shape[0] - 1
    losses = []
    for u in range(tables.underlying_count):
        own = underlying_rows(tables, rows, u)
        count = int(tables.scenario_count[u])
        raw = np.asarray(own @ tables.pnl[:, :count]).reshape(accounts, count)
        losses.append(-counted_matrix(raw, tables.weights[u, :count], tables.dampeners[u, :count]))
    spreads = [
        InterSpread(
            tuple(
                InterLeg(
                    underlyings[int(leg[0])] if leg[0] >= 0 else f"<not traded {s}>",
                    float(leg[1]),
                    "A" if leg[2] > 0 else "B",
                )
                for leg in tables.inter_legs[s, : tables.inter_leg_count[s]]
            ),
            float(tables.inter_rate[s]),
        )
        for s in range(tables.inter_rate.shape[0])
    ]
    initial = np.zeros(accounts)
    worst_global = np.full(accounts, -1, dtype=np.int64)
    for a in range(accounts):
        cols = rows.cols[rows.indptr[a] : rows.indptr[a + 1]]
        sizes = rows.sizes[rows.indptr[a] : rows.indptr[a + 1]]
        commodities = []
        for u, name in enumerate(underlyings):
            mine = [j for j in range(cols.shape[0]) if ii[cols[j], I_UNDERLYING] == u]
            if not mine:
                continue
            mine.sort(key=lambda j: int(ii[cols[j], I_MONTH]))
            months = tuple(
                MonthDelta(
                    str(ii[cols[j], I_MONTH]),
                    int(tables.month_tier[u, ii[cols[j], I_MONTH]]),
                    float(ff[cols[j], F_DELTA] * sizes[j] * uf[u, U_INDEX]),
                )
                for j in mine
            )
            short = [j for j in mine if ii[cols[j], I_IS_OPTION] == 1 and sizes[j] < 0.0]
            commodities.append(
                CommodityRisk(
                    name=name,
                    losses=losses[u][a],
                    month_deltas=months,
                    intra_spreads=tuple(
                        TierSpread(int(r[0]), int(r[1]), float(r[2]))
                        for r in tables.intra_spreads[u, : tables.intra_count[u]]
                    ),
                    short_option_minimum_charge=float(uf[u, U_SHORT_MINIMUM]),
                    short_calls=float(-sum(sizes[j] for j in short if ii[cols[j], I_IS_CALL])),
                    short_puts=float(-sum(sizes[j] for j in short if not ii[cols[j], I_IS_CALL])),
                )
            )
        if not commodities:
            continue
        breakdown = span_requirement(commodities, spreads)
        initial[a] = breakdown.total
        worst = breakdown.worst
        assert worst is not None
        u = underlyings.index(worst.name)
        worst_global[a] = tables.scenario_offset[u] + worst.worst_scenario - 1
    return initial, worst_global


def reference_margin(
    tables: KernelTables,
    underlyings: Sequence[str],
    rows: PackedRows,
    collateral_usd: FloatArray,
) -> ReferenceMargin:
    """Margin of every account of ``rows`` with whole-matrix numpy/scipy operations (the kernels'
    twin): same arrays as the kernels, up to floating-point summation order."""
    value = (
        sparse.csr_matrix(
            (rows.sizes, rows.cols, rows.indptr),
            shape=(rows.indptr.shape[0] - 1, tables.instrument_int.shape[0]),
        )
        @ tables.instrument_float[:, F_VALUE]
    )
    if tables.model is MarginModelName.PM:
        initial, worst = _pm(tables, rows)
        maintenance = tables.model_float[M_MM_FACTOR] * initial
    else:
        initial, worst = _span(tables, underlyings, rows)
        maintenance = initial / tables.model_float[M_IM_TO_MM]
    return ReferenceMargin(initial, maintenance, collateral_usd + value, worst)
