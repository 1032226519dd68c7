"""Black-76 implied volatility over numpy arrays (numba kernel behind a validated entry point)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.pricing import _iv_kernels
from crossmargin.pricing._threads import run_in_chunks
from crossmargin.pricing._validation import implied_vol_inputs

__all__ = ["implied_vol"]


def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
    *,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Annualised Black-76 volatility that reproduces a discounted price, broadcast over all args.

    Parameters
    ----------
    price : array_like
        Discounted premium per 1.0 of underlying in the quote currency (same convention as
        :func:`~crossmargin.pricing.black76_price`); finite and >= 0.
    forward, strike : array_like
        Forward and strike in the quote currency; > 0.
    t_years : array_like
        Time to expiry in years (ACT/365); >= 0.
    rate_annual : array_like
        Continuously compounded discount rate per year; finite.
    is_call : array_like of bool
        True for a call, False for a put (integer 0/1 accepted).
    threads : int or None, keyword-only
        As for :func:`~crossmargin.pricing.black76_price`.

    Returns
    -------
    NDArray[np.float64]
        Annual vol (0.6 means 60 %), >= 0, in the broadcast shape. It is NaN exactly where no vol
        reproduces the price: ``t_years == 0``, a price below the discounted intrinsic value, or a
        price at or above the discounted upper bound (``F e^{-rT}`` for a call, ``K e^{-rT}`` for
        a put; within 4 ulp of it counts as at it, since only an infinite vol gets there). A price
        whose time value (price minus discounted intrinsic) is within 4 ulp of zero gives 0.0:
        vol 0 reproduces it, and any larger answer would be fitted to rounding noise.

    Raises
    ------
    PricingInputError
        (a ``ValueError``) naming the first NaN, infinite or negative element.

    Notes
    -----
    The root is searched in total vol ``s = vol sqrt(t)`` of the out-of-the-money twin of the
    option (price minus intrinsic), bracketed by the inflection point ``s = sqrt(2 |ln(F/K)|)``
    where the OTM value turns from convex to concave, with a safeguarded Newton iteration on
    ``ln(value)`` up to half the bound and on ``ln(upper bound - value)`` above it (both computed
    without cancellation); a step that would leave the bracket becomes a bisection. Typical cost
    is 4-8 iterations (at most 12 over a 100,000-option grid of ``|ln(F/K)| <= 8``,
    ``s`` in 1e-3..20). The repriced value matches the input to 2e-13 relative (99th percentile
    over that grid; worst 7e-12 on prices near 1e-200), limited by the price function's own
    rounding, not by the iteration. There is no upper cap on the vol: anything whose price is
    representable below the bound is found (vol 25 = 2,500 % at 0.25 y included).
    """
    inputs = implied_vol_inputs(price, forward, strike, t_years, rate_annual, is_call)
    prem, fwd, strk, t, rate, call = inputs.values
    out = np.empty(inputs.size, dtype=np.float64)
    run_in_chunks(_iv_kernels.implied_vol_loop, (prem, fwd, strk, t, rate, call), out, threads)
    return out.reshape(inputs.shape)
