"""Deribit standard margin per position, as pure functions over arrays.

Every position is margined on its own by published rates (DESIGN.md §1, "pure kernels"):

* **futures and perpetuals** (and short spot, a borrowed coin): a rate that grows with the
  position's size in coin, rate = min(base + size_factor_per_coin × coin_size, max_rate), times
  the notional. Sizes in coin are |size| / F for an inverse contract (``size`` is USD of face
  value, F the contract's mark/forward) and |size| for a linear one. The requirement is in the
  settlement currency (coin for inverse, USDC for linear) and is converted to USD the way
  :func:`~crossmargin.portfolio.unit_values_usd` converts that currency: an inverse requirement of
  rate × coin_size coins is worth rate × (|size| / F) × S USD; a linear one rate × |size| × F
  USDC, times the USDC price.
* **short options**: Deribit's formulas, per coin of underlying, with F the option's underlying
  (forward) price, OTM the out-of-the-money amount (call: max(K − F, 0), put: max(F − K, 0)),
  U the USD value of one coin of underlying in the option's margin currency (S for an inverse
  option, whose coin amounts convert at the index; F × USDC price for a linear one) and ``mark``
  the option's USD mark value per coin::

      call IM = max(0.15 − OTM/F, 0.10)·U + mark          call MM = 0.075·U + mark
      put  IM = max(max(0.15 − OTM/F, 0.10)·U + mark, MM)  put  MM = max(0.075·U, 0.075·mark) + mark

  (0.15, 0.10, 0.075 are the defaults of :class:`OptionRates`). IM = max(IM, MM) is applied to
  calls too; with the defaults it never binds.
* **long options and long spot** are paid in full: their mark value is already in the account's
  equity and nothing beyond it is required (requirement 0), so they never need more than their
  value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.instruments import KindCode
from crossmargin.margin.standard.parameters import StandardMarginParameters
from crossmargin.pricing import InstrumentArrays, unit_values_usd

__all__ = [
    "CHARGED_CATEGORIES",
    "PositionCategory",
    "RateArrays",
    "StandardRequirements",
    "category_totals",
    "delta_one_rate",
    "position_categories",
    "rate_arrays",
    "short_option_margin_usd",
    "standard_requirements_usd",
]

FloatArray = NDArray[np.float64]


class PositionCategory(IntEnum):
    """How standard margin treats a position; each charged category is one result component."""

    FUTURES = 0  #: futures and perpetuals, either side
    SHORT_OPTION = 1
    SHORT_SPOT = 2
    PAID_IN_FULL = 3  #: long options, long spot and empty positions: requirement 0

    @property
    def component(self) -> str:
        """Component name stem (``"futures"``); ``_im``/``_mm`` is appended by the models."""
        return _COMPONENT_NAMES[self]


_COMPONENT_NAMES = {
    PositionCategory.FUTURES: "futures",
    PositionCategory.SHORT_OPTION: "short_option",
    PositionCategory.SHORT_SPOT: "short_spot",
    PositionCategory.PAID_IN_FULL: "paid_in_full",
}

#: Categories reported as components, in result order.
CHARGED_CATEGORIES = (
    PositionCategory.FUTURES,
    PositionCategory.SHORT_OPTION,
    PositionCategory.SHORT_SPOT,
)


def delta_one_rate(
    coin_size: ArrayLike, base: ArrayLike, size_factor_per_coin: ArrayLike, max_rate: ArrayLike
) -> FloatArray:
    """Margin rate of a futures/perpetual position: min(base + factor × |coin_size|, max_rate).

    Parameters
    ----------
    coin_size:
        Position size in coin of underlying (sign ignored).
    base, size_factor_per_coin, max_rate:
        Fractions of notional (0.02 = 2 %); the factor is the rate added per coin.

    Returns
    -------
    The rate as a fraction of notional, broadcast over the inputs.
    """
    raw = np.asarray(base, dtype=np.float64) + np.asarray(
        size_factor_per_coin, dtype=np.float64
    ) * np.abs(np.asarray(coin_size, dtype=np.float64))
    return np.asarray(np.minimum(raw, np.asarray(max_rate, dtype=np.float64)), dtype=np.float64)


def short_option_margin_usd(
    is_call: ArrayLike,
    strike_usd: ArrayLike,
    underlying_price_usd: ArrayLike,
    underlying_value_usd: ArrayLike,
    mark_usd: ArrayLike,
    initial_fraction: ArrayLike = 0.15,
    initial_floor: ArrayLike = 0.10,
    maintenance_fraction: ArrayLike = 0.075,
) -> tuple[FloatArray, FloatArray]:
    """Initial and maintenance margin of one short option on one coin of underlying, USD.

    Parameters
    ----------
    is_call:
        True for calls, False for puts.
    strike_usd:
        Strike, USD per coin.
    underlying_price_usd:
        The option's underlying (forward) price F, USD per coin; OTM/F is measured against it.
    underlying_value_usd:
        U, the USD value of one coin of underlying in the margin currency (see module docstring).
    mark_usd:
        Mark value of the option per coin, USD (≥ 0).
    initial_fraction, initial_floor, maintenance_fraction:
        Deribit's 0.15, 0.10 and 0.075 by default.

    Returns
    -------
    ``(initial_usd, maintenance_usd)``, positive amounts per coin of short option, broadcast.
    """
    call = np.asarray(is_call, dtype=np.bool_)
    strike = np.asarray(strike_usd, dtype=np.float64)
    forward = np.asarray(underlying_price_usd, dtype=np.float64)
    value = np.asarray(underlying_value_usd, dtype=np.float64)
    mark = np.asarray(mark_usd, dtype=np.float64)
    mm_fraction = np.asarray(maintenance_fraction, dtype=np.float64)
    otm = np.where(call, np.maximum(strike - forward, 0.0), np.maximum(forward - strike, 0.0))
    fraction = np.maximum(np.asarray(initial_fraction) - otm / forward, initial_floor)
    maintenance = (
        np.where(call, mm_fraction * value, np.maximum(mm_fraction * value, mm_fraction * mark))
        + mark
    )
    initial = np.maximum(fraction * value + mark, maintenance)
    return np.asarray(initial, dtype=np.float64), np.asarray(maintenance, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RateArrays:
    """The standard-margin parameters of each instrument, one element per instrument."""

    initial_base: FloatArray
    maintenance_base: FloatArray
    size_factor_per_coin: FloatArray
    max_rate: FloatArray
    option_initial_fraction: FloatArray
    option_initial_floor: FloatArray
    option_maintenance_fraction: FloatArray


def rate_arrays(parameters: StandardMarginParameters, underlyings: Sequence[str]) -> RateArrays:
    """Gather the rates of each instrument's underlying (fallback for unlisted assets)."""
    rates = [parameters.rates_for(str(asset)) for asset in underlyings]

    def column(values: list[float]) -> FloatArray:
        return np.array(values, dtype=np.float64)

    return RateArrays(
        initial_base=column([r.futures.initial_base for r in rates]),
        maintenance_base=column([r.futures.maintenance_base for r in rates]),
        size_factor_per_coin=column([r.futures.size_factor_per_coin for r in rates]),
        max_rate=column([r.futures.max_rate for r in rates]),
        option_initial_fraction=column([r.options.initial_fraction for r in rates]),
        option_initial_floor=column([r.options.initial_floor for r in rates]),
        option_maintenance_fraction=column([r.options.maintenance_fraction for r in rates]),
    )


