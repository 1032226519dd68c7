"""Stablecoin de-peg charge from the coin's own daily history.

After a day with close ``c`` and low ``l`` the coin's deviation below the peg is
``d = max(0, 1 − min(l, c) / peg)``. The charge valid from the next day is

    charge = min(floor + multiplier × max(d over the last ``lookback_days`` days), cap)

so it jumps the day after a de-peg (USDC low 0.8774 on 2023-03-11, SVB; USTC 0.1331 on
2022-05-13; shared/data/README.md) and is released only when the window has passed. A day without
a price (USTC's ``null`` rows after October 2022) counts as a full de-peg: a coin nobody quotes
cannot back margin. OKX charges a stablecoin de-peg in its portfolio margin (MR9, venues.md) and
Derive adds a de-peg contingency to IM; the rule above is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.checks import (
    check_fraction,
    check_non_negative,
    check_positive,
    check_positive_int,
)
from crossmargin.core.errors import InputError

__all__ = ["DepegParams", "depeg_charge_path", "peg_deviation"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DepegParams:
    """De-peg charge rule: window (days), multiplier on the worst deviation, floor and cap
    (fractions of the holding's value)."""

    lookback_days: int = 30
    multiplier: float = 1.0
    floor: float = 0.0
    cap: float = 1.0

    def __post_init__(self) -> None:
        check_positive_int(self.lookback_days, "depeg.lookback_days")
        check_non_negative(self.multiplier, "depeg.multiplier")
        check_fraction(self.floor, "depeg.floor")
        check_fraction(self.cap, "depeg.cap")
        if self.cap < self.floor:
            raise InputError("depeg.cap", self.cap, f"must be >= floor {self.floor}")


def peg_deviation(low_usd: ArrayLike, close_usd: ArrayLike, peg_usd: float = 1.0) -> FloatArray:
    """Deviation below the peg per day, ``max(0, 1 − min(low, close) / peg)``; NaN where the day
    has no price."""
    peg = check_positive(peg_usd, "peg_usd")
    low = np.asarray(low_usd, dtype=np.float64)
    close = np.asarray(close_usd, dtype=np.float64)
    worst = np.fmin(low, close)
    worst = np.where(np.isnan(low) | np.isnan(close), np.nan, worst)
    return np.asarray(np.maximum(0.0, 1.0 - worst / peg), dtype=np.float64)


def depeg_charge_path(
    low_usd: ArrayLike, close_usd: ArrayLike, params: DepegParams, peg_usd: float = 1.0
) -> FloatArray:
    """Charge valid from the day after each row (a fraction of the holding's USD value).

    Parameters
    ----------
    low_usd, close_usd:
        Daily low and close of the stablecoin, USD, oldest first on a calendar without holes
        (NaN for a day without a price).
    params:
        Window, multiplier, floor and cap.
    peg_usd:
        The peg (1.0).

    Returns
    -------
    numpy.ndarray
        ``charge[t]``: the charge to apply from day ``t + 1`` 00:00 UTC, using days up to ``t``.
    """
    deviation = peg_deviation(low_usd, close_usd, peg_usd)
    full = params.cap / params.multiplier if params.multiplier > 0 else 1.0
    deviation = np.where(np.isnan(deviation), max(full, 1.0), deviation)
    count = deviation.shape[0]
    window = np.empty(count)
    for t in range(count):
        window[t] = deviation[max(0, t - params.lookback_days + 1) : t + 1].max()
    return np.asarray(
        np.minimum(params.floor + params.multiplier * window, params.cap), dtype=np.float64
    )
