"""Fused numba kernel of SPAN (``span``) over many accounts.

Per request and combined commodity (underlying): the 16 scenario losses from the positions' P&L
rows and linear factors (or the stored vector plus the trade's row), scan risk and its scenario,
the calendar spread charge on the USD deltas netted per contract month (greedy over the spread
table in priority order, months by expiry, as
:func:`crossmargin.margin.span.arithmetic.intra_spread_charge`), the short option minimum; then the
delta-based inter-commodity credits
(:func:`crossmargin.margin.span.arithmetic.inter_spread_credits`) and IM = Σ max(scan + intra −
credit, short option minimum), MM = IM / ratio. One function on purpose, as in
:mod:`crossmargin.engine.kernels_pm`.

The column numbers of :mod:`crossmargin.engine.columns` are compiled into the cached machine
code, and numba's cache only notices a change of this file: renumbering a column means touching
this module (as the portfolio margin rework of the tables did) so stale caches are rebuilt."""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import (
    F_COEF1,
    F_COEF2,
    F_DELTA,
    F_VALUE,
    I_FACTOR1,
    I_FACTOR2,
    I_IS_CALL,
    I_IS_OPTION,
    I_MONTH,
    I_UNDERLYING,
    M_IM_TO_MM,
    U_INDEX,
    U_SHORT_MINIMUM,
)
from crossmargin.margin.span.arithmetic import PAIRED_SCENARIO

