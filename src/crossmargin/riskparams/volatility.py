"""Volatility drivers of the dynamic parameters: DVOL, EWMA realised vol, long-lookback vol.

All functions take daily series on a calendar without holes (NaN where a day has no value) and
return one value per day computed from data up to and including that day (so a value is valid from
the next day on). Vols are annual fractions (0.6 = 60 %), annualised with 365 days: crypto trades
every day, and DVOL is quoted on the same calendar-day basis.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.checks import check_fraction, check_positive_int
from crossmargin.core.errors import InputError

__all__ = [
    "DAYS_PER_YEAR",
    "daily_log_returns",
    "dvol_to_vol_annual",
    "ewma_vol_annual",
    "lookback_vol_annual",
]

FloatArray = NDArray[np.float64]

#: Calendar days per year used to annualise daily vols.
DAYS_PER_YEAR = 365.0


def dvol_to_vol_annual(dvol_pct: ArrayLike) -> FloatArray:
    """Deribit DVOL in percent (47.53) to an annual fraction (0.4753); NaN stays NaN."""
    values = np.asarray(dvol_pct, dtype=np.float64)
    if bool(np.any(values[np.isfinite(values)] < 0)):
        raise InputError("dvol_pct", "negative", "DVOL must be >= 0")
    return values / 100.0


def daily_log_returns(closes_usd: ArrayLike) -> FloatArray:
    """``log(close_t / close_{t−1})`` per day (NaN on the first day and next to a missing close)."""
    closes = np.asarray(closes_usd, dtype=np.float64)
    returns = np.full(closes.shape, np.nan)
    if closes.size > 1:
        returns[1:] = np.log(closes[1:] / closes[:-1])
    return returns


def ewma_vol_annual(
    closes_usd: ArrayLike, decay: float = 0.94, warmup_days: int = 30
) -> FloatArray:
    """RiskMetrics EWMA vol after each day: ``σ²_t = λ·σ²_{t−1} + (1 − λ)·r²_t``, annualised.

    Parameters
    ----------
    closes_usd:
        Daily closes (USD), oldest first.
    decay:
        λ (0.94 for daily data, RiskMetrics 1996).
    warmup_days:
        Returns used to seed σ² (their mean square); earlier days are NaN.

    Returns
    -------
    numpy.ndarray
        Annual vol per day; a missing return leaves σ² unchanged.
    """
    lam = check_fraction(decay, "decay", high_open=True)
    check_positive_int(warmup_days, "warmup_days")
    returns = daily_log_returns(closes_usd)
    vols = np.full(returns.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(returns))
    if finite.size < warmup_days:
        return vols
    seed_end = finite[warmup_days - 1]
    variance = float(np.mean(returns[finite[:warmup_days]] ** 2))
    vols[seed_end] = np.sqrt(variance * DAYS_PER_YEAR)
    for t in range(seed_end + 1, returns.size):
        if np.isfinite(returns[t]):
            variance = lam * variance + (1.0 - lam) * returns[t] ** 2
        vols[t] = np.sqrt(variance * DAYS_PER_YEAR)
    return vols


def lookback_vol_annual(
    closes_usd: ArrayLike, lookback_days: int = 3650, min_days: int = 365
) -> FloatArray:
    """Vol over the last ``lookback_days`` days (up to and including each day), annualised.

    The zero-mean estimator ``√(mean r² × 365)`` over the finite returns in the window; NaN until
    ``min_days`` returns exist. With ``lookback_days`` = 3650 this is the "10 year historical
    lookback" of EMIR RTS 153/2013 Art. 28(1)(c), shortened to what the data holds.
    """
    check_positive_int(lookback_days, "lookback_days")
    check_positive_int(min_days, "min_days")
    returns = daily_log_returns(closes_usd)
    squares = np.where(np.isfinite(returns), returns**2, 0.0)
    counts = np.isfinite(returns).astype(np.float64)
    sum_sq = np.concatenate([[0.0], np.cumsum(squares)])
    sum_n = np.concatenate([[0.0], np.cumsum(counts)])
    ends = np.arange(1, returns.size + 1)
    starts = np.maximum(ends - lookback_days, 0)
    window_sq = sum_sq[ends] - sum_sq[starts]
    window_n = sum_n[ends] - sum_n[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        vols = np.sqrt(window_sq / window_n * DAYS_PER_YEAR)
    return np.where(window_n >= min_days, vols, np.nan)
