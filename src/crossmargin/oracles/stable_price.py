"""A growth-limited "stable price" for valuing collateral and liabilities.

An oracle that follows a thin, manipulated market faithfully (Mango Markets, 11 Oct 2022: MNGO from
$0.038 to $0.91 in minutes on the few venues that traded it; shared/reference/venues.md) lets an
attacker borrow against the spike. Mango v4 answered with a stable price that follows the oracle
only at a limited relative rate (``stable_growth_limit``; mango-v4 ``state/stable_price.rs``) and
values assets at ``min(oracle, stable)`` and liabilities at ``max(oracle, stable)``. This module
writes that idea once, as a pure function over arrays: the stable price moves towards the oracle by
at most the factor ``exp(±max_growth_per_s × Δt)`` per step. The rate is our parameter, not Mango's
figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.checks import check_positive
from crossmargin.core.errors import InputError

__all__ = ["StablePriceParams", "asset_price", "liability_price", "stable_price_path"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StablePriceParams:
    """``max_growth_per_s``: largest relative move of the stable price per second (continuously
    compounded; 1e-4 lets it move at most ×e^0.36 ≈ ×1.43 in an hour)."""

    max_growth_per_s: float

    def __post_init__(self) -> None:
        check_positive(self.max_growth_per_s, "stable_price.max_growth_per_s")


def stable_price_path(
    times_s: FloatArray, oracle_usd: FloatArray, params: StablePriceParams
) -> FloatArray:
    """Stable price after each oracle update (USD per unit), starting at the first oracle price.

    Each step moves the stable price towards the oracle, by at most
    ``exp(max_growth_per_s × Δt)`` up or its inverse down.
    """
    times = np.asarray(times_s, dtype=np.float64)
    prices = np.asarray(oracle_usd, dtype=np.float64)
    if prices.shape != times.shape or prices.ndim != 1:
        raise InputError("oracle_usd", prices.shape, f"must match times_s {times.shape}")
    if prices.size and not bool(np.all(np.isfinite(prices) & (prices > 0))):
        raise InputError("oracle_usd", "non-positive or NaN", "every price must be finite and > 0")
    steps = np.diff(times, prepend=times[0] if times.size else 0.0)
    if bool(np.any(steps < 0)):
        raise InputError("times_s", "decreasing", "must be non-decreasing")
    stable = np.empty_like(prices)
    if prices.size == 0:
        return stable
    state = prices[0]
    for k in range(prices.size):
        limit = float(np.exp(params.max_growth_per_s * steps[k]))
        state = float(np.clip(prices[k], state / limit, state * limit))
        stable[k] = state
    return stable


def asset_price(oracle_usd: FloatArray, stable_usd: FloatArray) -> FloatArray:
    """Price to value a holding at: the lower of oracle and stable price."""
    return np.minimum(np.asarray(oracle_usd, dtype=np.float64), stable_usd)


def liability_price(oracle_usd: FloatArray, stable_usd: FloatArray) -> FloatArray:
    """Price to value a debt at: the higher of oracle and stable price."""
    return np.maximum(np.asarray(oracle_usd, dtype=np.float64), stable_usd)
