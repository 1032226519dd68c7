"""Coverage statistics of a margin or VaR backtest: Kupiec, Christoffersen, the Basel traffic light.

An *exception* (a *failure*) is a window whose realised loss exceeded the requirement set at its
start. With ``coverage`` c (0.99 for a 99 % measure) a correct model fails with probability
p = 1 − c on every window, independently of the others.

* Kupiec, P. (1995), "Techniques for verifying the accuracy of risk measurement models", Journal of
  Derivatives 3(2): proportion of failures, LR_pof = −2 ln[(1−p)^(T−N) p^N]
  + 2 ln[(1−N/T)^(T−N) (N/T)^N], asymptotically χ²(1).
* Christoffersen, P. (1998), "Evaluating interval forecasts", International Economic Review 39(4),
  841–862: with n_ij the number of windows in state j following one in state i (1 = failure),
  π01 = n01/(n00+n01), π11 = n11/(n10+n11), π = (n01+n11)/(n00+n01+n10+n11),
  LR_ind = −2 ln[(1−π)^(n00+n10) π^(n01+n11)] + 2 ln[(1−π01)^n00 π01^n01 (1−π11)^n10 π11^n11]
  ~ χ²(1), and conditional coverage LR_cc = LR_pof + LR_ind ~ χ²(2) (as in Jorion, *Value at
  Risk*, 3rd ed., ch. 6).
* Basel Committee on Banking Supervision (January 1996), "Supervisory framework for the use of
  backtesting in conjunction with the internal models approach to market risk capital
  requirements", Table 2: with X ~ Binomial(T, p) the green zone holds while P(X ≤ N) < 95 %, the
  red zone starts where it reaches 99.99 %, yellow between; for T = 250, p = 1 %: green 0–4,
  yellow 5–9, red 10 or more, with the capital "plus factors" of :data:`BASEL_PLUS_FACTORS`.

Terms x·ln(x) with x = 0 count as 0 (``scipy.special.xlogy``); distributions come from
``scipy.stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from crossmargin.core.errors import InputError

__all__ = [
    "BASEL_PLUS_FACTORS",
    "LikelihoodRatioTest",
    "TrafficLight",
    "TrafficLightZone",
    "christoffersen_independence",
    "conditional_coverage",
    "kupiec_nonrejection_region",
    "kupiec_pof",
    "traffic_light",
    "transition_counts",
]

#: BCBS 1996 Table 2: plus factor by number of exceptions in 250 observations (10 or more: 1.0).
BASEL_PLUS_FACTORS = MappingProxyType(
    {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
)
_BASEL_OBSERVATIONS = 250
_BASEL_COVERAGE = 0.99
_GREEN_LIMIT = 0.95
_RED_LIMIT = 0.9999


class TrafficLightZone(StrEnum):
    """Basel backtesting zone (compares equal to ``"green"``, ``"yellow"``, ``"red"``)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class LikelihoodRatioTest:
    """A likelihood-ratio test's outcome.

    Attributes
    ----------
    lr:
        The statistic −2 ln(L_null / L_alternative), dimensionless, ≥ 0.
    p_value:
        P(χ²(degrees_of_freedom) ≥ lr), a fraction in [0, 1].
    degrees_of_freedom:
        1 for Kupiec and Christoffersen's independence test, 2 for conditional coverage.
    """

    lr: float
    p_value: float
    degrees_of_freedom: int

    def rejected(self, significance: float = 0.05) -> bool:
        """Whether the null (a correct model) is rejected at ``significance`` (0.05 = 5 %):
        ``p_value < significance``."""
        if not 0.0 < significance < 1.0:
            raise InputError("significance", significance, "must be strictly between 0 and 1")
        return self.p_value < significance


