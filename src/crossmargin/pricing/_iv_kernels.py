"""Numba kernel for Black-76 implied volatility (safeguarded Newton on log objectives).

The search runs on the total volatility ``s = vol * sqrt(t)`` of the out-of-the-money twin of the
option (an in-the-money price minus its intrinsic value is the OTM value at the same ``s``). With
``x = -|ln(F/K)|`` the OTM value ``P(s)`` is convex in ``s`` below ``s_c = sqrt(2|x|)`` and concave
above, so the search picks the bracket ``(0, s_c]`` or ``[s_c, inf)`` from ``P(s_c)`` and runs
Newton on one of two objectives, whichever resolves the target to full relative precision:

* ``ln P(s) - ln target`` while the target is at most half of the bound ``min(F, K)`` (started in
  the convex bracket from the leading asymptotics ``ln P ~ -(x^2/s^2 + s^2/4)/2``);
* ``ln slack_target - ln slack(s)`` above that, with ``slack = min(F, K) - P(s)`` computed without
  cancellation as ``min(F,K) N(-h-t) + max(F,K) N(h-t)``.

Both objectives are near-linear in ``s`` where the raw price is exponentially flat, so Newton
converges in a handful of steps; each step that would leave the current bracket is replaced by a
bisection (or a doubling while the bracket is unbounded), so the iteration cannot diverge.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from crossmargin.pricing._kernels import (
    intrinsic_value,
    log_moneyness,
    norm_cdf_sum,
    norm_pdf,
    otm_value,
)

MAX_ITERATIONS = 100
STEP_TOLERANCE = 1e-13  # relative Newton step at which s is accepted (the next step is ~1e-26)
SQRT_2PI = 2.5066282746310002
ROUNDING_SLACK = 4.0 * 2.220446049250313e-16  # time value within 4 ulp of intrinsic counts as none


@numba.njit(cache=True, error_model="numpy")
def initial_total_vol(x: float, otm_target: float, geometric_mean: float, s_c: float) -> float:
    """Starting point for the low region from ``ln P ~ -(x^2/s^2 + s^2/4) / 2``."""
    depth = -math.log(otm_target / geometric_mean)
    discriminant = 4.0 * depth * depth - x * x
    if depth > 0.0 and discriminant > 0.0:
        guess = math.sqrt(4.0 * x * x / (4.0 * depth + 2.0 * math.sqrt(discriminant)))
        if 0.0 < guess < s_c:
            return guess
    return 0.5 * s_c


@numba.njit(cache=True, error_model="numpy")
def total_vol_from_otm(
    forward: float, strike: float, otm_target: float, slack_target: float
) -> float:
    """Total vol ``s`` whose undiscounted OTM value is ``otm_target`` (> 0).

    ``slack_target`` is ``min(F, K) - otm_target`` (> 0), passed in because the caller can form it
    from the raw price with one subtraction.
    """
    x = -abs(log_moneyness(forward, strike))
    low_leg = min(forward, strike)
    high_leg = max(forward, strike)
    s_c = math.sqrt(-2.0 * x)
    low_region = x < 0.0 and otm_target < otm_value(forward, strike, s_c)
    use_slack = not low_region and otm_target > 0.5 * low_leg
    if low_region:
        lo, hi = 0.0, s_c
        s = initial_total_vol(x, otm_target, math.sqrt(forward * strike), s_c)
    else:
        lo, hi = s_c, math.inf
        s = s_c if x < 0.0 else SQRT_2PI * otm_target / low_leg
    log_target = math.log(slack_target) if use_slack else math.log(otm_target)
    for _ in range(MAX_ITERATIONS):
        h = x / s
        t = 0.5 * s
        n_minus = norm_cdf_sum(h, -t)
        vega = low_leg * norm_pdf(h + t)
        if use_slack:
            slack = low_leg * norm_cdf_sum(-h, -t) + high_leg * n_minus
            objective = log_target - math.log(slack)
            slope = vega / slack
        else:
            value = max(low_leg * norm_cdf_sum(h, t) - high_leg * n_minus, 0.0)
            objective = math.log(value) - log_target
            slope = vega / value
        if objective > 0.0:
            hi = s
        elif objective < 0.0:
            lo = s
        else:
            return s
        s_next = s - objective / slope
        if abs(s_next - s) <= STEP_TOLERANCE * s:
            return s_next
        if not (lo < s_next < hi):
            s_next = 2.0 * s if hi == math.inf else 0.5 * (lo + hi)
        s = s_next
    return s


@numba.njit(cache=True, error_model="numpy")
def implied_vol_scalar(
    price: float, forward: float, strike: float, t_years: float, rate: float, is_call: bool
) -> float:
    """Annual implied vol of one discounted price; NaN where no vol reproduces it."""
    if not t_years > 0.0:
        return math.nan
    undiscounted = price * math.exp(rate * t_years)
    upper_bound = forward if is_call else strike
    intrinsic = intrinsic_value(forward, strike, is_call)
    otm_target = undiscounted - intrinsic
    if otm_target <= ROUNDING_SLACK * intrinsic:
        if otm_target >= -ROUNDING_SLACK * intrinsic:
            return 0.0  # no time value beyond rounding: vol 0 reproduces the price
        return math.nan
    slack_target = upper_bound - undiscounted
    if slack_target <= ROUNDING_SLACK * upper_bound:
        return math.nan  # at the bound within rounding: only an infinite vol reaches it
    return total_vol_from_otm(forward, strike, otm_target, slack_target) / math.sqrt(t_years)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def implied_vol_loop(
    price: np.ndarray,
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    rate: np.ndarray,
    is_call: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out[i]`` with the implied vol of option ``i`` (1-D arrays of equal length)."""
    for i in range(out.shape[0]):
        out[i] = implied_vol_scalar(
            price[i], forward[i], strike[i], t_years[i], rate[i], is_call[i]
        )
