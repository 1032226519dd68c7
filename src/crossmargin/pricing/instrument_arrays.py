"""Instruments as parallel float64 arrays, ready for the pricing kernels.

Margin models revalue the same positions under many scenarios; they do it on these arrays, never
by looping over Python objects. :func:`unit_values_usd` is the single definition of "what one
unit of an instrument is worth in USD" used by valuation and by every scenario model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument, KindCode
from crossmargin.market import MarketSnapshot
from crossmargin.pricing.black76 import black76_greeks, black76_price

__all__ = [
    "InstrumentArrays",
    "delta_one_coin_per_unit",
    "instrument_arrays",
    "unit_greeks_usd",
    "unit_values_usd",
]

FloatArray = NDArray[np.float64]

SPOT, FUTURE, PERPETUAL, OPTION = (
    KindCode.SPOT,
    KindCode.FUTURE,
    KindCode.PERPETUAL,
    KindCode.OPTION,
)


@dataclass(frozen=True)
class InstrumentArrays:
    """Per-instrument market inputs at the snapshot, one element per instrument.

    Attributes
    ----------
    instruments:
        The instruments, in array order.
    kind:
        :class:`~crossmargin.instruments.KindCode` of each instrument (int64).
    is_inverse, is_call:
        Booleans (``is_call`` is False for non-options).
    underlying:
        Underlying asset code per instrument (object array of str).
    index_usd:
        Index price of the underlying, USD per coin.
    forward_usd:
        Forward of the instrument's expiry (the index for spot and perpetuals), USD per coin.
    strike_usd:
        Strike for options, NaN otherwise.
    t_years:
        ACT/365 time to expiry (0 for spot and perpetuals).
    vol_annual:
        Implied vol from the surface at the strike (0 for non-options).
    entry_usd:
        Entry price of futures, perpetuals and spot in USD per coin; the current forward where none
        was given. NaN for options.
    settlement_usd:
        USD price of one unit of the settlement currency at the snapshot.
    rate_annual:
        Continuously compounded rate that discounts option premiums (0.05 = 5 %): the
        snapshot's scalar rate as :func:`instrument_arrays` builds it, or one rate per instrument
        (float64, aligned with the other arrays) where a scenario set discounts each at its own
        rate. The pricing kernels broadcast either against the instrument axis.
    """

    instruments: tuple[Instrument, ...]
    kind: NDArray[np.int64]
    is_inverse: NDArray[np.bool_]
    is_call: NDArray[np.bool_]
    underlying: NDArray[np.object_]
    index_usd: FloatArray
    forward_usd: FloatArray
    strike_usd: FloatArray
    t_years: FloatArray
    vol_annual: FloatArray
    entry_usd: FloatArray
    settlement_usd: FloatArray
    rate_annual: float | FloatArray


def instrument_arrays(
    instruments: Sequence[Instrument],
    market: MarketSnapshot,
    entry_prices_usd: Sequence[float | None] | NDArray[np.float64] | None = None,
) -> InstrumentArrays:
    """Gather the market inputs of ``instruments`` from ``market`` into parallel arrays.

    The one builder of :class:`InstrumentArrays`, for one account or a whole venue: forwards and
    times are computed once per expiry and vols with one :meth:`MarketSnapshot.vols` call per
    underlying.

    Parameters
    ----------
    instruments:
        The instruments, in array order.
    market:
        The snapshot to value at.
    entry_prices_usd:
        Entry price (USD per coin) of each future, perpetual and spot instrument; ``None`` or NaN
        means the current forward (a position opened at the mark). Options ignore it.

    Raises :class:`InputError` for an instrument that has expired at the valuation time or whose
    underlying has no index price or no vol surface (options only).
    """
    count = len(instruments)
    entries = _entry_prices(entry_prices_usd, count)
    kind = np.array([item.kind.code for item in instruments], dtype=np.int64).reshape(count)
    is_inverse = np.array([item.is_inverse for item in instruments], dtype=np.bool_).reshape(count)
    is_call = np.array([item.is_call for item in instruments], dtype=np.bool_).reshape(count)
    underlying = np.empty(count, dtype=object)
    underlying[:] = [item.underlying for item in instruments]
    index = np.array([market.index(item.underlying) for item in instruments], dtype=np.float64)
    settlement = np.array(
        [market.index(item.settlement_currency) for item in instruments], dtype=np.float64
    )
    t_years = np.zeros(count)
    forward = np.empty(count)
    forwards: dict[tuple[str, datetime | None], float] = {}
    times: dict[datetime, float] = {}
    for i, item in enumerate(instruments):
        if item.expiry is not None:
            if item.expiry <= market.valuation_time:
                raise InputError(
                    "instrument",
                    item.name,
                    f"expired at {item.expiry.isoformat()}, not after the valuation time "
                    f"{market.valuation_time.isoformat()}",
                )
            if item.expiry not in times:
                times[item.expiry] = market.t_years(item.expiry)
            t_years[i] = times[item.expiry]
        key = (item.underlying, item.expiry)
        if key not in forwards:
            forwards[key] = market.forward(item.underlying, item.expiry)
        forward[i] = forwards[key]
    strike = np.array(
        [item.strike if item.strike is not None else np.nan for item in instruments],
        dtype=np.float64,
    ).reshape(count)
    vol = np.zeros(count)
    options = kind == KindCode.OPTION
    for asset in sorted({item.underlying for item in instruments}):
        own = np.flatnonzero(options & (underlying == asset))
        if own.size:
            vol[own] = market.vols(asset, t_years[own], strike[own], forward[own])
    entry = np.where(options, np.nan, np.where(np.isnan(entries), forward, entries))
    return InstrumentArrays(
        instruments=tuple(instruments),
        kind=kind,
        is_inverse=is_inverse,
        is_call=is_call,
        underlying=underlying,
        index_usd=index,
        forward_usd=forward,
        strike_usd=strike,
        t_years=t_years,
        vol_annual=vol,
        entry_usd=entry,
        settlement_usd=settlement,
        rate_annual=float(market.rate_annual),
    )


def _entry_prices(
    entry_prices_usd: Sequence[float | None] | NDArray[np.float64] | None, count: int
) -> FloatArray:
    """Entry prices as a float array with NaN for "none given"."""
    if entry_prices_usd is None:
        return np.full(count, np.nan)
    values = np.array(
        [np.nan if value is None else float(value) for value in entry_prices_usd],
        dtype=np.float64,
    ).reshape(-1)
    if values.shape[0] != count:
        raise InputError("entry_prices_usd", values.shape[0], f"must have {count} elements")
    return values


def unit_values_usd(
    arrays: InstrumentArrays,
    price_move: ArrayLike = 0.0,
    vol_shift: ArrayLike = 0.0,
    time_passed_years: float = 0.0,
    min_vol_annual: float = 1e-4,
) -> FloatArray:
    """USD value of one native unit of each instrument, optionally under a scenario.

    Parameters
    ----------
    arrays:
        Base inputs from :func:`instrument_arrays`.
    price_move:
        Relative move of the underlying, broadcast against the instrument axis (last axis):
        S' = S·(1 + m), and every forward of the underlying moves by the same factor.
    vol_shift:
        Additive change of each option's implied vol (0.1 = +10 vol points), floored at
        ``min_vol_annual``.
    time_passed_years:
        Calendar time elapsed in the scenario (expiries are not crossed: time to expiry is floored
        at zero).

    Returns
    -------
    Array broadcast from ``price_move``/``vol_shift`` against the instrument axis: the mark value
    in USD of +1 native unit. Spot: S'. Linear future/perpetual: (F' − entry)·P_settle. Inverse
    future/perpetual (per USD of face): (1/entry − 1/F')·S'. Linear option: Black-76 price in USDC
    times P_settle. Inverse option: Black-76 USD price / F' (premium in coin) times S'.
    """
    factor = 1.0 + np.asarray(price_move, dtype=np.float64)
    index = arrays.index_usd * factor
    forward = arrays.forward_usd * factor
    value = np.zeros(np.broadcast_shapes(factor.shape, np.shape(vol_shift), arrays.kind.shape))
    value = value + np.where(arrays.kind == SPOT, index, 0.0)
    linear_delta_one = (arrays.kind == FUTURE) | (arrays.kind == PERPETUAL)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse_pnl = (1.0 / arrays.entry_usd - 1.0 / forward) * index
        linear_pnl = (forward - arrays.entry_usd) * arrays.settlement_usd
    value = value + np.where(
        linear_delta_one, np.where(arrays.is_inverse, inverse_pnl, linear_pnl), 0.0
    )
    options = arrays.kind == OPTION
    if np.any(options):
        vol = np.maximum(
            arrays.vol_annual + np.asarray(vol_shift, dtype=np.float64), min_vol_annual
        )
        t_years = np.maximum(arrays.t_years - time_passed_years, 0.0)
        strike = np.where(options, arrays.strike_usd, 1.0)
        safe_forward = np.where(options, forward, 1.0)
        premium_usd = black76_price(
            safe_forward,
            strike,
            t_years,
            np.where(options, vol, 0.0),
            arrays.rate_annual,
            arrays.is_call,
        )
        option_value = np.where(
            arrays.is_inverse,
            premium_usd / safe_forward * index,
            premium_usd * arrays.settlement_usd,
        )
        value = value + np.where(options, option_value, 0.0)
    return np.asarray(value, dtype=np.float64)


def unit_greeks_usd(arrays: InstrumentArrays) -> dict[str, FloatArray]:
    """Greeks of +1 native unit of each instrument, V in USD, against the underlying's index S.

    Returns
    -------
    dict of (n_i,) float64 arrays, per +1 native unit
        ``"delta"``: dV/dS in coin; ``"gamma"``: d²V/dS², the change of the coin delta per
        1 USD move of S; ``"vega"``: dV/dσ in USD per 1.00 of vol; ``"theta"``: dV/dt in USD per
        year as calendar time passes at fixed forward, negative for a long option. Times a
        position's size these are its ``delta_coin``, ``gamma_coin_per_usd``,
        ``vega_usd_per_vol`` and ``theta_usd_per_year`` (README, "Conventions").

    Notes
    -----
    With F = g·S (g = F/S fixed): a linear contract's delta is g·P_settle, an inverse future's is
    1/entry; a linear option's is Black delta × g, an inverse option's (V = C(F)/g) is exactly the
    Black delta, its gamma Black gamma × g.
    """
    g = arrays.forward_usd / arrays.index_usd
    count = arrays.kind.shape[0]
    delta = np.zeros(count)
    gamma = np.zeros(count)
    vega = np.zeros(count)
    theta = np.zeros(count)
    delta = np.where(arrays.kind == SPOT, 1.0, delta)
    linear_delta_one = (arrays.kind == FUTURE) | (arrays.kind == PERPETUAL)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(
            linear_delta_one,
            np.where(arrays.is_inverse, 1.0 / arrays.entry_usd, g * arrays.settlement_usd),
            delta,
        )
    options = arrays.kind == OPTION
    if np.any(options):
        greeks = black76_greeks(
            np.where(options, arrays.forward_usd, 1.0),
            np.where(options, arrays.strike_usd, 1.0),
            arrays.t_years,
            np.where(options, arrays.vol_annual, 0.0),
            arrays.rate_annual,
            arrays.is_call,
        )
        scale = np.where(arrays.is_inverse, 1.0 / g, arrays.settlement_usd)
        delta = np.where(
            options,
            np.where(arrays.is_inverse, greeks.delta, greeks.delta * g * arrays.settlement_usd),
            delta,
        )
        gamma = np.where(
            options,
            greeks.gamma * g * np.where(arrays.is_inverse, 1.0, g * arrays.settlement_usd),
            gamma,
        )
        vega = np.where(options, greeks.vega * scale, vega)
        theta = np.where(options, greeks.theta * scale, theta)
    return {"delta": delta, "gamma": gamma, "vega": vega, "theta": theta}


def delta_one_coin_per_unit(arrays: InstrumentArrays) -> FloatArray:
    """Coin of underlying per native unit of each future/perpetual (inverse: 1/F per USD of face,
    linear: 1), 0 for other instruments; the notional the basis charge nets."""
    delta_one = (arrays.kind == FUTURE) | (arrays.kind == PERPETUAL)
    with np.errstate(divide="ignore"):
        per_unit = np.where(arrays.is_inverse, 1.0 / arrays.forward_usd, 1.0)
    return np.asarray(np.where(delta_one, per_unit, 0.0), dtype=np.float64)
