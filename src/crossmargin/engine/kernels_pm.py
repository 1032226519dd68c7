"""Fused numba kernels of Deribit's cross-collateral portfolio margin (``pm``) over many accounts.

Per account, without an accounts × scenarios matrix (tables: :mod:`crossmargin.engine.packed`):

1. one pass over the account's positions (:func:`_add_positions`): an option (or any instrument
   kept as a row) adds size × its P&L row to its risk vector's accumulator — the row's two extra
   lanes carry the unit delta and mark value, so the same adds give the vector's net delta and
   the positions' mark value; a delta-one contract or a collateral balance (a balance column)
   adds size × coefficient to its vector's weight on the underlying's price-move shape (and its
   delta and value to the lanes); a position in a roll bucket adds its coin to the bucket's net;
2. the factor weights expanded once per vector; the roll shock of each bucket's net;
3. each held vector counted (weights, USD dampeners) and expressed in its currency at the
   scenario price, summed at the current price into the full and the offset aggregate
   (:mod:`crossmargin.margin.pm.charges`); worst case, correlation contingency, roll and delta
   shocks; IM, MM = mm_factor × IM, the worst scenario (the offset aggregate's first minimum, on
   the pair that loses most there) and the margin ratio, written in place.

:func:`pm_book_kernel` runs this over many accounts; :func:`pm_check_kernel` runs it for one
account before and after one hypothetical trade (optionally with a second leg: the entry offset
a coin-settled future traded away from the engine's entry moves), from the account's stored
vectors, lanes, held counts and bucket nets (built from its positions once per market epoch).
Both call the same steps.

Nothing here counts references: the steps and the two kernels are compiled with
``_nrt=False`` (they allocate nothing; the kernels cut their scratch out of two arrays the
caller passes, :func:`kernel_scratch`), and the steps are inlined into the kernels by numba
(``inline="always"``). Numba otherwise reference-counts every array handed to an inlined
function (~100 ns per call with a dozen arrays), and a step left to LLVM stays a real call
that passes each array as its fields — about a hundred arguments, ~20 ns per call and account
(issue 18: the fully inlined kernel took 0.63–0.74 of the time of the one with calls on the
small accounts).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.check_pool import CHECK_SECOND_COLUMN
from crossmargin.engine.columns import (
    CHECK_COMMIT,
    CHECK_EPOCH,
    CHECK_INSTRUMENT,
    CHECK_SLOT,
    O_EQUITY,
    O_INITIAL,
    O_MAINTENANCE,
    O_RATIO,
    P_BUCKET_COIN,
    P_COEF,
    P_DELTA,
    P_NEGATIVE_COEF,
    P_ROLL_RATE,
    P_VALUE,
    R_BUCKET,
    R_FACTOR,
    R_HOLDS,
    R_RUN,
    R_VECTOR,
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

__all__ = ["kernel_scratch", "pm_book_kernel", "pm_check_kernel"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The kernels' steps: inlined into the kernels by numba, nothing allocated, no reference
#: counting (see the module docstring).
_STEP_OPTIONS: dict[str, Any] = {
    "nogil": True,
    "error_model": "numpy",
    "_nrt": False,
    "inline": "always",
}
#: The kernels themselves: no reference counting either (their scratch comes from the caller).
_KERNEL_OPTIONS: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "_nrt": False,
}
_kernel: Callable[[Callable[..., Any]], Any] = numba.njit(**_KERNEL_OPTIONS)
_step: Callable[[Callable[..., Any]], Any] = numba.njit(**_STEP_OPTIONS)
#: Delta-one accounts of two vectors are set aside and run in batches of this many, in a loop
#: of their own (inlined into the main loop, their code slowed the other accounts); the few
#: the shortcut does not take go the general path in a second pass.
_BATCH = 64
#: Accounts of at least this many positions add their plain rows in runs (:func:`_add_positions`);
#: smaller ones (a few positions: the run bookkeeping costs more than it saves) one at a time.
_RUN_POSITIONS = 8


@_step
def _add_span(
    start: int,
    stop: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    lanes: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    acc: FloatArray,
    factor_weight: FloatArray,
    factor_of: IntArray,
    holds: IntArray,
    touched: IntArray,
    nets: FloatArray,
    roll: FloatArray,
    bucket_int: IntArray,
    vector_float: FloatArray,
    delta_lane: int,
    value_lane: int,
    bucket: int,
    i_bucket: int,
    net: float,
) -> tuple[int, int, float]:  # pragma: no cover - compiled
    """Add positions ``start .. stop - 1`` one at a time (see :func:`_add_positions`), carrying
    the open roll bucket (its id or -1, its first instrument, its net in coin): its new state."""
    width = acc.shape[1]
    for j in range(start, stop):
        i = cols[j]
        size = sizes[j]
        v = record_int[i, R_VECTOR]
        holds[v] += record_int[i, R_HOLDS]
        first = record_int[i, R_FACTOR]
        if first < 0:
            for k in range(width):
                acc[v, k] += size * lanes[i, k]
        else:
            coefficient = record_float[i, P_COEF if size >= 0.0 else P_NEGATIVE_COEF]
            factor_weight[v] += size * coefficient
            factor_of[v] = first
            touched[v] = 1
            acc[v, delta_lane] += size * record_float[i, P_DELTA]
            acc[v, value_lane] += size * record_float[i, P_VALUE]
        b = record_int[i, R_BUCKET]
        if b >= 0:
            if b != bucket:
                if bucket >= 0:
                    _close_bucket(bucket, i_bucket, net, nets, roll, bucket_int, record_float,
                                  vector_float)  # fmt: skip
                bucket = b
                i_bucket = i
                net = 0.0
            net += size * record_float[i, P_BUCKET_COIN]
    return bucket, i_bucket, net


@_step
def _close_bucket(
    bucket: int,
    i_bucket: int,
    net: float,
    nets: FloatArray,
    roll: FloatArray,
    bucket_int: IntArray,
    record_float: FloatArray,
    vector_float: FloatArray,
) -> None:  # pragma: no cover - compiled
    """Store a roll bucket's net (coin) and add its roll shock (USD) to its vector's."""
    nets[bucket] = net
    owner = bucket_int[bucket, 0]
    rate = record_float[i_bucket, P_ROLL_RATE]
    roll[owner] += rate * abs(net) * vector_float[owner, VF_INDEX]


@_step
def _add_run(
    start: int,
    stop: int,
    v: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    lanes: FloatArray,
    acc: FloatArray,
    holds: IntArray,
) -> None:  # pragma: no cover - compiled
    """Add the plain rows ``start .. stop - 1`` of vector v, two per pass: ``acc[v] += s1 ×
    row1 + s2 × row2`` halves the chain of dependent adds into the accumulator."""
    width = acc.shape[1]
    holds[v] += stop - start
    j = start
    while j + 2 <= stop:
        i, i_next = cols[j], cols[j + 1]
        size, size_next = sizes[j], sizes[j + 1]
        for k in range(width):
            acc[v, k] += size * lanes[i, k] + size_next * lanes[i_next, k]
        j += 2
    if j < stop:
        i = cols[j]
        size = sizes[j]
        for k in range(width):
            acc[v, k] += size * lanes[i, k]


@_step
def _add_positions(
    start: int,
    stop: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    lanes: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    acc: FloatArray,
    factor_weight: FloatArray,
    factor_of: IntArray,
    holds: IntArray,
    touched: IntArray,
    nets: FloatArray,
    roll: FloatArray,
    bucket_int: IntArray,
    vector_float: FloatArray,
    delta_lane: int,
    value_lane: int,
) -> None:  # pragma: no cover - compiled
    """Add positions ``start .. stop - 1`` to ``acc`` (raw USD per vector, delta and value
    lanes), the factor weights and the held counts; ``touched[v]`` = 1 for a vector written
    through a factor (a row sets its held count). A roll bucket is a contiguous run of the
    sorted row: its net (coin) is kept in a register, stored in ``nets`` when the run ends, and
    its roll shock (USD) added to ``roll`` of its vector.

    An account of fewer than ``_RUN_POSITIONS`` positions is one :func:`_add_span` (one
    position at a time, in order). A larger one adds each maximal run of plain rows of one
    vector (``R_RUN``: whole row, held, no roll bucket — a market maker's options) with
    :func:`_add_run` (one column read per position, counted once, two rows per pass) and the
    positions between runs with :func:`_add_span`, the open roll bucket carried across; the
    pairs are fixed by the account's sorted positions, so its sums depend on nothing else."""
    bucket = -1
    i_bucket = 0
    net = 0.0
    runs = stop - start >= _RUN_POSITIONS
    j = start
    while j < stop:  # positions one at a time up to the next run (all of them when small)
        end = stop
        if runs:
            end = j
            while end < stop and record_int[cols[end], R_RUN] < 0:
                end += 1
        if end > j:
            bucket, i_bucket, net = _add_span(
                j, end, cols, sizes, lanes, record_int, record_float, acc, factor_weight,
                factor_of, holds, touched, nets, roll, bucket_int, vector_float, delta_lane,
                value_lane, bucket, i_bucket, net,
            )  # fmt: skip
            j = end
        if j < stop:
            v = record_int[cols[j], R_RUN]
            end = j + 1
            while end < stop and record_int[cols[end], R_RUN] == v:
                end += 1
            _add_run(j, end, v, cols, sizes, lanes, acc, holds)
            j = end
    if bucket >= 0:
        _close_bucket(bucket, i_bucket, net, nets, roll, bucket_int, record_float, vector_float)


@_step
def _expand_factors(
    acc: FloatArray, factor_weight: FloatArray, factor_of: IntArray, factor_rows: FloatArray
) -> None:  # pragma: no cover - compiled
    """Add each vector's factor weight × its factor's shape (zero in the lanes) to ``acc``."""
    width = acc.shape[1]
    for v in range(acc.shape[0]):
        weight = factor_weight[v]
        if weight != 0.0:
            f = factor_of[v]
            for k in range(width):
                acc[v, k] += weight * factor_rows[f, k]


@_step
def _roll_shocks(
    nets: FloatArray,
    bucket_int: IntArray,
    record_float: FloatArray,
    vector_float: FloatArray,
    roll: FloatArray,
) -> None:  # pragma: no cover - compiled
    """Add rate × |net| × index of every bucket with a net to its vector's roll shock (USD)."""
    for b in range(bucket_int.shape[0]):
        net = nets[b]
        if net != 0.0:
            v = bucket_int[b, 0]
            rate = record_float[bucket_int[b, 1], P_ROLL_RATE]
            roll[v] += rate * abs(net) * vector_float[v, VF_INDEX]


@_step
def _coin_pnl(raw: float, v: int, k: int, vector_table: FloatArray) -> float:  # pragma: no cover
    """Vector v's counted P&L in its coin in scenario k from its raw USD P&L ``raw``: weighted,
    shrunk by the USD dampener towards 0, converted at the scenario price."""
    weighted = vector_table[v, VT_WEIGHT, k] * raw
    shrunk = max(abs(weighted) - vector_table[v, VT_DAMPENER, k], 0.0)
    coin: float = (math.copysign(shrunk, weighted) + 0.0) * vector_table[v, VT_CONVERSION, k]
    return coin


@_step
def _requirement(
    acc: FloatArray,
    holds: IntArray,
    roll: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    full: FloatArray,
    offset_total: FloatArray,
    pair_loss: FloatArray,
    delta_lane: int,
) -> tuple[float, int]:  # pragma: no cover - compiled
    """(IM in USD, global worst scenario or -1) of the raw vectors ``acc`` (held where
    ``holds > 0``) with roll shocks ``roll``; ``full``, ``offset_total`` and ``pair_loss`` are
    scratch.

    The minima are searched in four interleaved chains (a minimum of the values that are not
    NaN does not depend on the order; the offset aggregate's first minimum is the chains'
    smallest value at the smallest index), and a vector's coin P&L in the worst scenario is
    recomputed there rather than stored for every scenario: the same numbers as one pass in
    scenario order, without its chain of dependent comparisons."""
    vectors = vector_int.shape[0]
    count = 0
    other = 0.0
    for k in range(full.shape[0]):
        full[k] = 0.0
        offset_total[k] = 0.0
    for v in range(vectors):
        if holds[v] <= 0:
            continue
        count = vector_int[v, VI_COUNT]
        price = vector_float[v, VF_PRICE]
        gain_offset = vector_float[v, VF_OFFSET]
        cap = vector_float[v, VF_CAP_COIN]
        for k in range(count):
            x = _coin_pnl(acc[v, k], v, k, vector_table)
            full[k] += price * x
            offset_total[k] += price * (min(x, 0.0) + min(gain_offset * max(x, 0.0), cap))
        other += roll[v] + _delta_charge(acc[v, delta_lane], v, vector_float)
    if count == 0:
        return other, -1
    full_0 = full_1 = full_2 = full_3 = np.inf
    low_0 = low_1 = low_2 = low_3 = np.inf
    at_0 = at_1 = at_2 = at_3 = 0
    k = 0
    while k + 4 <= count:
        full_0 = min(full_0, full[k])
        full_1 = min(full_1, full[k + 1])
        full_2 = min(full_2, full[k + 2])
        full_3 = min(full_3, full[k + 3])
        if offset_total[k] < low_0:
            low_0, at_0 = offset_total[k], k
        if offset_total[k + 1] < low_1:
            low_1, at_1 = offset_total[k + 1], k + 1
        if offset_total[k + 2] < low_2:
            low_2, at_2 = offset_total[k + 2], k + 2
        if offset_total[k + 3] < low_3:
            low_3, at_3 = offset_total[k + 3], k + 3
        k += 4
    while k < count:
        full_0 = min(full_0, full[k])
        if offset_total[k] < low_0:
            low_0, at_0 = offset_total[k], k
        k += 1
    lowest_full = min(min(full_0, full_1), min(full_2, full_3))
    lowest, worst = low_0, at_0
    if low_1 < lowest or (low_1 == lowest and at_1 < worst):
        lowest, worst = low_1, at_1
    if low_2 < lowest or (low_2 == lowest and at_2 < worst):
        lowest, worst = low_2, at_2
    if low_3 < lowest or (low_3 == lowest and at_3 < worst):
        lowest, worst = low_3, at_3
    worst_case = max(0.0, -lowest_full) + 0.0
    correlation = max(max(0.0, -lowest) - worst_case, 0.0) + 0.0
    # ---- the pair that loses most in the worst scenario (first on ties)
    for u in range(pair_loss.shape[0]):
        pair_loss[u] = np.nan
    for v in range(vectors):
        if holds[v] > 0:
            u = vector_int[v, VI_UNDERLYING]
            loss = _offset_loss(_coin_pnl(acc[v, worst], v, worst, vector_table), v, vector_float)
            pair_loss[u] = loss if math.isnan(pair_loss[u]) else pair_loss[u] + loss
    chosen = -1
    for u in range(pair_loss.shape[0]):
        if not math.isnan(pair_loss[u]) and (chosen < 0 or pair_loss[u] < pair_loss[chosen]):
            chosen = u
    first = 0
    for v in range(vectors):
        if vector_int[v, VI_UNDERLYING] == chosen:
            first = vector_int[v, VI_OFFSET]
            break
    return worst_case + correlation + other, first + worst


@_step
def _hinge_coin(
    weight: float, f: int, v: int, k: int, factor_rows: FloatArray, vector_table: FloatArray
) -> float:  # pragma: no cover - compiled
    """The dampened P&L in coin of ``weight × shape f`` in vector v, scenario k, with
    :func:`_requirement`'s arithmetic (its accumulator holds ``0.0 + weight × shape``, which
    differs only for a product of -0.0, and both give a P&L of 0.0)."""
    return _coin_pnl(weight * factor_rows[f, k], v, k, vector_table)  # type: ignore[no-any-return]


@_step
def _delta_charge(delta: float, v: int, vector_float: FloatArray) -> float:  # pragma: no cover
    """|net delta| × index × delta shock of vector v, :func:`_requirement`'s arithmetic."""
    index = vector_float[v, VF_INDEX]
    exposure = abs(0.0 + delta)
    excess = exposure - vector_float[v, VF_THRESHOLD] / index
    if excess < 0.0:
        excess = 0.0
    move = min(vector_float[v, VF_MAX_SHOCK], vector_float[v, VF_INCREMENT] * excess)
    charge: float = exposure * index * move
    return charge


@_step
def _offset_loss(x: float, v: int, vector_float: FloatArray) -> float:  # pragma: no cover
    """Vector v's term of the offset aggregate for coin P&L x (USD), as :func:`_requirement`."""
    gain = min(vector_float[v, VF_OFFSET] * max(x, 0.0), vector_float[v, VF_CAP_COIN])
    loss: float = vector_float[v, VF_PRICE] * (min(x, 0.0) + gain)
    return loss


@_step
def _linear_pair(
    va: int,
    fa: int,
    wa: float,
    vb: int,
    fb: int,
    wb: float,
    other: float,
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    pair_scenarios: IntArray,
) -> tuple[bool, float, int]:  # pragma: no cover - compiled
    """(taken, IM in USD, global worst scenario) of two delta-one vectors ``va < vb`` with net
    factor weights ``wa`` (factor ``fa``) and ``wb`` (``fb``) and the other charges ``other``
    (roll and delta shocks, summed as the general path does).

    Only the scenarios of ``pair_scenarios`` are evaluated (those where either vector can lose,
    one of each set of identical inputs: :func:`crossmargin.engine.packed.linear_pair_scenarios`)
    — elsewhere both aggregates are ≥ 0 — from the two weights in registers, with
    :func:`_requirement`'s arithmetic in its order (full and offset aggregates summed over the
    vectors in increasing order, the first minimum, the pair that loses most there): the
    general path's numbers bit for bit when the offset aggregate's minimum is a loss (else
    ``taken`` is False: its first index may be a scenario left out). The full aggregate's
    minimum over the kept scenarios is the worst case's: when it is ≥ 0, so is the one over all,
    and the worst case is 0 either way."""
    candidates = pair_scenarios[fa, va, 0 if wa > 0.0 else 1, fb, vb, 0 if wb > 0.0 else 1, 0]
    if candidates <= 0:
        return False, 0.0, -1
    pa = vector_float[va, VF_PRICE]
    pb = vector_float[vb, VF_PRICE]
    ga = vector_float[va, VF_OFFSET]
    gb = vector_float[vb, VF_OFFSET]
    ca = vector_float[va, VF_CAP_COIN]
    cb = vector_float[vb, VF_CAP_COIN]
    lowest_full = np.inf
    lowest = np.inf
    worst = 0
    for c in range(1, candidates + 1):
        k = pair_scenarios[fa, va, 0 if wa > 0.0 else 1, fb, vb, 0 if wb > 0.0 else 1, c]
        xa = _hinge_coin(wa, fa, va, k, factor_rows, vector_table)
        xb = _hinge_coin(wb, fb, vb, k, factor_rows, vector_table)
        full = (0.0 + pa * xa) + pb * xb
        offset = (0.0 + pa * (min(xa, 0.0) + min(ga * max(xa, 0.0), ca))) + pb * (
            min(xb, 0.0) + min(gb * max(xb, 0.0), cb)
        )
        lowest_full = min(lowest_full, full)
        if offset < lowest:
            lowest = offset
            worst = k
    if not lowest < 0.0:
        return False, 0.0, -1
    worst_case = max(0.0, -lowest_full) + 0.0
    correlation = max(max(0.0, -lowest) - worst_case, 0.0) + 0.0
    loss_a = _offset_loss(
        _hinge_coin(wa, fa, va, worst, factor_rows, vector_table), va, vector_float
    )
    loss_b = _offset_loss(
        _hinge_coin(wb, fb, vb, worst, factor_rows, vector_table), vb, vector_float
    )
    ua = vector_int[va, VI_UNDERLYING]
    ub = vector_int[vb, VI_UNDERLYING]
    chosen = -1
    if ua == ub:
        pair = loss_b if math.isnan(loss_a) else loss_a + loss_b
        if not math.isnan(pair):
            chosen = va
    else:
        low, high = (va, vb) if ua < ub else (vb, va)
        loss_low, loss_high = (loss_a, loss_b) if ua < ub else (loss_b, loss_a)
        if not math.isnan(loss_low):
            chosen = low
        if not math.isnan(loss_high) and (chosen < 0 or loss_high < loss_low):
            chosen = high
    first = 0 if chosen < 0 else vector_int[chosen, VI_OFFSET]
    return True, worst_case + correlation + other, first + worst


@_step
def _linear_account(
    start: int,
    stop: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    bucket_int: IntArray,
    loss_scenarios: IntArray,
) -> tuple[int, float, int, float]:  # pragma: no cover - compiled
    """The shortcut for an account whose positions are all delta-one contracts of one risk
    vector and one factor: (status, IM in USD, global worst scenario, mark value in USD);
    status 1: taken, 0: the general path, 2: a position of another vector (for
    :func:`_linear_two`).

    Its vector is ``w × shape`` (w: the net factor weight), so its worst scenario is one of
    ``loss_scenarios[f, v, w < 0]`` (:func:`crossmargin.engine.packed.linear_loss_scenarios`),
    each evaluated with :func:`_requirement`'s arithmetic; with one vector the offset aggregate
    equals the full one wherever it is negative, so the correlation contingency is 0 and the
    worst scenario is the full aggregate's first minimum. Roll shocks, the delta shock and the
    mark value are summed in the general path's order, so the numbers are the general path's
    bit for bit. The status is 0 — and the account goes the general way — for any other
    account, when the vector is not held, or when the minimum is not a loss (its first index
    may then be any scenario of P&L 0)."""
    if stop <= start:
        return 0, 0.0, -1, 0.0
    i = cols[start]
    v = record_int[i, R_VECTOR]
    f = record_int[i, R_FACTOR]
    if f < 0:
        return 0, 0.0, -1, 0.0
    weight = 0.0
    delta = 0.0
    value = 0.0
    roll = 0.0
    holds = 0
    bucket = -1
    i_bucket = 0
    net = 0.0
    index = vector_float[v, VF_INDEX]
    for j in range(start, stop):
        i = cols[j]
        if record_int[i, R_FACTOR] != f or record_int[i, R_VECTOR] != v:
            return 2 if record_int[i, R_VECTOR] != v else 0, 0.0, -1, 0.0
        size = sizes[j]
        holds += record_int[i, R_HOLDS]
        weight += size * record_float[i, P_COEF if size >= 0.0 else P_NEGATIVE_COEF]
        delta += size * record_float[i, P_DELTA]
        value += size * record_float[i, P_VALUE]
        b = record_int[i, R_BUCKET]
        if b >= 0:
            if bucket_int[b, 0] != v:
                return 0, 0.0, -1, 0.0
            if b != bucket:
                if bucket >= 0:
                    roll += record_float[i_bucket, P_ROLL_RATE] * abs(net) * index
                bucket = b
                i_bucket = i
                net = 0.0
            net += size * record_float[i, P_BUCKET_COIN]
    if bucket >= 0:
        roll += record_float[i_bucket, P_ROLL_RATE] * abs(net) * index
    side = 0 if weight > 0.0 else 1
    candidates = loss_scenarios[f, v, side, 0]
    if holds <= 0 or weight == 0.0 or candidates <= 0:
        return 0, 0.0, -1, 0.0
    price = vector_float[v, VF_PRICE]
    lowest = np.inf
    worst = 0
    for c in range(1, candidates + 1):
        k = loss_scenarios[f, v, side, c]
        full = 0.0 + price * _hinge_coin(weight, f, v, k, factor_rows, vector_table)
        if full < lowest:
            lowest = full
            worst = k
    if not lowest < 0.0:
        return 0, 0.0, -1, 0.0
    other = 0.0 + ((0.0 + roll) + _delta_charge(delta, v, vector_float))
    worst_case = max(0.0, -lowest) + 0.0
    initial = worst_case + 0.0 + other
    return 1, initial, vector_int[v, VI_OFFSET] + worst, 0.0 + (0.0 + value)


@_step
def _linear_two(
    start: int,
    stop: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    bucket_int: IntArray,
    loss_scenarios: IntArray,
    pair_scenarios: IntArray,
) -> tuple[int, float, int, float]:  # pragma: no cover - compiled
    """:func:`_linear_account` for an account whose positions are all delta-one contracts of
    two risk vectors, one factor each (status 1: taken, 0: the general path): the weights,
    deltas, mark values and roll shocks per vector in one pass (each summed in the general
    path's order), then :func:`_linear_pair`. Status 0 for any other account, when a vector is
    not held or its ``loss_scenarios`` count is -1 (inputs outside the shortcut's assumptions;
    all -1 switches the shortcut off), or when the offset aggregate's minimum is not a loss."""
    i = cols[start]
    v = record_int[i, R_VECTOR]
    f = record_int[i, R_FACTOR]
    v2 = -1
    f2 = -1
    weight = 0.0
    delta = 0.0
    value = 0.0
    roll = 0.0
    holds = 0
    weight2 = 0.0
    delta2 = 0.0
    value2 = 0.0
    roll2 = 0.0
    holds2 = 0
    bucket = -1
    i_bucket = 0
    net = 0.0
    for j in range(start, stop):
        i = cols[j]
        size = sizes[j]
        coefficient = record_float[i, P_COEF if size >= 0.0 else P_NEGATIVE_COEF]
        if record_int[i, R_VECTOR] == v and record_int[i, R_FACTOR] == f:
            holds += record_int[i, R_HOLDS]
            weight += size * coefficient
            delta += size * record_float[i, P_DELTA]
            value += size * record_float[i, P_VALUE]
        else:
            if v2 < 0 and record_int[i, R_VECTOR] != v and record_int[i, R_FACTOR] >= 0:
                v2 = record_int[i, R_VECTOR]
                f2 = record_int[i, R_FACTOR]
            if record_int[i, R_VECTOR] != v2 or record_int[i, R_FACTOR] != f2:
                return 0, 0.0, -1, 0.0
            holds2 += record_int[i, R_HOLDS]
            weight2 += size * coefficient
            delta2 += size * record_float[i, P_DELTA]
            value2 += size * record_float[i, P_VALUE]
        b = record_int[i, R_BUCKET]
        if b >= 0 and b != bucket:
            if bucket >= 0:
                owner = bucket_int[bucket, 0]
                shock = record_float[i_bucket, P_ROLL_RATE] * abs(net)
                if owner == v:
                    roll += shock * vector_float[v, VF_INDEX]
                elif owner == v2:
                    roll2 += shock * vector_float[v2, VF_INDEX]
                else:
                    return 0, 0.0, -1, 0.0
            bucket = b
            i_bucket = i
            net = 0.0
        if b >= 0:
            net += size * record_float[i, P_BUCKET_COIN]
    if bucket >= 0:
        owner = bucket_int[bucket, 0]
        shock = record_float[i_bucket, P_ROLL_RATE] * abs(net)
        if owner == v:
            roll += shock * vector_float[v, VF_INDEX]
        elif owner == v2:
            roll2 += shock * vector_float[v2, VF_INDEX]
        else:
            return 0, 0.0, -1, 0.0
    if v2 < 0 or holds <= 0 or holds2 <= 0:
        return 0, 0.0, -1, 0.0
    if loss_scenarios[f, v, 0 if weight > 0.0 else 1, 0] < 0:
        return 0, 0.0, -1, 0.0
    if loss_scenarios[f2, v2, 0 if weight2 > 0.0 else 1, 0] < 0:
        return 0, 0.0, -1, 0.0
    if v > v2:  # the lower vector first, as the general path sums them (one inlined call)
        v, f, weight, delta, value, roll, v2, f2, weight2, delta2, value2, roll2 = (
            v2, f2, weight2, delta2, value2, roll2, v, f, weight, delta, value, roll
        )  # fmt: skip
    other = 0.0 + ((0.0 + roll) + _delta_charge(delta, v, vector_float))
    other += (0.0 + roll2) + _delta_charge(delta2, v2, vector_float)
    taken, initial, worst = _linear_pair(
        v, f, weight, v2, f2, weight2, other, factor_rows, vector_int, vector_table,
        vector_float, pair_scenarios,
    )  # fmt: skip
    return (1 if taken else 0), initial, worst, (0.0 + value) + value2


@_step
def _linear_shortcut(
    start: int,
    stop: int,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    bucket_int: IntArray,
    loss_scenarios: IntArray,
    pair_scenarios: IntArray,
) -> tuple[bool, float, int, float]:  # pragma: no cover - compiled
    """(taken, IM in USD, global worst scenario, mark value in USD) of an account of delta-one
    contracts of one risk vector (:func:`_linear_account`) or two (:func:`_linear_two`); taken
    is False for any other account (the general path). :func:`pm_book_kernel` makes the same
    decision in two steps (the two-vector accounts in batches); tests count with this one."""
    status, initial, worst, value = _linear_account(
        start, stop, cols, sizes, record_int, record_float, factor_rows, vector_int,
        vector_table, vector_float, bucket_int, loss_scenarios,
    )  # fmt: skip
    if status == 2:
        status, initial, worst, value = _linear_two(
            start, stop, cols, sizes, record_int, record_float, factor_rows, vector_int,
            vector_table, vector_float, bucket_int, loss_scenarios, pair_scenarios,
        )  # fmt: skip
    return status == 1, initial, worst, value


@_step
def _ratio(maintenance: float, equity: float) -> float:  # pragma: no cover - compiled
    """MM / equity by the rule of :func:`crossmargin.margin.health.margin_ratio`: 0 when no
    margin is due, inf when margin is due and equity ≤ 0."""
    if not maintenance > 0.0:
        return 0.0
    if not equity > 0.0:
        return np.inf
    return maintenance / equity


@_step
def _pairs(
    batch: IntArray,
    failed: IntArray,
    failures: int,
    accounts: IntArray,
    row_start: IntArray,
    row_len: IntArray,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    collateral: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    factor_rows: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    bucket_int: IntArray,
    loss_scenarios: IntArray,
    pair_scenarios: IntArray,
    out_initial: FloatArray,
    out_maintenance: FloatArray,
    out_equity: FloatArray,
    out_ratio: FloatArray,
    out_worst: IntArray,
) -> int:  # pragma: no cover - compiled
    """:func:`_linear_two` on the accounts ``accounts[t]``, t in ``batch``, into ``out_*[t]``;
    those it does not take are appended to ``failed`` after ``failures`` entries; the new
    count."""
    for q in range(batch.shape[0]):
        t = batch[q]
        a = accounts[t]
        start = row_start[a]
        status, initial, worst, value = _linear_two(
            start, start + row_len[a], cols, sizes, record_int, record_float, factor_rows,
            vector_int, vector_table, vector_float, bucket_int, loss_scenarios, pair_scenarios,
        )  # fmt: skip
        if status == 1:
            _write(t, initial, worst, collateral[a] + value, vector_float, out_initial,
                   out_maintenance, out_equity, out_ratio, out_worst)  # fmt: skip
        else:
            failed[failures] = t
            failures += 1
    return failures


@_step
def _write(
    t: int,
    initial: float,
    worst: int,
    equity: float,
    vector_float: FloatArray,
    out_initial: FloatArray,
    out_maintenance: FloatArray,
    out_equity: FloatArray,
    out_ratio: FloatArray,
    out_worst: IntArray,
) -> None:  # pragma: no cover - compiled
    """IM, MM = mm_factor × IM, equity, margin ratio and worst scenario into ``out_*[t]``."""
    maintenance = (vector_float[0, VF_MM_FACTOR] if vector_float.shape[0] else 0.0) * initial
    out_initial[t] = initial
    out_maintenance[t] = maintenance
    out_equity[t] = equity
    out_ratio[t] = _ratio(maintenance, equity)
    out_worst[t] = worst


@_step
def _scratch_size(
    vectors: int, width: int, buckets: int, units: int, requests: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Floats and integers of the scratch :func:`_carve` cuts (see :func:`kernel_scratch`)."""
    floats = vectors * width + 2 * width + 2 * vectors + max(buckets, 1) + units
    return floats, 3 * vectors + _BATCH + requests


@_step
def _units(vector_int: IntArray) -> int:  # pragma: no cover - compiled
    """Number of underlyings (at least 1) of the risk vectors."""
    units = 1
    for v in range(vector_int.shape[0]):
        units = max(units, vector_int[v, VI_UNDERLYING] + 1)
    return units


@_step
def _carve(
    scratch: FloatArray,
    scratch_int: IntArray,
    vectors: int,
    width: int,
    buckets: int,
    units: int,
    requests: int,
) -> tuple[
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    IntArray,
    IntArray,
    IntArray,
    IntArray,
    IntArray,
]:  # pragma: no cover - compiled
    """Views of the scratch: (vectors, width) accumulators, the full and offset aggregates
    (width), factor weights and roll shocks (vectors), bucket nets, pair losses (units); factor
    ids, held counts and touched flags (vectors), the batch of two-vector accounts and the
    accounts they leave (requests)."""
    o = vectors * width
    full = scratch[o : o + width]
    offset_total = scratch[o + width : o + 2 * width]
    o += 2 * width
    factor_weight = scratch[o : o + vectors]
    roll = scratch[o + vectors : o + 2 * vectors]
    o += 2 * vectors
    nets = scratch[o : o + max(buckets, 1)]
    o += max(buckets, 1)
    pair_loss = scratch[o : o + units]
    b = 3 * vectors
    return (
        scratch[: vectors * width].reshape((vectors, width)), full, offset_total, factor_weight,
        roll, nets, pair_loss, scratch_int[:vectors], scratch_int[vectors : 2 * vectors],
        scratch_int[2 * vectors : b], scratch_int[b : b + _BATCH],
        scratch_int[b + _BATCH : b + _BATCH + requests],
    )  # fmt: skip


def kernel_scratch(
    vector_int: IntArray, width: int, buckets: int, requests: int
) -> tuple[FloatArray, IntArray]:
    """Scratch of one call of :func:`pm_book_kernel` over ``requests`` accounts (0 for
    :func:`pm_check_kernel`) on tables of ``vector_int`` risk vectors, rows of ``width``
    floats and ``buckets`` roll buckets: (floats, integers), uninitialised. One per concurrent
    call: the kernels keep no state in it between calls."""
    floats, ints = _scratch_size(vector_int.shape[0], width, buckets, _units(vector_int), requests)
    return np.empty(floats), np.empty(ints, dtype=np.int64)


@_kernel
def pm_book_kernel(
    accounts: IntArray,
    row_start: IntArray,
    row_len: IntArray,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    collateral: FloatArray,
    lanes: FloatArray,
    factor_rows: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    bucket_int: IntArray,
    delta_lane: int,
    value_lane: int,
    out_initial: FloatArray,
    out_maintenance: FloatArray,
    out_equity: FloatArray,
    out_ratio: FloatArray,
    out_worst: IntArray,
    loss_scenarios: IntArray,
    pair_scenarios: IntArray,
    scratch: FloatArray,
    scratch_int: IntArray,
) -> None:  # pragma: no cover - compiled
    """Portfolio margin of account ``accounts[t]`` into ``out_*[t]``: IM, MM (USD), equity
    (collateral + mark value, USD), margin ratio (MM / equity) and the global worst scenario (-1
    without scenario risk). Tables: :class:`crossmargin.engine.packed.PackedTables`. An account
    holding only delta-one contracts of one risk vector takes :func:`_linear_account`, one of
    two vectors :func:`_linear_two` (the same numbers without the accumulators and the full
    scenario loop) when it has a loss in some scenario. The latter are set aside and run in
    batches (:func:`_pairs`); the few they do not take go the general path in a second pass
    over the accounts. Each account's numbers depend on its positions only, whatever the
    order. ``scratch``, ``scratch_int``: :func:`kernel_scratch` for ``accounts.shape[0]``
    requests."""
    vectors = vector_int.shape[0]
    width = lanes.shape[1]
    buckets = bucket_int.shape[0]
    units = _units(vector_int)
    count = accounts.shape[0]
    floats, ints = _scratch_size(vectors, width, buckets, units, count)
    if scratch.shape[0] < floats or scratch_int.shape[0] < ints:
        raise ValueError("scratch too small: see kernel_scratch")
    views = _carve(scratch, scratch_int, vectors, width, buckets, units, count)
    acc, full, offset_total, factor_weight, roll, nets, pair_loss = views[:7]
    factor_of, holds, touched, pairs, failed = views[7:]
    for v in range(vectors):
        holds[v] = 0
        touched[v] = 1  # every accumulator is zeroed for the first general account
    waiting = 0
    failures = 0
    for second in range(2):  # 0: every account; 1: those of two vectors the shortcut left
        for r in range(count + 1 if second == 0 else failures):
            if second == 0 and (waiting == _BATCH or (r == count and waiting > 0)):
                failures = _pairs(  # the one call site: numba inlines each one
                    pairs[:waiting], failed, failures, accounts, row_start, row_len, cols,
                    sizes, collateral, record_int, record_float, factor_rows, vector_int,
                    vector_table, vector_float, bucket_int, loss_scenarios, pair_scenarios,
                    out_initial, out_maintenance, out_equity, out_ratio, out_worst,
                )  # fmt: skip
                waiting = 0
            if r == count:  # (first pass only: the batch left over is run above)
                break
            t = r if second == 0 else failed[r]
            a = accounts[t]
            start = row_start[a]
            status, initial, worst, value = _linear_account(
                start, start + row_len[a], cols, sizes, record_int, record_float, factor_rows,
                vector_int, vector_table, vector_float, bucket_int, loss_scenarios,
            )  # fmt: skip
            if status == 1:
                _write(t, initial, worst, collateral[a] + value, vector_float, out_initial,
                       out_maintenance, out_equity, out_ratio, out_worst)  # fmt: skip
                continue
            if status == 2 and second == 0:
                pairs[waiting] = t
                waiting += 1
                continue
            for v in range(vectors):  # zero what the previous general account wrote
                if holds[v] != 0 or touched[v] != 0:
                    for k in range(width):
                        acc[v, k] = 0.0
                factor_weight[v] = 0.0
                holds[v] = 0
                touched[v] = 0
                roll[v] = 0.0
            _add_positions(
                start, start + row_len[a], cols, sizes, lanes, record_int, record_float, acc,
                factor_weight, factor_of, holds, touched, nets, roll, bucket_int, vector_float,
                delta_lane, value_lane,
            )  # fmt: skip
            _expand_factors(acc, factor_weight, factor_of, factor_rows)
            initial, worst = _requirement(
                acc, holds, roll, vector_int, vector_table, vector_float, full, offset_total,
                pair_loss, delta_lane,
            )  # fmt: skip
            value = 0.0
            for v in range(vectors):
                value += acc[v, value_lane]
            _write(t, initial, worst, collateral[a] + value, vector_float, out_initial,
                   out_maintenance, out_equity, out_ratio, out_worst)  # fmt: skip


@_kernel
def pm_check_kernel(
    request: IntArray,
    trade_size: FloatArray,
    row_start: IntArray,
    row_len: IntArray,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    collateral: FloatArray,
    state_vectors: FloatArray,
    state_epoch: IntArray,
    state_holds: IntArray,
    state_nets: FloatArray,
    lanes: FloatArray,
    factor_rows: FloatArray,
    record_int: IntArray,
    record_float: FloatArray,
    vector_int: IntArray,
    vector_table: FloatArray,
    vector_float: FloatArray,
    bucket_int: IntArray,
    out_float: FloatArray,
    out_int: IntArray,
    scratch: FloatArray,
    scratch_int: IntArray,
) -> None:  # pragma: no cover - compiled
    """Portfolio margin of one account now (``out_*[0]``) and after ``trade_size[0]`` more of
    one instrument at the mark (``out_*[1]``); ``out_float`` columns ``O_INITIAL``,
    ``O_MAINTENANCE`` (USD), ``O_EQUITY`` (USD, before the trade: a trade at the mark leaves it
    unchanged), ``O_RATIO``; ``out_int`` the global worst scenario (-1 without risk).

    ``request`` = (account, instrument in engine order or -1, slot, epoch, commit[, second
    column]). A request of :data:`~crossmargin.engine.check_pool.TWO_LEG_REQUEST_COLUMNS` with
    a second column ≥ 0 and a ``trade_size`` of two elements adds, after the trade, a second
    leg of ``trade_size[1]`` of that column (its units: coin for an entry-offset column;
    :meth:`BookEngine.pre_trade`'s ``entry_offset_coin``) to the same state: one more row (or
    factor weight, by the column's long coefficient), held count and bucket net. A leg of size
    0 adds nothing, so a check without one is the one-leg check, bit for bit. The slot's
    stored state — raw USD vectors with delta and value lanes ``state_vectors[slot]``, the held
    positions per vector ``state_holds[slot]`` and the roll-bucket nets ``state_nets[slot]``,
    valid when ``state_epoch[slot]`` is the request's epoch — is rebuilt from the account's
    positions when it is not; with ``commit`` = 1 the trade is then added to it
    (:meth:`BookEngine.apply_trade`), both legs. ``scratch``, ``scratch_int``:
    :func:`kernel_scratch` for 0 requests.
    """
    a = request[0]
    i = request[CHECK_INSTRUMENT]
    slot = request[CHECK_SLOT]
    x = trade_size[0]
    vectors = vector_int.shape[0]
    width = lanes.shape[1]
    delta_lane = width - 2
    value_lane = width - 1
    buckets = bucket_int.shape[0]
    units = _units(vector_int)
    floats, ints = _scratch_size(vectors, width, buckets, units, 0)
    if scratch.shape[0] < floats or scratch_int.shape[0] < ints:
        raise ValueError("scratch too small: see kernel_scratch")
    views = _carve(scratch, scratch_int, vectors, width, buckets, units, 0)
    after, full, offset_total, factor_weight, roll, after_nets, pair_loss = views[:7]
    factor_of, holds, touched = views[7:10]
    acc = state_vectors[slot]
    nets = state_nets[slot]
    after_nets = after_nets[: nets.shape[0]]
    if state_epoch[slot] != request[CHECK_EPOCH]:
        for v in range(vectors):
            factor_weight[v] = 0.0
            factor_of[v] = 0
            holds[v] = 0
            touched[v] = 0
            roll[v] = 0.0
            for k in range(width):
                acc[v, k] = 0.0
        for b in range(nets.shape[0]):
            nets[b] = 0.0
        start = row_start[a]
        _add_positions(
            start, start + row_len[a], cols, sizes, lanes, record_int, record_float, acc,
            factor_weight, factor_of, holds, touched, nets, roll, bucket_int, vector_float,
            delta_lane, value_lane,
        )  # fmt: skip
        _expand_factors(acc, factor_weight, factor_of, factor_rows)
        for v in range(vectors):
            state_holds[slot, v] = holds[v]
        state_epoch[slot] = request[CHECK_EPOCH]
    else:
        for v in range(vectors):
            holds[v] = state_holds[slot, v]
    for v in range(vectors):
        roll[v] = 0.0
    _roll_shocks(nets, bucket_int, record_float, vector_float, roll)
    value = 0.0
    for v in range(vectors):
        value += acc[v, value_lane]
    equity = collateral[a] + value
    mm_factor = vector_float[0, VF_MM_FACTOR] if vectors else 0.0
    for v in range(vectors):
        for k in range(width):
            after[v, k] = acc[v, k]
    for b in range(nets.shape[0]):
        after_nets[b] = nets[b]
    # the second leg (column, size): read only from a request and sizes that carry it
    second = request[CHECK_SECOND_COLUMN] if request.shape[0] > CHECK_SECOND_COLUMN else -1
    y = trade_size[1] if trade_size.shape[0] > 1 else 0.0
    for phase in range(2):  # 0: now, 1: after the trade (one requirement call site to inline)
        moved = False
        for leg in range(2 if phase == 1 else 0):
            c = i if leg == 0 else second
            s = x if leg == 0 else y
            if c < 0 or s == 0.0:  # no such leg: nothing added (a one-leg check is unchanged)
                continue
            moved = True
            # the stored vectors plus one row, the counts and one bucket net moved
            v = record_int[c, R_VECTOR]
            first = record_int[c, R_FACTOR]
            if first < 0:
                for k in range(width):
                    after[v, k] += s * lanes[c, k]
            else:
                weight = s * record_float[c, P_COEF]
                for k in range(width):
                    after[v, k] += weight * factor_rows[first, k]
                after[v, delta_lane] += s * record_float[c, P_DELTA]
                after[v, value_lane] += s * record_float[c, P_VALUE]
            lo = row_start[a]
            hi = lo + row_len[a]
            while lo < hi:  # the account's current size of c (rows are sorted)
                middle = (lo + hi) // 2
                if cols[middle] < c:
                    lo = middle + 1
                else:
                    hi = middle
            original = sizes[lo] if lo < row_start[a] + row_len[a] and cols[lo] == c else 0.0
            if original == 0.0:
                holds[v] += record_int[c, R_HOLDS]
            elif original + s == 0.0:
                holds[v] -= record_int[c, R_HOLDS]
            b = record_int[c, R_BUCKET]
            if b >= 0:
                after_nets[b] += s * record_float[c, P_BUCKET_COIN]
        if moved:
            for u in range(vectors):
                roll[u] = 0.0
            _roll_shocks(after_nets, bucket_int, record_float, vector_float, roll)
        initial, worst = _requirement(
            after, holds, roll, vector_int, vector_table, vector_float, full, offset_total,
            pair_loss, delta_lane,
        )  # fmt: skip
        out_float[phase, O_INITIAL] = initial
        out_float[phase, O_MAINTENANCE] = mm_factor * initial
        out_float[phase, O_EQUITY] = equity
        out_float[phase, O_RATIO] = _ratio(mm_factor * initial, equity)
        out_int[phase] = worst
    if request[CHECK_COMMIT] == 1:
        for v in range(vectors):
            state_holds[slot, v] = holds[v]
            for k in range(width):
                acc[v, k] = after[v, k]
        for b in range(nets.shape[0]):
            nets[b] = after_nets[b]
