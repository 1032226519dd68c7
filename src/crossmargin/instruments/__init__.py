"""Instruments: frozen contract values, their kinds and kind codes, and Deribit-style names."""

from crossmargin.instruments.formatting import EXPIRY_HOUR_UTC, format_expiry
from crossmargin.instruments.kinds import InstrumentKind, KindCode, OptionType
from crossmargin.instruments.model import Instrument
from crossmargin.instruments.names import format_instrument, parse_expiry, parse_instrument

__all__ = [
    "EXPIRY_HOUR_UTC",
    "Instrument",
    "InstrumentKind",
    "KindCode",
    "OptionType",
    "format_expiry",
    "format_instrument",
    "parse_expiry",
    "parse_instrument",
]
