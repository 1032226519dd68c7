"""Invariants of the Black-76 kernels that could fail, checked by hypothesis.

The numba kernels and their numpy twin (``crossmargin.pricing.reference``) compute the same
formulas with two independent normal CDFs (libm ``erfc`` vs scipy ``ndtr``). They agree to 1e-12
relative; the absolute floor of 1e-15 x (F + K) covers OTM prices whose formula subtracts two
terms up to ``|h| / s`` (~5,000 here) times larger, which turns a 1-ulp difference of the two CDFs
into ~5e-12 of the price (measured on 500,000 random options).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.pricing import black76_greeks, black76_price, implied_vol
from crossmargin.pricing.reference import (
    black76_greeks_reference,
    black76_price_reference,
    implied_vol_reference,
)

EPS = float(np.finfo(np.float64).eps)
ONE_HOUR = 1.0 / 8760.0

forwards = st.floats(1e-2, 1e6)
log_moneyness = st.floats(-3.0, 3.0)
expiries = st.one_of(st.just(0.0), st.just(ONE_HOUR), st.floats(ONE_HOUR, 10.0))
vols = st.one_of(st.just(0.0), st.floats(0.01, 5.0))
rates = st.floats(-0.1, 0.2)
kinds = st.booleans()
option = st.tuples(forwards, log_moneyness, expiries, vols, rates, kinds)


def as_arrays(options: list[tuple[float, float, float, float, float, bool]]) -> tuple:
    f, x, t, vol, r, call = (np.array(column) for column in zip(*options, strict=True))
    return f, f * np.exp(-x), t, vol, r, call.astype(bool)


@settings(max_examples=200, deadline=None)
@given(st.lists(option, min_size=1, max_size=16))
def test_numba_kernels_equal_numpy_twin(options: list) -> None:
    """Price and all Greeks: numba == numpy twin to 1e-12 relative (floor: see module doc)."""
    f, k, t, vol, r, call = as_arrays(options)
    fast = black76_greeks(f, k, t, vol, r, call)
    slow = black76_greeks_reference(f, k, t, vol, r, call)
    money = (f + k) * 1e-15
    decay_scale = np.where(t > 0.0, vol / np.sqrt(np.where(t > 0.0, t, 1.0)), 0.0)
    floors = {
        "price": money,
        "delta": np.full_like(f, 1e-15),
        "gamma": 1e-15 / np.minimum(f, k),
        "vega": money * (1.0 + np.sqrt(t)),
        "theta": money * (np.abs(r) + decay_scale),
    }
    for greek, floor in floors.items():
        a, b = getattr(fast, greek), getattr(slow, greek)
        assert np.all(np.abs(a - b) <= 1e-12 * np.abs(b) + floor), greek
    np.testing.assert_array_equal(black76_price(f, k, t, vol, r, call), fast.price)
    np.testing.assert_allclose(
        black76_price_reference(f, k, t, vol, r, call), slow.price, rtol=0, atol=0
    )


@settings(max_examples=200, deadline=None)
@given(option)
def test_put_call_parity(opt: tuple) -> None:
    """C - P = e^{-rT} (F - K) to a few ulp of the larger leg (both legs are separate kernels)."""
    f, x, t, vol, r, _ = opt
    k = f * math.exp(-x)
    call = float(black76_price(f, k, t, vol, r, True))
    put = float(black76_price(f, k, t, vol, r, False))
    parity = math.exp(-r * t) * (f - k)
    assert abs((call - put) - parity) <= 8 * EPS * max(call, put, f, k)


@settings(max_examples=200, deadline=None)
@given(option, st.floats(0.0, 5.0))
def test_price_is_monotone_in_vol(opt: tuple, other_vol: float) -> None:
    """Higher vol never gives a lower price (up to one ulp of rounding)."""
    f, x, t, vol, r, call = opt
    k = f * math.exp(-x)
    low, high = sorted((vol, other_vol))
    prices = black76_price(f, k, t, np.array([low, high]), r, call)
    assert prices[0] <= prices[1] * (1.0 + 2 * EPS)


def price_noise(f: float, k: float, t: float, vol: float, price: float, intrinsic: float) -> float:
    """Rounding carried by a computed price: a few ulp of max(price, intrinsic), plus the OTM
    formula's own error of ~eps x (1 + |h|) / s relative, h = ln(F/K) / s (its cancellation
    factor: the two terms of the formula are that much larger than their difference)."""
    total_vol = vol * math.sqrt(t)
    if total_vol > 0.0:
        cancellation = 1.0 + (1.0 + abs(math.log(f / k)) / total_vol) / total_vol
    else:
        cancellation = 1.0
    return 8 * EPS * max(price, intrinsic) + 4 * EPS * cancellation * price


@settings(max_examples=300, deadline=None)
@given(forwards, log_moneyness, st.floats(ONE_HOUR, 10.0), st.floats(0.01, 5.0), rates, kinds)
def test_implied_vol_round_trip(
    f: float, x: float, t: float, vol: float, r: float, call: bool
) -> None:
    """implied_vol(black76_price(sigma)) == sigma wherever the price still resolves sigma.

    A computed price carries the rounding of :func:`price_noise`; divided by vega that is the
    vol uncertainty the price itself allows. Where it exceeds 1e-6 of sigma (vega negligible:
    deep ITM/OTM), only the repriced value is checked, to the same noise.
    """
    k = f * math.exp(-x)
    greeks = black76_greeks(f, k, t, vol, r, call)
    price, vega = float(greeks.price), float(greeks.vega)
    discount = math.exp(-r * t)
    intrinsic = discount * max((f - k) if call else (k - f), 0.0)
    upper = discount * (f if call else k)
    noise = price_noise(f, k, t, vol, price, intrinsic)
    recovered = float(implied_vol(price, f, k, t, r, call))
    if price >= upper * (1.0 - 1e-12) or price - intrinsic <= noise or price < 1e-280:
        return  # the price no longer pins a vol: at a bound or at intrinsic within rounding
    assert not math.isnan(recovered)
    if vega > 1e-280 and noise / vega <= 1e-6 * vol:
        assert abs(recovered - vol) <= 1e-9 * vol + 4 * noise / vega
    repriced = float(black76_price(f, k, t, recovered, r, call))
    assert abs(repriced - price) <= 1e-13 * price + 4 * noise


@settings(max_examples=200, deadline=None)
@given(option, st.floats(1e-6, 1.0))
def test_below_intrinsic_or_above_bound_is_nan(opt: tuple, shortfall: float) -> None:
    """No vol reproduces a price below discounted intrinsic or at/above the upper bound: NaN."""
    f, x, t, _, r, call = opt
    k = f * math.exp(-x)
    t_live = max(t, ONE_HOUR)
    discount = math.exp(-r * t_live)
    intrinsic = discount * max((f - k) if call else (k - f), 0.0)
    upper = discount * (f if call else k)
    if intrinsic > 0.0:
        below = intrinsic * (1.0 - shortfall)
        assert math.isnan(float(implied_vol(below, f, k, t_live, r, call)))
    assert math.isnan(float(implied_vol(upper * (1.0 + shortfall), f, k, t_live, r, call)))
    assert math.isnan(float(implied_vol(upper, f, k, t_live, r, call)))
    assert math.isnan(float(implied_vol(0.5 * upper, f, k, 0.0, r, call)))


@settings(max_examples=100, deadline=None)
@given(st.lists(option, min_size=1, max_size=16))
def test_implied_vol_numba_equals_numpy_twin(options: list) -> None:
    """Implied vol: numba kernel == numpy twin to 1e-9, or to the price noise over vega.

    The twins differ by an ulp in ``exp`` and in the normal CDF; near a bound (or at intrinsic)
    that ulp of the price is a visible vol difference, bounded by :func:`price_noise` / vega.
    """
    f, k, t, vol, r, call = as_arrays(options)
    t = np.maximum(t, ONE_HOUR)
    greeks = black76_greeks(f, k, t, vol, r, call)
    fast = implied_vol(greeks.price, f, k, t, r, call)
    slow = implied_vol_reference(greeks.price, f, k, t, r, call)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    normal_range = greeks.price > 1e-280  # denormal prices carry too few digits to invert
    for i in np.flatnonzero(~np.isnan(fast) & (greeks.vega > 1e-280) & normal_range):
        discount = math.exp(-r[i] * t[i])
        intrinsic = discount * max((f[i] - k[i]) if call[i] else (k[i] - f[i]), 0.0)
        noise = price_noise(f[i], k[i], t[i], vol[i], greeks.price[i], intrinsic)
        assert abs(fast[i] - slow[i]) <= 1e-9 * slow[i] + 4 * noise / greeks.vega[i]
