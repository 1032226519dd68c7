"""Small boundary checks shared by the market modules (private).

Each check raises :class:`~crossmargin.core.errors.InputError` naming the dotted field path and the
offending value, so callers only pass the path down.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from crossmargin.core.errors import InputError
from crossmargin.instruments import EXPIRY_HOUR_UTC, format_expiry

__all__ = [
    "asset_code",
    "expiry_label",
    "finite_number",
    "positive_number",
    "prefixed_errors",
]


def finite_number(raw: object, field: str) -> float:
    """Return ``raw`` as a finite float; booleans, strings and NaN/inf are rejected."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(field, raw, "must be a number")
    number = float(raw)
    if not math.isfinite(number):
        raise InputError(field, raw, "must be a finite number")
    return number


def positive_number(raw: object, field: str) -> float:
    """Return ``raw`` as a finite float > 0."""
    number = finite_number(raw, field)
    if number <= 0.0:
        raise InputError(field, raw, "must be > 0")
    return number


def asset_code(raw: object, field: str) -> str:
    """Return ``raw`` if it is an upper-case alphanumeric asset code such as ``"BTC"``."""
    if not isinstance(raw, str) or not raw.isalnum() or not raw.isupper():
        raise InputError(field, raw, "must be an upper-case asset code such as 'BTC'")
    return raw


def expiry_label(expiry: datetime) -> str:
    """Deribit date (``27DEC24``) for an 08:00 UTC expiry, else the ISO-8601 timestamp."""
    moment = expiry.astimezone(UTC)
    if moment.time() == datetime.min.time().replace(hour=EXPIRY_HOUR_UTC):
        return format_expiry(moment)
    return moment.isoformat().replace("+00:00", "Z")


@contextmanager
def prefixed_errors(prefix: str) -> Iterator[None]:
    """Re-raise any :class:`InputError` from the block with ``prefix.`` prepended to its field."""
    try:
        yield
    except InputError as error:
        field = f"{prefix}.{error.field}" if error.field else prefix
        raise InputError(field, error.value, error.reason) from error
