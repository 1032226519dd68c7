"""SPAN risk arrays from our own pricing: 16 CME scenarios per instrument.

Every loss is a full revaluation through :func:`~crossmargin.portfolio.unit_values_usd`, the one
definition of what +1 native unit of an instrument is worth; nothing is approximated by Greeks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.margin.span.arithmetic import VOL_DIRECTIONS, price_fractions, scenario_weights
from crossmargin.pricing import InstrumentArrays, unit_values_usd

__all__ = ["risk_arrays_usd", "scenario_moves"]

FloatArray = NDArray[np.float64]

_DAYS_PER_YEAR = 365.0


def scenario_moves(
    price_scan_range: ArrayLike, vol_scan_range: ArrayLike, extreme_multiple: float = 2.0
) -> tuple[FloatArray, FloatArray]:
    """Relative price moves and additive vol shifts of the 16 scenarios.

    Parameters
    ----------
    price_scan_range:
        Fraction of the underlying (scalar or (n,) per instrument); S' = S·(1 + move).
    vol_scan_range:
        Additive vol points (scalar or (n,)).
    extreme_multiple:
        Price move of scenarios 15–16 in scan ranges.

    Returns
    -------
    ``(price_moves, vol_shifts)``, each (16,) or (16, n) in CME scenario order.
    """
    price_range = np.asarray(price_scan_range, dtype=np.float64)
    vol_range = np.asarray(vol_scan_range, dtype=np.float64)
    fractions = price_fractions(extreme_multiple)
    directions = np.asarray(VOL_DIRECTIONS, dtype=np.float64)
    if price_range.ndim:
        fractions = fractions[:, None]
    if vol_range.ndim:
        directions = directions[:, None]
    moves = fractions * price_range
    if np.any(moves <= -1.0):
        raise InputError(
            "price_scan_range",
            float(np.max(price_range)),
            f"× {extreme_multiple} must stay below 1 so prices stay positive",
        )
    return np.asarray(moves, dtype=np.float64), np.asarray(directions * vol_range, dtype=np.float64)


def risk_arrays_usd(
    arrays: InstrumentArrays,
    price_scan_range: ArrayLike,
    vol_scan_range: ArrayLike,
    extreme_multiple: float = 2.0,
    cover_fraction: float = 0.35,
    look_ahead_days: float = 0.0,
) -> FloatArray:
    """CME-convention risk arrays of +1 native unit of each instrument, USD.

    Returns an (n, 16) array: loss (positive) = value now − value in the scenario, with
    ``look_ahead_days`` of calendar time passing in every scenario; scenarios 15–16 are multiplied
    by ``cover_fraction``. A short position's losses are the array times its negative size.
    """
    count = arrays.kind.shape[0]
    price_range = np.broadcast_to(np.asarray(price_scan_range, dtype=np.float64), (count,))
    vol_range = np.broadcast_to(np.asarray(vol_scan_range, dtype=np.float64), (count,))
    moves, shifts = scenario_moves(price_range, vol_range, extreme_multiple)
    elapsed = look_ahead_days / _DAYS_PER_YEAR
    base = unit_values_usd(arrays)
    shocked = unit_values_usd(arrays, price_move=moves, vol_shift=shifts, time_passed_years=elapsed)
    losses = (base[None, :] - shocked) * scenario_weights(cover_fraction)[:, None]
    return np.ascontiguousarray(losses.T, dtype=np.float64)
