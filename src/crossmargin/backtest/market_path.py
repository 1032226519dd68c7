"""The market through real history, one state per bar: index prices and an implied-vol level.

A :class:`MarketPath` holds, for every moment a bar closes, each asset's index (USD per coin) and
an annual vol; :meth:`MarketPath.snapshot` turns one moment into a
:class:`~crossmargin.market.MarketSnapshot` with a flat vol surface per asset.

* **Daily** (:func:`daily_market_path`): a Binance daily candle dated D closes at D + 1 00:00 UTC
  (:mod:`crossmargin.market.history`), so the moment of row D is D + 1 00:00 and its index is that
  candle's close.
* **Four-hour** (:func:`four_hour_market_path`): a Binance 4-hour bar's close is the price at its
  open time + 4 h; moments where any asset has no bar are left out (the Binance outages).
* **Vol**: Deribit DVOL (the 30-day at-the-money implied-vol index, percent / 100) of the last
  daily close known at the moment, so a 4-hour moment never sees a DVOL that closes later. DVOL
  starts on 2021-03-24 and has no SOL series: before it (and for assets without it) the vol is the
  RiskMetrics EWMA of daily log returns (λ = 0.94,
  :func:`~crossmargin.riskparams.ewma_vol_annual`), flagged in ``vol_is_implied``.

Nothing here looks for the data set: the caller passes the history or the directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.market.history import MarketHistory
from crossmargin.oracles.bars import BINANCE_4H_FILES, Bars, read_binance_4h
from crossmargin.riskparams import dvol_to_vol_annual, ewma_vol_annual

__all__ = [
    "BarLength",
    "MarketPath",
    "daily_market_path",
    "four_hour_market_path",
    "load_four_hour_market_path",
]

FloatArray = NDArray[np.float64]
MomentArray = NDArray[np.datetime64]

_DAY = np.timedelta64(1, "D")
_EWMA_DECAY = 0.94


class BarLength(StrEnum):
    """How far apart the market states of a path are."""

    DAILY = "daily"
    FOUR_HOUR = "4h"

    @property
    def per_day(self) -> int:
        """Bars per calendar day (1 or 6)."""
        return 1 if self is BarLength.DAILY else 6


@dataclass(frozen=True)
class MarketPath:
    """Index prices and vols at consecutive bar closes, oldest first.

    Attributes
    ----------
    bars:
        :class:`BarLength`.
    moments:
        ``datetime64[s]`` UTC instants each state holds at (a bar's close), strictly increasing.
    index_usd:
        Asset → index per moment, USD per coin (NaN where the source has no close).
    vol_annual:
        Asset → implied-vol level per moment, annual (0.6 = 60 %); NaN before the stand-in exists.
    vol_is_implied:
        Asset → True where ``vol_annual`` is DVOL, False where it is the EWMA stand-in.
    """

    bars: BarLength
    moments: MomentArray
    index_usd: Mapping[str, FloatArray]
    vol_annual: Mapping[str, FloatArray]
    vol_is_implied: Mapping[str, NDArray[np.bool_]]

    def __post_init__(self) -> None:
        count = self.moments.shape[0]
        if count > 1 and not bool(np.all(np.diff(self.moments.astype(np.int64)) > 0)):
            raise InputError("moments", count, "must be strictly increasing")
        for name in ("index_usd", "vol_annual", "vol_is_implied"):
            table = getattr(self, name)
            for asset, values in table.items():
                if values.shape != (count,):
                    raise InputError(f"{name}.{asset}", values.shape, f"must have {count} values")
            object.__setattr__(self, name, MappingProxyType(dict(table)))

    @property
    def count(self) -> int:
        """Number of moments."""
        return int(self.moments.shape[0])

    @property
    def assets(self) -> tuple[str, ...]:
        """Assets with an index, sorted."""
        return tuple(sorted(self.index_usd))

    def moment(self, k: int) -> datetime:
        """Moment ``k`` as a timezone-aware UTC datetime."""
        seconds = int(self.moments[k].astype("datetime64[s]").astype(np.int64))
        return datetime.fromtimestamp(seconds, tz=UTC)

    def ahead(self, k: int, days: int) -> int:
        """Index of the moment exactly ``days`` calendar days after moment ``k``, or −1 when the
        path holds no state then (past its end, or a gap)."""
        target = self.moments[k] + np.timedelta64(days, "D")
        found = int(np.searchsorted(self.moments, target))
        if found < self.count and self.moments[found] == target:
            return found
        return -1

    def complete(self, k: int, assets: Sequence[str]) -> bool:
        """Whether moment ``k`` has a finite index and vol for every asset of ``assets``."""
        return all(
            np.isfinite(self.index_usd[a][k]) and np.isfinite(self.vol_annual[a][k]) for a in assets
        )

    def snapshot(self, k: int, assets: Sequence[str], rate_annual: float = 0.0) -> MarketSnapshot:
        """The market at moment ``k`` for ``assets``: their index, a flat surface at their vol
        and ``rate_annual`` (forwards are index·e^{rT}). Raises :class:`InputError` naming the
        asset when it has no history or no value at that moment."""
        for asset in assets:
            if asset not in self.index_usd:
                raise InputError("asset", asset, f"no price history (have {list(self.assets)})")
            if not self.complete(k, [asset]):
                raise InputError(
                    f"index_usd.{asset}",
                    str(self.moments[k]),
                    "no close or vol at this moment",
                )
        return MarketSnapshot(
            valuation_time=self.moment(k),
            index_usd={a: float(self.index_usd[a][k]) for a in assets},
            rate_annual=rate_annual,
            vol_surfaces={a: VolSurface.flat(float(self.vol_annual[a][k])) for a in assets},
        )

    def positions_between(self, start: date | None, end: date | None) -> NDArray[np.int64]:
        """Indices of the moments whose UTC date is within ``start..end`` (inclusive; None =
        open)."""
        days = self.moments.astype("datetime64[D]")
        keep = np.ones(self.count, dtype=bool)
        if start is not None:
            keep &= days >= np.datetime64(start, "D")
        if end is not None:
            keep &= days <= np.datetime64(end, "D")
        return np.flatnonzero(keep).astype(np.int64)


def _vol_with_stand_in(
    closes: FloatArray, dvol_pct: FloatArray | None
) -> tuple[FloatArray, NDArray[np.bool_]]:
    stand_in = ewma_vol_annual(closes, _EWMA_DECAY)
    if dvol_pct is None:
        return stand_in, np.zeros(closes.shape, dtype=bool)
    implied = dvol_to_vol_annual(dvol_pct)
    has_implied = np.isfinite(implied)
    return np.where(has_implied, implied, stand_in), has_implied


def daily_market_path(history: MarketHistory, assets: Sequence[str]) -> MarketPath:
    """One state per daily candle: moment D + 1 00:00 UTC, the candle's close and the vol.

    Parameters
    ----------
    history:
        The daily closes and DVOL (:func:`~crossmargin.market.history.load_market_history`).
    assets:
        Assets to carry (each needs a close series in ``history``).

    Returns
    -------
    MarketPath
        Daily moments over the whole history; vol = DVOL / 100 where DVOL exists, the EWMA
        (λ = 0.94) of daily log returns elsewhere.
    """
    index: dict[str, FloatArray] = {}
    vols: dict[str, FloatArray] = {}
    implied: dict[str, NDArray[np.bool_]] = {}
    for asset in assets:
        if asset not in history.closes_usd:
            raise InputError(
                "asset", asset, f"no price history (have {sorted(history.closes_usd)})"
            )
        closes = np.asarray(history.closes_usd[asset], dtype=np.float64)
        index[asset] = closes
        vols[asset], implied[asset] = _vol_with_stand_in(closes, history.dvol_pct.get(asset))
    moments = (history.dates + _DAY).astype("datetime64[s]")
    return MarketPath(BarLength.DAILY, moments, index, vols, implied)


def four_hour_market_path(bars: Mapping[str, Bars], daily: MarketPath) -> MarketPath:
    """One state per 4-hour bar close where every asset has a close.

    Parameters
    ----------
    bars:
        Asset → its 4-hour bars (:func:`~crossmargin.oracles.bars.read_binance_4h`).
    daily:
        The daily path of the same assets: a moment's vol is that of the last daily moment at or
        before it (DVOL, or its stand-in, known by then).

    Returns
    -------
    MarketPath
        Moments at bar closes common to all assets, oldest first.
    """
    if not bars:
        raise InputError("bars", [], "at least one asset is needed")
    common: MomentArray | None = None
    for one in bars.values():
        closes = one.close_times[np.isfinite(one.close_usd)].astype("datetime64[s]")
        common = closes if common is None else np.intersect1d(common, closes)
    assert common is not None
    index: dict[str, FloatArray] = {}
    vols: dict[str, FloatArray] = {}
    implied: dict[str, NDArray[np.bool_]] = {}
    daily_position = np.searchsorted(daily.moments, common, side="right") - 1
    known = daily_position >= 0
    safe = np.where(known, daily_position, 0)
    for asset, one in bars.items():
        if asset not in daily.index_usd:
            raise InputError("asset", asset, "the daily path has no such asset")
        where = np.searchsorted(one.close_times.astype("datetime64[s]"), common)
        index[asset] = np.asarray(one.close_usd[where], dtype=np.float64)
        vols[asset] = np.where(known, daily.vol_annual[asset][safe], np.nan)
        implied[asset] = known & daily.vol_is_implied[asset][safe]
    return MarketPath(BarLength.FOUR_HOUR, common, index, vols, implied)


def load_four_hour_market_path(
    data_dir: str | Path, history: MarketHistory, assets: Sequence[str]
) -> MarketPath:
    """Read the Binance 4-hour files of ``assets`` under ``data_dir`` (the shared data directory,
    :data:`~crossmargin.oracles.bars.BINANCE_4H_FILES`) and build their
    :func:`four_hour_market_path` with vols from ``history``."""
    directory = Path(data_dir)
    bars: dict[str, Bars] = {}
    for asset in assets:
        if asset not in BINANCE_4H_FILES:
            raise InputError("asset", asset, f"no 4-hour file (have {sorted(BINANCE_4H_FILES)})")
        bars[asset] = read_binance_4h(directory / BINANCE_4H_FILES[asset], asset)
    return four_hour_market_path(bars, daily_market_path(history, assets))
