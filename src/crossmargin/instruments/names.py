"""Deribit-style instrument names: parsing and formatting.

Grammar (``/`` separates alternatives)::

    spot       BASE_QUOTE                       BTC_USDC
    perpetual  BASE[_QUOTE]-PERPETUAL           BTC-PERPETUAL, BTC_USDC-PERPETUAL
    future     BASE[_QUOTE]-DMMMYY              BTC-27DEC24, BTC_USDC-27DEC24
    option     BASE[_QUOTE]-DMMMYY-STRIKE-C/P   BTC-27DEC24-60000-C, XRP_USDC-27DEC24-0d625-P

Without ``_QUOTE`` the contract is inverse (coin-settled); with it, linear. Dates have no leading
zero (``5APR24``) and expire at 08:00 UTC; a decimal strike writes ``d`` for the point (``0d625``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from crossmargin.core.errors import InstrumentNameError
from crossmargin.instruments.formatting import EXPIRY_HOUR_UTC, MONTHS
from crossmargin.instruments.kinds import InstrumentKind, OptionType
from crossmargin.instruments.model import Instrument

__all__ = ["format_instrument", "parse_expiry", "parse_instrument"]

_ASSET = re.compile(r"[A-Z][A-Z0-9]{1,9}")
_DATE = re.compile(r"(\d{1,2})([A-Z]{3})(\d{2})")
_STRIKE = re.compile(r"\d+(d\d+)?")

#: Default minimum trade amounts (Deribit contract specifications), in native units.
_INVERSE_FUTURE_CONTRACT_USD = {"BTC": 10.0}
_DEFAULT_INVERSE_FUTURE_CONTRACT_USD = 1.0


def _default_contract_size(underlying: str, kind: InstrumentKind, inverse: bool) -> float:
    if kind in (InstrumentKind.FUTURE, InstrumentKind.PERPETUAL) and inverse:
        return _INVERSE_FUTURE_CONTRACT_USD.get(underlying, _DEFAULT_INVERSE_FUTURE_CONTRACT_USD)
    if kind is InstrumentKind.OPTION and not inverse:
        return 0.01 if underlying in ("BTC", "ETH") else 1.0
    if kind is InstrumentKind.SPOT:
        return 0.0001
    return 1.0 if inverse else 0.001


def parse_expiry(text: str, name: str = "") -> datetime:
    """Parse a Deribit date such as ``27DEC24`` into 08:00 UTC on that day."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise InstrumentNameError(name or text, f"expiry {text!r}", "is not a date like 27DEC24")
    day_text, month_text, year_text = match.groups()
    if month_text not in MONTHS:
        raise InstrumentNameError(name or text, f"expiry month {month_text!r}", "is not JAN..DEC")
    try:
        return datetime(
            2000 + int(year_text),
            MONTHS.index(month_text) + 1,
            int(day_text),
            EXPIRY_HOUR_UTC,
            tzinfo=UTC,
        )
    except ValueError:
        raise InstrumentNameError(
            name or text, f"expiry {text!r}", "is not a calendar day"
        ) from None


def _parse_strike(text: str, name: str) -> float:
    if _STRIKE.fullmatch(text) is None:
        raise InstrumentNameError(name, f"strike {text!r}", "is not a positive number like 60000")
    try:
        strike = float(Decimal(text.replace("d", ".")))
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a number
        raise InstrumentNameError(name, f"strike {text!r}", "is not a number") from None
    if strike <= 0.0:
        raise InstrumentNameError(name, f"strike {text!r}", "must be > 0")
    return strike


def _parse_pair(text: str, name: str) -> tuple[str, str | None]:
    parts = text.split("_")
    if len(parts) > 2:
        raise InstrumentNameError(name, f"currency pair {text!r}", "has more than one '_'")
    for part in parts:
        if _ASSET.fullmatch(part) is None:
            raise InstrumentNameError(name, f"currency {part!r}", "is not an upper-case asset code")
    return parts[0], (parts[1] if len(parts) == 2 else None)


def parse_instrument(name: str) -> Instrument:
    """Parse a Deribit-style instrument name into an :class:`Instrument`.

    Raises :class:`~crossmargin.core.errors.InstrumentNameError` quoting ``name`` and saying which
    part is wrong.
    """
    if not isinstance(name, str) or not name:
        raise InstrumentNameError(str(name), "name", "must be a non-empty string")
    if any(character.isspace() for character in name):
        raise InstrumentNameError(name, "name", "must not contain spaces")
    fields = name.split("-")
    underlying, quote = _parse_pair(fields[0], name)
    inverse = quote is None
    settlement = underlying if quote is None else quote
    if len(fields) == 1:
        if quote is None:
            raise InstrumentNameError(
                name, "name", "is a bare asset; spot pairs look like BTC_USDC"
            )
        kind = InstrumentKind.SPOT
        return Instrument(
            underlying,
            settlement,
            kind,
            contract_size=_default_contract_size(underlying, kind, inverse),
        )
    if len(fields) == 2:
        if fields[1] == "PERPETUAL":
            kind = InstrumentKind.PERPETUAL
            return Instrument(
                underlying,
                settlement,
                kind,
                contract_size=_default_contract_size(underlying, kind, inverse),
            )
        kind = InstrumentKind.FUTURE
        expiry = parse_expiry(fields[1], name)
        return Instrument(
            underlying,
            settlement,
            kind,
            expiry=expiry,
            contract_size=_default_contract_size(underlying, kind, inverse),
        )
    if len(fields) == 4:
        expiry = parse_expiry(fields[1], name)
        strike = _parse_strike(fields[2], name)
        if fields[3] not in ("C", "P"):
            raise InstrumentNameError(name, f"option type {fields[3]!r}", "must be C or P")
        option_type = OptionType.CALL if fields[3] == "C" else OptionType.PUT
        kind = InstrumentKind.OPTION
        return Instrument(
            underlying,
            settlement,
            kind,
            expiry=expiry,
            strike=strike,
            option_type=option_type,
            contract_size=_default_contract_size(underlying, kind, inverse),
        )
    raise InstrumentNameError(
        name, "name", f"has {len(fields)} '-'-separated parts; expected 1, 2 or 4"
    )


def format_instrument(instrument: Instrument) -> str:
    """Return the Deribit-style name of ``instrument`` (inverse of :func:`parse_instrument`)."""
    return instrument.name
