"""A recorded market played back as ticks: real BTC/ETH 4-hour closes and DVOL, from a start day.

The tape (:func:`load_tape`) reads Binance's 4-hour bars of BTC and ETH and Deribit's daily DVOL
from the shared data directory (the caller passes it; :mod:`crossmargin.shared_data` finds it)
and plays the closes through the oracle replay source
(:class:`~crossmargin.oracles.ReplaySource`): at each bar's close time the source shows that
close. Tick ``k`` is the start market moved by the replayed return since the start bar (index and
explicit forwards scaled by ``close_k / close_0``) and its vol surfaces shifted by the DVOL change
since the start day (``(DVOL_k − DVOL_0) / 100`` vol points, additive), through
:meth:`MarketSnapshot.shocked`. The valuation time stays the start market's: the book's options
keep their time to expiry while prices and vols replay (so a long replay never expires them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.market import MarketSnapshot
from crossmargin.market.history import read_deribit_dvol
from crossmargin.oracles.bars import BINANCE_4H_FILES, read_binance_4h
from crossmargin.oracles.sources import ReplaySource

__all__ = ["DVOL_FILES", "REPLAY_ASSETS", "ReplayTape", "Tick", "load_tape"]

#: The replayed assets.
REPLAY_ASSETS = ("BTC", "ETH")

#: Deribit DVOL files per asset, relative to the shared data directory.
DVOL_FILES = {
    "BTC": Path("implied_vol/deribit_dvol/btc_dvol.csv"),
    "ETH": Path("implied_vol/deribit_dvol/eth_dvol.csv"),
}

_BAR = timedelta(hours=4)


@dataclass(frozen=True)
class Tick:
    """One replayed step.

    Attributes
    ----------
    number:
        0, 1, … from the first close after the start.
    time:
        The replayed bar's close time (UTC).
    close_usd:
        The replayed close per asset, USD per coin.
    dvol_pct:
        The replayed DVOL per asset, percent (47.5 = 47.5 % annual).
    market:
        The start market moved to this tick (see the module docstring).
    """

    number: int
    time: datetime
    close_usd: dict[str, float]
    dvol_pct: dict[str, float]
    market: MarketSnapshot


@dataclass(frozen=True)
class ReplayTape:
    """Closes and DVOL from a start moment (see the module docstring)."""

    source: ReplaySource
    start: datetime
    base_close_usd: dict[str, float]
    base_dvol_pct: dict[str, float]
    dvol_days: dict[str, NDArray[np.datetime64]]
    dvol_values: dict[str, NDArray[np.float64]]
    length: int

    def _dvol(self, asset: str, moment: datetime) -> float:
        day = np.datetime64(moment.astimezone(UTC).date(), "D")
        days = self.dvol_days[asset]
        k = int(np.searchsorted(days, day, side="right")) - 1
        return float(self.dvol_values[asset][max(k, 0)])

    def tick(self, base: MarketSnapshot, number: int) -> Tick:
        """Tick ``number`` (0 .. ``length`` − 1) applied to ``base``, the start market."""
        if not 0 <= number < self.length:
            raise InputError("tick", number, f"must lie in [0, {self.length})")
        moment = self.start + _BAR * (number + 1)
        closes: dict[str, float] = {}
        for asset in REPLAY_ASSETS:
            quotes = self.source.quotes(asset, moment)
            if not quotes:
                raise InputError("tick", moment.isoformat(), f"no {asset} close replayed then")
            closes[asset] = quotes[-1].price_usd
        dvol = {asset: self._dvol(asset, moment) for asset in REPLAY_ASSETS}
        moves = {
            a: closes[a] / self.base_close_usd[a] - 1.0
            for a in REPLAY_ASSETS
            if a in base.index_usd
        }
        shifts = {
            a: (dvol[a] - self.base_dvol_pct[a]) / 100.0
            for a in REPLAY_ASSETS
            if a in base.vol_surfaces
        }
        return Tick(number, moment, closes, dvol, base.shocked(moves, shifts))


def load_tape(data_dir: Path, start: datetime, days: float) -> ReplayTape:
    """The tape of ``days`` days of 4-hour closes after ``start`` (UTC), from ``data_dir``.

    The start bar is the one holding ``start``; its close is the base every later close is
    compared with, and the DVOL of ``start``'s day the base of the vol shifts.
    """
    bars = {a: read_binance_4h(data_dir / BINANCE_4H_FILES[a], a) for a in REPLAY_ASSETS}
    moment = start.astimezone(UTC)
    opened = moment.replace(hour=moment.hour - moment.hour % 4, minute=0, second=0, microsecond=0)
    source = ReplaySource("binance-4h", bars)
    base = {}
    for asset in REPLAY_ASSETS:
        quotes = source.quotes(asset, opened + _BAR)
        if not quotes:
            raise InputError("start", start.isoformat(), f"no {asset} 4-hour bar closes then")
        base[asset] = quotes[-1].price_usd
    dvol_days: dict[str, NDArray[np.datetime64]] = {}
    dvol_values: dict[str, NDArray[np.float64]] = {}
    for asset in REPLAY_ASSETS:
        series = read_deribit_dvol(data_dir / DVOL_FILES[asset], asset)
        dvol_days[asset] = series.dates
        dvol_values[asset] = series.values
    last = min(bars[a].close_times[-1] for a in REPLAY_ASSETS)
    span = last.astype("datetime64[s]") - np.datetime64(opened.replace(tzinfo=None), "s")
    available = int(span.astype(np.int64)) // int(_BAR.total_seconds()) - 1
    length = max(0, min(round(days * 6), available))
    tape = ReplayTape(source, opened, base, {}, dvol_days, dvol_values, length)
    base_dvol = {a: tape._dvol(a, moment) for a in REPLAY_ASSETS}
    return ReplayTape(source, opened, base, base_dvol, dvol_days, dvol_values, length)
