"""Deribit display conventions for option Greeks (vega per vol point, theta per day)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.pricing._validation import positive
from crossmargin.pricing.black76 import Black76Greeks, read_only_view

__all__ = [
    "DAYS_PER_YEAR",
    "DeribitDisplayGreeks",
    "deribit_display_greeks",
    "theta_per_day",
    "vega_per_vol_point",
]

DAYS_PER_YEAR = 365.0  # Deribit's theta is per calendar day of an ACT/365 year


def vega_per_vol_point(vega: ArrayLike) -> NDArray[np.float64]:
    """Vega per one vol point (0.01 of annual vol), from vega per 1.00 of vol.

    Parameters
    ----------
    vega : array_like
        ``dV/dsigma`` per 1.00 of vol, in any currency.

    Returns
    -------
    NDArray[np.float64]
        ``vega / 100`` in the same currency: the value change for +1 % of vol (60 % -> 61 %).
    """
    return np.asarray(np.asarray(vega, dtype=np.float64) / 100.0)


def theta_per_day(theta: ArrayLike) -> NDArray[np.float64]:
    """Theta per calendar day, from theta per year.

    Parameters
    ----------
    theta : array_like
        ``-dV/dT`` per year, in any currency.

    Returns
    -------
    NDArray[np.float64]
        ``theta / 365`` in the same currency: the value change over one day of calendar time,
        negative for a long option at r = 0.
    """
    return np.asarray(np.asarray(theta, dtype=np.float64) / DAYS_PER_YEAR)


@dataclass(frozen=True, slots=True)
class DeribitDisplayGreeks:
    """Greeks the way Deribit's ticker shows them for an option (field names as in its API).

    Frozen, with read-only float64 arrays of one shape.

    Attributes
    ----------
    delta : NDArray[np.float64]
        Forward delta ``N(d1)`` (call) or ``-N(-d1)`` (put), undiscounted, dimensionless.
    gamma : NDArray[np.float64]
        ``phi(d1) / (F sigma sqrt(T))`` per 1 USD of forward, undiscounted.
    vega : NDArray[np.float64]
        USD per vol point (0.01 of annual vol).
    theta : NDArray[np.float64]
        USD per calendar day (negative for a long option at r = 0).
    """

    delta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    vega: NDArray[np.float64]
    theta: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in ("delta", "gamma", "vega", "theta"):
            object.__setattr__(self, name, read_only_view(getattr(self, name)))


def deribit_display_greeks(
    greeks: Black76Greeks, discount_factor: ArrayLike = 1.0
) -> DeribitDisplayGreeks:
    """Convert Black-76 Greeks in USD to Deribit's display units.

    Parameters
    ----------
    greeks : Black76Greeks
        USD Greeks from :func:`~crossmargin.pricing.black76_greeks` (not the coin Greeks of
        :func:`~crossmargin.pricing.inverse_option_greeks_coin`: Deribit shows the USD Black
        Greeks even for its coin-settled options).
    discount_factor : array_like, default 1.0
        ``e^{-rT}`` the Greeks were computed with; delta and gamma are divided by it so they are
        the forward (undiscounted) ones Deribit shows. Deribit prices with r = 0, where this is
        1.0 and the discounted and forward Greeks coincide. Finite and > 0.

    Returns
    -------
    DeribitDisplayGreeks
        ``delta = greeks.delta / discount_factor`` (``N(d1)`` or ``-N(-d1)``),
        ``gamma = greeks.gamma / discount_factor`` (per USD),
        ``vega = greeks.vega / 100`` (USD per vol point),
        ``theta = greeks.theta / 365`` (USD per calendar day).
        Deribit rounds these to 5 decimals for display; no rounding is done here.

    Raises
    ------
    PricingInputError
        If ``discount_factor`` is not finite and > 0.
    """
    discount = positive("discount_factor", discount_factor)
    return DeribitDisplayGreeks(
        delta=np.asarray(greeks.delta / discount),
        gamma=np.asarray(greeks.gamma / discount),
        vega=vega_per_vol_point(greeks.vega),
        theta=theta_per_day(greeks.theta),
    )
