"""The numpy/scipy twins of the fused kernels, kept for tests and as the benchmark's baseline.

A twin is the models' own definitions applied to arrays over all accounts, not a second copy of
them. It materialises what the kernels avoid: per underlying, the accounts × scenarios P&L matrix
as ``positions (CSR) @ P&L rows`` (every instrument through its full row, no linear factors),
counted by :func:`crossmargin.scenarios.counted_pnl`. Portfolio margin then calls the charges of
:mod:`crossmargin.margin.pm.charges` with the accounts axis; SPAN runs its spread logic per
account through :func:`crossmargin.margin.span.arithmetic.span_requirement`.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.tables import KernelTables
from crossmargin.margin.pm.charges import (
    UnderlyingCharges,
    basis_charge_usd,
    correlation_credit,
    delta_shock_charge_usd,
    short_option_charge_usd,
    underlying_requirement,
    worst_underlying,
)
from crossmargin.margin.span.arithmetic import (
    CommodityRisk,
    InterLeg,
    InterSpread,
    MonthDelta,
    TierSpread,
    span_requirement,
)
from crossmargin.scenarios import counted_pnl

__all__ = [
    "counted_scenario_pnl",
    "pm_reference",
    "span_reference",
    "underlying_rows",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def underlying_rows(tables: KernelTables, rows: PackedRows, u: int) -> sparse.csr_matrix:
    """The positions of underlying ``u`` as an accounts × instruments CSR matrix."""
    keep = tables.instrument_int[rows.cols, I_UNDERLYING] == u
    accounts = rows.indptr.shape[0] - 1
    owner = np.repeat(np.arange(accounts), np.diff(rows.indptr))
    indptr = np.zeros(accounts + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[keep], minlength=accounts), out=indptr[1:])
    shape = (accounts, tables.instrument_int.shape[0])
    return sparse.csr_matrix((rows.sizes[keep], rows.cols[keep], indptr), shape=shape)


def counted_scenario_pnl(tables: KernelTables, own: sparse.csr_matrix, u: int) -> FloatArray:
    """(n_a, n_s) counted scenario P&L (USD) of underlying ``u`` of the positions ``own``
    (accounts × instruments, :func:`underlying_rows`)."""
    count = int(tables.scenario_count[u])
    raw = np.asarray(own @ tables.pnl[:, :count]).reshape(own.shape[0], count)
    return counted_pnl(raw, tables.counting(u))


def _equity(tables: KernelTables, rows: PackedRows, collateral_usd: FloatArray) -> FloatArray:
    shape = (rows.indptr.shape[0] - 1, tables.instrument_int.shape[0])
    positions = sparse.csr_matrix((rows.sizes, rows.cols, rows.indptr), shape=shape)
    return np.asarray(collateral_usd + positions @ tables.instrument_float[:, F_VALUE])


def _row_sums(matrix: sparse.csr_matrix) -> FloatArray:
    return np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()


def _indicator(ids: IntArray, weights: FloatArray, columns: int) -> sparse.csr_matrix:
    """instruments × ids matrix with ``weights[i]`` at (i, ids[i]) where ids[i] ≥ 0."""
    rows = np.flatnonzero(ids >= 0)
    return sparse.csr_matrix(
        (weights[rows], (rows, ids[rows])), shape=(ids.shape[0], max(columns, 1))
    )


def _pm_underlying(
    tables: KernelTables, own: sparse.csr_matrix, u: int, counted: FloatArray
) -> UnderlyingCharges:
    """The charges of underlying ``u`` over the accounts of ``own``: the inputs of
    :func:`underlying_requirement` from whole-matrix products."""
    ii, ff, uf = tables.instrument_int, tables.instrument_float, tables.underlying_float
    is_option = ii[:, I_IS_OPTION] == 1
    index = float(uf[u, U_INDEX])
    shock = delta_shock_charge_usd(
        own @ ff[:, F_DELTA], index, uf[u, U_THRESHOLD], uf[u, U_MAX_SHOCK], uf[u, U_INCREMENT]
    )
    groups = _indicator(ii[:, I_GROUP], np.ones(ii.shape[0]), tables.group_underlying.shape[0])
    group_charges = sparse.csr_matrix(own @ groups)
    group_charges.data = short_option_charge_usd(group_charges.data, index, uf[u, U_SHORT_PER_COIN])
    buckets = _indicator(ii[:, I_BUCKET], ff[:, F_BUCKET_COIN], tables.bucket_underlying.shape[0])
    bucket_nets = sparse.csr_matrix(own @ buckets)
    basis = basis_charge_usd(
        _row_sums(bucket_nets.maximum(0.0)),
        _row_sums((-bucket_nets).maximum(0.0)),
        index,
        uf[u, U_BASIS_RATE],
    )
    flags = ~is_option[own.indices] | (own.data < 0.0)
    nonlong = _row_sums(
        sparse.csr_matrix((flags.astype(np.float64), own.indices, own.indptr), shape=own.shape)
    )
    return underlying_requirement(
        counted,
        shock,
        _row_sums(group_charges),
        basis,
        own @ np.where(is_option, ff[:, F_VALUE], 0.0),
        (np.diff(own.indptr) > 0) & (nonlong == 0),
    )


def pm_reference(
    tables: KernelTables,
    underlyings: Sequence[str],
    rows: PackedRows,
    collateral_usd: FloatArray,
) -> MarginArrays:
    """Portfolio margin of every account of ``rows``: the charges of
    :mod:`crossmargin.margin.pm.charges` over the accounts axis (the twin of
    :func:`~crossmargin.engine.kernels_pm.pm_kernel`), up to floating-point summation order."""
    accounts = rows.indptr.shape[0] - 1
    units = range(tables.underlying_count)
    owns = [underlying_rows(tables, rows, u) for u in units]
    counted = [counted_scenario_pnl(tables, owns[u], u) for u in units]
    charges = [_pm_underlying(tables, owns[u], u, counted[u]) for u in units]
    held = np.array([np.diff(own.indptr) > 0 for own in owns]).reshape(len(owns), accounts)
    scan = np.array([c.scan_risk_usd for c in charges]).reshape(held.shape)
    keep, credit = correlation_credit(
        counted,
        scan,
        held,
        float(tables.model_float[M_OFFSET]),
    )
    initial = np.zeros(accounts)
    for u, c in enumerate(charges):
        initial += np.where(held[u], scan[u] * keep[u] + c.contingencies_usd, 0.0)
    chosen = worst_underlying(scan * keep + credit, held)
    worst = np.full(accounts, -1, dtype=np.int64)
    for u, c in enumerate(charges):
        mine = chosen == u
        worst[mine] = tables.scenario_offset[u] + c.worst_index[mine]
    maintenance = tables.model_float[M_MM_FACTOR] * initial
    return MarginArrays(initial, maintenance, _equity(tables, rows, collateral_usd), worst)


def _inter_spreads(tables: KernelTables, underlyings: Sequence[str]) -> list[InterSpread]:
    return [
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


def _commodity(
    tables: KernelTables,
    name: str,
    u: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    losses: FloatArray,
) -> CommodityRisk | None:
    """One account's :class:`CommodityRisk` on underlying ``u`` (None when it holds none)."""
    ii, ff, uf = tables.instrument_int, tables.instrument_float, tables.underlying_float
    mine = [j for j in range(cols.shape[0]) if ii[cols[j], I_UNDERLYING] == u]
    if not mine:
        return None
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
    return CommodityRisk(
        name=name,
        losses=losses,
        month_deltas=months,
        intra_spreads=tuple(
            TierSpread(int(r[0]), int(r[1]), float(r[2]))
            for r in tables.intra_spreads[u, : tables.intra_count[u]]
        ),
        short_option_minimum_charge=float(uf[u, U_SHORT_MINIMUM]),
        short_calls=float(-sum(sizes[j] for j in short if ii[cols[j], I_IS_CALL])),
        short_puts=float(-sum(sizes[j] for j in short if not ii[cols[j], I_IS_CALL])),
    )


