"""Unit tests of Black-76 prices and Greeks, each with its numbers derived in the docstring."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from crossmargin.pricing import Black76Greeks, PricingInputError, black76_greeks, black76_price


def test_at_the_money_call_is_an_erf() -> None:
    """F = K = 100, t = 1, vol 0.2, r = 0: d1 = 0.1, d2 = -0.1, so
    C = 100 [N(0.1) - N(-0.1)] = 100 erf(0.1 / sqrt 2) = 7.965567455405796; the put is equal."""
    expected = 100.0 * math.erf(0.1 / math.sqrt(2.0))
    assert expected == pytest.approx(7.965567455405796, rel=1e-15)
    assert float(black76_price(100.0, 100.0, 1.0, 0.2, 0.0, True)) == pytest.approx(
        expected, rel=1e-14
    )
    assert float(black76_price(100.0, 100.0, 1.0, 0.2, 0.0, False)) == pytest.approx(
        expected, rel=1e-14
    )


def test_price_is_discounted_at_the_rate() -> None:
    """Black-76 discounts the forward payoff: V(r = 5 %, t = 2) = e^{-0.1} V(r = 0)."""
    undiscounted = float(black76_price(100.0, 90.0, 2.0, 0.4, 0.0, True))
    discounted = float(black76_price(100.0, 90.0, 2.0, 0.4, 0.05, True))
    assert discounted == pytest.approx(math.exp(-0.1) * undiscounted, rel=1e-15)


def test_expiry_gives_intrinsic_value() -> None:
    """t = 0: call F = 110, K = 100 is worth 10; the put 0; no discounting at t = 0."""
    prices = black76_price(110.0, 100.0, 0.0, 0.8, 0.05, np.array([True, False]))
    np.testing.assert_array_equal(prices, [10.0, 0.0])


def test_zero_vol_limits() -> None:
    """vol = 0, t = 1, r = 5 %, F = 110, K = 100 (call): V = e^{-0.05} 10 = 9.51229424500714,
    delta = e^{-0.05} = 0.951229424500714, gamma = vega = 0, theta = r V = 0.47561471225035706
    (only discounting moves the value as time passes)."""
    greeks = black76_greeks(110.0, 100.0, 1.0, 0.0, 0.05, True)
    assert float(greeks.price) == pytest.approx(9.51229424500714, rel=1e-15)
    assert float(greeks.delta) == pytest.approx(0.951229424500714, rel=1e-15)
    assert float(greeks.gamma) == 0.0
    assert float(greeks.vega) == 0.0
    assert float(greeks.theta) == pytest.approx(0.47561471225035706, rel=1e-15)
    put = black76_greeks(110.0, 100.0, 1.0, 0.0, 0.05, False)
    assert (float(put.price), float(put.delta), float(put.theta)) == (0.0, 0.0, 0.0)


def test_zero_vol_at_the_money_limits() -> None:
    """vol = 0 at F = K = 100, t = 1, r = 0: delta is the vol -> 0 limit N(0) = 0.5 (call) and
    -0.5 (put); vega keeps its finite limit F sqrt(t) phi(0) = 100 / sqrt(2 pi) = 39.894228..."""
    greeks = black76_greeks(100.0, 100.0, 1.0, 0.0, 0.0, np.array([True, False]))
    np.testing.assert_array_equal(greeks.price, [0.0, 0.0])
    np.testing.assert_array_equal(greeks.delta, [0.5, -0.5])
    np.testing.assert_allclose(greeks.vega, 39.894228040143275, rtol=1e-15)
    np.testing.assert_array_equal(greeks.gamma, [0.0, 0.0])


@pytest.mark.parametrize("is_call", [True, False])
def test_greeks_are_derivatives_of_the_price(is_call: bool) -> None:
    """F = 100, K = 95, t = 0.5, vol 0.3, r = 3 %: delta, gamma, vega and theta = -dV/dT agree
    with central differences of black76_price (steps 1e-3 in F, 1e-5 in vol and t, 1e-2 in F for
    gamma; rel 1e-7, gamma 1e-5 since its second difference loses more digits)."""
    f, k, t, vol, r = 100.0, 95.0, 0.5, 0.3, 0.03
    greeks = black76_greeks(f, k, t, vol, r, is_call)

    def price(f_: float = f, t_: float = t, vol_: float = vol) -> float:
        return float(black76_price(f_, k, t_, vol_, r, is_call))

    df, dv, dt, dg = 1e-3, 1e-5, 1e-5, 1e-2
    assert float(greeks.delta) == pytest.approx((price(f + df) - price(f - df)) / (2 * df), 1e-7)
    second = (price(f + dg) - 2 * price() + price(f - dg)) / dg**2
    assert float(greeks.gamma) == pytest.approx(second, rel=1e-5)
    assert float(greeks.vega) == pytest.approx(
        (price(vol_=vol + dv) - price(vol_=vol - dv)) / (2 * dv), rel=1e-7
    )
    assert float(greeks.theta) == pytest.approx(
        -(price(t_=t + dt) - price(t_=t - dt)) / (2 * dt), rel=1e-7
    )


def test_theta_is_negative_for_a_long_option_at_zero_rate() -> None:
    """At r = 0, theta = -F phi(d1) vol / (2 sqrt t) < 0: an ATM call with F = 100, t = 1,
    vol 0.2 decays at 100 phi(0.1) 0.2 / 2 = 3.969525474770118 per year."""
    greeks = black76_greeks(100.0, 100.0, 1.0, 0.2, 0.0, True)
    phi = math.exp(-0.005) / math.sqrt(2 * math.pi)
    assert float(greeks.theta) == pytest.approx(-100.0 * phi * 0.1, rel=1e-14)
    assert float(greeks.theta) == pytest.approx(-3.969525474770118, rel=1e-14)


def test_arguments_broadcast() -> None:
    """Forward (3, 1) against strike (4,) prices a 3 x 4 grid, each equal to the scalar call."""
    forward = np.array([[90.0], [100.0], [110.0]])
    strike = np.array([80.0, 95.0, 105.0, 120.0])
    grid = black76_price(forward, strike, 0.25, 0.5, 0.01, True)
    assert grid.shape == (3, 4)
    assert grid.dtype == np.float64
    for i, j in np.ndindex(3, 4):
        scalar = black76_price(forward[i, 0], strike[j], 0.25, 0.5, 0.01, True)
        assert grid[i, j] == scalar
    greeks = black76_greeks(forward, strike, 0.25, 0.5, 0.01, np.array([1, 0, 1, 0]))
    assert greeks.theta.shape == (3, 4)


def test_scalar_arguments_give_zero_dimensional_arrays() -> None:
    """Scalars in, 0-d float64 arrays out (``float(...)`` reads them)."""
    price = black76_price(100.0, 100.0, 1.0, 0.2, 0.0, True)
    assert isinstance(price, np.ndarray)
    assert price.shape == ()


def test_greeks_are_frozen_and_read_only() -> None:
    """A Black76Greeks is a frozen value: no attribute rebinding, no writes into its arrays."""
    greeks = black76_greeks([100.0, 100.0], 100.0, 1.0, 0.2, 0.0, True)
    assert isinstance(greeks, Black76Greeks)
    with pytest.raises(dataclasses.FrozenInstanceError):
        greeks.price = greeks.delta  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        greeks.delta[0] = 1.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([100.0, 90.0, -1.0], 100.0, 1.0, 0.2, 0.0, True), r"forward\[2\] = -1.0: must be"),
        ((100.0, [[1.0, 2.0], [3.0, np.nan]], 1.0, 0.2, 0.0, True), r"strike\[1, 1\] = nan"),
        ((100.0, 100.0, -0.5, 0.2, 0.0, True), r"t_years = -0.5: must be finite and >= 0"),
        ((100.0, 100.0, 1.0, np.inf, 0.0, True), r"vol_annual = inf"),
        ((100.0, 100.0, 1.0, 0.2, -np.inf, True), r"rate_annual = -inf: must be finite"),
        ((100.0, 0.0, 1.0, 0.2, 0.0, True), r"strike = 0.0: must be finite and > 0"),
        ((100.0, 100.0, 1.0, 0.2, 0.0, [1, 2]), r"is_call\[1\] = 2.0: must be a bool"),
        ((100.0, 100.0, 1.0, 0.2, 0.0, 0.5), r"is_call: must be a bool"),
        ((100.0, 100.0, 1.0, "0.2", 0.0, True), r"vol_annual"),
        (([1.0, 2.0], [1.0, 2.0, 3.0], 1.0, 0.2, 0.0, True), r"do not broadcast"),
    ],
)
def test_bad_inputs_are_rejected_with_their_name_and_value(arguments: tuple, message: str) -> None:
    """NaN, infinities, negative or zero prices, negative vol/time and non-bool kinds raise
    PricingInputError (a ValueError) naming the argument, the index and the value."""
    with pytest.raises(PricingInputError, match=message):
        black76_price(*arguments)
    with pytest.raises(ValueError, match=message):
        black76_greeks(*arguments)


def test_deep_out_of_the_money_prices_stay_positive_and_ordered() -> None:
    """Calls 1 hour out at vol 50 % (s = 0.00534) with strikes 2 %..8 % above F = 60,000: d2
    runs from -3.7 to -14.4 and the prices fall from 8.2e-3 to 5.4e-46 USD, staying positive and
    strictly decreasing (a formulation through 1 - N(d) or parity would return 0 or rounding noise
    below ~1e-11 here)."""
    strikes = 60_000.0 * np.array([1.02, 1.04, 1.06, 1.08])
    prices = black76_price(60_000.0, strikes, 1.0 / 8760.0, 0.5, 0.0, True)
    assert np.all(prices > 0.0)
    assert np.all(np.diff(prices) < 0.0)
    assert prices[0] == pytest.approx(8.155397014563299e-03, rel=1e-12)  # mpmath, 40 digits
    assert prices[-1] == pytest.approx(5.408031425528314e-46, rel=1e-12)


def test_thread_count_does_not_change_a_single_byte() -> None:
    """120,000 options priced on 1, 3 and the default number of threads: each option runs the
    same serial code whatever chunk it lands in, so the arrays are bitwise equal."""
    rng = np.random.default_rng(5)
    n = 120_000
    forward = rng.uniform(1_000.0, 100_000.0, n)
    arguments = (
        forward,
        forward * np.exp(rng.uniform(-1.0, 1.0, n)),
        rng.uniform(0.0, 2.0, n),
        rng.uniform(0.0, 2.0, n),
        0.01,
        rng.random(n) < 0.5,
    )
    serial = black76_greeks(*arguments, threads=1)
    for threads in (3, None):
        chunked = black76_greeks(*arguments, threads=threads)
        for name in ("price", "delta", "gamma", "vega", "theta"):
            np.testing.assert_array_equal(getattr(chunked, name), getattr(serial, name))
    np.testing.assert_array_equal(black76_price(*arguments, threads=2), serial.price)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_bad_thread_counts_are_rejected(threads: object) -> None:
    """threads must be None or an int >= 1."""
    with pytest.raises(PricingInputError, match="threads"):
        black76_price(100.0, 100.0, 1.0, 0.2, 0.0, True, threads=threads)  # type: ignore[arg-type]
