"""Time conventions: UTC datetimes and ACT/365 year fractions to the second."""

from __future__ import annotations

from datetime import UTC, datetime

from crossmargin.core.errors import InputError

__all__ = ["SECONDS_PER_YEAR", "ensure_utc", "parse_utc", "year_fraction"]

#: ACT/365 year in seconds.
SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0


def ensure_utc(moment: datetime, field: str = "time") -> datetime:
    """Return ``moment`` as a timezone-aware UTC datetime; naive datetimes are rejected."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, moment.isoformat(), "must carry a timezone (e.g. 'Z' for UTC)")
    return moment.astimezone(UTC)


def parse_utc(raw: object, field: str) -> datetime:
    """Parse an ISO-8601 timestamp (``"2024-03-11T15:17:00Z"``) or a datetime into UTC."""
    if isinstance(raw, datetime):
        return ensure_utc(raw, field)
    if not isinstance(raw, str):
        raise InputError(field, raw, "must be an ISO-8601 timestamp string")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(field, raw, "is not an ISO-8601 timestamp") from None
    return ensure_utc(moment, field)


def year_fraction(start: datetime, end: datetime) -> float:
    """ACT/365 year fraction from ``start`` to ``end`` to the second (negative if ``end`` is
    earlier)."""
    return (end - start).total_seconds() / SECONDS_PER_YEAR
