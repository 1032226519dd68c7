"""Price sources behind one small protocol, and the file replay source.

A :class:`PriceSource` answers one question: "what did you publish for ``asset`` up to ``now``?"
The aggregator needs nothing more, so tests pass in fakes, the replay source plays the real history
back and the venue adapters (:mod:`crossmargin.oracles.venues`) wrap recorded or live responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import numpy as np

from crossmargin.core.timeutil import ensure_utc
from crossmargin.oracles.bars import Bars
from crossmargin.oracles.quotes import Quote

__all__ = ["FixedQuotes", "PriceSource", "ReplaySource", "collect_quotes"]


@runtime_checkable
class PriceSource(Protocol):
    """Something that publishes prices (a venue, a file, a fake)."""

    @property
    def name(self) -> str:
        """The source's name, as it appears in :attr:`Quote.source`."""
        ...

    def quotes(self, asset: str, now: datetime) -> Sequence[Quote]:
        """The quotes for ``asset`` published at or before ``now`` that the source still shows
        (usually its latest one); empty when it has none."""
        ...


def collect_quotes(sources: Iterable[PriceSource], asset: str, now: datetime) -> tuple[Quote, ...]:
    """Every source's quotes for ``asset`` at ``now``, in the order of ``sources``."""
    return tuple(quote for source in sources for quote in source.quotes(asset, now))


def _as_second(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "s")


@dataclass(frozen=True)
class ReplaySource:
    """Plays recorded bars back as quotes: at ``now`` the close of the last bar already closed.

    Attributes
    ----------
    name:
        Source name for the quotes (e.g. ``"binance-4h"``).
    bars:
        Bars per asset (from :mod:`crossmargin.oracles.bars`).
    """

    name: str
    bars: Mapping[str, Bars]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bars", MappingProxyType(dict(self.bars)))

    def quotes(self, asset: str, now: datetime) -> Sequence[Quote]:
        """The close of ``asset``'s last bar closed at or before ``now`` (published at its close
        time); empty before the first close, for an unknown asset or a NaN close."""
        bars = self.bars.get(asset)
        if bars is None:
            return ()
        moment = ensure_utc(now, "now")
        closed = int(np.searchsorted(bars.close_times, _as_second(moment), side="right")) - 1
        if closed < 0 or not np.isfinite(bars.close_usd[closed]):
            return ()
        published = bars.close_times[closed].astype("datetime64[s]").item().replace(tzinfo=UTC)
        return (Quote(self.name, float(bars.close_usd[closed]), published),)


@dataclass(frozen=True)
class FixedQuotes:
    """A source that shows the same quotes whatever ``now`` (simulations and tests)."""

    name: str
    by_asset: Mapping[str, tuple[Quote, ...]]

    def quotes(self, asset: str, now: datetime) -> Sequence[Quote]:
        """The fixed quotes of ``asset`` published at or before ``now``."""
        moment = ensure_utc(now, "now")
        return tuple(q for q in self.by_asset.get(asset, ()) if q.published_at <= moment)
