"""Anti-procyclicality (APC) tools of EMIR RTS 153/2013 Art. 28, and how procyclical a path is.

Art. 28(1) asks a CCP to limit procyclicality with at least one of (a) a margin buffer of at least
25 % that it lets be exhausted while requirements rise significantly, (b) at least 25 % weight on
stressed observations of the lookback period, (c) margins not lower than those from volatility
estimated over a 10-year historical lookback. Each is a :class:`APCTool`; a cap on the daily rise
(``max_daily_rise``) can be added to any of them. The tools act on the volatility that drives the
parameters (:mod:`crossmargin.riskparams.parameters` maps it to ranges, shocks and haircuts), as
the RTS speaks of the volatility a CCP's margins are computed from:

* ``none`` — ``σ̃_t = σ_t``;
* ``buffer`` — the driver carries a buffer ``b`` (≥ 0.25): in calm times ``σ̃ = (1 + b)·σ``; a rise
  of ``σ`` is absorbed by the buffer until it is used up (``σ̃`` never falls below ``σ``), and the
  buffer is rebuilt by at most ``b·σ / rebuild_days`` a day:
  ``σ̃_t = max(σ_t, min((1 + b)·σ_t, σ̃_{t−1} + b·σ_t / rebuild_days))``;
* ``stressed-weight`` — ``σ̃_t = (1 − w)·σ_t + w·max(σ over the lookback)``, ``w`` ≥ 0.25;
* ``ten-year-floor`` — ``σ̃_t = max(σ_t, σ_10y,t)``, the second series being the realised vol over
  the last ten years (:func:`~crossmargin.riskparams.volatility.lookback_vol_annual`);
* then, when ``max_daily_rise`` is set: ``σ̃_t ≤ (1 + max_daily_rise)·σ̃_{t−1}``.

The measures follow the CCP APC literature (peak-to-trough ratio, largest n-day increase, the
average level as the cost of the tool).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.checks import check_fraction, check_positive, check_positive_int
from crossmargin.core.errors import InputError

__all__ = [
    "APCParams",
    "APCTool",
    "ProcyclicalityMeasures",
    "apply_apc",
    "measure_procyclicality",
]

FloatArray = NDArray[np.float64]

#: Smallest buffer and stressed weight Art. 28(1)(a)/(b) allow.
REGULATORY_MINIMUM = 0.25


class APCTool(StrEnum):
    """Which Art. 28 option shapes the driver."""

    NONE = "none"
    BUFFER = "buffer"
    STRESSED_WEIGHT = "stressed-weight"
    TEN_YEAR_FLOOR = "ten-year-floor"


@dataclass(frozen=True, slots=True)
class APCParams:
    """One APC configuration.

    Attributes
    ----------
    tool:
        The Art. 28 option.
    buffer:
        ``buffer``: the buffer, ≥ 0.25 (0.25 = 25 %).
    rebuild_days:
        ``buffer``: days to rebuild a fully used buffer.
    stressed_weight:
        ``stressed-weight``: weight of the stressed observation, in [0.25, 1].
    lookback_days:
        ``stressed-weight``: window for the stressed observation; ``ten-year-floor``: window of
        the long vol (3650 = ten years).
    max_daily_rise:
        Cap on the driver's rise per day (0.1 = 10 %), or None.
    """

    tool: APCTool = APCTool.NONE
    buffer: float = REGULATORY_MINIMUM
    rebuild_days: float = 20.0
    stressed_weight: float = REGULATORY_MINIMUM
    lookback_days: int = 3650
    max_daily_rise: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "tool", APCTool(self.tool))
        except ValueError:
            known = [t.value for t in APCTool]
            raise InputError("apc.tool", self.tool, f"must be one of {known}") from None
        check_fraction(self.buffer, "apc.buffer", REGULATORY_MINIMUM, 10.0)
        check_positive(self.rebuild_days, "apc.rebuild_days")
        check_fraction(self.stressed_weight, "apc.stressed_weight", REGULATORY_MINIMUM, 1.0)
        check_positive_int(self.lookback_days, "apc.lookback_days")
        if self.max_daily_rise is not None:
            check_positive(self.max_daily_rise, "apc.max_daily_rise")

    @property
    def label(self) -> str:
        """Short name for tables and plots (``buffer 25 % + cap 10 %/day``)."""
        names = {
            APCTool.NONE: "none",
            APCTool.BUFFER: f"buffer {self.buffer:.0%}",
            APCTool.STRESSED_WEIGHT: f"stressed weight {self.stressed_weight:.0%}",
            APCTool.TEN_YEAR_FLOOR: f"{self.lookback_days / 365:.0f}-year floor",
        }
        name = names[self.tool]
        if self.max_daily_rise is None:
            return name
        cap = f"cap {self.max_daily_rise:.0%}/day"
        return cap if self.tool is APCTool.NONE else f"{name} + {cap}"


def _hold_forward(values: FloatArray) -> FloatArray:
    filled = values.copy()
    for t in range(1, filled.size):
        if not np.isfinite(filled[t]):
            filled[t] = filled[t - 1]
    return filled


def _running_max(values: FloatArray, window: int) -> FloatArray:
    out = np.full(values.shape, np.nan)
    for t in range(values.size):
        part = values[max(0, t - window + 1) : t + 1]
        finite = part[np.isfinite(part)]
        if finite.size:
            out[t] = finite.max()
    return out


def apply_apc(
    vol_annual: ArrayLike, params: APCParams, long_vol_annual: ArrayLike | None = None
) -> FloatArray:
    """The driver after the APC tool (annual vol per day, same calendar as the input).

    Parameters
    ----------
    vol_annual:
        The raw driver per day (DVOL / 100 or EWMA vol); NaN days hold the previous value.
    params:
        Tool and its settings.
    long_vol_annual:
        ``ten-year-floor`` only: the long-lookback vol per day (NaN where too short a history).

    Returns
    -------
    numpy.ndarray
        ``σ̃`` per day (NaN until the first finite input).
    """
    raw = _hold_forward(np.asarray(vol_annual, dtype=np.float64))
    tool = params.tool
    if tool is APCTool.NONE:
        shaped = raw.copy()
    elif tool is APCTool.STRESSED_WEIGHT:
        stressed = _running_max(raw, params.lookback_days)
        shaped = (1.0 - params.stressed_weight) * raw + params.stressed_weight * stressed
    elif tool is APCTool.TEN_YEAR_FLOOR:
        if long_vol_annual is None:
            raise InputError("long_vol_annual", None, "the ten-year floor needs the long vol")
        long_vol = np.asarray(long_vol_annual, dtype=np.float64)
        if long_vol.shape != raw.shape:
            raise InputError("long_vol_annual", long_vol.shape, f"must match {raw.shape}")
        shaped = np.where(np.isfinite(long_vol), np.fmax(raw, long_vol), raw)
    else:
        shaped = np.full(raw.shape, np.nan)
        previous = np.nan
        for t, sigma in enumerate(raw):
            if not np.isfinite(sigma):
                continue
            target = (1.0 + params.buffer) * sigma
            if not np.isfinite(previous):
                previous = target
            else:
                rebuilt = previous + params.buffer * sigma / params.rebuild_days
                previous = max(sigma, min(target, rebuilt))
            shaped[t] = previous
    if params.max_daily_rise is not None:
        growth = 1.0 + params.max_daily_rise
        for t in range(1, shaped.size):
            if np.isfinite(shaped[t - 1]) and np.isfinite(shaped[t]):
                shaped[t] = min(shaped[t], shaped[t - 1] * growth)
    return shaped


@dataclass(frozen=True, slots=True)
class ProcyclicalityMeasures:
    """How procyclical a margin path is.

    Attributes
    ----------
    peak_to_trough:
        Highest margin over the lowest (≥ 1; 1 is perfectly flat).
    max_increase_1d, max_increase_5d:
        Largest relative rise over one and five days (0.5 = +50 %).
    mean_margin_usd:
        Average margin (USD): the cost of the tool.
    """

    peak_to_trough: float
    max_increase_1d: float
    max_increase_5d: float
    mean_margin_usd: float


def _max_increase(margin: FloatArray, days: int) -> float:
    if margin.size <= days:
        return 0.0
    return float(np.max(margin[days:] / margin[:-days] - 1.0))


def measure_procyclicality(margin_usd: ArrayLike) -> ProcyclicalityMeasures:
    """Measures of a daily margin path (USD, all finite and > 0, consecutive days)."""
    margin = np.asarray(margin_usd, dtype=np.float64)
    if margin.size == 0 or not bool(np.all(np.isfinite(margin) & (margin > 0))):
        raise InputError("margin_usd", "empty, NaN or <= 0", "must be finite and > 0 every day")
    return ProcyclicalityMeasures(
        peak_to_trough=float(margin.max() / margin.min()),
        max_increase_1d=_max_increase(margin, 1),
        max_increase_5d=_max_increase(margin, 5),
        mean_margin_usd=float(margin.mean()),
    )
