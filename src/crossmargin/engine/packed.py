"""The portfolio-margin kernels' packed view of :class:`~crossmargin.engine.tables.KernelTables`.

Built once per set of tables (``KernelTables.packed``), so the per-position pass of the kernels
reads as little as possible:

* **Rows with lanes.** Each instrument's P&L row is padded to ``width`` (a multiple of 8, at least
  the scenario count + 2) and carries its unit delta (coin) in lane ``delta_lane`` and its unit
  mark value (USD) in lane ``value_lane``. Adding ``size × row`` to a risk vector's accumulator
  then also sums the vector's net delta and the positions' mark value: the per-position lookups of
  delta and value disappear for every position that adds a whole row. Scenario lanes beyond the
  scenario count stay zero; the counting loops never read the two extra lanes.
* **One record per instrument.** ``record_int`` (vector, factor, roll bucket, holds, and the
  vector again for a plain row that accounts add in runs, else -1; one cache line) and
  ``record_float`` (factor weights, delta, value, bucket coin, roll rate; one cache line) replace
  the nine-column and seven-column tables for the pm kernels.
* **One table per risk vector.** Weights, dampeners and conversions side by side
  (``vector_table``), the currency and pair scalars and the MM factor in ``vector_float``, the
  pair, scenario count and global scenario offset in ``vector_int``; the roll buckets' vector and
  first instrument in ``bucket_int``.
* **Loss scenarios of a linear position.** For an account whose positions are all delta-one
  contracts of one risk vector (most small accounts), the vector is ``w × shape`` of one factor,
  so its dampened loss in scenario k is ``price × C_k × max(|w| × |W_k s_k| - D_k, 0)`` on the
  scenarios where ``w W_k s_k < 0`` — a hinge in |w|. ``loss_scenarios`` lists, per factor,
  vector and sign of w, the scenarios whose hinge is not beaten everywhere by another's
  (:func:`linear_loss_scenarios`); the kernels look for the worst scenario among those only.
  An account of delta-one contracts over two vectors looks among ``pair_scenarios``: the
  scenarios where at least one of the two loses, one of each set of identical inputs
  (:func:`linear_pair_scenarios`).

Fewer, packed arguments also make a pre-trade check's dispatch cheaper (each argument of a numba
call is type-checked and unboxed on every call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import (
    F_BUCKET_COIN,
    F_COEF1,
    F_DELTA,
    F_NEGATIVE_COEF,
    F_ROLL_RATE,
    F_VALUE,
    I_BUCKET,
    I_FACTOR1,
    I_IS_BALANCE,
    I_VECTOR,
    M_MM_FACTOR,
    P_BUCKET_COIN,
    P_COEF,
    P_DELTA,
    P_NEGATIVE_COEF,
    P_ROLL_RATE,
    P_VALUE,
    PACKED_VECTOR_FLOAT_COLUMNS,
    R_BUCKET,
    R_FACTOR,
    R_HOLDS,
    R_RUN,
    R_VECTOR,
    RECORD_FLOAT_COLUMNS,
    RECORD_INT_COLUMNS,
    U_INCREMENT,
    U_INDEX,
    U_MAX_SHOCK,
    U_THRESHOLD,
    V_CAP_COIN,
    V_OFFSET,
    V_PRICE,
    VECTOR_INT_COLUMNS,
    VF_CAP_COIN,
    VF_INCREMENT,
    VF_INDEX,
    VF_MAX_SHOCK,
    VF_MM_FACTOR,
    VF_OFFSET,
    VF_PRICE,
    VF_THRESHOLD,
    VI_COUNT,
    VI_OFFSET,
    VI_UNDERLYING,
    VT_CONVERSION,
    VT_DAMPENER,
    VT_WEIGHT,
)

__all__ = ["PackedTables", "linear_loss_scenarios", "linear_pair_scenarios", "pack_tables"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_LANES = 8

#: A scenario's hinge is dropped only when another's slope is larger by this relative margin...
_SLOPE_MARGIN = 1e-9
#: ...and the other's loss starts at a |w| smaller by this relative margin (or both start at 0),
#: so that rounding (~1e-16 relative) can never make the dropped scenario the computed minimum.
_START_MARGIN = 1e-6


@dataclass(frozen=True, eq=False)
class PackedTables:
    """What the pm kernels read (see the module docstring); built by :func:`pack_tables`.

    Attributes
    ----------
    lanes:
        (n_cols, width) USD P&L row of +1 native unit, with the unit delta (coin) in lane
        ``delta_lane`` and the unit mark value (USD) in lane ``value_lane``.
    factor_rows:
        (n_f, width) the linear factors' shapes, zero in the two lanes.
    record_int, record_float:
        Per column (:data:`~crossmargin.engine.columns.R_VECTOR` …,
        :data:`~crossmargin.engine.columns.P_COEF` …).
    vector_int, vector_table, vector_float:
        Per risk vector (:data:`~crossmargin.engine.columns.VI_UNDERLYING` …, ``VT_*``,
        ``VF_*``).
    bucket_int:
        (n_b, 2) each roll bucket's risk vector and one of its instruments (whose roll rate, the
        bucket's, is in ``record_float``).
    loss_scenarios:
        (n_f, n_v, 2, 1 + width) for an account holding only delta-one contracts of factor f in
        vector v, with net factor weight w > 0 (index 0) or w < 0 (index 1): column 0 the number
        n of candidate worst scenarios (-1: no shortcut for this vector), columns 1 .. n the
        scenarios in increasing order (see :func:`linear_loss_scenarios`).
    pair_scenarios:
        (n_f, n_v, 2, n_f, n_v, 2, 1 + width) the same for an account holding delta-one
        contracts of factor fa in vector va and of fb in vb > va, indexed (fa, va, side of wa,
        fb, vb, side of wb) (see :func:`linear_pair_scenarios`; -1 for va ≥ vb).
    """

    lanes: FloatArray
    factor_rows: FloatArray
    record_int: IntArray
    record_float: FloatArray
    vector_int: IntArray
    vector_table: FloatArray
    vector_float: FloatArray
    bucket_int: IntArray
    delta_lane: int
    value_lane: int
    loss_scenarios: IntArray
    pair_scenarios: IntArray

    @property
    def width(self) -> int:
        """Floats per row and per stored risk vector."""
        return int(self.lanes.shape[1])

    @property
    def bucket_count(self) -> int:
        """Number of roll buckets n_b."""
        return int(self.bucket_int.shape[0])


def pack_tables(
    instrument_int: IntArray,
    instrument_float: FloatArray,
    pnl: FloatArray,
    factor_rows: FloatArray,
    scenario_count: IntArray,
    scenario_offset: IntArray,
    weights: FloatArray,
    underlying_float: FloatArray,
    model_float: FloatArray,
    vector_underlying: IntArray,
    vector_float: FloatArray,
    vector_conversion: FloatArray,
    vector_dampeners: FloatArray,
) -> PackedTables:
    """The packed tables of the pm kernels from the fields of a
    :class:`~crossmargin.engine.tables.KernelTables` of the same names."""
    columns = instrument_int.shape[0]
    largest = int(scenario_count.max()) if scenario_count.shape[0] else 0
    width = max(-(-(largest + 2) // _LANES) * _LANES, pnl.shape[1])
    delta_lane, value_lane = width - 2, width - 1
    lanes = np.zeros((columns, width))
    lanes[:, : pnl.shape[1]] = pnl
    lanes[:, delta_lane] = instrument_float[:, F_DELTA]
    lanes[:, value_lane] = instrument_float[:, F_VALUE]
    shapes = np.zeros((factor_rows.shape[0], width))
    shapes[:, : factor_rows.shape[1]] = factor_rows
    shapes[:, delta_lane:] = 0.0

    balance = instrument_int[:, I_IS_BALANCE] == 1
    record_int = np.zeros((columns, RECORD_INT_COLUMNS), dtype=np.int64)
    record_int[:, R_VECTOR] = instrument_int[:, I_VECTOR]
    record_int[:, R_FACTOR] = instrument_int[:, I_FACTOR1]
    record_int[:, R_BUCKET] = instrument_int[:, I_BUCKET]
    record_int[:, R_HOLDS] = np.where(balance, instrument_float[:, F_COEF1] != 0.0, 1)
    plain_row = (record_int[:, R_FACTOR] < 0) & (record_int[:, R_BUCKET] < 0)
    record_int[:, R_RUN] = np.where(
        plain_row & (record_int[:, R_HOLDS] == 1), record_int[:, R_VECTOR], -1
    )
    record_float = np.zeros((columns, RECORD_FLOAT_COLUMNS))
    record_float[:, P_COEF] = instrument_float[:, F_COEF1]
    record_float[:, P_NEGATIVE_COEF] = np.where(
        balance, instrument_float[:, F_NEGATIVE_COEF], instrument_float[:, F_COEF1]
    )
    record_float[:, P_DELTA] = instrument_float[:, F_DELTA]
    record_float[:, P_VALUE] = instrument_float[:, F_VALUE]
    record_float[:, P_BUCKET_COIN] = instrument_float[:, F_BUCKET_COIN]
    record_float[:, P_ROLL_RATE] = instrument_float[:, F_ROLL_RATE]

    vectors = vector_underlying.shape[0]
    vector_int = np.zeros((vectors, VECTOR_INT_COLUMNS), dtype=np.int64)
    vector_table = np.zeros((vectors, 3, width))
    packed_float = np.zeros((vectors, PACKED_VECTOR_FLOAT_COLUMNS))
    for v in range(vectors):
        u = int(vector_underlying[v])
        vector_int[v, VI_UNDERLYING] = u
        vector_int[v, VI_COUNT] = scenario_count[u]
        vector_int[v, VI_OFFSET] = scenario_offset[u]
        vector_table[v, VT_WEIGHT, : weights.shape[1]] = weights[u]
        vector_table[v, VT_DAMPENER, : vector_dampeners.shape[1]] = vector_dampeners[v]
        vector_table[v, VT_CONVERSION, : vector_conversion.shape[1]] = vector_conversion[v]
        packed_float[v, VF_PRICE] = vector_float[v, V_PRICE]
        packed_float[v, VF_OFFSET] = vector_float[v, V_OFFSET]
        packed_float[v, VF_CAP_COIN] = vector_float[v, V_CAP_COIN]
        packed_float[v, VF_INDEX] = underlying_float[u, U_INDEX]
        packed_float[v, VF_THRESHOLD] = underlying_float[u, U_THRESHOLD]
        packed_float[v, VF_MAX_SHOCK] = underlying_float[u, U_MAX_SHOCK]
        packed_float[v, VF_INCREMENT] = underlying_float[u, U_INCREMENT]
        packed_float[v, VF_MM_FACTOR] = model_float[M_MM_FACTOR]

    buckets = int(instrument_int[:, I_BUCKET].max()) + 1 if columns else 0
    bucket_int = np.zeros((max(buckets, 0), 2), dtype=np.int64)
    for b in range(buckets):
        members = np.flatnonzero(instrument_int[:, I_BUCKET] == b)
        bucket_int[b, 0] = instrument_int[members[0], I_VECTOR]
        bucket_int[b, 1] = members[0]
    loss = linear_loss_scenarios(shapes, vector_int, vector_table, packed_float)
    return PackedTables(
        lanes=lanes,
        factor_rows=shapes,
        record_int=record_int,
        record_float=record_float,
        vector_int=vector_int,
        vector_table=vector_table,
        vector_float=packed_float,
        bucket_int=bucket_int,
        delta_lane=delta_lane,
        value_lane=value_lane,
        loss_scenarios=loss,
        pair_scenarios=linear_pair_scenarios(shapes, vector_int, vector_table, loss),
    )


def _candidates(
    sign: float,
    shape: FloatArray,
    weight: FloatArray,
    dampener: FloatArray,
    conversion: FloatArray,
    count: int,
) -> list[int]:
    """Scenarios ``k < count`` that can hold the first minimum of the dampened P&L of
    ``w × shape`` for ``sign × w > 0``: those losing (``sign × W_k s_k < 0``), one of each
    exactly equal set of inputs (the first: equal inputs give equal P&L, and the kernels keep the
    first minimum), and not beaten with margin by another one (larger slope by
    ``_SLOPE_MARGIN`` and an earlier start by ``_START_MARGIN``, or both starting at 0)."""
    losing = [k for k in range(count) if sign * weight[k] * shape[k] < 0.0]
    kept: list[int] = []
    seen: set[tuple[float, float, float, float]] = set()
    for k in losing:
        key = (float(weight[k]), float(shape[k]), float(dampener[k]), float(conversion[k]))
        if key not in seen:
            seen.add(key)
            kept.append(k)
    slope = {k: float(conversion[k] * abs(weight[k] * shape[k])) for k in kept}
    start = {k: float(dampener[k] / abs(weight[k] * shape[k])) for k in kept}

    def beaten(k: int) -> bool:
        for j in kept:
            if j == k or not slope[j] >= slope[k] * (1.0 + _SLOPE_MARGIN):
                continue
            if (start[j] == 0.0 and start[k] == 0.0) or start[j] <= start[k] * (
                1.0 - _START_MARGIN
            ):
                return True
        return False

    return [k for k in kept if not beaten(k)]


def linear_loss_scenarios(
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
) -> IntArray:
    """Per factor f, risk vector v and sign of the net factor weight w (0: w > 0, 1: w < 0), the
    scenarios where an account holding only delta-one contracts of f in v can have its first
    worst (lowest) P&L when it has a loss: column 0 their number (-1 when the vector's inputs
    are outside what the shortcut assumes — finite, positive price and conversions,
    non-negative dampeners, gain offset and cap — and the kernels take the general path),
    then the scenarios in increasing order.

    The vector's dampened P&L in scenario k is ``price × C_k × copysign(max(|W_k w s_k| - D_k,
    0), W_k w s_k)`` (USD): on the losing scenarios a hinge in |w| with start ``D_k / |W_k s_k|``
    and slope ``C_k |W_k s_k|`` (× price). A losing scenario whose hinge lies below another's by
    a margin wherever it is positive never holds the minimum, even after rounding, and is left
    out; so the kernels, evaluating the remaining ones with the general path's own arithmetic,
    find the same minimum and the same first index whenever it is negative (when it is not, the
    account takes the general path)."""
    factors = factor_rows.shape[0]
    vectors = vector_int.shape[0]
    width = vector_table.shape[2]
    out = np.full((factors, vectors, 2, 1 + width), -1, dtype=np.int64)
    for v in range(vectors):
        count = int(vector_int[v, VI_COUNT])
        weight = vector_table[v, VT_WEIGHT, :count]
        dampener = vector_table[v, VT_DAMPENER, :count]
        conversion = vector_table[v, VT_CONVERSION, :count]
        scalars = vector_float[v, [VF_PRICE, VF_OFFSET, VF_CAP_COIN]]
        usable = (
            bool(np.all(np.isfinite(vector_table[v, :, :count])))
            and bool(np.all(np.isfinite(scalars)))
            and bool(np.all(conversion > 0.0))
            and bool(np.all(dampener >= 0.0))
            and bool(scalars[0] > 0.0)
            and bool(np.all(scalars[1:] >= 0.0))
        )
        for f in range(factors):
            shape = factor_rows[f, :count]
            if not usable or not bool(np.all(np.isfinite(shape))):
                continue
            for side, sign in enumerate((1.0, -1.0)):
                chosen = _candidates(sign, shape, weight, dampener, conversion, count)
                out[f, v, side, 0] = len(chosen)
                out[f, v, side, 1 : 1 + len(chosen)] = chosen
    return out


def linear_pair_scenarios(
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    loss_scenarios: IntArray,
) -> IntArray:
    """Per (fa, va, side of wa, fb, vb, side of wb) with va < vb, the scenarios where an account
    holding only delta-one contracts of factor fa in vector va (net weight wa; side 0: wa > 0,
    1: wa ≤ 0) and of fb in vb can have its first worst offset aggregate when it is a loss:
    column 0 their number (-1 when the two vectors' scenario counts differ or either vector is
    outside the shortcut's assumptions, ``loss_scenarios`` -1: the general path), then the
    scenarios in increasing order.

    Kept: the scenarios where either vector can lose (the signs of weight, shape and w give a
    negative weighted P&L) — elsewhere both vectors' coin P&L are ≥ 0, so the full and the
    offset aggregate are too (positive prices and conversions, non-negative gain offsets and
    caps) — and of those with identical inputs in both vectors (weight, shape, dampener and
    conversion) the first only: they give identical aggregates, and the first minimum is the
    first of them. Unlike one vector's hinges, no scenario is dropped by dominance: the offset
    aggregate mixes one vector's loss with the other's capped gain."""
    factors = factor_rows.shape[0]
    vectors = vector_int.shape[0]
    width = vector_table.shape[2]
    out = np.full((factors, vectors, 2, factors, vectors, 2, 1 + width), -1, dtype=np.int64)
    signs = (1.0, -1.0)
    for va in range(vectors):
        count = int(vector_int[va, VI_COUNT])
        for vb in range(va + 1, vectors):
            if int(vector_int[vb, VI_COUNT]) != count:
                continue
            for fa in range(factors):
                for fb in range(factors):
                    inputs = np.concatenate(
                        [
                            vector_table[va, :, :count],
                            factor_rows[fa, None, :count],
                            vector_table[vb, :, :count],
                            factor_rows[fb, None, :count],
                        ]
                    )
                    direction_a = np.sign(vector_table[va, VT_WEIGHT, :count]) * np.sign(
                        factor_rows[fa, :count]
                    )
                    direction_b = np.sign(vector_table[vb, VT_WEIGHT, :count]) * np.sign(
                        factor_rows[fb, :count]
                    )
                    for sa, sign_a in enumerate(signs):
                        if loss_scenarios[fa, va, sa, 0] < 0:
                            continue
                        for sb, sign_b in enumerate(signs):
                            if loss_scenarios[fb, vb, sb, 0] < 0:
                                continue
                            losing = (sign_a * direction_a < 0.0) | (sign_b * direction_b < 0.0)
                            kept: list[int] = []
                            seen: set[tuple[float, ...]] = set()
                            for k in np.flatnonzero(losing).tolist():
                                key = tuple(float(x) for x in inputs[:, k])
                                if key not in seen:
                                    seen.add(key)
                                    kept.append(k)
                            out[fa, va, sa, fb, vb, sb, 0] = len(kept)
                            out[fa, va, sa, fb, vb, sb, 1 : 1 + len(kept)] = kept
    return out