@dataclass(frozen=True, slots=True)
class TrafficLight:
    """Outcome of the Basel traffic-light test.

    Attributes
    ----------
    zone:
        :class:`TrafficLightZone`.
    probability:
        P(X ≤ failures) for X ~ Binomial(observations, 1 − coverage), a fraction.
    type1:
        P(X ≥ failures): the chance a correct model shows this many failures or more, i.e. the
        type-I error of rejecting it at this count (a fraction).
    failures, observations:
        The counts tested.
    plus_factor:
        Addition to the capital multiplier from BCBS 1996 Table 2; ``None`` unless
        observations = 250 and coverage = 0.99 (the only case the table defines).
    """

    zone: TrafficLightZone
    probability: float
    type1: float
    failures: int
    observations: int
    plus_factor: float | None


def _count(value: int, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(field, value, f"must be an integer ≥ {minimum}")
    return int(value)


def _failure_probability(coverage: float) -> float:
    if not 0.0 < coverage < 1.0:
        raise InputError("coverage", coverage, "must be strictly between 0 and 1 (0.99 = 99 %)")
    return 1.0 - coverage


def _counts(observations: int, failures: int) -> tuple[int, int]:
    observations = _count(observations, "observations", 1)
    failures = _count(failures, "failures")
    if failures > observations:
        raise InputError("failures", failures, f"must be ≤ observations ({observations})")
    return observations, failures


def _test(lr: float, degrees_of_freedom: int) -> LikelihoodRatioTest:
    statistic = max(0.0, float(lr))
    return LikelihoodRatioTest(
        statistic, float(stats.chi2.sf(statistic, degrees_of_freedom)), degrees_of_freedom
    )


def _bernoulli_log_likelihood(zeros: int, ones: int, probability: float) -> float:
    """ln[(1 − q)^zeros · q^ones] with 0·ln 0 = 0."""
    return float(special.xlog1py(zeros, -probability) + special.xlogy(ones, probability))


def kupiec_pof(observations: int, failures: int, coverage: float) -> LikelihoodRatioTest:
    """Kupiec's proportion-of-failures test.

    Parameters
    ----------
    observations:
        Windows tested (T ≥ 1).
    failures:
        Windows whose loss exceeded the requirement (0 ≤ N ≤ T).
    coverage:
        Confidence level of the requirement (0.99: a correct model fails with p = 0.01).

    Returns
    -------
    LikelihoodRatioTest
        LR_pof (dimensionless, ≥ 0) and its χ²(1) p-value; a small p-value rejects the model
        (too many failures, or too few).
    """
    observations, failures = _counts(observations, failures)
    p = _failure_probability(coverage)
    rate = failures / observations
    null = _bernoulli_log_likelihood(observations - failures, failures, p)
    alternative = _bernoulli_log_likelihood(observations - failures, failures, rate)
    return _test(-2.0 * (null - alternative), 1)


def christoffersen_independence(n00: int, n01: int, n10: int, n11: int) -> LikelihoodRatioTest:
    """Christoffersen's (1998) test that a failure does not make the next one more likely.

    Parameters
    ----------
    n00, n01, n10, n11:
        Transition counts: ``nij`` windows in state j right after a window in state i (1 =
        failure); :func:`transition_counts` derives them from a failure sequence.

    Returns
    -------
    LikelihoodRatioTest
        LR_ind (dimensionless, ≥ 0) and its χ²(1) p-value; 0 and 1.0 when the counts cannot tell
        the two Markov probabilities apart (no failure, or failures only).
    """
    counts = [
        _count(n, name) for n, name in ((n00, "n00"), (n01, "n01"), (n10, "n10"), (n11, "n11"))
    ]
    n00, n01, n10, n11 = counts
    total = n00 + n01 + n10 + n11
    if total == 0:
        raise InputError("n00+n01+n10+n11", 0, "at least one transition is needed")
    pi = (n01 + n11) / total
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    null = _bernoulli_log_likelihood(n00 + n10, n01 + n11, pi)
    alternative = _bernoulli_log_likelihood(n00, n01, pi01) + _bernoulli_log_likelihood(
        n10, n11, pi11
    )
    return _test(-2.0 * (null - alternative), 1)


def conditional_coverage(
    observations: int, failures: int, coverage: float, n00: int, n01: int, n10: int, n11: int
) -> LikelihoodRatioTest:
    """Christoffersen's conditional-coverage test: right failure rate *and* no clustering.

    Returns
    -------
    LikelihoodRatioTest
        LR_cc = LR_pof(observations, failures, coverage) + LR_ind(n00, n01, n10, n11)
        (dimensionless, ≥ 0) with its χ²(2) p-value.
    """
    pof = kupiec_pof(observations, failures, coverage)
    independence = christoffersen_independence(n00, n01, n10, n11)
    return _test(pof.lr + independence.lr, 2)


def transition_counts(failures: ArrayLike) -> tuple[int, int, int, int]:
    """Count the transitions of a failure sequence, in time order.

    Parameters
    ----------
    failures:
        One boolean (or 0/1) per window, oldest first.

    Returns
    -------
    (n00, n01, n10, n11)
        ``nij`` = number of positions t ≥ 1 with failures[t−1] = i and failures[t] = j; they sum
        to len(failures) − 1.
    """
    sequence = np.asarray(failures)
    if sequence.ndim != 1 or not np.isin(sequence, (0, 1)).all():
        raise InputError("failures", sequence.shape, "must be a 1-D sequence of booleans or 0/1")
    flags = sequence.astype(bool)
    before, after = flags[:-1], flags[1:]
    return (
        int(np.sum(~before & ~after)),
        int(np.sum(~before & after)),
        int(np.sum(before & ~after)),
        int(np.sum(before & after)),
    )


def traffic_light(observations: int, failures: int, coverage: float = 0.99) -> TrafficLight:
    """Classify a backtest into the Basel green / yellow / red zone.

    Parameters
    ----------
    observations:
        Windows tested (Basel: 250 days).
    failures:
        Windows whose loss exceeded the requirement.
    coverage:
        Confidence level of the requirement (Basel: 0.99).

    Returns
    -------
    TrafficLight
        Green while P(X ≤ failures) < 95 %, red from 99.99 %, yellow between, X ~
        Binomial(observations, 1 − coverage); ``probability`` = P(X ≤ failures) and ``type1`` =
        P(X ≥ failures), fractions.
    """
    observations, failures = _counts(observations, failures)
    p = _failure_probability(coverage)
    probability = float(stats.binom.cdf(failures, observations, p))
    type1 = float(stats.binom.sf(failures - 1, observations, p))
    if probability < _GREEN_LIMIT:
        zone = TrafficLightZone.GREEN
    elif probability < _RED_LIMIT:
        zone = TrafficLightZone.YELLOW
    else:
        zone = TrafficLightZone.RED
    plus_factor: float | None = None
    if observations == _BASEL_OBSERVATIONS and coverage == _BASEL_COVERAGE:
        plus_factor = BASEL_PLUS_FACTORS.get(failures, 1.0)
    return TrafficLight(zone, probability, type1, failures, observations, plus_factor)


def kupiec_nonrejection_region(
    observations: int, coverage: float, significance: float = 0.05
) -> tuple[int, int]:
    """Smallest and largest failure counts the Kupiec test does **not** reject.

    Returns
    -------
    (low, high)
        Inclusive bounds: ``kupiec_pof(observations, n, coverage)`` is not rejected at
        ``significance`` exactly for ``low ≤ n ≤ high`` (LR_pof is convex in n, so the region is
        one interval). Kupiec's table writes it as ``low − 1 < N < high + 1``.
    """
    accepted = [
        n
        for n in range(_count(observations, "observations", 1) + 1)
        if not kupiec_pof(observations, n, coverage).rejected(significance)
    ]
    if not accepted:
        raise InputError("observations", observations, "no failure count passes the test")
    return accepted[0], accepted[-1]
