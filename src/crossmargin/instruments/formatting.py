"""Deribit-style spelling of dates, strikes and names, from contract fields alone.

Kept apart from :mod:`crossmargin.instruments.names` (which parses names into
:class:`~crossmargin.instruments.model.Instrument` values) so the model can name itself without
importing the parser.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from crossmargin.instruments.kinds import InstrumentKind, OptionType

__all__ = ["EXPIRY_HOUR_UTC", "MONTHS", "format_expiry", "format_name", "format_strike"]

#: Hour (UTC) at which Deribit-style contracts expire.
EXPIRY_HOUR_UTC = 8

#: Month abbreviations as Deribit writes them.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def format_expiry(expiry: datetime) -> str:
    """Format an expiry as Deribit does: ``5APR24`` (no leading zero)."""
    return f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"


def format_strike(strike: float) -> str:
    """A strike as a name writes it: ``60000``, or ``0d625`` for 0.625 (``d`` for the point)."""
    if float(strike).is_integer():
        return str(int(strike))
    return format(Decimal(repr(strike)).normalize(), "f").replace(".", "d")


def format_name(
    underlying: str,
    settlement_currency: str,
    kind: InstrumentKind,
    expiry: datetime | None,
    strike: float | None,
    option_type: OptionType | None,
) -> str:
    """Deribit-style name of a contract from its fields (``BTC-27DEC24-60000-C``,
    ``BTC_USDC-PERPETUAL``); inverse contracts (settled in the underlying) carry no quote."""
    pair = underlying
    if settlement_currency != underlying:
        pair = f"{underlying}_{settlement_currency}"
    if kind is InstrumentKind.SPOT:
        return pair
    if kind is InstrumentKind.PERPETUAL:
        return f"{pair}-PERPETUAL"
    assert expiry is not None
    date = format_expiry(expiry)
    if kind is InstrumentKind.FUTURE:
        return f"{pair}-{date}"
    assert strike is not None
    letter = "C" if option_type is OptionType.CALL else "P"
    return f"{pair}-{date}-{format_strike(strike)}-{letter}"
