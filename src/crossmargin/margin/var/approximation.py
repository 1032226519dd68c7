"""Fast delta-gamma-vega approximation of scenario P&L, and its error against full revaluation.

Per position and scenario, with dS = S·m the move of the underlying's index (USD) and dσ the
additive vol change:

    P&L ≈ size × (Δ·dS + ½·Γ·dS² + vega·dσ)

using the per-unit Greeks of :func:`~crossmargin.portfolio.unit_greeks_usd` (Δ in coin, Γ in 1/USD,
vega in USD per 1.00 of vol). Linear contracts are exact (Γ = 0, P&L linear in S); options carry a
Taylor remainder (third order in dS, cross dS·dσ and second order in dσ) that grows with the move.
:func:`approximation_error` measures that remainder in the tail measure the margin uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.margin.var.parameters import VarMeasure
from crossmargin.margin.var.tail import tail_measure
from crossmargin.pricing import InstrumentArrays, unit_greeks_usd

__all__ = ["ApproximationError", "approximation_error", "delta_gamma_vega_pnl"]

FloatArray = NDArray[np.float64]


def delta_gamma_vega_pnl(
    arrays: InstrumentArrays, sizes: ArrayLike, price_move: ArrayLike, vol_shift: ArrayLike
) -> FloatArray:
    """Second-order (delta-gamma) plus vega P&L of each position in each scenario.

    Parameters
    ----------
    arrays:
        One instrument per position.
    sizes:
        Native sizes (+ long), one per position.
    price_move:
        Relative moves of each instrument's underlying, (n_scenarios, n_instruments) or
        broadcastable (S' = S·(1 + m)).
    vol_shift:
        Additive vol change of each option (annual units), same shape rules.

    Returns
    -------
    (n_scenarios, n_positions) P&L in USD, positive = profit.
    """
    greeks = unit_greeks_usd(arrays)
    moves = np.asarray(price_move, dtype=np.float64)
    shifts = np.asarray(vol_shift, dtype=np.float64)
    move_usd = arrays.index_usd * moves
    per_unit = (
        greeks["delta"] * move_usd + 0.5 * greeks["gamma"] * move_usd**2 + greeks["vega"] * shifts
    )
    return np.asarray(
        np.atleast_2d(per_unit) * np.asarray(sizes, dtype=np.float64), dtype=np.float64
    )


@dataclass(frozen=True, slots=True)
class ApproximationError:
    """How far the approximation is from full revaluation.

    Attributes
    ----------
    full_risk_usd, approx_risk_usd:
        The tail measure (ES or VaR at ``confidence``) of the two portfolio P&L vectors, USD.
    risk_abs_error_usd:
        |approx − full| of the measure, USD.
    risk_rel_error:
        ``risk_abs_error_usd`` / |full measure| (0 when both are 0, inf when only full is 0).
    max_abs_pnl_error_usd:
        Largest |approx − full| portfolio P&L over the scenarios, USD.
    max_rel_pnl_error:
        ``max_abs_pnl_error_usd`` / largest |full| portfolio P&L (0 when both are 0).
    confidence, measure:
        The measure compared.
    """

    full_risk_usd: float
    approx_risk_usd: float
    risk_abs_error_usd: float
    risk_rel_error: float
    max_abs_pnl_error_usd: float
    max_rel_pnl_error: float
    confidence: float
    measure: VarMeasure


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return 0.0 if numerator == 0.0 else float("inf")
    return numerator / denominator


def _portfolio_pnl(pnl_usd: ArrayLike, field: str) -> FloatArray:
    values = np.asarray(pnl_usd, dtype=np.float64)
    if values.ndim == 2:
        values = values.sum(axis=1)
    if values.ndim != 1 or values.size == 0:
        raise InputError(field, values.shape, "must be a non-empty (n,) or (n, positions) array")
    return values


def approximation_error(
    full_pnl_usd: ArrayLike,
    approx_pnl_usd: ArrayLike,
    confidence: float = 0.99,
    measure: VarMeasure = VarMeasure.EXPECTED_SHORTFALL,
) -> ApproximationError:
    """Compare approximate scenario P&L with full revaluation.

    Parameters
    ----------
    full_pnl_usd, approx_pnl_usd:
        Portfolio P&L per scenario, (n,), or per scenario and position, (n, positions) (summed
        over positions), USD; the same scenarios in the same order.
    confidence, measure:
        Tail measure to compare (default the 99 % expected shortfall).
    """
    full = _portfolio_pnl(full_pnl_usd, "full_pnl_usd")
    approx = _portfolio_pnl(approx_pnl_usd, "approx_pnl_usd")
    if full.shape != approx.shape:
        raise InputError("approx_pnl_usd", approx.shape, f"must match full_pnl_usd {full.shape}")
    full_risk = tail_measure(full, confidence, measure)
    approx_risk = tail_measure(approx, confidence, measure)
    risk_error = abs(approx_risk - full_risk)
    max_error = float(np.max(np.abs(approx - full)))
    return ApproximationError(
        full_risk_usd=full_risk,
        approx_risk_usd=approx_risk,
        risk_abs_error_usd=risk_error,
        risk_rel_error=_ratio(risk_error, abs(full_risk)),
        max_abs_pnl_error_usd=max_error,
        max_rel_pnl_error=_ratio(max_error, float(np.max(np.abs(full)))),
        confidence=confidence,
        measure=measure,
    )
