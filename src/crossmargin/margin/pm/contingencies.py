"""One account's portfolio margin contingencies and their allocation to its positions.

The amounts come from the accounts-axis rules of :mod:`crossmargin.margin.pm.charges` (one account
here); this module adds what only a single account's result needs: netting its positions into
strike groups and futures buckets (:mod:`crossmargin.margin.pm.netting`) and sharing each charge
out among the positions that cause it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossmargin.margin.pm.charges import (
    basis_charge_usd,
    delta_shock_charge_usd,
    short_option_charge_usd,
)
from crossmargin.margin.pm.netting import basis_bucket_key, netting_ids, strike_group_key
from crossmargin.margin.pm.parameters import PmUnderlyingParameters
from crossmargin.pricing import InstrumentArrays, delta_one_coin_per_unit

__all__ = [
    "basis_charge",
    "delta_one_buckets",
    "delta_shock_usd",
    "index_of",
    "option_strike_groups",
    "short_option_charge",
]

FloatArray = NDArray[np.float64]


def delta_shock_usd(net_delta_coin: float, index_usd: float, p: PmUnderlyingParameters) -> float:
    """Liquidity delta shock in USD: |δ|·S·min(max_delta_shock, m_inc·max(|δ| − threshold/S, 0))
    for a net delta δ in coin at index S (0 while |δ|·S is under the threshold); one account of
    :func:`~crossmargin.margin.pm.charges.delta_shock_charge_usd`."""
    return float(
        delta_shock_charge_usd(
            net_delta_coin,
            index_usd,
            p.delta_shock_threshold_usd,
            p.max_delta_shock,
            p.delta_shock_increment_per_coin,
        )
    )


def option_strike_groups(arrays: InstrumentArrays) -> NDArray[np.int64]:
    """Group id per instrument for the short option charge: options sharing (underlying, expiry,
    strike) share an id (calls and puts, inverse and linear alike); -1 for non-options."""
    return netting_ids(arrays.instruments, strike_group_key)[0]


def delta_one_buckets(arrays: InstrumentArrays) -> NDArray[np.int64]:
    """Bucket id per instrument for the basis charge: futures and perpetuals sharing (underlying,
    expiry) share an id (the perpetual is the bucket of no expiry); -1 for options and spot."""
    return netting_ids(arrays.instruments, basis_bucket_key)[0]


def index_of(arrays: InstrumentArrays, underlying: str) -> float:
    """Index price of ``underlying`` in USD (that of its first instrument in ``arrays``; 0 when
    it has none)."""
    own = np.flatnonzero(arrays.underlying == underlying)
    return float(arrays.index_usd[own[0]]) if own.size else 0.0


def short_option_charge(
    arrays: InstrumentArrays, sizes: FloatArray, underlying: str, p: PmUnderlyingParameters
) -> tuple[float, FloatArray]:
    """Charge in USD on net short options per (expiry, strike) of ``underlying``, and its
    allocation per position (by size within the strike's net; longs there get a negative share).

    charge = short_option_charge_per_coin × S × Σ_strikes max(0, −Σ sizes), sizes in coin of
    underlying (calls and puts, inverse and linear, net within a strike; groups from
    :func:`option_strike_groups`)."""
    groups = np.where(arrays.underlying == underlying, option_strike_groups(arrays), -1)
    members = groups >= 0
    if not np.any(members):
        return 0.0, np.zeros(sizes.shape[0])
    net = np.bincount(groups[members], weights=sizes[members], minlength=int(groups.max()) + 1)
    index = index_of(arrays, underlying)
    charges = short_option_charge_usd(net, index, p.short_option_charge_per_coin)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(charges > 0.0, charges / net, 0.0)
    allocation = np.where(members, share[np.maximum(groups, 0)] * sizes, 0.0)
    return float(charges.sum()), allocation


def basis_charge(
    arrays: InstrumentArrays, sizes: FloatArray, underlying: str, p: PmUnderlyingParameters
) -> tuple[float, FloatArray]:
    """Charge in USD on offsetting futures across expiries of ``underlying`` and its allocation.

    Futures and perpetuals are netted per expiry (:func:`delta_one_buckets`; the perpetual is its
    own bucket) in coin (:func:`delta_one_coin_per_unit`: inverse face / F, linear size).
    charge = basis_charge_rate × S × min(Σ long nets, Σ short nets). Half of it goes to the long
    buckets, half to the short ones, each by notional."""
    buckets = np.where(arrays.underlying == underlying, delta_one_buckets(arrays), -1)
    members = buckets >= 0
    allocation = np.zeros(sizes.shape[0])
    if not np.any(members):
        return 0.0, allocation
    coin = sizes * delta_one_coin_per_unit(arrays)
    net = np.bincount(buckets[members], weights=coin[members], minlength=int(buckets.max()) + 1)
    longs = float(np.maximum(net, 0.0).sum())
    shorts = float(np.maximum(-net, 0.0).sum())
    charge = float(
        basis_charge_usd(longs, shorts, index_of(arrays, underlying), p.basis_charge_rate)
    )
    if charge <= 0.0:
        return 0.0, allocation
    side = net[np.maximum(buckets, 0)]
    allocation = np.where(members & (side > 0.0), 0.5 * charge * coin / longs, allocation)
    allocation = np.where(members & (side < 0.0), -0.5 * charge * coin / shorts, allocation)
    return charge, allocation