@dataclass(frozen=True, slots=True)
class StandardRequirements:
    """Standard margin of each position (whole size), USD, under one price scenario or a batch.

    ``initial_usd`` ≥ ``maintenance_usd`` ≥ 0 element by element; ``value_usd`` is the positions'
    mark value in the same scenario (:func:`~crossmargin.portfolio.unit_values_usd` × size);
    ``category`` holds each position's :class:`PositionCategory` code (per instrument).
    """

    initial_usd: FloatArray
    maintenance_usd: FloatArray
    value_usd: FloatArray
    category: NDArray[np.int64]


def position_categories(arrays: InstrumentArrays, sizes: FloatArray) -> NDArray[np.int64]:
    """:class:`PositionCategory` code of each position (by instrument kind and side)."""
    delta_one = (arrays.kind == KindCode.FUTURE) | (arrays.kind == KindCode.PERPETUAL)
    category = np.full(arrays.kind.shape, int(PositionCategory.PAID_IN_FULL), dtype=np.int64)
    category[delta_one] = int(PositionCategory.FUTURES)
    category[(arrays.kind == KindCode.OPTION) & (sizes < 0)] = int(PositionCategory.SHORT_OPTION)
    category[(arrays.kind == KindCode.SPOT) & (sizes < 0)] = int(PositionCategory.SHORT_SPOT)
    return category


