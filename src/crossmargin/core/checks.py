"""Boundary checks for frozen parameter values, and TOML tables loaded into them.

Each check raises :class:`~crossmargin.core.errors.InputError` naming the field and the value, so a
parameter object that exists is valid (DESIGN.md §2 "Reject, don't propagate", §6 "Validate at
construction, then trust"). :func:`build_from_table` turns one TOML table into a frozen dataclass,
rejecting unknown keys (the ``extra="forbid"`` of the pydantic models) and naming the file.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from crossmargin.core.errors import InputError
from crossmargin.core.textfiles import read_text_file

__all__ = [
    "build_from_table",
    "check_finite",
    "check_fraction",
    "check_non_negative",
    "check_positive",
    "check_positive_int",
    "read_config_toml",
]

T = TypeVar("T")


def check_finite(value: object, field: str) -> float:
    """``value`` as a finite float; booleans, strings, NaN and infinities are rejected."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, value, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(field, value, "must be a finite number")
    return number


def check_positive(value: object, field: str) -> float:
    """``value`` as a finite float > 0."""
    number = check_finite(value, field)
    if number <= 0.0:
        raise InputError(field, value, "must be > 0")
    return number


def check_non_negative(value: object, field: str) -> float:
    """``value`` as a finite float >= 0."""
    number = check_finite(value, field)
    if number < 0.0:
        raise InputError(field, value, "must be >= 0")
    return number


def check_fraction(
    value: object, field: str, low: float = 0.0, high: float = 1.0, high_open: bool = False
) -> float:
    """``value`` as a float in ``[low, high]`` (``[low, high)`` with ``high_open``); a fraction
    such as 0.25 means 25 %, so the message spells out the range."""
    number = check_finite(value, field)
    above = number >= high if high_open else number > high
    if number < low or above:
        bracket = ")" if high_open else "]"
        raise InputError(field, value, f"must lie in [{low:g}, {high:g}{bracket} (0.25 = 25 %)")
    return number


def check_positive_int(value: object, field: str) -> int:
    """``value`` as an int >= 1 (booleans rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(field, value, "must be an integer >= 1")
    return value


def read_config_toml(
    default_file: str, path: str | Path | None = None
) -> tuple[dict[str, Any], str]:
    """Parse ``path`` or, when None, the shipped ``crossmargin/config/<default_file>``.

    Returns
    -------
    (table, source)
        The parsed TOML document and the name to quote in errors. Invalid TOML raises
        :class:`InputError` naming the file.
    """
    if path is None:
        source = f"crossmargin/config/{default_file}"
        text = resources.files("crossmargin.config").joinpath(default_file).read_text("utf-8")
    else:
        source = str(path)
        text = read_text_file(path)
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as error:
        raise InputError("parameters", source, f"is not valid TOML: {error}") from None


def build_from_table(kind: type[T], table: object, field: str) -> T:
    """Build the frozen dataclass ``kind`` from a TOML table.

    Unknown keys and missing required keys raise :class:`InputError` naming ``field.key``; the
    dataclass's own ``__post_init__`` checks the values (their errors are prefixed with
    ``field``).
    """
    if not isinstance(table, Mapping):
        raise InputError(field, table, "must be a table")
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"{kind!r} is not a dataclass")
    known = {f.name: f for f in dataclasses.fields(kind) if f.init}
    for key in table:
        if key not in known:
            raise InputError(f"{field}.{key}", table[key], f"unknown key (known: {sorted(known)})")
    for name, spec in known.items():
        required = (
            spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        )
        if required and name not in table:
            raise InputError(f"{field}.{name}", None, "is required")
    try:
        return kind(**dict(table))
    except InputError as error:
        raise InputError(f"{field}.{error.field}", error.value, error.reason) from error
