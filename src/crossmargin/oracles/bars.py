"""Price bars read from the shared data set's files (the caller names every file).

* :func:`read_binance_4h` — Binance 4-hour klines, ``timestamp,open,high,low,close,volume``, the
  bar's open time in UTC, oldest first;
* :func:`read_yahoo_daily` — Yahoo daily OHLC of the stablecoins in either layout of
  ``shared/data/stablecoins`` (``Date,Open,...`` oldest first, or ``,date,open,...`` newest first);
  a row of ``null`` (USTC after October 2022) is kept as NaN so the calendar has no hole;
* :func:`bars_from_daily` — a :class:`~crossmargin.market.history.DailySeries` of closes (Binance
  daily, DVOL) as close-only daily bars.

Nothing here looks for the data set: :mod:`crossmargin.shared_data` does that for the entry points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.core.textfiles import positive_number_cell, read_csv_rows
from crossmargin.market.history import DailySeries

__all__ = [
    "BINANCE_4H_FILES",
    "STABLECOIN_FILES",
    "Bars",
    "bars_from_daily",
    "read_binance_4h",
    "read_yahoo_daily",
]

FloatArray = NDArray[np.float64]

#: Binance 4-hour kline files per asset, relative to the shared data directory.
BINANCE_4H_FILES: Mapping[str, Path] = MappingProxyType(
    {a: Path(f"prices/binance_4h/{a}USDT_4h.csv") for a in ("BTC", "ETH", "SOL")}
)

#: Yahoo daily stablecoin files, relative to the shared data directory (see its README).
STABLECOIN_FILES: Mapping[str, Path] = MappingProxyType(
    {
        "USDT": Path("stablecoins/yahoo_2020_2025/USDT-USD.csv"),
        "USDC": Path("stablecoins/yahoo_2020_2025/USDC-USD.csv"),
        "DAI": Path("stablecoins/yahoo_2017_2022/DAI-USD.csv"),
        "USTC": Path("stablecoins/yahoo_2017_2022/USTC-USD.csv"),
    }
)


@dataclass(frozen=True)
class Bars:
    """OHLC bars of one asset, oldest first, on a regular grid of ``bar_seconds``.

    Attributes
    ----------
    asset:
        Asset code.
    open_times:
        ``datetime64[s]`` open time of each bar (UTC), strictly increasing.
    bar_seconds:
        Bar length; a bar's close is the price at ``open_time + bar_seconds``.
    open_usd, high_usd, low_usd, close_usd:
        Prices in USD per unit; NaN where the source has no value.
    """

    asset: str
    open_times: NDArray[np.datetime64]
    bar_seconds: int
    open_usd: FloatArray
    high_usd: FloatArray
    low_usd: FloatArray
    close_usd: FloatArray

    def __post_init__(self) -> None:
        count = self.open_times.shape[0]
        for name in ("open_usd", "high_usd", "low_usd", "close_usd"):
            values = getattr(self, name)
            if values.shape != (count,):
                raise InputError(f"bars.{name}", values.shape, f"must have {count} values")
        if count > 1 and not bool(np.all(np.diff(self.open_times.astype(np.int64)) > 0)):
            raise InputError("bars.open_times", self.asset, "must be strictly increasing")
        if self.bar_seconds <= 0:
            raise InputError("bars.bar_seconds", self.bar_seconds, "must be > 0")

    @property
    def close_times(self) -> NDArray[np.datetime64]:
        """``datetime64[s]`` moment each bar's close is known (its open time + one bar)."""
        return self.open_times + np.timedelta64(self.bar_seconds, "s")

    def index_of(self, moment: datetime) -> int:
        """Index of the bar that opens on ``moment`` (UTC); :class:`InputError` if none does."""
        stamp = np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "s")
        found = int(np.searchsorted(self.open_times, stamp))
        if found >= self.open_times.shape[0] or self.open_times[found] != stamp:
            raise InputError("moment", moment.isoformat(), f"no {self.asset} bar opens then")
        return found


