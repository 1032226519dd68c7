"""One account's roll and delta shocks per risk vector, and their allocation to positions.

The amounts come from the accounts-axis rules of :mod:`crossmargin.margin.pm.charges` (one account
here); this module adds what only a single account's result needs: netting a vector's futures into
roll buckets (:mod:`crossmargin.margin.pm.netting`) and sharing each charge out among the
positions that cause it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossmargin.margin.pm.charges import delta_shock_charge_usd, roll_shock_rate
from crossmargin.margin.pm.netting import netting_ids, roll_bucket_key
from crossmargin.margin.pm.parameters import PortfolioMarginParameters
from crossmargin.margin.pm.vectors import RiskVector
from crossmargin.pricing import InstrumentArrays, delta_one_coin_per_unit, unit_greeks_usd

__all__ = ["delta_shock", "index_of", "roll_buckets", "roll_shock"]

FloatArray = NDArray[np.float64]


def index_of(arrays: InstrumentArrays, underlying: str) -> float:
    """Index price of ``underlying`` in USD (that of its first instrument in ``arrays``; 0 when
    it has none)."""
    own = np.flatnonzero(arrays.underlying == underlying)
    return float(arrays.index_usd[own[0]]) if own.size else 0.0


def roll_buckets(arrays: InstrumentArrays) -> NDArray[np.int64]:
    """Bucket id per instrument for the roll shock: futures and perpetuals sharing (pair,
    currency, expiry) share an id (the perpetual is the bucket of no expiry); -1 otherwise."""
    return netting_ids(arrays.instruments, roll_bucket_key)[0]


def roll_shock(
    arrays: InstrumentArrays,
    sizes: FloatArray,
    vector: RiskVector,
    parameters: PortfolioMarginParameters,
) -> tuple[float, FloatArray]:
    """Roll shock of ``vector`` in USD, and its allocation per position.

    Per bucket b (:func:`roll_buckets`) with net coin n_b (inverse face / F, linear size) and
    time to expiry T_b: max(annualised_move_risk·T_b, min_annualised_move)·|n_b|·S, the
    parameters of the vector's currency. A bucket's charge goes to its positions by coin (a
    position against the bucket's net gets a negative share)."""
    buckets = np.where(vector.members, roll_buckets(arrays), -1)
    allocation = np.zeros(sizes.shape[0])
    held = buckets >= 0
    if not np.any(held):
        return 0.0, allocation
    currency = parameters.for_currency(vector.currency)
    coin = sizes * delta_one_coin_per_unit(arrays)
    count = int(buckets.max()) + 1
    net = np.bincount(buckets[held], weights=coin[held], minlength=count)
    t_years = np.zeros(count)
    t_years[buckets[held]] = arrays.t_years[held]
    rate = roll_shock_rate(t_years, currency.annualised_move_risk, currency.min_annualised_move)
    index = index_of(arrays, vector.pair)
    charges = rate * np.abs(net) * index
    with np.errstate(divide="ignore", invalid="ignore"):
        per_coin = np.where(net != 0.0, charges / net, 0.0)
    allocation = np.where(held, per_coin[np.maximum(buckets, 0)] * coin, 0.0)
    return float(charges.sum()), allocation


def delta_shock(
    arrays: InstrumentArrays,
    sizes: FloatArray,
    vector: RiskVector,
    parameters: PortfolioMarginParameters,
) -> tuple[float, FloatArray]:
    """Delta shock of ``vector``'s positions in USD (:func:`delta_shock_charge_usd` on their net
    coin delta δ, the pair's parameters) and its allocation by delta."""
    delta = np.where(vector.members, unit_greeks_usd(arrays)["delta"] * sizes, 0.0)
    net = float(delta.sum())
    p = parameters.for_pair(vector.pair)
    shock = float(
        delta_shock_charge_usd(
            net,
            index_of(arrays, vector.pair),
            p.delta_shock_threshold_usd,
            p.max_delta_shock,
            p.delta_shock_increment_per_coin,
        )
    )
    if shock <= 0.0:
        return 0.0, np.zeros(sizes.shape[0])
    return shock, shock * delta / net
