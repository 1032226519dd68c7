"""Instruments as parallel float64 arrays, ready for the pricing kernels.

Margin models revalue the same positions under many scenarios; they do it on these arrays, never
by looping over Python objects. :func:`unit_values_usd` is the single definition of "what one
unit of an instrument is worth in USD" used by valuation and by every scenario model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import black76_greeks, black76_price

__all__ = ["KIND_CODES", "InstrumentArrays", "instrument_arrays", "unit_values_usd"]

FloatArray = NDArray[np.float64]

#: Integer code of each kind inside the arrays.
KIND_CODES = {
    InstrumentKind.SPOT: 0,
    InstrumentKind.FUTURE: 1,
    InstrumentKind.PERPETUAL: 2,
    InstrumentKind.OPTION: 3,
}
SPOT, FUTURE, PERPETUAL, OPTION = 0, 1, 2, 3


@dataclass(frozen=True)
class InstrumentArrays:
    """Per-instrument market inputs at the snapshot, one element per instrument.

    Attributes
    ----------
    instruments:
        The instruments, in array order.
    kind:
        :data:`KIND_CODES` of each instrument (int64).
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
        The snapshot's rate (scalar).
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
    rate_annual: float


def instrument_arrays(
    instruments: Sequence[Instrument],
    market: MarketSnapshot,
    entry_prices_usd: Sequence[float | None] | None = None,
) -> InstrumentArrays:
    """Gather the market inputs of ``instruments`` from ``market`` into parallel arrays.

    Raises :class:`InputError` for an instrument that has expired at the valuation time or whose
    underlying has no index price or no vol surface (options only).
    """
    count = len(instruments)
    entries = list(entry_prices_usd) if entry_prices_usd is not None else [None] * count
    if len(entries) != count:
        raise InputError("entry_prices_usd", len(entries), f"must have {count} elements")
    kind = np.empty(count, dtype=np.int64)
    is_inverse = np.zeros(count, dtype=np.bool_)
    is_call = np.zeros(count, dtype=np.bool_)
    underlying = np.empty(count, dtype=object)
    index = np.empty(count)
    forward = np.empty(count)
    strike = np.full(count, np.nan)
    t_years = np.zeros(count)
    vol = np.zeros(count)
    entry = np.full(count, np.nan)
    settlement = np.empty(count)
    for i, instrument in enumerate(instruments):
        kind[i] = KIND_CODES[instrument.kind]
        is_inverse[i] = instrument.is_inverse
        underlying[i] = instrument.underlying
        index[i] = market.index(instrument.underlying)
        settlement[i] = market.index(instrument.settlement_currency)
        if instrument.expiry is not None:
            if instrument.expiry <= market.valuation_time:
                raise InputError(
                    "instrument",
                    instrument.name,
                    f"expired at {instrument.expiry.isoformat()}, not after the valuation time "
                    f"{market.valuation_time.isoformat()}",
                )
            t_years[i] = market.t_years(instrument.expiry)
        forward[i] = market.forward(instrument.underlying, instrument.expiry)
        if instrument.kind is InstrumentKind.OPTION:
            assert instrument.strike is not None and instrument.expiry is not None
            is_call[i] = instrument.is_call
            strike[i] = instrument.strike
            vol[i] = market.vol(instrument.underlying, instrument.expiry, instrument.strike)
        else:
            given = entries[i]
            entry[i] = forward[i] if given is None else float(given)
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
    """Greeks of +1 native unit of each instrument in USD against the underlying's index S.

    Returns a mapping of arrays: ``delta`` (dV/dS, coin), ``gamma`` (d²V/dS², 1/USD),
    ``vega`` (dV/dσ per 1.00 of vol, USD) and ``theta`` (dV/dt per year as calendar time passes at
    fixed forward, USD; negative for a long option). With F = g·S (g = F/S fixed): a linear
    contract's delta is g·P_settle, an inverse future's is 1/entry; a linear option's is Black delta
    × g, an inverse option's (V = C(F)/g) is exactly the Black delta, its gamma Black gamma × g.
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
