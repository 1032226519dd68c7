"""Instruments: frozen contract values and Deribit-style names."""

from crossmargin.instruments.model import Instrument, InstrumentKind, OptionType
from crossmargin.instruments.names import (
    EXPIRY_HOUR_UTC,
    format_expiry,
    format_instrument,
    parse_expiry,
    parse_instrument,
)

__all__ = [
    "EXPIRY_HOUR_UTC",
    "Instrument",
    "InstrumentKind",
    "OptionType",
    "format_expiry",
    "format_instrument",
    "parse_expiry",
    "parse_instrument",
]
