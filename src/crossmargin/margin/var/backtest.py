"""Backtesting a VaR model: the Basel traffic light and Kupiec's proportion-of-failures test.

* Basel Committee on Banking Supervision, "Supervisory framework for the use of backtesting in
  conjunction with the internal models approach to market risk capital requirements" (January
  1996), Table 2: with 250 daily 99 % VaR observations the number of exceptions N falls in the
  green zone while the binomial probability P(X ≤ N) stays below 95 %, in the red zone once it
  reaches 99.99 %, and in the yellow zone between; the yellow zone raises the capital multiplier by
  a "plus factor".
* Kupiec, P. (1995), "Techniques for verifying the accuracy of risk measurement models", Journal of
  Derivatives 3(2): LR_pof = −2 ln[(1−p)^(T−N) p^N] + 2 ln[(1−N/T)^(T−N) (N/T)^N], asymptotically
  χ²(1) under the null that the exception probability is p = 1 − confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from scipy import stats

from crossmargin.core.errors import InputError

__all__ = [
    "BASEL_PLUS_FACTORS",
    "KupiecResult",
    "TrafficLight",
    "TrafficLightZone",
    "basel_traffic_light_zone",
    "kupiec_nonrejection_region",
    "kupiec_pof_test",
]

#: BCBS 1996 Table 2: plus factor by number of exceptions in 250 observations (10 or more: 1.0).
BASEL_PLUS_FACTORS = MappingProxyType(
    {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
)
_BASEL_OBSERVATIONS = 250
_BASEL_EXCEPTION_PROBABILITY = 0.01
_GREEN_LIMIT = 0.95
_RED_LIMIT = 0.9999


class TrafficLightZone(StrEnum):
    """Basel backtesting zone."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class TrafficLight:
    """Outcome of the Basel traffic-light test.

    Attributes
    ----------
    zone:
        :class:`TrafficLightZone`.
    exceptions, observations:
        Days the loss exceeded the 99 % VaR, out of ``observations`` days.
    cumulative_probability:
        P(X ≤ exceptions) for X ~ Binomial(observations, 0.01) (a fraction, not percent).
    plus_factor:
        Addition to the capital multiplier from BCBS 1996 Table 2; ``None`` when ``observations``
        is not 250 (the table is defined for 250 observations only).
    """

    zone: TrafficLightZone
    exceptions: int
    observations: int
    cumulative_probability: float
    plus_factor: float | None


@dataclass(frozen=True, slots=True)
class KupiecResult:
    """Kupiec proportion-of-failures test.

    Attributes
    ----------
    lr_statistic:
        LR_pof (dimensionless, ≥ 0).
    p_value:
        P(χ²(1) ≥ lr_statistic).
    rejected:
        Whether the model is rejected at ``significance`` (``p_value < significance``).
    significance:
        Test size (0.05 = 5 %).
    """

    lr_statistic: float
    p_value: float
    rejected: bool
    significance: float


def _count(value: int, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(field, value, f"must be an integer ≥ {minimum}")
    return value


def basel_traffic_light_zone(exceptions: int, observations: int = 250) -> TrafficLight:
    """Classify a 99 % VaR backtest into the Basel green / yellow / red zone.

    Parameters
    ----------
    exceptions:
        Number of days whose loss exceeded the VaR.
    observations:
        Number of days tested (Basel: 250).

    Returns
    -------
    TrafficLight
        Green while P(X ≤ exceptions) < 95 %, red from 99.99 %, yellow between, with X ~
        Binomial(observations, 1 %) — the BCBS 1996 zone boundaries, which for 250 observations
        are green 0–4, yellow 5–9, red 10 or more.
    """
    observations = _count(observations, "observations", 1)
    exceptions = _count(exceptions, "exceptions", 0)
    if exceptions > observations:
        raise InputError("exceptions", exceptions, f"must be ≤ observations ({observations})")
    probability = float(stats.binom.cdf(exceptions, observations, _BASEL_EXCEPTION_PROBABILITY))
    if probability < _GREEN_LIMIT:
        zone = TrafficLightZone.GREEN
    elif probability < _RED_LIMIT:
        zone = TrafficLightZone.YELLOW
    else:
        zone = TrafficLightZone.RED
    plus_factor: float | None = None
    if observations == _BASEL_OBSERVATIONS:
        plus_factor = BASEL_PLUS_FACTORS.get(exceptions, 1.0)
    return TrafficLight(zone, exceptions, observations, probability, plus_factor)


def _pof_statistic(exceptions: int, observations: int, probability: float) -> float:
    """−2 log of the likelihood ratio; x·ln(x) terms are 0 at x = 0."""
    rate = exceptions / observations
    misses = observations - exceptions

    def xlogy(x: float, y: float) -> float:
        return 0.0 if x == 0 else x * math.log(y)

    null = xlogy(misses, 1.0 - probability) + xlogy(exceptions, probability)
    alternative = xlogy(misses, 1.0 - rate) + xlogy(exceptions, rate)
    return max(0.0, -2.0 * (null - alternative))


def kupiec_pof_test(
    exceptions: int, observations: int, confidence: float, significance: float = 0.05
) -> KupiecResult:
    """Kupiec's proportion-of-failures likelihood-ratio test of a VaR model.

    Parameters
    ----------
    exceptions:
        Days the loss exceeded the VaR.
    observations:
        Days tested (T).
    confidence:
        VaR confidence level (0.99: the exception probability under the null is p = 0.01).
    significance:
        Test size; the model is rejected when the p-value is below it (default 5 %, critical
        value χ²₁(0.95) = 3.841459).

    Returns
    -------
    KupiecResult
        LR_pof, its χ²(1) p-value and the decision.
    """
    observations = _count(observations, "observations", 1)
    exceptions = _count(exceptions, "exceptions", 0)
    if exceptions > observations:
        raise InputError("exceptions", exceptions, f"must be ≤ observations ({observations})")
    if not 0.0 < confidence < 1.0:
        raise InputError("confidence", confidence, "must be strictly between 0 and 1")
    if not 0.0 < significance < 1.0:
        raise InputError("significance", significance, "must be strictly between 0 and 1")
    statistic = _pof_statistic(exceptions, observations, 1.0 - confidence)
    p_value = float(stats.chi2.sf(statistic, 1))
    return KupiecResult(statistic, p_value, p_value < significance, significance)


def kupiec_nonrejection_region(
    observations: int, confidence: float, significance: float = 0.05
) -> tuple[int, int]:
    """Smallest and largest exception counts the Kupiec test does **not** reject.

    Returns
    -------
    (low, high)
        Inclusive bounds: ``kupiec_pof_test(n, observations, confidence)`` is not rejected
        exactly for ``low ≤ n ≤ high`` (the likelihood ratio is convex in n, so the region is one
        interval). Kupiec's table writes it as ``low − 1 < N < high + 1``.
    """
    accepted = [
        n
        for n in range(observations + 1)
        if not kupiec_pof_test(n, observations, confidence, significance).rejected
    ]
    if not accepted:
        raise InputError("observations", observations, "no exception count passes the test")
    return accepted[0], accepted[-1]