def _columns(header: list[str], names: tuple[str, ...], path: Path) -> list[int]:
    lowered = [cell.strip().lower() for cell in header]
    missing = [n for n in names if n not in lowered]
    if missing:
        raise FileInputError(str(path), "header", ",".join(header), f"has no column {missing[0]!r}")
    return [lowered.index(n) for n in names]


def _build(
    asset: str, path: Path, stamps: list[np.datetime64], ohlc: list[list[float]], bar_seconds: int
) -> Bars:
    if not stamps:
        raise FileInputError(str(path), "rows", 0, "the file holds no data rows")
    times = np.array(stamps, dtype="datetime64[s]")
    order = np.argsort(times, kind="stable")
    times = times[order]
    if bool(np.any(times[1:] == times[:-1])):
        duplicated = times[1:][times[1:] == times[:-1]][0]
        raise FileInputError(str(path), "date", str(duplicated), "appears twice")
    table = np.array(ohlc, dtype=np.float64)[order]
    return Bars(asset, times, bar_seconds, table[:, 0], table[:, 1], table[:, 2], table[:, 3])


def read_binance_4h(path: str | Path, asset: str) -> Bars:
    """Read Binance 4-hour klines (``timestamp,open,high,low,close,volume``).

    Returns
    -------
    Bars
        4-hour bars (``bar_seconds`` 14,400), USD(T) per coin. A bad time or price raises
        :class:`FileInputError` naming the line.
    """
    return _read_ohlc(
        Path(path),
        asset,
        time_column="timestamp",
        to_time=lambda text: np.datetime64(text.strip().replace(" ", "T"), "s"),
        time_reason="is not a timestamp",
        allow_null=False,
        bar_seconds=4 * 3600,
    )


def read_yahoo_daily(path: str | Path, asset: str) -> Bars:
    """Read a Yahoo daily OHLC file of ``shared/data/stablecoins`` (either layout).

    Returns
    -------
    Bars
        Daily bars (``bar_seconds`` 86,400; the close is the price at the next 00:00 UTC), USD
        per coin, oldest first; ``null`` rows are NaN.
    """
    return _read_ohlc(
        Path(path),
        asset,
        time_column="date",
        to_time=lambda text: np.datetime64(text.strip(), "D").astype("datetime64[s]"),
        time_reason="is not a date",
        allow_null=True,
        bar_seconds=86_400,
    )


def _read_ohlc(
    file_path: Path,
    asset: str,
    *,
    time_column: str,
    to_time: Callable[[str], np.datetime64],
    time_reason: str,
    allow_null: bool,
    bar_seconds: int,
) -> Bars:
    """Bars from a CSV file with a time column and open/high/low/close columns (any order)."""
    rows = read_csv_rows(file_path)
    if not rows:
        raise FileInputError(str(file_path), "header", None, "missing")
    names = (time_column, "open", "high", "low", "close")
    cols = _columns(rows[0], names, file_path)
    stamps: list[np.datetime64] = []
    ohlc: list[list[float]] = []
    for offset, row in enumerate(rows[1:]):
        line = offset + 2
        if len(row) <= max(cols):
            raise FileInputError(str(file_path), f"line {line}", ",".join(row), "too few columns")
        try:
            stamps.append(to_time(row[cols[0]]))
        except ValueError:
            raise FileInputError(
                str(file_path), f"line {line}.{time_column}", row[cols[0]], time_reason
            ) from None
        ohlc.append(
            [
                positive_number_cell(row[c], file_path, f"line {line}.{n}", allow_null=allow_null)
                for c, n in zip(cols[1:], names[1:], strict=True)
            ]
        )
    return _build(asset, file_path, stamps, ohlc, bar_seconds)


def bars_from_daily(series: DailySeries) -> Bars:
    """Close-only daily bars from a :class:`DailySeries` (open, high and low are NaN)."""
    times = series.dates.astype("datetime64[s]")
    missing = np.full(series.values.shape, np.nan)
    return Bars(series.asset, times, 86_400, missing, missing, missing, series.values.copy())
