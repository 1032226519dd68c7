"""Inverse (coin-settled) options as Deribit quotes them: premium and Greeks in coin."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.pricing.black76 import Black76Greeks, black76_greeks, black76_price

__all__ = ["inverse_option_greeks_coin", "inverse_option_price_coin"]


def inverse_option_price_coin(
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol_annual: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
    *,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Premium of an inverse (coin-settled) option in coin per 1 coin of underlying.

    Parameters
    ----------
    forward, strike, t_years, vol_annual, rate_annual, is_call : array_like
        As for :func:`~crossmargin.pricing.black76_price`; forward and strike in USD.
    threads : int or None, keyword-only
        As for :func:`~crossmargin.pricing.black76_price`.

    Returns
    -------
    NDArray[np.float64]
        ``black76_price(...) / forward`` (e.g. Deribit's ``mark_price`` in BTC for a BTC option
        when ``forward`` is its ``underlying_price`` and r = 0); >= 0, broadcast shape.

    Raises
    ------
    PricingInputError
        As for :func:`~crossmargin.pricing.black76_price`.
    """
    price_usd = black76_price(
        forward, strike, t_years, vol_annual, rate_annual, is_call, threads=threads
    )
    forward_usd = np.broadcast_to(np.asarray(forward, dtype=np.float64), price_usd.shape)
    return np.asarray(price_usd / forward_usd)


def inverse_option_greeks_coin(
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol_annual: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
    *,
    threads: int | None = None,
) -> Black76Greeks:
    """Price and Greeks of an inverse (coin-settled) option, all in coin per 1 coin of underlying.

    With ``V`` the USD Black-76 value (:func:`~crossmargin.pricing.black76_greeks`) and
    ``v = V / F`` the coin premium:

    Parameters
    ----------
    forward, strike, t_years, vol_annual, rate_annual, is_call : array_like
        As for :func:`~crossmargin.pricing.black76_price`; forward and strike in USD.
    threads : int or None, keyword-only
        As for :func:`~crossmargin.pricing.black76_price`.

    Returns
    -------
    Black76Greeks
        ``price``: ``v = V / F`` in coin.
        ``delta``: ``F dv/dF = dV/dF - v``, the cash-adjusted (premium-adjusted) delta: coin of
        underlying-equivalent exposure per coin of option. For a call it is the Black delta minus
        the coin premium (smaller than ``N(d1)``), for a put it is more negative than the Black
        delta.
        ``gamma``: ``(d2V/dF2) / F``, the USD gamma (change of the USD delta per 1 USD of forward)
        converted to coin at the forward. It is *not* the second derivative of the coin premium,
        which is ``d2v/dF2 = (d2V/dF2 - 2 delta_coin / F) / F``.
        ``vega``: ``(dV/dsigma) / F`` = ``dv/dsigma`` exactly (F held fixed), per 1.00 of vol.
        ``theta``: ``(-dV/dT) / F`` = ``-dv/dT`` exactly, per year, negative for a long option at
        r = 0.

    Raises
    ------
    PricingInputError
        As for :func:`~crossmargin.pricing.black76_price`.
    """
    usd = black76_greeks(
        forward, strike, t_years, vol_annual, rate_annual, is_call, threads=threads
    )
    forward_usd = np.broadcast_to(np.asarray(forward, dtype=np.float64), usd.price.shape)
    price_coin = np.asarray(usd.price / forward_usd)
    return Black76Greeks(
        price=price_coin,
        delta=np.asarray(usd.delta - price_coin),
        gamma=np.asarray(usd.gamma / forward_usd),
        vega=np.asarray(usd.vega / forward_usd),
        theta=np.asarray(usd.theta / forward_usd),
    )
