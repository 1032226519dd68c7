"""Shock builders: price grids, term-structure vol shocks and skew reshapes of a smile.

Pure functions of their arguments that scenario-based models combine into a
:class:`~crossmargin.scenarios.ScenarioSet`.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import KindCode
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays

__all__ = [
    "SkewShape",
    "TermPowerRule",
    "expiry_reference_vols",
    "grid_price_moves",
    "skew_vol_shocks",
    "term_structure_vol_shocks",
]

FloatArray = NDArray[np.float64]


class TermPowerRule(StrEnum):
    """Which days to expiry pick the short-term power in :func:`term_structure_vol_shocks`."""

    #: Short-term power while the floored DTE is below the pivot (Deribit-style ``pm``).
    FLOORED_BELOW_PIVOT = "floored_below_pivot"
    #: Short-term power while the actual DTE is at most the pivot (Derive's PMRM).
    ACTUAL_UP_TO_PIVOT = "actual_up_to_pivot"


class SkewShape(StrEnum):
    """How a skew scenario reshapes a smile (see :func:`skew_vol_shocks`)."""

    #: Tilt: vols of strikes above the forward rise, below it fall (or the reverse, by sign).
    LINEAR = "linear"
    #: Wings: vols rise on both sides of the forward, with the distance from it.
    ABSOLUTE = "absolute"


def grid_price_moves(price_range: float, buckets_per_side: int) -> FloatArray:
    """Evenly spaced relative moves from ``-price_range`` to ``+price_range`` including 0:
    ``2·buckets_per_side + 1`` points (0.16 and 4 give −16 %, −12 %, …, +16 %)."""
    if not 0.0 < price_range < 1.0:
        raise InputError("price_range", price_range, "must lie in (0, 1)")
    if buckets_per_side < 1:
        raise InputError("buckets_per_side", buckets_per_side, "must be >= 1")
    steps = np.arange(-buckets_per_side, buckets_per_side + 1, dtype=np.float64)
    return np.asarray(steps * (price_range / buckets_per_side), dtype=np.float64)


def term_structure_vol_shocks(
    reference_vol: ArrayLike,
    t_years: ArrayLike,
    *,
    vol_range_up: float,
    vol_range_down: float,
    short_term_power: float,
    long_term_power: float,
    min_vol_for_shock_up: float,
    pivot_days: float = 30.0,
    min_days: float = 1.0,
    power_rule: TermPowerRule = TermPowerRule.FLOORED_BELOW_PIVOT,
) -> tuple[FloatArray, FloatArray]:
    """Additive vol shocks up and down that are stronger for short expiries.

    With DTE = max(365·t_years, min_days) and x = (pivot_days / DTE)^p, where p is
    ``short_term_power`` when DTE < pivot_days and ``long_term_power`` otherwise (with
    ``power_rule`` :attr:`TermPowerRule.ACTUAL_UP_TO_PIVOT`: when the actual, unfloored DTE is at
    most pivot_days; the two differ only at the pivot or when ``min_days`` exceeds it):

    * shocked-up vol   σ_up = max(σ·(1 + vol_range_up·x), min_vol_for_shock_up);
    * shocked-down vol σ_dn = σ·max(1 − vol_range_down·x, 0).

    Parameters
    ----------
    reference_vol:
        The vol σ the shock is scaled from (annual, ≥ 0), e.g. each expiry's at-the-money vol.
    t_years:
        Time to expiry in ACT/365 years (broadcast against ``reference_vol``).

    Returns
    -------
    (up, down):
        Additive shifts σ_up − σ (≥ 0) and σ_dn − σ (≤ 0), annual vol, broadcast shape.
    """
    sigma = np.asarray(reference_vol, dtype=np.float64)
    actual_days = np.asarray(t_years, dtype=np.float64) * 365.0
    days = np.maximum(actual_days, min_days)
    if TermPowerRule(power_rule) is TermPowerRule.ACTUAL_UP_TO_PIVOT:
        short = actual_days <= pivot_days
    else:
        short = days < pivot_days
    power = np.where(short, short_term_power, long_term_power)
    scale = (pivot_days / days) ** power
    up_vol = np.maximum(sigma * (1.0 + vol_range_up * scale), min_vol_for_shock_up)
    down_vol = sigma * np.maximum(1.0 - vol_range_down * scale, 0.0)
    return (
        np.asarray(up_vol - sigma, dtype=np.float64),
        np.asarray(down_vol - sigma, dtype=np.float64),
    )


def skew_vol_shocks(
    vol_annual: ArrayLike,
    log_moneyness: ArrayLike,
    *,
    cap: ArrayLike,
    width: ArrayLike,
    shape: SkewShape,
) -> FloatArray:
    """Additive vol shifts that reshape each smile by the distance of a strike from the forward.

    With k = ln(K/F) (``LINEAR``) or |ln(K/F)| (``ABSOLUTE``), the vol σ becomes σ·max(1 + x, 0)
    where x = min(cap, k·cap/width) for k ≥ 0 and x = max(−cap, k·cap/width) for k < 0: the
    multiplier moves linearly in k until it reaches ±cap at |k| = width, and a vol is never
    shocked below zero.

    Parameters
    ----------
    vol_annual:
        Each option's vol σ (annual, ≥ 0).
    log_moneyness:
        ln(strike / forward) of each option (broadcast against ``vol_annual``).
    cap, width:
        The largest relative change of a vol, and the |k| (> 0) at which it is reached; scalars
        or per-option arrays (e.g. per expiry).
    shape:
        :class:`SkewShape`.

    Returns
    -------
    Additive shifts σ·max(1 + x, 0) − σ (annual vol), broadcast shape.
    """
    sigma = np.asarray(vol_annual, dtype=np.float64)
    k = np.asarray(log_moneyness, dtype=np.float64)
    if SkewShape(shape) is SkewShape.ABSOLUTE:
        k = np.abs(k)
    cap_values = np.asarray(cap, dtype=np.float64)
    slope = k * cap_values / np.asarray(width, dtype=np.float64)
    tilt = np.where(k >= 0.0, np.minimum(cap_values, slope), np.maximum(-cap_values, slope))
    shocked = sigma * np.maximum(1.0 + tilt, 0.0)
    return np.asarray(shocked - sigma, dtype=np.float64)


def expiry_reference_vols(
    arrays: InstrumentArrays, market: MarketSnapshot, underlying: str
) -> FloatArray:
    """At-the-money vol of each option's expiry (the surface at strike = forward), for the
    options of ``underlying``; 0 for every other instrument. Options of one expiry share it, so a
    shock scaled from it shifts their whole smile in parallel."""
    reference = np.zeros(arrays.kind.shape[0])
    options = (arrays.kind == KindCode.OPTION) & (arrays.underlying == underlying)
    if np.any(options):
        forwards = arrays.forward_usd[options]
        reference[options] = market.vols(underlying, arrays.t_years[options], forwards, forwards)
    return reference
