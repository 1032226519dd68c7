"""Boundary checks of the book engine: every rejection names the argument and its first bad
element, and nothing is changed before every check has passed."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError

__all__ = [
    "checked_float_vector",
    "checked_index",
    "checked_index_vector",
    "checked_size",
    "same_lengths",
]


def _vector(values: ArrayLike, name: str) -> NDArray[Any]:
    try:
        array = np.asarray(values)
    except (TypeError, ValueError):
        raise InputError(name, values, "must be a one-dimensional array") from None
    if array.ndim != 1:
        raise InputError(name, array.shape, "must be a one-dimensional array")
    return array


def checked_index_vector(values: ArrayLike, name: str, upper: int) -> NDArray[np.int64]:
    """``values`` as int64, each in [0, ``upper``); integral floats are accepted."""
    array = _vector(values, name)
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise InputError(name, str(array.dtype), "must be an array of integers")
    if np.issubdtype(array.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(array) | (np.floor(array) != array))
        if bad.size:
            raise InputError(f"{name}[{bad[0]}]", float(array[bad[0]]), "must be an integer")
    outside = np.flatnonzero((array < 0) | (array >= upper))
    if outside.size:
        first = int(outside[0])
        raise InputError(f"{name}[{first}]", array[first].item(), f"must be in [0, {upper})")
    return np.asarray(array, dtype=np.int64)


def checked_float_vector(
    values: ArrayLike, name: str, minimum: float | None
) -> NDArray[np.float64]:
    """``values`` as float64, every element finite (and ``>= minimum`` when given)."""
    array = _vector(values, name)
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise InputError(name, str(array.dtype), "must be an array of numbers")
    numbers_ = np.asarray(array, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers_))
    if bad.size:
        raise InputError(f"{name}[{bad[0]}]", float(numbers_[bad[0]]), "must be finite")
    if minimum is not None:
        low = np.flatnonzero(numbers_ < minimum)
        if low.size:
            raise InputError(
                f"{name}[{low[0]}]", float(numbers_[low[0]]), f"must be >= {minimum:g}"
            )
    return numbers_


def same_lengths(**arrays: NDArray[np.generic]) -> None:
    """:class:`InputError` naming the first array whose length differs from the first one's."""
    items = list(arrays.items())
    first_name, first = items[0]
    for name, array in items[1:]:
        if array.shape[0] != first.shape[0]:
            raise InputError(
                name, array.shape[0], f"must have the length of {first_name} ({first.shape[0]})"
            )


def checked_index(value: object, name: str, upper: int) -> int:
    """One integer in [0, ``upper``) (bools are rejected)."""
    if type(value) is not int and (
        isinstance(value, bool) or not isinstance(value, numbers.Integral)
    ):
        raise InputError(name, value, "must be an integer")
    index = int(value)
    if not 0 <= index < upper:
        raise InputError(name, index, f"must be in [0, {upper})")
    return index


def checked_size(value: object, name: str) -> float:
    """One finite number (native units)."""
    if type(value) is not float and (
        isinstance(value, bool) or not isinstance(value, numbers.Real)
    ):
        raise InputError(name, value, "must be a number")
    size = float(value)
    if not math.isfinite(size):
        raise InputError(name, value, "must be finite")
    return size
