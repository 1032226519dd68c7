"""Plain numpy/scipy twin of the numba Black-76 kernels (for tests and as a readable reference).

Each function here computes the same arithmetic as its numba counterpart in
:mod:`crossmargin.pricing._kernels` / :mod:`crossmargin.pricing._iv_kernels`, branch for branch,
with ``scipy.special.ndtr`` in place of the hand-written normal CDF; a property test holds the two
equal to about 1e-13 relative. The arguments are validated the same way as the public functions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from crossmargin.pricing import _iv_kernels as ivk
from crossmargin.pricing import _kernels as k
from crossmargin.pricing._validation import black76_inputs, implied_vol_inputs
from crossmargin.pricing.black76 import Black76Greeks

__all__ = ["black76_greeks_reference", "black76_price_reference", "implied_vol_reference"]

FloatArray = NDArray[np.float64]


def norm_cdf_sum(a: FloatArray, b: FloatArray) -> FloatArray:
    """``N(a + b)``, compensated in the tails like ``_kernels.norm_cdf_sum``."""
    z = a + b
    u = z * k.INV_SQRT2
    au = np.abs(u)
    b_virtual = z - a
    z_err = (a - (z - b_virtual)) + (b - b_virtual)
    split = k.SPLITTER * z
    z_hi = split - (split - z)
    z_lo = z - z_hi
    u_err = ((z_hi * k.INV_SQRT2_HI - u) + z_hi * k.INV_SQRT2_LO + z_lo * k.INV_SQRT2_HI) + (
        z_lo * k.INV_SQRT2_LO
    )
    u_err = u_err + (z * k.INV_SQRT2_TAIL + z_err * k.INV_SQRT2)
    tail = ndtr(-np.abs(z))
    slope = tail * (au + np.sqrt(au * au + k.KOMATSU_C))
    compensated = (au >= k.INV_SQRT2) & (au < k.COMPENSATION_LIMIT)
    result: FloatArray = ndtr(z) + np.where(compensated, slope * u_err, 0.0)
    return result


def norm_pdf(z: FloatArray) -> FloatArray:
    """Standard normal density."""
    return k.INV_SQRT_2PI * np.exp(-0.5 * z * z)


def log_moneyness(forward: FloatArray, strike: FloatArray) -> FloatArray:
    """``ln(F / K)``, via ``log1p`` near the money."""
    gap = forward - strike
    return np.where(np.abs(gap) < 0.5 * strike, np.log1p(gap / strike), np.log(forward / strike))


def otm_value(forward: FloatArray, strike: FloatArray, total_vol: FloatArray) -> FloatArray:
    """Undiscounted value of the out-of-the-money option at total vol ``s > 0``."""
    h = -np.abs(log_moneyness(forward, strike)) / total_vol
    t = 0.5 * total_vol
    value = np.minimum(forward, strike) * norm_cdf_sum(h, t) - np.maximum(
        forward, strike
    ) * norm_cdf_sum(h, -t)
    return np.maximum(value, 0.0)


def intrinsic_value(forward: FloatArray, strike: FloatArray, is_call: np.ndarray) -> FloatArray:
    """Undiscounted intrinsic value."""
    return np.where(is_call, np.maximum(forward - strike, 0.0), np.maximum(strike - forward, 0.0))


def black76_price_reference(
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol_annual: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Numpy twin of :func:`crossmargin.pricing.black76_price` (same arguments and result)."""
    inputs = black76_inputs(forward, strike, t_years, vol_annual, rate_annual, is_call)
    fwd, strk, t, vol, rate, call = inputs.values
    with np.errstate(all="ignore"):
        total_vol = vol * np.sqrt(t)
        has_vol = total_vol > 0.0
        value = intrinsic_value(fwd, strk, call) + np.where(
            has_vol, otm_value(fwd, strk, np.where(has_vol, total_vol, 1.0)), 0.0
        )
        price: FloatArray = np.exp(-rate * t) * value
    return price.reshape(inputs.shape)


def black76_greeks_reference(
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol_annual: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
) -> Black76Greeks:
    """Numpy twin of :func:`crossmargin.pricing.black76_greeks` (same arguments and result)."""
    inputs = black76_inputs(forward, strike, t_years, vol_annual, rate_annual, is_call)
    fwd, strk, t, vol, rate, call = inputs.values
    with np.errstate(all="ignore"):
        discount = np.exp(-rate * t)
        sqrt_t = np.sqrt(t)
        total_vol = vol * sqrt_t
        has_vol = total_vol > 0.0
        s = np.where(has_vol, total_vol, 1.0)
        price = intrinsic_value(fwd, strk, call) + np.where(has_vol, otm_value(fwd, strk, s), 0.0)
        x_over_s = log_moneyness(fwd, strk) / s
        half_s = 0.5 * s
        h = -np.abs(x_over_s)
        n_plus = norm_cdf_sum(h, half_s)
        n_minus = norm_cdf_sum(h, -half_s)
        density = norm_pdf(x_over_s + half_s)
        put_below = np.where(n_plus < 0.5, n_plus - 1.0, -norm_cdf_sum(-h, -half_s))
        smooth_delta = np.where(
            x_over_s <= 0.0,
            np.where(call, n_plus, put_below),
            np.where(call, 1.0 - n_minus, -n_minus),
        )
        sign = np.where(call, 1.0, -1.0)
        at_money = fwd == strk
        limit_delta = np.where(at_money, 0.5 * sign, np.where(sign * (fwd - strk) > 0.0, sign, 0.0))
        delta = np.where(has_vol, smooth_delta, limit_delta)
        gamma = np.where(has_vol, discount * density / (fwd * s), 0.0)
        limit_vega = np.where(at_money, discount * fwd * sqrt_t * k.INV_SQRT_2PI, 0.0)
        vega = np.where(has_vol, discount * fwd * density * sqrt_t, limit_vega)
        decay = np.where(has_vol, discount * fwd * density * vol / (2.0 * sqrt_t), 0.0)
        price = discount * price
        theta = rate * price - decay
    shape = inputs.shape
    return Black76Greeks(
        price=price.reshape(shape),
        delta=(discount * delta).reshape(shape),
        gamma=gamma.reshape(shape),
        vega=vega.reshape(shape),
        theta=theta.reshape(shape),
    )


