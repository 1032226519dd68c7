"""The service's oracle state: the quotes held per asset and one last good price per asset.

``POST /oracle/quotes`` hands quotes in; :class:`OracleBook` keeps the newest quote of each
(asset, source), aggregates them with the configured :class:`~crossmargin.oracles.OraclePolicy`
(:func:`~crossmargin.oracles.aggregate`) and remembers the last ``ok``/``degraded`` price of each
asset in a :class:`~crossmargin.oracles.LastGoodPrice`. An update is two steps —
:meth:`OracleBook.prepare` (pure: what the quotes would give) and :meth:`OracleBook.commit` (record
it) — so the admin route can run the market checks in between and change nothing when they refuse.

An asset is *oracle-driven* once quotes for it were committed; other assets are priced by
``POST /market`` alone, as before. The state of an oracle-driven asset is judged again at every
read (:meth:`OracleBook.view`) at the wall-clock ``now``: quotes age, so an oracle whose feeders
stopped turns ``unavailable`` by itself once its quotes are older than ``max_age_s``. The state
lives in memory, like the market: a restart forgets it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crossmargin.oracles import (
    AggregatedPrice,
    GuardedPrice,
    LastGoodPrice,
    OraclePolicy,
    OracleStatus,
    Quote,
    aggregate,
)

__all__ = ["OracleBook", "OracleUpdate", "OracleView"]


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class OracleView:
    """What the service says about one oracle-driven asset at one moment.

    Attributes
    ----------
    asset:
        The asset (``"BTC"``).
    status:
        ``ok``, ``degraded`` or ``unavailable``, judged at ``judged_at``.
    accepts_new_risk:
        False when ``unavailable``: trades that add risk on the asset and withdrawals from accounts
        holding it are refused.
    last_good_price_usd:
        The price the service's market carries for the asset, USD per coin: the last ``ok`` or
        ``degraded`` aggregate (None before the first one).
    as_of:
        When ``last_good_price_usd`` was aggregated (UTC), or None.
    judged_at:
        The moment of this verdict (UTC).
    reason:
        One line saying why (:attr:`~crossmargin.oracles.GuardedPrice.reason`): the sources
        counted, those excluded and why (``stale``, ``outlier``, ``future``).
    aggregated:
        The aggregation behind the verdict (price, sources used, exclusions).
    min_sources:
        The policy's quorum.
    """

    asset: str
    status: OracleStatus
    accepts_new_risk: bool
    last_good_price_usd: float | None
    as_of: datetime | None
    judged_at: datetime
    reason: str
    aggregated: AggregatedPrice
    min_sources: int

    def to_json(self) -> dict[str, Any]:
        """The view as strict JSON (prices as ``repr`` strings of the float64 value, USD)."""
        return {
            "status": self.status.value,
            "accepts_new_risk": self.accepts_new_risk,
            "last_good_price_usd": (
                None if self.last_good_price_usd is None else repr(self.last_good_price_usd)
            ),
            "as_of": _stamp(self.as_of),
            "judged_at": _stamp(self.judged_at),
            "reason": self.reason,
            "min_sources": self.min_sources,
            "sources_used": list(self.aggregated.sources_used),
            "excluded": [
                {"source": e.source, "price_usd": repr(e.price_usd), "reason": e.reason.value}
                for e in self.aggregated.excluded
            ],
        }


@dataclass(frozen=True, slots=True)
class OracleUpdate:
    """What a batch of quotes would make of the oracle state (from :meth:`OracleBook.prepare`).

    ``quotes`` holds, per asset in the batch, the newest quote of every source after the batch;
    ``aggregated`` their aggregation at ``now``; :meth:`prices` the assets whose market index
    moves (``ok``/``degraded``) and to what (USD per coin).
    """

    now: datetime
    quotes: Mapping[str, Mapping[str, Quote]]
    aggregated: Mapping[str, AggregatedPrice]

    def prices(self) -> dict[str, float]:
        """Asset → aggregated price (USD per coin) of every asset with a price."""
        return {a: p.price_usd for a, p in self.aggregated.items() if p.price_usd is not None}


def _newest(held: Mapping[str, Quote], new: Iterable[Quote]) -> dict[str, Quote]:
    """``held`` with each source's newer quote from ``new`` (by publication time; a tie keeps
    the higher price, as :func:`~crossmargin.oracles.aggregate` does)."""
    merged = dict(held)
    for quote in new:
        previous = merged.get(quote.source)
        if previous is None or (quote.published_at, quote.price_usd) >= (
            previous.published_at,
            previous.price_usd,
        ):
            merged[quote.source] = quote
    return merged


class OracleBook:
    """Quotes and last good prices of the oracle-driven assets (thread-safe).

    Parameters
    ----------
    policy:
        Staleness limit, outlier band and quorum of every aggregation.
    version:
        Version of the oracle parameters the policy came from (``config/oracles.toml``).
    """

    def __init__(self, policy: OraclePolicy, version: str) -> None:
        self.policy = policy
        self.version = version
        self._lock = threading.Lock()
        self._quotes: dict[str, dict[str, Quote]] = {}
        self._holders: dict[str, LastGoodPrice] = {}

    def assets(self) -> list[str]:
        """The oracle-driven assets, sorted."""
        with self._lock:
            return sorted(self._holders)

    def prepare(self, quotes: Mapping[str, Sequence[Quote]], now: datetime) -> OracleUpdate:
        """Merge ``quotes`` (per asset) into copies of the held ones and aggregate them at
        ``now``; nothing is recorded."""
        with self._lock:
            merged = {a: _newest(self._quotes.get(a, {}), qs) for a, qs in quotes.items()}
        aggregated = {a: aggregate(q.values(), now, self.policy) for a, q in merged.items()}
        return OracleUpdate(now, merged, aggregated)

    def commit(self, update: OracleUpdate) -> dict[str, OracleView]:
        """Record ``update``: its quotes are held and each asset's last good price follows its
        aggregation; returns the new view of each asset of the update."""
        out: dict[str, OracleView] = {}
        with self._lock:
            for asset, aggregated in update.aggregated.items():
                self._quotes[asset] = dict(update.quotes[asset])
                holder = self._holders.setdefault(asset, LastGoodPrice(asset))
                out[asset] = self._view(asset, holder.update(aggregated), aggregated)
        return out

    def view(self, asset: str, now: datetime) -> OracleView | None:
        """The state of ``asset`` judged at ``now`` (its held quotes aggregated again), or None
        when the asset is not oracle-driven. A price that is still good is not recorded again:
        the market moves only through :meth:`commit`."""
        with self._lock:
            holder = self._holders.get(asset)
            held = list(self._quotes.get(asset, {}).values())
        if holder is None:
            return None
        aggregated = aggregate(held, now, self.policy)
        if aggregated.price_usd is None:
            # LastGoodPrice.update records nothing for an unavailable aggregation.
            return self._view(asset, holder.update(aggregated), aggregated)
        guarded = GuardedPrice(
            holder.price_usd,
            aggregated.status,
            is_last_good=False,
            priced_at=holder.priced_at,
            accepts_new_risk=True,
            reason=f"{asset} oracle {aggregated.status}: {aggregated.reason}",
        )
        return self._view(asset, guarded, aggregated)

    def views(self, assets: Iterable[str], now: datetime) -> dict[str, OracleView]:
        """:meth:`view` of each oracle-driven asset among ``assets``, by asset (sorted)."""
        out: dict[str, OracleView] = {}
        for asset in sorted(set(assets)):
            found = self.view(asset, now)
            if found is not None:
                out[asset] = found
        return out

    def _view(self, asset: str, guarded: GuardedPrice, aggregated: AggregatedPrice) -> OracleView:
        return OracleView(
            asset=asset,
            status=guarded.status,
            accepts_new_risk=guarded.accepts_new_risk,
            last_good_price_usd=guarded.price_usd,
            as_of=guarded.priced_at,
            judged_at=aggregated.as_of,
            reason=guarded.reason,
            aggregated=aggregated,
            min_sources=self.policy.min_sources,
        )
