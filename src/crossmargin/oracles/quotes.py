"""The values an oracle works with: a source's quote, the aggregation policy and its verdict.

A :class:`Quote` is one source's price at one moment; :class:`OraclePolicy` says how old a quote may
be, how far from the others it may stray and how many sources must agree; :class:`AggregatedPrice`
is what :func:`~crossmargin.oracles.aggregate.aggregate` makes of a batch of quotes. All three are
frozen and validated at construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crossmargin.core.checks import check_finite, check_positive, check_positive_int
from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc

__all__ = [
    "AggregatedPrice",
    "Exclusion",
    "ExclusionReason",
    "OraclePolicy",
    "OracleStatus",
    "Quote",
]


class OracleStatus(StrEnum):
    """Verdict of one aggregation (compares equal to its string: ``OracleStatus.OK == "ok"``).

    * ``OK`` — at least ``min_sources`` fresh, agreeing quotes and none excluded;
    * ``DEGRADED`` — still at least ``min_sources``, but some source was stale or an outlier;
    * ``UNAVAILABLE`` — fewer than ``min_sources`` remain: no price; new risk must be refused.
    """

    OK = "ok"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"


class ExclusionReason(StrEnum):
    """Why a quote did not count."""

    STALE = "stale"
    FUTURE = "future"
    OUTLIER = "outlier"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class Quote:
    """One source's price.

    Attributes
    ----------
    source:
        Name of the source (``"deribit"``, ``"binance"``); one vote per name.
    price_usd:
        Price in USD per unit, finite and > 0.
    published_at:
        When the source published it (timezone-aware; stored in UTC).
    confidence_usd:
        The source's own uncertainty (± USD, e.g. a Pyth confidence interval), or None.
    """

    source: str
    price_usd: float
    published_at: datetime
    confidence_usd: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise InputError("quote.source", self.source, "must be a non-empty name")
        object.__setattr__(self, "price_usd", check_positive(self.price_usd, "quote.price_usd"))
        object.__setattr__(
            self, "published_at", ensure_utc(self.published_at, "quote.published_at")
        )
        if self.confidence_usd is not None:
            confidence = check_finite(self.confidence_usd, "quote.confidence_usd")
            if confidence < 0.0:
                raise InputError("quote.confidence_usd", self.confidence_usd, "must be >= 0")
            object.__setattr__(self, "confidence_usd", confidence)


@dataclass(frozen=True, slots=True)
class OraclePolicy:
    """How quotes are filtered before their median is taken.

    Attributes
    ----------
    max_age_s:
        A quote older than this many seconds (``now − published_at``) is stale and never counts.
    max_deviation:
        Relative distance from the median of the fresh quotes beyond which a quote is an outlier
        (0.05 = 5 %).
    min_sources:
        Fewest quotes that must remain for a price; below it the status is ``unavailable``.
    """

    max_age_s: float
    max_deviation: float
    min_sources: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_age_s", check_positive(self.max_age_s, "policy.max_age_s"))
        deviation = check_positive(self.max_deviation, "policy.max_deviation")
        object.__setattr__(self, "max_deviation", deviation)
        check_positive_int(self.min_sources, "policy.min_sources")


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A quote that did not count, and why."""

    source: str
    price_usd: float
    reason: ExclusionReason


@dataclass(frozen=True, slots=True)
class AggregatedPrice:
    """The oracle's verdict on one batch of quotes.

    Attributes
    ----------
    price_usd:
        Median of the quotes that counted, USD per unit; None when ``unavailable``.
    confidence_usd:
        ± USD: the larger of half the spread of the counted quotes and the median of their own
        confidences; None when ``unavailable``.
    sources_used:
        Names of the counted sources, sorted (so the order of the input never shows).
    status:
        ``ok``, ``degraded`` or ``unavailable`` (see :class:`OracleStatus`).
    as_of:
        The ``now`` the quotes were judged at (UTC).
    excluded:
        Every quote that did not count, sorted by source, with its reason.
    """

    price_usd: float | None
    confidence_usd: float | None
    sources_used: tuple[str, ...]
    status: OracleStatus
    as_of: datetime
    excluded: tuple[Exclusion, ...] = ()

    def __post_init__(self) -> None:
        if (self.price_usd is None) != (self.status is OracleStatus.UNAVAILABLE):
            raise InputError("price_usd", self.price_usd, f"inconsistent with status {self.status}")
        if self.price_usd is not None and not (
            math.isfinite(self.price_usd) and self.price_usd > 0
        ):
            raise InputError("price_usd", self.price_usd, "must be finite and > 0")

    @property
    def reason(self) -> str:
        """One line that says why the status is what it is (for logs, API errors and the CLI)."""
        counted = f"{len(self.sources_used)} source(s) counted"
        if not self.excluded:
            return counted
        dropped = ", ".join(f"{e.source} ({e.reason})" for e in self.excluded)
        return f"{counted}; excluded: {dropped}"
