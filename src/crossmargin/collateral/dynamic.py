"""Dynamic haircuts: base + volatility term + size term + stablecoin de-peg charge.

For one asset (arrays broadcast, so one call prices a whole history or a whole book)::

    h₁     = min(base + vol_multiplier × vol_annual, cap)           # volatility term
    w₁     = 1 − h₁                                                 # collateral weight
    w₂     = size_scaled(w₁, q = holding_usd / depth_usd)           # size term
    total  = min(1 − w₂ + depeg_charge, 1)                          # de-peg charge (stablecoins)

``vol_multiplier`` is a z-score times √(liquidation horizon / 365): 2.326 × √(2/365) ≈ 0.172 turns
an annual vol into the 99 % one-sided move over two days. Size scaling follows the two on-chain
venues (shared/reference/venues.md): ``SQRT`` the square-root-of-size shape of Drift v2
(``math/margin.rs``: asset weight ``min(base, 1.1 / (1 + √(10·size + 1)·imf))``), written here as
``min(w, (1 + f) / (1 + f·√(1 + q)))`` so that a zero holding keeps its weight; ``LINEAR`` Mango
v4's scaling beyond a threshold (``w × threshold / holding`` once the holding exceeds it), with the
threshold ``f × depth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.checks import check_fraction, check_non_negative
from crossmargin.core.errors import InputError

__all__ = [
    "DynamicHaircutParams",
    "HaircutBreakdown",
    "SizeScaling",
    "dynamic_haircut",
    "size_scaled_weight",
]

FloatArray = NDArray[np.float64]


class SizeScaling(StrEnum):
    """How the collateral weight falls as a holding grows relative to market depth."""

    NONE = "none"
    SQRT = "sqrt"
    LINEAR = "linear"


@dataclass(frozen=True, slots=True)
class DynamicHaircutParams:
    """One asset's dynamic haircut rule.

    Attributes
    ----------
    base:
        Haircut at zero volatility and size (0.02 = 2 %), in [0, 1).
    vol_multiplier:
        Haircut per unit of annual vol (≥ 0); 0 for a stablecoin.
    cap:
        Largest base + volatility haircut, in (0, 1].
    size_scaling:
        ``none``, ``sqrt`` (Drift-like) or ``linear`` (Mango-like).
    size_factor:
        ``sqrt``: the factor ``f`` (≥ 0); ``linear``: the threshold as a fraction of depth (> 0).
    """

    base: float
    vol_multiplier: float
    cap: float
    size_scaling: SizeScaling = SizeScaling.NONE
    size_factor: float = 0.0

    def __post_init__(self) -> None:
        check_fraction(self.base, "haircut.base", high_open=True)
        check_non_negative(self.vol_multiplier, "haircut.vol_multiplier")
        check_fraction(self.cap, "haircut.cap")
        if self.cap < self.base:
            raise InputError("haircut.cap", self.cap, f"must be >= base {self.base}")
        try:
            object.__setattr__(self, "size_scaling", SizeScaling(self.size_scaling))
        except ValueError:
            known = [s.value for s in SizeScaling]
            raise InputError("haircut.size_scaling", self.size_scaling, f"one of {known}") from None
        check_non_negative(self.size_factor, "haircut.size_factor")
        if self.size_scaling is SizeScaling.LINEAR and self.size_factor <= 0.0:
            raise InputError("haircut.size_factor", self.size_factor, "must be > 0 for linear")


@dataclass(frozen=True, slots=True)
class HaircutBreakdown:
    """A haircut and the terms it adds up from (fractions of the holding's USD value).

    ``base + volatility + size + depeg == total`` (each term after the caps that apply to it).
    """

    base: FloatArray
    volatility: FloatArray
    size: FloatArray
    depeg: FloatArray
    total: FloatArray


def size_scaled_weight(
    weight: ArrayLike,
    holding_usd: ArrayLike,
    depth_usd: ArrayLike,
    scaling: SizeScaling,
    factor: float,
) -> FloatArray:
    """Collateral weight after the size term.

    Parameters
    ----------
    weight:
        Weight before the size term (1 − haircut), in [0, 1].
    holding_usd, depth_usd:
        The holding's value and the market depth it is measured against, USD (depth > 0).
    scaling, factor:
        The rule and its factor (see :class:`DynamicHaircutParams`).

    Returns
    -------
    numpy.ndarray
        Weight in [0, weight]; non-increasing in ``holding_usd``.
    """
    base = np.asarray(weight, dtype=np.float64)
    holding = np.abs(np.asarray(holding_usd, dtype=np.float64))
    depth = np.asarray(depth_usd, dtype=np.float64)
    if bool(np.any(depth <= 0)) or not bool(np.all(np.isfinite(depth))):
        raise InputError("depth_usd", "non-positive", "market depth must be finite and > 0")
    ratio = holding / depth
    if scaling is SizeScaling.NONE:
        return np.asarray(np.broadcast_to(base, np.broadcast(base, ratio).shape), dtype=np.float64)
    if scaling is SizeScaling.SQRT:
        scaled = (1.0 + factor) / (1.0 + factor * np.sqrt(1.0 + ratio))
        return np.asarray(np.minimum(base, scaled), dtype=np.float64)
    scale = np.where(ratio > factor, factor / np.maximum(ratio, factor), 1.0)
    return np.asarray(base * scale, dtype=np.float64)


def dynamic_haircut(
    params: DynamicHaircutParams,
    vol_annual: ArrayLike,
    holding_usd: ArrayLike = 0.0,
    depth_usd: ArrayLike = 1.0,
    depeg_charge: ArrayLike = 0.0,
) -> HaircutBreakdown:
    """Haircut of a holding, term by term (arrays broadcast against each other).

    Parameters
    ----------
    params:
        The asset's rule.
    vol_annual:
        Volatility, annual fraction (DVOL / 100, or an EWMA realised vol); ≥ 0.
    holding_usd, depth_usd:
        Holding value and market depth, USD (the size term's ratio).
    depeg_charge:
        Stablecoin de-peg charge (:func:`~crossmargin.collateral.depeg.depeg_charge_path`), ≥ 0.

    Returns
    -------
    HaircutBreakdown
        Terms and the total haircut, each a fraction in [0, 1]; value counted = value × (1 − total).
    """
    vol = np.asarray(vol_annual, dtype=np.float64)
    if bool(np.any(~np.isfinite(vol) | (vol < 0))):
        raise InputError("vol_annual", "NaN or negative", "must be finite and >= 0")
    charge = np.asarray(depeg_charge, dtype=np.float64)
    if bool(np.any(~np.isfinite(charge) | (charge < 0))):
        raise InputError("depeg_charge", "NaN or negative", "must be finite and >= 0")
    first = np.minimum(params.base + params.vol_multiplier * vol, params.cap)
    weight = size_scaled_weight(
        1.0 - first, holding_usd, depth_usd, params.size_scaling, params.size_factor
    )
    before_depeg = 1.0 - weight
    total = np.minimum(before_depeg + charge, 1.0)
    shape = np.broadcast(first, weight, charge).shape
    base = np.broadcast_to(np.minimum(params.base, first), shape).astype(np.float64)
    volatility = np.broadcast_to(first, shape) - base
    size = np.broadcast_to(before_depeg - first, shape).astype(np.float64)
    depeg = np.broadcast_to(total - before_depeg, shape).astype(np.float64)
    return HaircutBreakdown(
        base, volatility, size, depeg, np.broadcast_to(total, shape).astype(np.float64)
    )
