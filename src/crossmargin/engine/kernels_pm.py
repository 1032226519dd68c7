"""Fused numba kernel of the portfolio margin model (``pm``) over many accounts.

Per request (an account, optionally with one hypothetical trade), in one pass over the account's
positions and without an accounts × scenarios matrix:

1. the scenario P&L vector of each underlying: an option adds size × its P&L row, a delta-one
   contract adds size × coefficient to one or two factor weights of its underlying, expanded once
   per underlying (see :mod:`crossmargin.engine.tables`); or the vector stored for the account
   (rebuilt and stored when stale); then the trade's row;
2. the contingency inputs of :mod:`crossmargin.margin.pm.model`: net delta, net size per
   (expiry, strike) group, coin per futures bucket, the long-option test and premium. The engine's
   instrument order makes each underlying, group and bucket a contiguous run of the sorted row
   (:func:`crossmargin.engine.layout.engine_order`), so the running nets live in registers;
3. counted P&L (weights, dampeners), its first minimum (scan risk), delta shock, short option and
   basis charges, the premium cap, the optional correlation credit; IM, MM = mm_factor × IM, and
   the worst scenario (that of the underlying with the largest scan risk, first on ties).

Everything is written out in one function on purpose: numba reference-counts every array passed
to a helper, and in a loop over positions that costs more than the arithmetic.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import (
    F_BUCKET_COIN,
    F_COEF1,
    F_COEF2,
    F_DELTA,
    F_VALUE,
    I_BUCKET,
    I_FACTOR1,
    I_FACTOR2,
    I_GROUP,
    I_IS_OPTION,
    I_UNDERLYING,
    M_MM_FACTOR,
    M_OFFSET,
    U_BASIS_RATE,
    U_INCREMENT,
    U_INDEX,
    U_MAX_SHOCK,
    U_SHORT_PER_COIN,
    U_THRESHOLD,
)

__all__ = ["pm_kernel"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pm_kernel(
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
    out_initial: FloatArray,
    out_maintenance: FloatArray,
    out_equity: FloatArray,
    out_worst: IntArray,
) -> None:  # pragma: no cover - compiled
    """Portfolio margin of each request t: account ``request_account[t]`` with
    ``request_size[t]`` more of instrument ``request_instrument[t]`` (engine order; empty request
    arrays: no trades). Results go to ``out_*[t]``: IM, MM (USD), equity (USD, before the trade:
    a trade at the mark leaves it unchanged), global worst scenario (-1 without positions).

    With ``request_slot`` (empty: none), ``state[request_slot[t]]`` (n_u, width) is the account's
    raw scenario P&L, valid when ``state_epoch[slot] == epoch``; a stale one is rebuilt from the
    positions and stored. Whole P&L rows are added two at a time (one pass over the accumulator
    per pair), so sums are in pair order: deterministic, within rounding of a sequential sum.
    """
    units = scenario_count.shape[0]
    width = pnl.shape[1]
    acc = np.zeros((units, width))
    counted = np.zeros((units, width))
    factor_weight = np.zeros(factor_rows.shape[0])
    row_ids = np.zeros(pnl.shape[0] + 1, dtype=np.int64)
    row_sizes = np.zeros(pnl.shape[0] + 1)
    held = np.zeros(units, dtype=np.bool_)
    visited = np.zeros(units, dtype=np.bool_)
    worst_k = np.zeros(units, dtype=np.int64)
    scan_u = np.zeros(units)
    other_u = np.zeros(units)
    credit_u = np.zeros(units)
    has_trades = request_instrument.shape[0] > 0
    use_state = request_slot.shape[0] > 0
    mm_factor = model_float[M_MM_FACTOR]
    offset = model_float[M_OFFSET]
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
        nonlong = 0
        premium = 0.0
        net_delta = 0.0
        short_net = 0.0
        longs = 0.0
        shorts = 0.0
        group = -1
        group_net = 0.0
        bucket = -1
        bucket_net = 0.0
        held_units = 0
        scan_total = 0.0
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
            g = instrument_int[i, I_GROUP] if i >= 0 else -1
            b = instrument_int[i, I_BUCKET] if i >= 0 else -1
            # ---- close the running strike group and futures bucket
            if g != group:
                short_net -= min(group_net, 0.0)
                group = g
                group_net = 0.0
            if b != bucket:
                longs += max(bucket_net, 0.0)
                shorts -= min(bucket_net, 0.0)
                bucket = b
                bucket_net = 0.0
            if u != current or i < 0:
                # ---- finish the previous underlying
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
                        held_units += 1
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
                        scan = max(0.0, -best)
                        index = underlying_float[current, U_INDEX]
                        exposure = abs(net_delta)
                        excess = exposure - underlying_float[current, U_THRESHOLD] / index
                        if excess < 0.0:
                            excess = 0.0
                        move = min(underlying_float[current, U_MAX_SHOCK],
                                   underlying_float[current, U_INCREMENT] * excess)  # fmt: skip
                        shock = exposure * index * move
                        short = underlying_float[current, U_SHORT_PER_COIN] * index * short_net
                        offsetting = min(longs, shorts)
                        basis = 0.0
                        if offsetting > 0.0:
                            basis = underlying_float[current, U_BASIS_RATE] * index * offsetting
                        if nonlong == 0:
                            total = scan + shock + short + basis
                            if total > premium:
                                factor = premium / total
                                scan *= factor
                                shock *= factor
                                short *= factor
                                basis *= factor
                        scan_u[current] = scan
                        other_u[current] = shock + short + basis
                        credit_u[current] = 0.0
                        scan_total += scan
                if i < 0:
                    break
                # ---- start the next underlying
                current = u
                visited[u] = True
                rows = 0
                positions = 0
                nonlong = 0
                premium = 0.0
                net_delta = 0.0
                short_net = 0.0
                longs = 0.0
                shorts = 0.0
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
            net_delta += instrument_float[i, F_DELTA] * size
            option = instrument_int[i, I_IS_OPTION]
            if option == 1:
                premium += instrument_float[i, F_VALUE] * size
            nonlong += (1 - option) | (size < 0.0)
            group_net += size if g >= 0 else 0.0
            if b >= 0:
                bucket_net += size * instrument_float[i, F_BUCKET_COIN]
        if build and use_state:
            for u in range(units):
                if not visited[u]:
                    for k in range(width):
                        state[slot, u, k] = 0.0
            state_epoch[slot] = epoch
        # ---- correlation credit across underlyings (off by default)
        if offset > 0.0 and held_units >= 2:
            count = 0
            for u in range(units):
                if held[u]:
                    count = scenario_count[u]
            lowest = np.inf
            for k in range(count):
                combined = 0.0
                for u in range(units):
                    if held[u]:
                        combined += min(counted[u, k], 0.0) + offset * max(counted[u, k], 0.0)
                lowest = min(lowest, combined)
            credit = scan_total - max(0.0, -lowest)
            if credit > 0.0:
                for u in range(units):
                    if held[u]:
                        scan = scan_u[u]
                        share = credit * scan / scan_total
                        keep = (scan - share) / scan if scan > 0.0 else 1.0
                        scan_u[u] = scan * keep
                        credit_u[u] = share
        # ---- totals and the worst scenario
        initial = 0.0
        largest = -1.0
        worst_global = -1
        for u in range(units):
            if held[u]:
                initial += scan_u[u] + other_u[u]
                if scan_u[u] + credit_u[u] > largest:
                    largest = scan_u[u] + credit_u[u]
                    worst_global = scenario_offset[u] + worst_k[u]
        out_initial[t] = initial
        out_maintenance[t] = mm_factor * initial
        out_equity[t] = collateral[a] + value
        out_worst[t] = worst_global
