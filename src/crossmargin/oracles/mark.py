"""Mark price of perpetuals and futures, the premium index and the capped funding rate.

Pure functions over arrays of observations (times in seconds, prices in USD per coin):

* **mark price** = index + EMA(impact mid − index), the smoothed basis clamped to
  ``±max_basis × index``. Deribit marks its perpetual at the index plus a 30-second EMA of the fair
  (impact) price minus the index, and never more than 10 % from it (deribit.com/docs/mark-price);
  Binance uses the index plus a moving average of the mid-minus-index basis (Binance FAQ "Mark
  Price"). A thin book therefore moves the mark only slowly and only within the band.
* **premium index** (Binance): ``[max(0, impact bid − index) − max(0, index − impact ask)] /
  index``, a fraction.
* **funding rate** (Binance): ``F = P̄ + clamp(I − P̄, −c, +c)`` with ``P̄`` the average premium over
  the interval (weights 1, 2, …, n, later samples weighing more), ``I`` the interest rate per
  interval (0.01 %) and ``c`` 0.05 %; then ``clamp(F, −cap, +cap)`` (Binance FAQ "Introduction to
  Binance Futures Funding Rates"; BTCUSDT's cap of 0.3 % is visible in the real history,
  −0.003 on 2020-03-13 08:00, shared/data/README.md). Positive: longs pay shorts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.checks import check_finite, check_fraction, check_positive
from crossmargin.core.errors import InputError

__all__ = [
    "FundingParams",
    "MarkPriceParams",
    "MarkPricePath",
    "average_premium",
    "funding_rate",
    "mark_price_path",
    "premium_index",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MarkPriceParams:
    """How the basis is smoothed and bounded.

    Attributes
    ----------
    ema_window_s:
        Time constant τ of the EMA, seconds: an observation ``Δt`` after the last one moves the
        EMA by the fraction ``1 − exp(−Δt/τ)`` of the gap.
    max_basis:
        Band around the index: ``|mark − index| ≤ max_basis × index`` (0.1 = 10 %).
    """

    ema_window_s: float
    max_basis: float

    def __post_init__(self) -> None:
        check_positive(self.ema_window_s, "mark.ema_window_s")
        check_fraction(self.max_basis, "mark.max_basis")


@dataclass(frozen=True, slots=True)
class MarkPricePath:
    """Mark prices at each observation (USD per coin) and the smoothed basis behind them (USD,
    positive when the contract trades above the index, before the clamp)."""

    basis_ema_usd: FloatArray
    mark_usd: FloatArray


def _checked(name: str, values: FloatArray, count: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (count,):
        raise InputError(name, array.shape, f"must hold {count} values")
    if not bool(np.all(np.isfinite(array))):
        raise InputError(name, "NaN or inf", "every value must be finite")
    return array


def mark_price_path(
    times_s: FloatArray,
    index_usd: FloatArray,
    impact_bid_usd: FloatArray,
    impact_ask_usd: FloatArray,
    params: MarkPriceParams,
    initial_basis_usd: float = 0.0,
    start_s: float | None = None,
) -> MarkPricePath:
    """Mark price of a perpetual or future at each observation.

    Parameters
    ----------
    times_s:
        Observation times in seconds, non-decreasing.
    index_usd, impact_bid_usd, impact_ask_usd:
        Index and the impact bid/ask (average fill price of the impact notional), USD per coin.
    params:
        EMA time constant and band.
    initial_basis_usd:
        EMA state before the first observation (0: no basis assumed, so a spike at the start is
        smoothed too).
    start_s:
        Time of that state (default: the first observation's time, which then moves the EMA by
        nothing).

    Returns
    -------
    MarkPricePath
        ``mark = index + clamp(ema, −max_basis·index, +max_basis·index)``.
    """
    times = np.asarray(times_s, dtype=np.float64)
    count = times.shape[0]
    index = _checked("index_usd", index_usd, count)
    mid = (
        _checked("impact_bid_usd", impact_bid_usd, count)
        + _checked("impact_ask_usd", impact_ask_usd, count)
    ) / 2.0
    origin = times[0] if count and start_s is None else check_finite(start_s or 0.0, "start_s")
    steps = np.diff(times, prepend=origin) if count else times
    if bool(np.any(steps < 0)):
        raise InputError("times_s", "decreasing", "must be non-decreasing and after start_s")
    weights = 1.0 - np.exp(-steps / params.ema_window_s)
    basis = mid - index
    ema = np.empty(count)
    state = check_finite(initial_basis_usd, "initial_basis_usd")
    for k in range(count):
        state += weights[k] * (basis[k] - state)
        ema[k] = state
    band = params.max_basis * index
    return MarkPricePath(ema, index + np.clip(ema, -band, band))


def premium_index(
    index_usd: FloatArray, impact_bid_usd: FloatArray, impact_ask_usd: FloatArray
) -> FloatArray:
    """Binance premium index per sample, a fraction of the index (positive: the contract's impact
    bid is above the index)."""
    index = np.asarray(index_usd, dtype=np.float64)
    above = np.maximum(0.0, np.asarray(impact_bid_usd, dtype=np.float64) - index)
    below = np.maximum(0.0, index - np.asarray(impact_ask_usd, dtype=np.float64))
    return np.asarray((above - below) / index, dtype=np.float64)


def average_premium(premiums: FloatArray) -> float:
    """Time-weighted average premium over one funding interval: weights 1, 2, …, n."""
    values = np.asarray(premiums, dtype=np.float64)
    if values.size == 0:
        raise InputError("premiums", 0, "at least one sample is needed")
    weights = np.arange(1, values.size + 1, dtype=np.float64)
    return float(np.dot(weights, values) / weights.sum())


@dataclass(frozen=True, slots=True)
class FundingParams:
    """Funding rule per interval (all fractions per funding interval).

    Attributes
    ----------
    interest_rate:
        ``I``, 0.0001 = 0.01 % per 8 h on Binance.
    interest_clamp:
        ``c``, 0.0005 = 0.05 %.
    cap:
        Largest absolute funding rate, 0.003 = 0.3 % (BTCUSDT).
    """

    interest_rate: float
    interest_clamp: float
    cap: float

    def __post_init__(self) -> None:
        check_fraction(self.interest_rate, "funding.interest_rate", -1.0, 1.0)
        check_fraction(self.interest_clamp, "funding.interest_clamp")
        check_fraction(self.cap, "funding.cap")
        if self.cap <= 0.0:
            raise InputError("funding.cap", self.cap, "must be > 0")


def funding_rate(average_premium_index: float, params: FundingParams) -> float:
    """Funding rate for one interval, a fraction of notional (positive: longs pay shorts).

    ``clamp(P̄ + clamp(I − P̄, −c, c), −cap, cap)``.
    """
    premium = check_finite(average_premium_index, "average_premium_index")
    raw = premium + float(
        np.clip(params.interest_rate - premium, -params.interest_clamp, params.interest_clamp)
    )
    return float(np.clip(raw, -params.cap, params.cap))
