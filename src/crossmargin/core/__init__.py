"""Numeric types and conversions, errors and time helpers shared by every layer."""

from crossmargin.core.errors import (
    CrossmarginError,
    FileInputError,
    InputError,
    InstrumentNameError,
)
from crossmargin.core.numeric import (
    collateral_to_decimal,
    decimal_to_float,
    margin_to_decimal,
    parse_decimal,
    quantum_for,
)
from crossmargin.core.timeutil import SECONDS_PER_YEAR, ensure_utc, year_fraction

__all__ = [
    "SECONDS_PER_YEAR",
    "CrossmarginError",
    "FileInputError",
    "InputError",
    "InstrumentNameError",
    "collateral_to_decimal",
    "decimal_to_float",
    "ensure_utc",
    "margin_to_decimal",
    "parse_decimal",
    "quantum_for",
    "year_fraction",
]