def standard_requirements_usd(
    arrays: InstrumentArrays,
    sizes: ArrayLike,
    rates: RateArrays,
    price_move: ArrayLike = 0.0,
) -> StandardRequirements:
    """Standard initial and maintenance margin of each position, USD, after a price move.

    Parameters
    ----------
    arrays:
        Instrument inputs (:func:`~crossmargin.portfolio.instrument_arrays`).
    sizes:
        Native position sizes (+ long, − short), one per instrument.
    rates:
        Per-instrument rates (:func:`rate_arrays`).
    price_move:
        Relative move of every underlying, S' = S·(1 + m), as in
        :func:`~crossmargin.portfolio.unit_values_usd` (forwards move by the same factor, implied
        vols stay put); broadcast against the instrument (last) axis, so a ``(k, 1)`` array gives
        ``(k, n)`` results. Coin-settled amounts convert to USD at the moved index.

    Returns
    -------
    :class:`StandardRequirements` (amounts ≥ 0, whole positions, USD).
    """
    size = np.asarray(sizes, dtype=np.float64)
    factor = 1.0 + np.asarray(price_move, dtype=np.float64)
    forward = arrays.forward_usd * factor
    settlement = np.where(arrays.is_inverse, arrays.settlement_usd * factor, arrays.settlement_usd)
    unit_value = unit_values_usd(arrays, price_move=price_move)
    category = position_categories(arrays, size)

    with np.errstate(divide="ignore", invalid="ignore"):
        coin_size = np.where(arrays.is_inverse, np.abs(size) / forward, np.abs(size))
    notional = coin_size * np.where(arrays.is_inverse, settlement, forward * settlement)
    rated = (category == PositionCategory.FUTURES) | (category == PositionCategory.SHORT_SPOT)
    im_rate = delta_one_rate(
        coin_size, rates.initial_base, rates.size_factor_per_coin, rates.max_rate
    )
    mm_rate = delta_one_rate(
        coin_size, rates.maintenance_base, rates.size_factor_per_coin, rates.max_rate
    )
    initial = np.where(rated, im_rate * notional, 0.0)
    maintenance = np.where(rated, mm_rate * notional, 0.0)

    short_option = category == PositionCategory.SHORT_OPTION
    if np.any(short_option):
        safe_forward = np.where(short_option, forward, 1.0)
        option_im, option_mm = short_option_margin_usd(
            arrays.is_call,
            np.where(short_option, arrays.strike_usd, 1.0),
            safe_forward,
            np.where(arrays.is_inverse, settlement, safe_forward * settlement),
            np.where(short_option, unit_value, 0.0),
            rates.option_initial_fraction,
            rates.option_initial_floor,
            rates.option_maintenance_fraction,
        )
        initial = np.where(short_option, np.abs(size) * option_im, initial)
        maintenance = np.where(short_option, np.abs(size) * option_mm, maintenance)

    shape = np.broadcast_shapes(np.shape(initial), np.shape(unit_value))
    return StandardRequirements(
        initial_usd=np.broadcast_to(np.asarray(initial, dtype=np.float64), shape).copy(),
        maintenance_usd=np.broadcast_to(np.asarray(maintenance, dtype=np.float64), shape).copy(),
        value_usd=np.broadcast_to(unit_value * size, shape).copy(),
        category=category,
    )


def category_totals(
    amounts_usd: ArrayLike, category: NDArray[np.int64], suffix: str
) -> dict[str, float]:
    """Sum per-position amounts (1-D, one per position) by charged category into components.

    Returns ``{"futures_<suffix>": ..., "short_option_<suffix>": ..., "short_spot_<suffix>": ...}``
    (USD; every charged category appears, zero when absent).
    """
    amounts = np.asarray(amounts_usd, dtype=np.float64)
    return {
        f"{member.component}_{suffix}": float(np.sum(amounts[category == member]))
        for member in CHARGED_CATEGORIES
    }