__all__ = ["span_kernel"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_PAIRED = np.array(PAIRED_SCENARIO, dtype=np.int64) - 1
_DELTA_EPSILON = 1e-12


@numba.njit(cache=True, nogil=True, error_model="numpy")
def span_kernel(
    request_account: IntArray,
    request_instrument: IntArray,
    request_size: FloatArray,
    request_slot: IntArray,
    state: FloatArray,
    state_epoch: IntArray,
    epoch: int,
    row_start: IntArray,
    row_len: IntArray,
    cols: NDArray[np.int32],
    sizes: FloatArray,
    collateral: FloatArray,
    instrument_int: IntArray,
    instrument_float: FloatArray,
    pnl: FloatArray,
    factor_rows: FloatArray,
    factor_start: IntArray,
    scenario_count: IntArray,
    scenario_offset: IntArray,
    weights: FloatArray,
    dampeners: FloatArray,
    underlying_float: FloatArray,
    model_float: FloatArray,
    month_tier: IntArray,
    intra_spreads: FloatArray,
    intra_count: IntArray,
    inter_rate: FloatArray,
    inter_legs: FloatArray,
    inter_leg_count: IntArray,
    out_initial: FloatArray,
    out_maintenance: FloatArray,
    out_equity: FloatArray,
    out_worst: IntArray,
) -> None:  # pragma: no cover - compiled
    """SPAN margin of each request (see :func:`crossmargin.engine.kernels_pm.pm_kernel` for the
    requests, ``state`` and the outputs). Contract months are contiguous runs of a sorted row."""
    units = scenario_count.shape[0]
    width = pnl.shape[1]
    months = month_tier.shape[1]
    acc = np.zeros((units, width))
    counted = np.zeros((units, width))
    factor_weight = np.zeros(factor_rows.shape[0])
    row_ids = np.zeros(pnl.shape[0] + 1, dtype=np.int64)
    row_sizes = np.zeros(pnl.shape[0] + 1)
    held = np.zeros(units, dtype=np.bool_)
    visited = np.zeros(units, dtype=np.bool_)
    worst_k = np.zeros(units, dtype=np.int64)
    scan_u = np.zeros(units)
    intra_u = np.zeros(units)
    net_u = np.zeros(units)
    wpr_u = np.zeros(units)
    credit_u = np.zeros(units)
    minimum_u = np.zeros(units)
    remaining = np.zeros(units)
    month_ids = np.zeros(months, dtype=np.int64)
    month_deltas = np.zeros(months)
    has_trades = request_instrument.shape[0] > 0
    use_state = request_slot.shape[0] > 0
    ratio = model_float[M_IM_TO_MM]
    for t in range(request_account.shape[0]):
        a = request_account[t]
        extra_i = request_instrument[t] if has_trades else -1
        extra_size = request_size[t] if has_trades else 0.0
        extra_u = instrument_int[extra_i, I_UNDERLYING] if extra_i >= 0 else -1
        slot = request_slot[t] if use_state else -1
        build = not (use_state and state_epoch[slot] == epoch)
        for u in range(units):
            held[u] = False
            visited[u] = False
        j = row_start[a]
        stop = j + row_len[a]
        pending = extra_i >= 0
        value = 0.0
        current = -1
        rows = 0
        positions = 0
        short_calls = 0.0
        short_puts = 0.0
        listed = 0
        month = -1
        month_delta = 0.0
        month_held = False
        while True:
            # ---- next position of the row merged with the trade (i = -1 ends the stream)
            if j < stop and (not pending or cols[j] <= extra_i):
                i = int(cols[j])
                original = sizes[j]
                size = original
                j += 1
                if pending and i == extra_i:
                    size = original + extra_size
                    pending = False
            elif pending:
                i = extra_i
                original = 0.0
                size = extra_size
                pending = False
            else:
                i = -1
                original = 0.0
                size = 0.0
            u = instrument_int[i, I_UNDERLYING] if i >= 0 else -1
            m = instrument_int[i, I_MONTH] if i >= 0 else -1
            # ---- close the running contract month
            if m != month or u != current:
                if month_held:
                    month_ids[listed] = month
                    month_deltas[listed] = month_delta
                    listed += 1
                month = m
                month_delta = 0.0
                month_held = False
            if u != current or i < 0:
                # ---- finish the previous commodity
                if current >= 0:
                    if build:
                        # whole rows two at a time: one load and store of acc per pair
                        for q in range(0, rows - 1, 2):
                            first_row = row_ids[q]
                            second_row = row_ids[q + 1]
                            first_size = row_sizes[q]
                            second_size = row_sizes[q + 1]
                            for k in range(width):
                                acc[current, k] += (
                                    first_size * pnl[first_row, k]
                                    + second_size * pnl[second_row, k]
                                )
                        if rows % 2 == 1:
                            last_row = row_ids[rows - 1]
                            last_size = row_sizes[rows - 1]
                            for k in range(width):
                                acc[current, k] += last_size * pnl[last_row, k]
                        for f in range(factor_start[current], factor_start[current + 1]):
                            weight = factor_weight[f]
                            if weight != 0.0:
                                for k in range(width):
                                    acc[current, k] += weight * factor_rows[f, k]
                                factor_weight[f] = 0.0
                        if use_state:
                            for k in range(width):
                                state[slot, current, k] = acc[current, k]
                    if current == extra_u and extra_size != 0.0:
                        first = instrument_int[extra_i, I_FACTOR1]
                        if first < 0:
                            for k in range(width):
                                acc[current, k] += extra_size * pnl[extra_i, k]
                        else:
                            weight = extra_size * instrument_float[extra_i, F_COEF1]
                            for k in range(width):
                                acc[current, k] += weight * factor_rows[first, k]
                            second = instrument_int[extra_i, I_FACTOR2]
                            if second >= 0:
                                weight = extra_size * instrument_float[extra_i, F_COEF2]
                                for k in range(width):
                                    acc[current, k] += weight * factor_rows[second, k]
                    if positions > 0:
                        held[current] = True
                        count = scenario_count[current]
                        for k in range(count):
                            weighted = weights[current, k] * acc[current, k]
                            shrunk = max(abs(weighted) - dampeners[current, k], 0.0)
                            counted[current, k] = math.copysign(shrunk, weighted) + 0.0
                        # the minimum over four independent chains (min is exact in any order),
                        # then its first index: the first worst scenario, as np.argmin
                        low0 = low1 = low2 = low3 = np.inf
                        for k in range(0, count - 3, 4):
                            low0 = min(low0, counted[current, k])
                            low1 = min(low1, counted[current, k + 1])
                            low2 = min(low2, counted[current, k + 2])
                            low3 = min(low3, counted[current, k + 3])
                        for k in range(count - count % 4, count):
                            low0 = min(low0, counted[current, k])
                        best = min(min(low0, low1), min(low2, low3))
                        worst = 0
                        while counted[current, worst] != best:
                            worst += 1
                        worst_k[current] = worst
                        scan_u[current] = max(0.0, -best)
                        net = 0.0
                        for n in range(listed):
                            net += month_deltas[n]
                        net_u[current] = net
                        wpr = 0.0
                        if abs(net) > _DELTA_EPSILON:
                            active = -counted[current, worst]
                            paired = -counted[current, _PAIRED[worst]]
                            time_risk = (-counted[current, 0] + -counted[current, 1]) / 2.0
                            raw = (active + paired) / 2.0 - time_risk
                            wpr = min(max(raw, 0.0), max(active, 0.0)) / abs(net)
                        wpr_u[current] = wpr
                        intra = 0.0
                        for r in range(intra_count[current]):
                            tier_a = intra_spreads[current, r, 0]
                            tier_b = intra_spreads[current, r, 1]
                            rate = intra_spreads[current, r, 2]
                            for p in range(listed):
                                first_tier = month_tier[current, month_ids[p]]
                                if first_tier != tier_a and first_tier != tier_b:
                                    continue
                                for q in range(p + 1, listed):
                                    second_tier = month_tier[current, month_ids[q]]
                                    if not (
                                        (first_tier == tier_a and second_tier == tier_b)
                                        or (first_tier == tier_b and second_tier == tier_a)
                                    ):
                                        continue
                                    delta_a = month_deltas[p]
                                    delta_b = month_deltas[q]
                                    if delta_a * delta_b >= 0.0:
                                        continue
                                    spread = min(abs(delta_a), abs(delta_b))
                                    month_deltas[p] = delta_a - np.sign(delta_a) * spread
                                    month_deltas[q] = delta_b - np.sign(delta_b) * spread
                                    intra += spread * rate
                        intra_u[current] = intra
                        minimum_u[current] = underlying_float[current, U_SHORT_MINIMUM] * max(
                            short_calls, short_puts, 0.0
                        )
                if i < 0:
                    break
                # ---- start the next commodity
                current = u
                visited[u] = True
                rows = 0
                positions = 0
                short_calls = 0.0
                short_puts = 0.0
                listed = 0
                if build:
                    for k in range(width):
                        acc[u, k] = 0.0
                else:
                    for k in range(width):
                        acc[u, k] = state[slot, u, k]
            # ---- the position itself
            if original != 0.0:
                value += original * instrument_float[i, F_VALUE]
                if build:
                    first = instrument_int[i, I_FACTOR1]
                    if first < 0:
                        row_ids[rows] = i
                        row_sizes[rows] = original
                        rows += 1
                    else:
                        factor_weight[first] += original * instrument_float[i, F_COEF1]
                        second = instrument_int[i, I_FACTOR2]
                        if second >= 0:
                            factor_weight[second] += original * instrument_float[i, F_COEF2]
            if size == 0.0:
                continue
            positions += 1
            month_delta += instrument_float[i, F_DELTA] * size * underlying_float[u, U_INDEX]
            month_held = True
            if instrument_int[i, I_IS_OPTION] == 1:
                short = min(size, 0.0)
                call = instrument_int[i, I_IS_CALL]
                short_calls -= short * call
                short_puts -= short * (1 - call)
        if build and use_state:
            for u in range(units):
                if not visited[u]:
                    for k in range(width):
                        state[slot, u, k] = 0.0
            state_epoch[slot] = epoch
        # ---- inter-commodity credits, in priority order
        for u in range(units):
            remaining[u] = net_u[u]
            credit_u[u] = 0.0
        for s in range(inter_rate.shape[0]):
            legs = inter_leg_count[s]
            usable = True
            for leg in range(legs):
                u = int(inter_legs[s, leg, 0])
                if u < 0 or not held[u]:
                    usable = False
            if not usable:
                continue
            orientation = np.sign(remaining[int(inter_legs[s, 0, 0])]) * inter_legs[s, 0, 2]
            if orientation == 0.0:
                continue
            for leg in range(legs):
                u = int(inter_legs[s, leg, 0])
                wanted = orientation * inter_legs[s, leg, 2]
                if np.sign(remaining[u]) != wanted or abs(remaining[u]) <= _DELTA_EPSILON:
                    usable = False
            if not usable:
                continue
            spreads = np.inf
            for leg in range(legs):
                u = int(inter_legs[s, leg, 0])
                spreads = min(spreads, abs(remaining[u]) / inter_legs[s, leg, 1])
            for leg in range(legs):
                u = int(inter_legs[s, leg, 0])
                used = spreads * inter_legs[s, leg, 1]
                credit_u[u] += inter_rate[s] * used * wpr_u[u]
                remaining[u] -= orientation * inter_legs[s, leg, 2] * used
        # ---- totals and the worst scenario
        initial = 0.0
        largest = -1.0
        worst_global = -1
        for u in range(units):
            if not held[u]:
                continue
            scan = scan_u[u]
            credit = min(credit_u[u], scan + intra_u[u])
            before = scan + intra_u[u] - credit
            initial += before + max(0.0, minimum_u[u] - before)
            if scan > largest:
                largest = scan
                worst_global = scenario_offset[u] + worst_k[u]
        out_initial[t] = initial
        out_maintenance[t] = initial / ratio
        out_equity[t] = collateral[a] + value
        out_worst[t] = worst_global
