"""Numba kernels for Black-76: scalar cores and the compiled array loops built on them.

Everything here assumes clean inputs (finite, forward > 0, strike > 0, vol >= 0, t >= 0); the
public functions in :mod:`crossmargin.pricing.black76` validate before calling in. All kernels are
compiled with ``fastmath`` off, so IEEE semantics hold and the compensated sums below stay exact.

Accuracy strategy (see :func:`otm_value`): only the out-of-the-money option is ever evaluated from
the Black formula, as ``min(F, K) N(h + t) - max(F, K) N(h - t)`` with ``h = -|ln(F/K)| / s`` and
``t = s / 2``; the in-the-money one is ``intrinsic + OTM`` (put-call parity in the direction that
adds two positive numbers). The normal CDF of ``h ± t`` is evaluated with the rounding of the sum
and of the scaling by ``1/sqrt(2)`` compensated to first order, so each ``N`` is good to about one
ulp even at ``N ~ 1e-300``. What remains is the cancellation between the two terms, which are
about ``(1 + |h|) / s`` times the price: a relative error of ~2e-16 x (1 + |h|) / s, e.g. 1e-12
for s = 1e-3, |h| = 5 (vol 10 % over 1 hour, price ~1e-9 F). Measured against 50-digit mpmath on
prices down to 1e-300: worst 3e-12 relative for s >= 3e-4.
"""

from __future__ import annotations

import math

import numba
import numpy as np

INV_SQRT2 = 0.7071067811865476  # fl(1/sqrt(2))
INV_SQRT2_TAIL = -4.833646656726457e-17  # 1/sqrt(2) - fl(1/sqrt(2))
INV_SQRT2_HI = 0.7071067839860916  # Veltkamp split of fl(1/sqrt(2)): 26 leading bits
INV_SQRT2_LO = -2.7995440410322203e-09  # and the rest; HI + LO == fl(1/sqrt(2)) exactly
INV_SQRT_2PI = 0.3989422804014327  # 1/sqrt(2 pi)
SPLITTER = 134217729.0  # 2**27 + 1, Veltkamp splitting constant for float64
COMPENSATION_LIMIT = 28.0  # |u| = |z| / sqrt(2) beyond 28: N(z) is 0 or 1 in float64
KOMATSU_C = 1.5  # constant in the Mills-ratio bound used for the compensation slope


@numba.njit(cache=True, error_model="numpy")
def norm_pdf(z: float) -> float:
    """Standard normal density."""
    return INV_SQRT_2PI * math.exp(-0.5 * z * z)


@numba.njit(cache=True, error_model="numpy")
def norm_cdf_sum(a: float, b: float) -> float:
    """``N(a + b)`` with the rounding of ``a + b`` and of ``(a + b) / sqrt(2)`` compensated.

    Only the tails need it (for ``|a + b| < 1`` an argument error of ``eps |z|`` moves ``N`` by
    under an ulp). There the sum error comes from TwoSum, the product error from Dekker's
    TwoProduct against the pre-split constant, and both are folded in by one Taylor step whose
    slope ``exp(-u^2) / sqrt(pi)`` is taken from the tail itself through Komatsu's bound
    ``erfc(x) ~ 2 exp(-x^2) / (sqrt(pi) (x + sqrt(x^2 + c)))``, c in [4/pi, 2]: the correction is
    ~1e-16 relative, so the bound's few-percent slack is far below an ulp.
    """
    z = a + b
    u = z * INV_SQRT2
    au = abs(u)
    if au < INV_SQRT2:
        return 0.5 + 0.5 * math.erf(u)
    tail = 0.5 * math.erfc(au)
    if au < COMPENSATION_LIMIT:
        b_virtual = z - a
        z_err = (a - (z - b_virtual)) + (b - b_virtual)
        split = SPLITTER * z
        z_hi = split - (split - z)
        z_lo = z - z_hi
        u_err = ((z_hi * INV_SQRT2_HI - u) + z_hi * INV_SQRT2_LO + z_lo * INV_SQRT2_HI) + (
            z_lo * INV_SQRT2_LO
        )
        u_err += z * INV_SQRT2_TAIL + z_err * INV_SQRT2
        slope = tail * (au + math.sqrt(au * au + KOMATSU_C))
        if u > 0.0:
            return (1.0 - tail) + slope * u_err
        return tail + slope * u_err
    if u > 0.0:
        return 1.0 - tail
    return tail


@numba.njit(cache=True, error_model="numpy")
def log_moneyness(forward: float, strike: float) -> float:
    """``ln(F / K)``, via ``log1p`` near the money so the result keeps full relative precision."""
    gap = forward - strike  # exact when K/2 <= F <= 2K (Sterbenz)
    if abs(gap) < 0.5 * strike:
        return math.log1p(gap / strike)
    return math.log(forward / strike)


