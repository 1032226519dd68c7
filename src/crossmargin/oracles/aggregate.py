"""Aggregation: the median of fresh sources, with stale and outlying quotes excluded.

The one rule, applied in this order (pure: same quotes, same ``now``, same answer, whatever the
order of the quotes):

1. **one vote per source** — of several quotes from one source only the newest counts (a tie on
   time keeps the higher price, so the choice never depends on input order); the others are
   ``superseded``;
2. **freshness** — a quote published after ``now`` (``future``) or more than ``max_age_s`` before it
   (``stale``) never counts;
3. **outliers** — with ``m`` the median of the fresh prices, a quote with ``|p − m| / m >
   max_deviation`` is an ``outlier``;
4. **quorum** — fewer than ``min_sources`` quotes left: ``unavailable`` and no price. Otherwise the
   price is the median of what is left: ``ok`` when no source was lost, ``degraded`` when one
   was stale, from the future or an outlier.

Deribit builds its index the same way in spirit (median of constituent exchanges, values beyond
±0.5 % of the median adjusted; support.deribit.com "Prices of Virtual Assets"); Drift refuses a
stale oracle for margin (venues.md "Drift v2").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np

from crossmargin.core.timeutil import ensure_utc
from crossmargin.oracles.quotes import (
    AggregatedPrice,
    Exclusion,
    ExclusionReason,
    OraclePolicy,
    OracleStatus,
    Quote,
)

__all__ = ["aggregate"]


def _one_per_source(quotes: Iterable[Quote]) -> tuple[list[Quote], list[Exclusion]]:
    newest: dict[str, Quote] = {}
    superseded: list[Exclusion] = []
    for quote in sorted(quotes, key=lambda q: (q.source, q.published_at, q.price_usd)):
        previous = newest.get(quote.source)
        if previous is not None:
            superseded.append(
                Exclusion(previous.source, previous.price_usd, ExclusionReason.SUPERSEDED)
            )
        newest[quote.source] = quote
    return list(newest.values()), superseded


def _median(values: list[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))


def aggregate(quotes: Iterable[Quote], now: datetime, policy: OraclePolicy) -> AggregatedPrice:
    """Aggregate ``quotes`` into one price at ``now`` under ``policy``.

    Parameters
    ----------
    quotes:
        Quotes from any number of sources, in any order.
    now:
        The moment the price is for (timezone-aware).
    policy:
        Staleness limit (seconds), outlier band (relative to the median of the fresh quotes) and
        quorum.

    Returns
    -------
    AggregatedPrice
        Median price in USD per unit (None when ``unavailable``), its confidence (± USD), the
        counted sources (sorted), the status and every exclusion with its reason.
    """
    moment = ensure_utc(now, "now")
    candidates, excluded = _one_per_source(quotes)
    fresh: list[Quote] = []
    for quote in candidates:
        age_s = (moment - quote.published_at).total_seconds()
        if age_s < 0.0:
            excluded.append(Exclusion(quote.source, quote.price_usd, ExclusionReason.FUTURE))
        elif age_s > policy.max_age_s:
            excluded.append(Exclusion(quote.source, quote.price_usd, ExclusionReason.STALE))
        else:
            fresh.append(quote)
    kept: list[Quote] = []
    if fresh:
        centre = _median([q.price_usd for q in fresh])
        for quote in fresh:
            if abs(quote.price_usd - centre) > policy.max_deviation * centre:
                excluded.append(Exclusion(quote.source, quote.price_usd, ExclusionReason.OUTLIER))
            else:
                kept.append(quote)
    excluded.sort(key=lambda e: (e.source, e.reason.value, e.price_usd))
    used = tuple(sorted(q.source for q in kept))
    if len(kept) < policy.min_sources:
        return AggregatedPrice(None, None, used, OracleStatus.UNAVAILABLE, moment, tuple(excluded))
    prices = [q.price_usd for q in kept]
    price = _median(prices)
    spread = (max(prices) - min(prices)) / 2.0
    reported = [q.confidence_usd for q in kept if q.confidence_usd is not None]
    confidence = max(spread, _median(reported)) if reported else spread
    lost = any(e.reason is not ExclusionReason.SUPERSEDED for e in excluded)
    status = OracleStatus.DEGRADED if lost else OracleStatus.OK
    return AggregatedPrice(price, confidence, used, status, moment, tuple(excluded))