def _initial_total_vol(
    x: FloatArray, otm_target: FloatArray, geometric_mean: FloatArray, s_c: FloatArray
) -> FloatArray:
    depth = -np.log(otm_target / geometric_mean)
    discriminant = 4.0 * depth * depth - x * x
    guess = np.sqrt(4.0 * x * x / (4.0 * depth + 2.0 * np.sqrt(discriminant)))
    usable = (depth > 0.0) & (discriminant > 0.0) & (guess > 0.0) & (guess < s_c)
    return np.where(usable, guess, 0.5 * s_c)


def _total_vol_from_otm(
    forward: FloatArray, strike: FloatArray, otm_target: FloatArray, slack_target: FloatArray
) -> FloatArray:
    """Vectorised twin of ``_iv_kernels.total_vol_from_otm`` (same iterates, masked)."""
    x = -np.abs(log_moneyness(forward, strike))
    low_leg = np.minimum(forward, strike)
    high_leg = np.maximum(forward, strike)
    s_c = np.sqrt(-2.0 * x)
    low = (x < 0.0) & (otm_target < otm_value(forward, strike, s_c))
    use_slack = ~low & (otm_target > 0.5 * low_leg)
    lo = np.where(low, 0.0, s_c)
    hi = np.where(low, s_c, np.inf)
    s_high_start = np.where(x < 0.0, s_c, ivk.SQRT_2PI * otm_target / low_leg)
    initial = _initial_total_vol(x, otm_target, np.sqrt(forward * strike), s_c)
    s = np.where(low, initial, s_high_start)
    log_target = np.where(use_slack, np.log(slack_target), np.log(otm_target))
    result = np.full(x.shape, np.nan)
    active = np.arange(x.size)
    for _ in range(ivk.MAX_ITERATIONS):
        if active.size == 0:
            break
        sa, la, ha, slack_side = s[active], low_leg[active], high_leg[active], use_slack[active]
        h = x[active] / sa
        t = 0.5 * sa
        n_minus = norm_cdf_sum(h, -t)
        vega = la * norm_pdf(h + t)
        value = np.maximum(la * norm_cdf_sum(h, t) - ha * n_minus, 0.0)
        slack = la * norm_cdf_sum(-h, -t) + ha * n_minus
        objective = np.where(
            slack_side, log_target[active] - np.log(slack), np.log(value) - log_target[active]
        )
        slope = vega / np.where(slack_side, slack, value)
        hi[active] = np.where(objective > 0.0, sa, hi[active])
        lo[active] = np.where(objective < 0.0, sa, lo[active])
        s_next = sa - objective / slope
        exact = objective == 0.0
        converged = ~exact & (np.abs(s_next - sa) <= ivk.STEP_TOLERANCE * sa)
        result[active[exact]] = sa[exact]
        result[active[converged]] = s_next[converged]
        outside = ~((lo[active] < s_next) & (s_next < hi[active]))
        fallback = np.where(np.isinf(hi[active]), 2.0 * sa, 0.5 * (lo[active] + hi[active]))
        s[active] = np.where(outside, fallback, s_next)
        active = active[~(exact | converged)]
    result[active] = s[active]
    return result


def implied_vol_reference(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Numpy twin of :func:`crossmargin.pricing.implied_vol` (same arguments and result)."""
    inputs = implied_vol_inputs(price, forward, strike, t_years, rate_annual, is_call)
    prem, fwd, strk, t, rate, call = inputs.values
    result = np.full(inputs.size, np.nan)
    with np.errstate(all="ignore"):
        undiscounted = prem * np.exp(rate * t)
        upper_bound = np.where(call, fwd, strk)
        intrinsic = intrinsic_value(fwd, strk, call)
        otm_target = undiscounted - intrinsic
        slack_target = upper_bound - undiscounted
        valid = t > 0.0
        noise = ivk.ROUNDING_SLACK * intrinsic
        at_intrinsic = (otm_target <= noise) & (otm_target >= -noise)
        result[valid & at_intrinsic] = 0.0
        below_bound = slack_target > ivk.ROUNDING_SLACK * upper_bound
        solve = valid & (otm_target > noise) & below_bound
        total_vol = _total_vol_from_otm(
            fwd[solve], strk[solve], otm_target[solve], slack_target[solve]
        )
        result[solve] = total_vol / np.sqrt(t[solve])
    return result.reshape(inputs.shape)
