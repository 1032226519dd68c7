"""The numpy/scipy twins of the fused kernels, kept for tests and as the benchmark's baseline.

A twin is the models' own definitions applied to arrays over all accounts, not a second copy of
them. It materialises what the kernels avoid: per underlying, the accounts × scenarios P&L matrix
as ``positions (CSR) @ P&L rows`` (every instrument through its full row, no linear factors),
counted by :func:`crossmargin.scenarios.counted_pnl`. Portfolio margin does so per risk vector
and calls the charges of :mod:`crossmargin.margin.pm.charges` with the accounts axis; SPAN runs
its spread logic per account through :func:`crossmargin.margin.span.arithmetic.span_requirement`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from crossmargin.engine.columns import (
    F_BUCKET_COIN,
    F_COEF1,
    F_DELTA,
    F_NEGATIVE_COEF,
    F_ROLL_RATE,
    F_VALUE,
    I_BUCKET,
    I_IS_BALANCE,
    I_IS_CALL,
    I_IS_OPTION,
    I_MONTH,
    I_UNDERLYING,
    I_VECTOR,
    M_IM_TO_MM,
    M_MM_FACTOR,
    U_INCREMENT,
    U_INDEX,
    U_MAX_SHOCK,
    U_SHORT_MINIMUM,
    U_THRESHOLD,
    V_CAP_COIN,
    V_OFFSET,
    V_PRICE,
)
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.tables import KernelTables
from crossmargin.margin.pm.charges import (
    VectorCounting,
    aggregate_risk,
    delta_shock_charge_usd,
    offset_gains,
    risk_vector_coin,
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


def _vector_rows(tables: KernelTables, rows: PackedRows, v: int) -> sparse.csr_matrix:
    """The positions and balances of risk vector ``v`` as an accounts × columns CSR matrix, a
    balance's size already times its factor weight per coin (positive or negative)."""
    ii, ff = tables.instrument_int, tables.instrument_float
    keep = ii[rows.cols, I_VECTOR] == v
    accounts = rows.indptr.shape[0] - 1
    owner = np.repeat(np.arange(accounts), np.diff(rows.indptr))
    indptr = np.zeros(accounts + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[keep], minlength=accounts), out=indptr[1:])
    cols, sizes = rows.cols[keep], rows.sizes[keep]
    balance = ii[cols, I_IS_BALANCE] == 1
    weight = np.where(sizes >= 0.0, ff[cols, F_COEF1], ff[cols, F_NEGATIVE_COEF])
    sizes = np.where(balance, sizes * weight, sizes)
    return sparse.csr_matrix((sizes, cols, indptr), shape=(accounts, ii.shape[0]))


def pm_reference(
    tables: KernelTables,
    underlyings: Sequence[str],
    rows: PackedRows,
    collateral_usd: FloatArray,
) -> MarginArrays:
    """Portfolio margin of every account of ``rows``: per risk vector the accounts × scenarios
    raw USD P&L as ``positions (CSR) @ P&L rows`` (a balance through its price-move row), then
    the charges of :mod:`crossmargin.margin.pm.charges` over the accounts axis (the twin of
    :func:`~crossmargin.engine.kernels_pm.pm_kernel`), up to floating-point summation order."""
    ii, ff, uf, vf = (
        tables.instrument_int, tables.instrument_float, tables.underlying_float,
        tables.vector_float,
    )  # fmt: skip
    accounts = rows.indptr.shape[0] - 1
    count = int(tables.scenario_count.max()) if tables.underlying_count else 0
    coins = np.zeros((tables.vector_count, accounts, count))
    held = np.zeros((tables.vector_count, accounts), dtype=np.bool_)
    other = np.zeros(accounts)
    price_rows = np.zeros((ii.shape[0], tables.pnl.shape[1]))
    balance = ii[:, I_IS_BALANCE] == 1
    price_rows[~balance] = tables.pnl[~balance]
    factor = tables.factor_rows[np.maximum(ii[:, 1], 0)]
    price_rows[balance] = factor[balance]
    for v in range(tables.vector_count):
        u = int(tables.vector_underlying[v])
        own = _vector_rows(tables, rows, v)
        entering = ~(balance[own.indices] & (ff[own.indices, F_COEF1] == 0.0))
        flags = sparse.csr_matrix(
            (entering.astype(np.float64), own.indices, own.indptr), shape=own.shape
        )
        held[v] = _row_sums(flags) > 0
        raw = np.asarray(own @ price_rows[:, :count]).reshape(accounts, count)
        counting = VectorCounting(tables.weights[u, :count], tables.vector_dampeners[v, :count])
        coins[v] = risk_vector_coin(raw, counting, 1.0 / tables.vector_conversion[v, :count])
        coins[v][~held[v]] = 0.0
        index = float(uf[u, U_INDEX])
        positions = own  # a balance column has no delta and no roll bucket
        shock = delta_shock_charge_usd(
            positions @ ff[:, F_DELTA], index, uf[u, U_THRESHOLD], uf[u, U_MAX_SHOCK],
            uf[u, U_INCREMENT],
        )  # fmt: skip
        bucket_count = int(ii[:, I_BUCKET].max()) + 1
        buckets = _indicator(ii[:, I_BUCKET], ff[:, F_BUCKET_COIN], bucket_count)
        nets = sparse.csr_matrix(positions @ buckets)
        rate = np.zeros(max(bucket_count, 1))
        has = ii[:, I_BUCKET] >= 0
        rate[ii[has, I_BUCKET]] = ff[has, F_ROLL_RATE]
        nets.data = np.abs(nets.data) * rate[nets.indices] * index
        other += np.where(held[v], shock + _row_sums(nets), 0.0)
    aggregate = aggregate_risk(
        coins, vf[:, V_PRICE], vf[:, V_OFFSET], vf[:, V_CAP_COIN] * vf[:, V_PRICE]
    )
    initial = aggregate.worst_case_usd + aggregate.correlation_usd + other
    any_held = np.any(held, axis=0)
    k = np.maximum(aggregate.worst_index, 0)
    at_worst = np.take_along_axis(coins, k[None, :, None], axis=2)[:, :, 0]
    per_vector = vf[:, V_PRICE, None] * offset_gains(
        at_worst, vf[:, V_OFFSET, None], vf[:, V_CAP_COIN, None]
    )
    worst = np.full(accounts, -1, dtype=np.int64)
    loss = np.full(accounts, np.inf)
    for u in range(tables.underlying_count):
        mine = tables.vector_underlying == u
        seen = np.any(held[mine], axis=0)
        pair = np.sum(np.where(held[mine], per_vector[mine], 0.0), axis=0)
        better = seen & (pair < loss)
        loss = np.where(better, pair, loss)
        worst = np.where(better, tables.scenario_offset[u] + k, worst)
    worst = np.where(any_held, worst, -1)
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
