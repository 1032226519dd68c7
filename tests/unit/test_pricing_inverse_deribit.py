"""Unit tests of inverse (coin-settled) option Greeks and Deribit's display conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossmargin.pricing import (
    PricingInputError,
    black76_greeks,
    black76_price,
    deribit_display_greeks,
    inverse_option_greeks_coin,
    inverse_option_price_coin,
    theta_per_day,
    vega_per_vol_point,
)

F, K, T, VOL, R = 60_000.0, 65_000.0, 30.0 / 365.0, 0.6, 0.0


def coin_price(
    forward: float = F, t_years: float = T, vol: float = VOL, call: bool = True
) -> float:
    return float(inverse_option_price_coin(forward, K, t_years, vol, R, call))


def test_coin_price_is_usd_price_over_forward() -> None:
    """A BTC option's premium in BTC is its USD Black-76 value divided by the forward (Deribit's
    mark_price = USD value / underlying_price)."""
    usd = float(black76_price(F, K, T, VOL, R, True))
    assert coin_price() == pytest.approx(usd / F, rel=1e-15)


@pytest.mark.parametrize("call", [True, False])
def test_coin_greeks_are_derivatives_of_the_coin_price(call: bool) -> None:
    """F = 60,000, K = 65,000, 30 days, vol 60 %: with v = V / F in coin,
    delta_coin = F dv/dF = Black delta - v, vega_coin = dv/dvol, theta_coin = -dv/dT, and the
    documented second derivative d2v/dF2 = (gamma_usd - 2 delta_coin / F) / F, all checked by
    central differences (steps 1 USD, 1e-5 vol, 1e-6 y; gamma 20 USD)."""
    coin = inverse_option_greeks_coin(F, K, T, VOL, R, call)
    usd = black76_greeks(F, K, T, VOL, R, call)

    def v(forward: float = F, t_years: float = T, vol: float = VOL) -> float:
        return coin_price(forward, t_years, vol, call)

    assert float(coin.price) == pytest.approx(float(usd.price) / F, rel=1e-15)
    assert float(coin.delta) == pytest.approx(float(usd.delta) - float(coin.price), rel=1e-15)
    assert float(coin.delta) == pytest.approx(F * (v(F + 1.0) - v(F - 1.0)) / 2.0, rel=1e-7)
    assert float(coin.vega) == pytest.approx((v(vol=VOL + 1e-5) - v(vol=VOL - 1e-5)) / 2e-5, 1e-7)
    assert float(coin.theta) == pytest.approx(
        -(v(t_years=T + 1e-6) - v(t_years=T - 1e-6)) / 2e-6, rel=1e-6
    )
    assert float(coin.gamma) == pytest.approx(float(usd.gamma) / F, rel=1e-15)
    second = (v(F + 20.0) - 2.0 * v() + v(F - 20.0)) / 400.0
    documented = (float(usd.gamma) - 2.0 * float(coin.delta) / F) / F
    assert documented == pytest.approx(second, rel=1e-5)


def test_coin_delta_of_a_call_is_below_its_black_delta() -> None:
    """The premium is paid in coin, so a long call's coin delta is N(d1) minus the premium in
    coin: below the Black delta, and for a put below (more negative than) -N(-d1)."""
    kinds = np.array([True, False])
    coin = inverse_option_greeks_coin(F, K, T, VOL, R, kinds)
    usd = black76_greeks(F, K, T, VOL, R, kinds)
    assert np.all(coin.delta < usd.delta)


def test_unit_conversions() -> None:
    """Vega 35.3889 per 1.00 of vol is 0.353889 per vol point; theta -365 per year is -1 a day."""
    assert float(vega_per_vol_point(35.3889)) == pytest.approx(0.353889, rel=1e-15)
    assert float(theta_per_day(-365.0)) == -1.0
    np.testing.assert_allclose(vega_per_vol_point([100.0, 250.0]), [1.0, 2.5])


def test_deribit_display_undiscounts_delta_and_gamma() -> None:
    """With r = 5 % and t = 1 the discounted Black delta is e^{-0.05} N(d1); Deribit shows N(d1),
    so the display divides by the discount factor; vega / 100 and theta / 365 are unit changes.
    With the default discount factor 1 (Deribit's r = 0) nothing is undiscounted."""
    greeks = black76_greeks(100.0, 100.0, 1.0, 0.2, 0.05, True)
    discount = math.exp(-0.05)
    shown = deribit_display_greeks(greeks, discount_factor=discount)
    n_d1 = 0.5 * math.erfc(-0.1 / math.sqrt(2.0))  # d1 = 0.1
    assert float(shown.delta) == pytest.approx(n_d1, rel=1e-14)
    assert float(shown.gamma) == pytest.approx(float(greeks.gamma) / discount, rel=1e-15)
    assert float(shown.vega) == pytest.approx(float(greeks.vega) / 100.0, rel=1e-15)
    assert float(shown.theta) == pytest.approx(float(greeks.theta) / 365.0, rel=1e-15)
    plain = deribit_display_greeks(greeks)
    assert float(plain.delta) == float(greeks.delta)


def test_deribit_display_rejects_a_bad_discount_factor() -> None:
    """A discount factor must be finite and > 0."""
    greeks = black76_greeks(100.0, 100.0, 1.0, 0.2, 0.0, True)
    with pytest.raises(PricingInputError, match=r"discount_factor = 0\.0"):
        deribit_display_greeks(greeks, discount_factor=0.0)
