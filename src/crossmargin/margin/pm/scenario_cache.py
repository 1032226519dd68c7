"""The scenarios and scenario P&L of a pair, kept while the market and the instruments stay.

Building a pair's :func:`~crossmargin.margin.pm.vectors.deribit_scenario_set` and revaluing its
instruments in every scenario is half of a small account's margin run, and a venue margins the
same instruments at the same market many times between two ticks (every trade, withdrawal and
margin read). :class:`ScenarioCache` keeps the last results per (market, instruments and
entry prices, pair).

An entry is found only for the very same :class:`~crossmargin.market.MarketSnapshot` object (a
snapshot is frozen; a new tick is a new object) and arrays of equal instruments in the same
order with the same entry prices (an inverse future's USD P&L depends on its entry price): the
arrays must be the ones :func:`~crossmargin.pricing.instrument_arrays` builds at that market,
as :func:`~crossmargin.margin.common.view_account` does. The
entry holds a reference to its market, so an id is never reused while the entry lives. Cached
arrays are read-only. Bounded (least recently used out) and safe to share between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.instruments import Instrument
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays
from crossmargin.scenarios import ScenarioSet

__all__ = ["PairScenarios", "ScenarioCache"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PairScenarios:
    """One pair's scenario set and the (n_scenarios, n_instruments) USD P&L of +1 unit of each
    instrument in each scenario (read-only)."""

    scenario_set: ScenarioSet
    pnl_usd: FloatArray


_Key = tuple[int, tuple[Instrument, ...], bytes, str]


@dataclass(frozen=True, slots=True)
class _Entry:
    market: MarketSnapshot
    value: PairScenarios


class ScenarioCache:
    """Least-recently-used store of :class:`PairScenarios` by (market object, instruments,
    entry prices, pair); ``capacity`` entries at most (``0`` disables it)."""

    def __init__(self, capacity: int = 256) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        market: MarketSnapshot,
        arrays: InstrumentArrays,
        pair: str,
        build: Callable[[], PairScenarios],
    ) -> PairScenarios:
        """The cached scenarios of ``pair`` for ``arrays`` (built at ``market``), or
        ``build()``'s (stored, with its P&L made read-only)."""
        key = (id(market), arrays.instruments, arrays.entry_usd.tobytes(), pair)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.market is market:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.value
        value = build()
        value.pnl_usd.setflags(write=False)
        if self.capacity == 0:
            return value
        with self._lock:
            self.misses += 1
            self._entries[key] = _Entry(market, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
