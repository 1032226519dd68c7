"""Boundary checks for the pricing functions: reject bad numbers with a message naming them."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import CrossmarginError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class PricingInputError(CrossmarginError, ValueError):
    """An argument of a pricing function is NaN, infinite, of the wrong kind or out of range.

    The message names the argument, the index of the first bad element and its value, e.g.
    ``forward[3] = -1.0: must be finite and > 0``.
    """


def _position(shape: tuple[int, ...], flat_index: int) -> str:
    if not shape:
        return ""
    index = np.unravel_index(flat_index, shape)
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _require(name: str, values: FloatArray, ok: BoolArray, requirement: str) -> None:
    if bool(ok.all()):
        return
    flat_index = int(np.argmin(ok.reshape(-1)))
    bad = float(values.reshape(-1)[flat_index])
    position = _position(values.shape, flat_index)
    raise PricingInputError(f"{name}{position} = {bad!r}: must be {requirement}")


def float_array(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float64 array; :class:`PricingInputError` unless it holds real numbers.

    Integers and floats are accepted; strings, bools, complex and object arrays (e.g. Decimal,
    which only ``core.numeric`` converts) are rejected rather than coerced.
    """
    raw = np.asarray(value)
    if raw.dtype.kind not in "iuf":
        raise PricingInputError(f"{name}: must be real numbers, got dtype {raw.dtype}")
    return raw.astype(np.float64, copy=False)


def positive(name: str, value: ArrayLike) -> FloatArray:
    """Float64 array of ``value``; every element finite and > 0."""
    values = float_array(name, value)
    with np.errstate(invalid="ignore"):
        _require(name, values, np.isfinite(values) & (values > 0.0), "finite and > 0")
    return values


def non_negative(name: str, value: ArrayLike) -> FloatArray:
    """Float64 array of ``value``; every element finite and >= 0."""
    values = float_array(name, value)
    with np.errstate(invalid="ignore"):
        _require(name, values, np.isfinite(values) & (values >= 0.0), "finite and >= 0")
    return values


def finite(name: str, value: ArrayLike) -> FloatArray:
    """Float64 array of ``value``; every element finite (any sign)."""
    values = float_array(name, value)
    _require(name, values, np.isfinite(values), "finite")
    return values


def option_kind(name: str, value: ArrayLike) -> BoolArray:
    """Bool array of ``value`` (True = call); integer 0/1 arrays are accepted as well."""
    raw = np.asarray(value)
    if raw.dtype == np.bool_:
        return raw.astype(np.bool_, copy=False)
    if raw.dtype.kind in "iu":
        as_float = raw.astype(np.float64)
        _require(name, as_float, (raw == 0) | (raw == 1), "a bool (True = call, False = put)")
        return raw.astype(np.bool_)
    raise PricingInputError(
        f"{name}: must be a bool or bool array (True = call, False = put), got dtype {raw.dtype}"
    )


def broadcast_shape(named_arrays: dict[str, np.ndarray]) -> tuple[int, ...]:
    """Common broadcast shape of the arrays, or :class:`PricingInputError` naming their shapes."""
    try:
        return np.broadcast_shapes(*(a.shape for a in named_arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{name}{a.shape}" for name, a in named_arrays.items())
        raise PricingInputError(f"arguments do not broadcast together: {shapes}") from exc


def flat(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` broadcast to ``shape`` as a contiguous 1-D array (no copy if already full)."""
    return np.ascontiguousarray(np.broadcast_to(values, shape)).reshape(-1)


class OptionInputs:
    """Validated arguments broadcast to one ``shape``.

    ``values`` holds the arrays in the order they were named, each contiguous and 1-D of ``size``.
    """

    __slots__ = ("shape", "size", "values")

    def __init__(self, named: dict[str, np.ndarray]) -> None:
        self.shape = broadcast_shape(named)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.values = tuple(flat(a, self.shape) for a in named.values())


def black76_inputs(
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol_annual: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
) -> OptionInputs:
    """Check and broadcast the arguments of the Black-76 price and Greeks functions."""
    return OptionInputs(
        {
            "forward": positive("forward", forward),
            "strike": positive("strike", strike),
            "t_years": non_negative("t_years", t_years),
            "vol_annual": non_negative("vol_annual", vol_annual),
            "rate_annual": finite("rate_annual", rate_annual),
            "is_call": option_kind("is_call", is_call),
        }
    )


def implied_vol_inputs(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate_annual: ArrayLike,
    is_call: ArrayLike,
) -> OptionInputs:
    """Check and broadcast the implied-vol arguments; ``values`` starts with the price."""
    return OptionInputs(
        {
            "price": non_negative("price", price),
            "forward": positive("forward", forward),
            "strike": positive("strike", strike),
            "t_years": non_negative("t_years", t_years),
            "rate_annual": finite("rate_annual", rate_annual),
            "is_call": option_kind("is_call", is_call),
        }
    )