def span_reference(
    tables: KernelTables,
    underlyings: Sequence[str],
    rows: PackedRows,
    collateral_usd: FloatArray,
) -> MarginArrays:
    """SPAN of every account of ``rows``: counted losses from whole-matrix products, then
    :func:`span_requirement` per account (the twin of
    :func:`~crossmargin.engine.kernels_span.span_kernel`)."""
    accounts = rows.indptr.shape[0] - 1
    losses = [
        -counted_scenario_pnl(tables, underlying_rows(tables, rows, u), u)
        for u in range(tables.underlying_count)
    ]
    spreads = _inter_spreads(tables, underlyings)
    initial = np.zeros(accounts)
    worst_global = np.full(accounts, -1, dtype=np.int64)
    for a in range(accounts):
        cols = rows.cols[rows.indptr[a] : rows.indptr[a + 1]]
        sizes = rows.sizes[rows.indptr[a] : rows.indptr[a + 1]]
        found = [
            _commodity(tables, name, u, cols, sizes, losses[u][a])
            for u, name in enumerate(underlyings)
        ]
        commodities = [commodity for commodity in found if commodity is not None]
        if not commodities:
            continue
        breakdown = span_requirement(commodities, spreads)
        initial[a] = breakdown.total
        worst = breakdown.worst
        assert worst is not None
        u = underlyings.index(worst.name)
        worst_global[a] = tables.scenario_offset[u] + worst.worst_scenario - 1
    maintenance = initial / tables.model_float[M_IM_TO_MM]
    equity = _equity(tables, rows, collateral_usd)
    return MarginArrays(initial, maintenance, equity, worst_global)
