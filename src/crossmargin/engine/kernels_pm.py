"""Fused numba kernel of Deribit's cross-collateral portfolio margin (``pm``) over many accounts.

Per request (an account, optionally with one hypothetical trade), in one pass over the account's
positions and without an accounts × scenarios matrix:

1. the raw USD scenario P&L of each risk vector (pair, currency): an option adds size × its P&L
   row, a delta-one contract or a collateral balance (a balance column) adds size × coefficient
   to its vector's weight on the underlying's price-move shape, expanded once per vector (see
   :mod:`crossmargin.engine.tables`); or the vectors stored for the account (rebuilt and stored
   when stale); then the trade's row;
2. per vector the net coin delta, and per roll bucket (contiguous in the engine's order,
   :func:`crossmargin.engine.layout.netting_order_key`) its net coin, so roll shocks accumulate
   in registers;
3. each held vector counted (weights, USD dampeners) and expressed in its currency at the
   scenario price, summed at the current price into the full and the offset aggregate
   (:mod:`crossmargin.margin.pm.charges`); worst case, correlation contingency, roll and delta
   shocks; IM, MM = mm_factor × IM, and the worst scenario (the offset aggregate's first minimum,
   on the pair that loses most there).

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
    F_DELTA,
    F_NEGATIVE_COEF,
    F_ROLL_RATE,
    F_VALUE,
    I_BUCKET,
    I_FACTOR1,
    I_IS_BALANCE,
    I_VECTOR,
    M_MM_FACTOR,
    U_INCREMENT,
    U_INDEX,
    U_MAX_SHOCK,
    U_THRESHOLD,
    V_CAP_COIN,
    V_OFFSET,
    V_PRICE,
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
    scenario_count: IntArray,
    scenario_offset: IntArray,
    weights: FloatArray,
    underlying_float: FloatArray,
    model_float: FloatArray,
    vector_underlying: IntArray,
    vector_float: FloatArray,
    vector_conversion: FloatArray,
    vector_dampeners: FloatArray,
    out_initial: FloatArray,
    out_maintenance: FloatArray,
    out_equity: FloatArray,
    out_worst: IntArray,
) -> None:  # pragma: no cover - compiled
    """Portfolio margin of each request t: account ``request_account[t]`` with
    ``request_size[t]`` more of instrument ``request_instrument[t]`` (engine order; empty request
    arrays: no trades). Results go to ``out_*[t]``: IM, MM (USD), equity (USD, before the trade:
    a trade at the mark leaves it unchanged), global worst scenario (-1 without risk).

    With ``request_slot`` (empty: none), ``state[request_slot[t]]`` (n_v, width) is the account's
    raw USD vectors (positions and balances), valid when ``state_epoch[slot] == epoch``; a stale
    one is rebuilt and stored.
    """
    vectors = vector_underlying.shape[0]
    units = scenario_count.shape[0]
    width = pnl.shape[1]
    acc = np.zeros((vectors, width))
    coin = np.zeros((vectors, width))
    full = np.zeros(width)
    offset_total = np.zeros(width)
    factor_weight = np.zeros(vectors)
    factor_of = np.zeros(vectors, dtype=np.int64)
    delta = np.zeros(vectors)
    roll = np.zeros(vectors)
    held = np.zeros(vectors, dtype=np.bool_)
    pair_loss = np.zeros(units)
    pair_seen = np.zeros(units, dtype=np.bool_)
    has_trades = request_instrument.shape[0] > 0
    use_state = request_slot.shape[0] > 0
    mm_factor = model_float[M_MM_FACTOR]
    for t in range(request_account.shape[0]):
        a = request_account[t]
        extra_i = request_instrument[t] if has_trades else -1
        extra_size = request_size[t] if has_trades else 0.0
        slot = request_slot[t] if use_state else -1
        build = not (use_state and state_epoch[slot] == epoch)
        for v in range(vectors):
            factor_weight[v] = 0.0
            delta[v] = 0.0
            roll[v] = 0.0
            held[v] = False
            if build:
                for k in range(width):
                    acc[v, k] = 0.0
            else:
                for k in range(width):
                    acc[v, k] = state[slot, v, k]
        j = row_start[a]
        stop = j + row_len[a]
        pending = extra_i >= 0
        value = 0.0
        bucket = -1
        bucket_net = 0.0
        bucket_rate = 0.0
        bucket_vector = 0
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
            b = instrument_int[i, I_BUCKET] if i >= 0 else -1
            # ---- close the running roll bucket
            if b != bucket:
                if bucket >= 0:
                    index = underlying_float[vector_underlying[bucket_vector], U_INDEX]
                    roll[bucket_vector] += bucket_rate * abs(bucket_net) * index
                bucket = b
                bucket_net = 0.0
                if b >= 0:
                    bucket_rate = instrument_float[i, F_ROLL_RATE]
                    bucket_vector = instrument_int[i, I_VECTOR]
            if i < 0:
                break
            v = instrument_int[i, I_VECTOR]
            balance = instrument_int[i, I_IS_BALANCE] == 1
            if original != 0.0:
                value += original * instrument_float[i, F_VALUE]
                if build:
                    first = instrument_int[i, I_FACTOR1]
                    if first < 0:
                        for k in range(width):
                            acc[v, k] += original * pnl[i, k]
                    else:
                        coefficient = instrument_float[i, F_COEF1]
                        if balance and original < 0.0:
                            coefficient = instrument_float[i, F_NEGATIVE_COEF]
                        factor_weight[v] += original * coefficient
                        factor_of[v] = first
            if size == 0.0:
                continue
            if balance:
                if instrument_float[i, F_COEF1] != 0.0:
                    held[v] = True
                continue
            held[v] = True
            delta[v] += instrument_float[i, F_DELTA] * size
            if b >= 0:
                bucket_net += size * instrument_float[i, F_BUCKET_COIN]
        if build:
            for v in range(vectors):
                weight = factor_weight[v]
                if weight != 0.0:
                    f = factor_of[v]
                    for k in range(width):
                        acc[v, k] += weight * factor_rows[f, k]
            if use_state:
                for v in range(vectors):
                    for k in range(width):
                        state[slot, v, k] = acc[v, k]
                state_epoch[slot] = epoch
        if extra_i >= 0 and extra_size != 0.0:
            v = instrument_int[extra_i, I_VECTOR]
            first = instrument_int[extra_i, I_FACTOR1]
            if first < 0:
                for k in range(width):
                    acc[v, k] += extra_size * pnl[extra_i, k]
            else:
                weight = extra_size * instrument_float[extra_i, F_COEF1]
                for k in range(width):
                    acc[v, k] += weight * factor_rows[first, k]
        # ---- count, convert and aggregate the held vectors
        count = 0
        other = 0.0
        for k in range(width):
            full[k] = 0.0
            offset_total[k] = 0.0
        for v in range(vectors):
            if not held[v]:
                continue
            u = vector_underlying[v]
            count = scenario_count[u]
            price = vector_float[v, V_PRICE]
            gain_offset = vector_float[v, V_OFFSET]
            cap = vector_float[v, V_CAP_COIN]
            for k in range(count):
                weighted = weights[u, k] * acc[v, k]
                shrunk = max(abs(weighted) - vector_dampeners[v, k], 0.0)
                x = (math.copysign(shrunk, weighted) + 0.0) * vector_conversion[v, k]
                coin[v, k] = x
                full[k] += price * x
                offset_total[k] += price * (min(x, 0.0) + min(gain_offset * max(x, 0.0), cap))
            index = underlying_float[u, U_INDEX]
            exposure = abs(delta[v])
            excess = exposure - underlying_float[u, U_THRESHOLD] / index
            if excess < 0.0:
                excess = 0.0
            move = min(underlying_float[u, U_MAX_SHOCK], underlying_float[u, U_INCREMENT] * excess)
            other += roll[v] + exposure * index * move
        if count == 0:
            out_initial[t] = other
            out_maintenance[t] = mm_factor * other
            out_equity[t] = collateral[a] + value
            out_worst[t] = -1
            continue
        lowest_full = np.inf
        lowest = np.inf
        worst = 0
        for k in range(count):
            lowest_full = min(lowest_full, full[k])
            if offset_total[k] < lowest:
                lowest = offset_total[k]
                worst = k
        worst_case = max(0.0, -lowest_full) + 0.0
        correlation = max(max(0.0, -lowest) - worst_case, 0.0) + 0.0
        # ---- the pair that loses most in the worst scenario (first on ties)
        for u in range(units):
            pair_loss[u] = 0.0
            pair_seen[u] = False
        for v in range(vectors):
            if held[v]:
                u = vector_underlying[v]
                x = coin[v, worst]
                gain = min(vector_float[v, V_OFFSET] * max(x, 0.0), vector_float[v, V_CAP_COIN])
                pair_loss[u] += vector_float[v, V_PRICE] * (min(x, 0.0) + gain)
                pair_seen[u] = True
        chosen = -1
        for u in range(units):
            if pair_seen[u] and (chosen < 0 or pair_loss[u] < pair_loss[chosen]):
                chosen = u
        initial = worst_case + correlation + other
        out_initial[t] = initial
        out_maintenance[t] = mm_factor * initial
        out_equity[t] = collateral[a] + value
        out_worst[t] = scenario_offset[chosen] + worst