@numba.njit(cache=True, error_model="numpy")
def otm_value(forward: float, strike: float, total_vol: float) -> float:
    """Undiscounted Black value of the out-of-the-money option (call if F < K, else put).

    ``total_vol`` is ``s = vol * sqrt(t) > 0``. At ``F == K`` both options are worth this.
    """
    h = -abs(log_moneyness(forward, strike)) / total_vol
    t = 0.5 * total_vol
    value = min(forward, strike) * norm_cdf_sum(h, t) - max(forward, strike) * norm_cdf_sum(h, -t)
    return max(value, 0.0)


@numba.njit(cache=True, error_model="numpy")
def intrinsic_value(forward: float, strike: float, is_call: bool) -> float:
    """Undiscounted intrinsic value ``max(F - K, 0)`` (call) or ``max(K - F, 0)`` (put)."""
    if is_call:
        return max(forward - strike, 0.0)
    return max(strike - forward, 0.0)


@numba.njit(cache=True, error_model="numpy")
def price_scalar(
    forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool
) -> float:
    """Discounted Black-76 price of one option (discounted intrinsic when vol * sqrt(t) == 0)."""
    discount = math.exp(-rate * t_years)
    total_vol = vol * math.sqrt(t_years)
    value = intrinsic_value(forward, strike, is_call)
    if total_vol > 0.0:
        value += otm_value(forward, strike, total_vol)
    return discount * value


@numba.njit(cache=True, error_model="numpy")
def greeks_scalar(
    forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool
) -> tuple[float, float, float, float, float]:
    """Price, delta, gamma, vega, theta of one option; see ``Black76Greeks`` for the units.

    With ``s = vol * sqrt(t) == 0`` the limits are: delta the discounted ITM indicator (half of it
    at ``F == K``), gamma 0, vega ``e^{-rT} F sqrt(T) phi(0)`` at ``F == K`` and 0 elsewhere,
    theta ``r * price`` (discounting only).
    """
    discount = math.exp(-rate * t_years)
    sqrt_t = math.sqrt(t_years)
    total_vol = vol * sqrt_t
    price = intrinsic_value(forward, strike, is_call)
    if total_vol > 0.0:
        x_over_s = log_moneyness(forward, strike) / total_vol
        half_s = 0.5 * total_vol
        h = -abs(x_over_s)
        n_plus = norm_cdf_sum(h, half_s)  # N(h + t)
        n_minus = norm_cdf_sum(h, -half_s)  # N(h - t) < 1/2
        price += max(min(forward, strike) * n_plus - max(forward, strike) * n_minus, 0.0)
        if x_over_s <= 0.0:  # d1 = h + t
            if is_call:
                delta = n_plus
            elif n_plus < 0.5:
                delta = n_plus - 1.0
            else:
                delta = -norm_cdf_sum(-h, -half_s)  # small: evaluate, do not subtract
        else:  # d1 = t - h = -(h - t)
            delta = 1.0 - n_minus if is_call else -n_minus
        density = norm_pdf(x_over_s + half_s)
        gamma = discount * density / (forward * total_vol)
        vega = discount * forward * density * sqrt_t
        decay = discount * forward * density * vol / (2.0 * sqrt_t)
    else:
        sign = 1.0 if is_call else -1.0
        if forward == strike:
            delta = 0.5 * sign
            vega = discount * forward * sqrt_t * INV_SQRT_2PI
        else:
            delta = sign if sign * (forward - strike) > 0.0 else 0.0
            vega = 0.0
        gamma = 0.0
        decay = 0.0
    price *= discount
    return price, discount * delta, gamma, vega, rate * price - decay


@numba.njit(cache=True, error_model="numpy", nogil=True)
def price_loop(
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    is_call: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out[i]`` with the discounted price of option ``i`` (1-D arrays of equal length)."""
    for i in range(out.shape[0]):
        out[i] = price_scalar(forward[i], strike[i], t_years[i], vol[i], rate[i], is_call[i])


@numba.njit(cache=True, error_model="numpy", nogil=True)
def greeks_loop(
    forward: np.ndarray,
    strike: np.ndarray,
    t_years: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    is_call: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out[k, i]`` (k = price, delta, gamma, vega, theta) for option ``i``."""
    for i in range(out.shape[1]):
        price, delta, gamma, vega, theta = greeks_scalar(
            forward[i], strike[i], t_years[i], vol[i], rate[i], is_call[i]
        )
        out[0, i] = price
        out[1, i] = delta
        out[2, i] = gamma
        out[3, i] = vega
        out[4, i] = theta
