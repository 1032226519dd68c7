"""Small boundary checks shared by the market modules (private).

Each check raises :class:`~crossmargin.core.errors.InputError` naming the dotted field path and the
offending value, so callers only pass the path down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from crossmargin.core.checks import check_finite, check_positive
from crossmargin.core.errors import InputError
from crossmargin.instruments import EXPIRY_HOUR_UTC, format_expiry

__all__ = [
    "MAX_RATE_ANNUAL",
    "MAX_VOL_ANNUAL",
    "asset_code",
    "expiry_label",
    "finite_number",
    "plausible_rate",
    "plausible_vol",
    "positive_number",
    "prefixed_errors",
]

#: Largest implied vol accepted, annual as a fraction: 5.0 = 500 % (crypto short-dated options
#: have traded above 300 %; a value of 70 is a percentage typed where a fraction belongs).
MAX_VOL_ANNUAL = 5.0

#: Largest absolute interest rate accepted, annual as a fraction: 1.0 = 100 %.
MAX_RATE_ANNUAL = 1.0


def finite_number(raw: object, field: str) -> float:
    """Return ``raw`` as a finite float; booleans, strings and NaN/inf are rejected."""
    return check_finite(raw, field)


def positive_number(raw: object, field: str) -> float:
    """Return ``raw`` as a finite float > 0."""
    return check_positive(raw, field)


def plausible_vol(raw: object, field: str) -> float:
    """Return ``raw`` as an annual vol in [0, :data:`MAX_VOL_ANNUAL`], with the unit spelled out
    in the error (0.7 means 70 %; a 70 meant as a percentage is rejected, not priced)."""
    number = finite_number(raw, field)
    if number < 0.0:
        raise InputError(field, raw, "must be >= 0")
    if number > MAX_VOL_ANNUAL:
        raise InputError(
            field,
            raw,
            f"is {number:.4g} = {number * 100:,.6g} % a year: vols are annual fractions "
            f"(0.7 = 70 %), at most {MAX_VOL_ANNUAL:g} ({MAX_VOL_ANNUAL * 100:g} %)",
        )
    return number


def plausible_rate(raw: object, field: str) -> float:
    """Return ``raw`` as an annual rate in [−:data:`MAX_RATE_ANNUAL`, :data:`MAX_RATE_ANNUAL`],
    with the unit spelled out in the error (0.05 means 5 %)."""
    number = finite_number(raw, field)
    if abs(number) > MAX_RATE_ANNUAL:
        raise InputError(
            field,
            raw,
            f"is {number:.4g} = {number * 100:,.6g} % a year: rates are annual fractions, "
            f"continuously compounded (0.05 = 5 %), between -{MAX_RATE_ANNUAL:g} and "
            f"{MAX_RATE_ANNUAL:g}",
        )
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
