"""Unit tests of the Black-76 implied vol: round trips, bounds and the NaN contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossmargin.pricing import PricingInputError, black76_greeks, black76_price, implied_vol

EPS = float(np.finfo(np.float64).eps)
ATM_PRICE = 100.0 * math.erf(0.1 / math.sqrt(2.0))  # F = K = 100, t = 1, vol 0.2, r = 0


def test_at_the_money_price_gives_back_its_vol() -> None:
    """C = 100 erf(0.1 / sqrt 2) = 7.965567455405796 is the ATM call at vol 0.2, t = 1, r = 0."""
    assert float(implied_vol(ATM_PRICE, 100.0, 100.0, 1.0, 0.0, True)) == pytest.approx(
        0.2, rel=1e-14
    )


@pytest.mark.parametrize("vol", [0.01, 0.6, 3.0, 10.0, 25.0])
@pytest.mark.parametrize("t_years", [1.0 / 8760.0, 0.25, 3.0])
def test_round_trip_across_the_vol_range(vol: float, t_years: float) -> None:
    """Vols from 1 % to 2,500 % (above the required 1,000 %) come back from their own prices,
    for a 10 % OTM call and the ITM put of the same strike (F = 50,000, K = 55,000, r = 2 %).

    A price carries ~8 ulp of rounding of max(price, intrinsic); over vega that is the vol
    resolution, so the check is 1e-9 relative plus that. Where the price is 0 (1 h at 1 %), within
    rounding of intrinsic (the ITM put at 1 h: time value < 1e-12 of the price) or of its upper
    bound (vol 10 and 25 at 3 y), no vol is resolvable: the answer is then 0 and NaN respectively.
    """
    f, k, r = 50_000.0, 55_000.0, 0.02
    kinds = np.array([True, False])
    greeks = black76_greeks(f, k, t_years, vol, r, kinds)
    recovered = implied_vol(greeks.price, f, k, t_years, r, kinds)
    discount = math.exp(-r * t_years)
    intrinsic = discount * np.array([max(f - k, 0.0), max(k - f, 0.0)])
    upper = discount * np.array([f, k])
    for i in range(2):
        noise = 8 * EPS * max(greeks.price[i], intrinsic[i])
        if greeks.price[i] - intrinsic[i] <= noise:
            assert recovered[i] == 0.0
        elif greeks.price[i] >= upper[i] * (1.0 - 1e-12):
            assert math.isnan(recovered[i])
        else:
            assert abs(recovered[i] - vol) <= 1e-9 * vol + 4 * noise / greeks.vega[i]


def test_one_hour_low_vol_near_the_money() -> None:
    """t = 1 h, vol 5 % (s = 5.3e-4), K = 1.001 F: d2 = -1.89, a price of ~1.5e-6 F recovers
    5 % to 1e-10."""
    f = 60_000.0
    price = black76_price(f, 1.001 * f, 1.0 / 8760.0, 0.05, 0.0, True)
    assert 1e-6 * f < float(price) < 1e-5 * f
    vol = implied_vol(price, f, 1.001 * f, 1.0 / 8760.0, 0.0, True)
    assert float(vol) == pytest.approx(0.05, rel=1e-10)


def test_no_vol_reproduces_these_prices() -> None:
    """NaN exactly where no vol works: t = 0; the ITM call F = 110, K = 100 (intrinsic 10, r = 0)
    quoted at 9.9; a call at its bound F = 110; a put above its bound K = 100."""
    cases = [
        (ATM_PRICE, 100.0, 100.0, 0.0, True),
        (9.9, 110.0, 100.0, 1.0, True),
        (110.0, 110.0, 100.0, 1.0, True),
        (100.5, 110.0, 100.0, 1.0, False),
    ]
    for price, f, k, t, call in cases:
        assert math.isnan(float(implied_vol(price, f, k, t, 0.0, call))), (price, f, k, t, call)


def test_price_with_no_time_value_gives_zero_vol() -> None:
    """Vol 0 reproduces an OTM price of 0 and an ITM price equal to its discounted intrinsic value
    (F = 110, K = 100, r = 5 %, t = 1: 10 e^{-0.05})."""
    assert float(implied_vol(0.0, 100.0, 120.0, 1.0, 0.0, True)) == 0.0
    discounted_intrinsic = 10.0 * math.exp(-0.05)
    assert float(implied_vol(discounted_intrinsic, 110.0, 100.0, 1.0, 0.05, True)) == 0.0


def test_implied_vol_broadcasts() -> None:
    """A (2, 1) price column against three expiries gives a (2, 3) grid."""
    prices = np.array([[5.0], [10.0]])
    vols = implied_vol(prices, 100.0, 100.0, np.array([0.25, 1.0, 2.0]), 0.0, True)
    assert vols.shape == (2, 3)
    assert np.all(np.diff(vols, axis=1) < 0.0)  # the same price over a longer time is a lower vol


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((-1.0, 100.0, 100.0, 1.0, 0.0, True), r"price = -1.0: must be finite and >= 0"),
        ((np.nan, 100.0, 100.0, 1.0, 0.0, True), r"price = nan"),
        ((5.0, [100.0, 0.0], 100.0, 1.0, 0.0, True), r"forward\[1\] = 0.0"),
        ((5.0, 100.0, 100.0, -1.0, 0.0, True), r"t_years = -1.0"),
    ],
)
def test_bad_inputs_are_rejected(arguments: tuple, message: str) -> None:
    """Non-finite or negative prices and invalid option terms raise PricingInputError."""
    with pytest.raises(PricingInputError, match=message):
        implied_vol(*arguments)
