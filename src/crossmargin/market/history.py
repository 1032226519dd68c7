"""Real daily market history: Binance daily closes and Deribit DVOL, aligned by calendar day.

The files live in the shared data set (``shared/data``, see its ``README.md`` for provenance);
the caller passes its directory (:func:`load_market_history` never looks for it). Two formats are
read, both with the ``csv`` module:

* **Binance daily** (CryptoDataDownload): line 1 is a banner (``https://www.CryptoDataDownload.com``),
  line 2 the header ``Unix,Date,Symbol,Open,High,Low,Close,...``; rows run newest first. A row dated
  ``D`` is the candle that opens at ``D`` 00:00 UTC, so its ``Close`` is the price at ``D+1``
  00:00 UTC. Prices are USDT per coin, used as USD.
* **Deribit DVOL**: header ``date,symbol,open,high,low,close``; the 30-day implied-volatility index
  in **percent** (47.53 means 47.53 %), one row per UTC day, newest first.

:func:`load_market_history` aligns every series on one calendar (every day from the earliest to
the latest date of any series); a day a series has no row for holds NaN. Consumers decide what to
do with the holes (the VaR model drops the scenarios that span one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.core.textfiles import positive_number_cell, read_csv_rows

__all__ = [
    "BINANCE_DAILY_FILES",
    "DVOL_FILES",
    "DailySeries",
    "MarketHistory",
    "align_daily",
    "load_market_history",
    "read_binance_daily",
    "read_deribit_dvol",
]

FloatArray = NDArray[np.float64]
DateArray = NDArray[np.datetime64]

#: Binance daily close files per asset, relative to the shared data directory.
BINANCE_DAILY_FILES: Mapping[str, Path] = MappingProxyType(
    {
        asset: Path(f"prices/binance_daily/Binance_{asset}USDT_d.csv")
        for asset in ("BTC", "ETH", "SOL")
    }
)

#: Deribit DVOL files per asset, relative to the shared data directory.
DVOL_FILES: Mapping[str, Path] = MappingProxyType(
    {asset: Path(f"implied_vol/deribit_dvol/{asset.lower()}_dvol.csv") for asset in ("BTC", "ETH")}
)

_BINANCE_BANNER_PREFIX = "http"


@dataclass(frozen=True)
class DailySeries:
    """One daily series as read from a file, sorted oldest first.

    Attributes
    ----------
    asset:
        Asset code (``"BTC"``).
    dates:
        ``datetime64[D]`` UTC days, strictly increasing (gaps allowed).
    values:
        One value per day: a close in USD per coin, or DVOL in percent.
    """

    asset: str
    dates: DateArray
    values: FloatArray


def _to_day(raw: str, path: Path, field: str) -> np.datetime64:
    try:
        return np.datetime64(date.fromisoformat(raw.strip()), "D")
    except ValueError:
        raise FileInputError(str(path), field, raw, "is not an ISO date YYYY-MM-DD") from None


def _column(header: list[str], name: str, path: Path) -> int:
    lowered = [cell.strip().lower() for cell in header]
    if name.lower() not in lowered:
        raise FileInputError(str(path), "header", ",".join(header), f"has no column {name!r}")
    return lowered.index(name.lower())


def _series(
    asset: str,
    path: Path,
    rows: list[list[str]],
    first_line: int,
    date_col: int,
    value_col: int,
    value_name: str,
) -> DailySeries:
    days: list[np.datetime64] = []
    values: list[float] = []
    width = max(date_col, value_col) + 1
    for offset, row in enumerate(rows):
        line = first_line + offset
        if len(row) < width:
            raise FileInputError(str(path), f"line {line}", ",".join(row), "has too few columns")
        days.append(_to_day(row[date_col], path, f"line {line}.date"))
        values.append(positive_number_cell(row[value_col], path, f"line {line}.{value_name}"))
    if not days:
        raise FileInputError(str(path), "rows", 0, "the file holds no data rows")
    day_array = np.array(days, dtype="datetime64[D]")
    order = np.argsort(day_array, kind="stable")
    day_array = day_array[order]
    duplicated = np.flatnonzero(day_array[1:] == day_array[:-1])
    if duplicated.size:
        raise FileInputError(str(path), "date", str(day_array[duplicated[0]]), "appears twice")
    return DailySeries(asset, day_array, np.array(values, dtype=np.float64)[order])


def read_binance_daily(path: str | Path, asset: str) -> DailySeries:
    """Read a CryptoDataDownload/Binance daily file into daily closes.

    Parameters
    ----------
    path:
        The CSV file (banner line, header line, rows newest first).
    asset:
        Asset code the file must hold: every ``Symbol`` must be ``<asset>USDT``.

    Returns
    -------
    DailySeries
        Close of each day's candle (the price at the next 00:00 UTC), USD(T) per coin, oldest
        first. Raises :class:`FileInputError` naming the line for a bad date, price or symbol.
    """
    file_path = Path(path)
    rows = read_csv_rows(file_path)
    header_line = 1 if rows and rows[0][0].strip().lower().startswith(_BINANCE_BANNER_PREFIX) else 0
    if len(rows) <= header_line:
        raise FileInputError(str(file_path), "header", None, "missing")
    header = rows[header_line]
    date_col = _column(header, "Date", file_path)
    close_col = _column(header, "Close", file_path)
    symbol_col = _column(header, "Symbol", file_path)
    body = rows[header_line + 1 :]
    first_line = header_line + 2
    expected = f"{asset}USDT"
    for offset, row in enumerate(body):
        if len(row) > symbol_col and row[symbol_col].strip() != expected:
            raise FileInputError(
                str(file_path),
                f"line {first_line + offset}.Symbol",
                row[symbol_col],
                f"expected {expected!r}",
            )
    return _series(asset, file_path, body, first_line, date_col, close_col, "Close")


def read_deribit_dvol(path: str | Path, asset: str) -> DailySeries:
    """Read a Deribit DVOL file (``date,symbol,open,high,low,close``, newest first).

    Returns
    -------
    DailySeries
        Daily DVOL close in **percent** (47.53 = 47.53 % annual implied vol), oldest first. Rows
        whose ``symbol`` is not ``asset`` are rejected with :class:`FileInputError`.
    """
    file_path = Path(path)
    rows = read_csv_rows(file_path)
    if not rows:
        raise FileInputError(str(file_path), "header", None, "missing")
    header = rows[0]
    date_col = _column(header, "date", file_path)
    close_col = _column(header, "close", file_path)
    symbol_col = _column(header, "symbol", file_path)
    for offset, row in enumerate(rows[1:]):
        if len(row) > symbol_col and row[symbol_col].strip() != asset:
            raise FileInputError(
                str(file_path), f"line {offset + 2}.symbol", row[symbol_col], f"expected {asset!r}"
            )
    return _series(asset, file_path, rows[1:], 2, date_col, close_col, "close")


def align_daily(series: Sequence[DailySeries]) -> tuple[DateArray, list[FloatArray]]:
    """Put daily series on one calendar: every day from the earliest to the latest date.

    Returns
    -------
    (dates, values)
        ``dates`` is a ``datetime64[D]`` array of consecutive days; ``values[k]`` holds series
        ``k`` on that calendar with NaN on days it has no row for.
    """
    if not series:
        raise InputError("series", [], "at least one series is needed")
    start = min(s.dates[0] for s in series)
    end = max(s.dates[-1] for s in series)
    dates = np.arange(start, end + np.timedelta64(1, "D"), dtype="datetime64[D]")
    aligned: list[FloatArray] = []
    for one in series:
        values = np.full(dates.shape, np.nan)
        values[(one.dates - start).astype(np.int64)] = one.values
        values.setflags(write=False)
        aligned.append(values)
    dates.setflags(write=False)
    return dates, aligned


@dataclass(frozen=True)
class MarketHistory:
    """Daily closes and DVOL on one calendar of consecutive UTC days (oldest first).

    Attributes
    ----------
    dates:
        ``datetime64[D]`` days, consecutive.
    closes_usd:
        Asset → close of the candle dated that day (the price at the next 00:00 UTC), USD per coin;
        NaN where the source has no row.
    dvol_pct:
        Asset → DVOL close in percent; NaN where the source has no row (before 2021-03-24).
    """

    dates: DateArray
    closes_usd: Mapping[str, FloatArray]
    dvol_pct: Mapping[str, FloatArray]

    def __post_init__(self) -> None:
        count = self.dates.shape[0]
        for name, table in (("closes_usd", self.closes_usd), ("dvol_pct", self.dvol_pct)):
            for asset, values in table.items():
                if values.shape != (count,):
                    raise InputError(f"{name}.{asset}", values.shape, f"must have {count} days")
        object.__setattr__(self, "closes_usd", MappingProxyType(dict(self.closes_usd)))
        object.__setattr__(self, "dvol_pct", MappingProxyType(dict(self.dvol_pct)))

    @property
    def first_date(self) -> date:
        """First calendar day."""
        return _as_date(self.dates[0])

    @property
    def last_date(self) -> date:
        """Last calendar day."""
        return _as_date(self.dates[-1])

    def day_index(self, day: date) -> int:
        """Position of ``day`` on the calendar; :class:`InputError` when outside it."""
        index = int((np.datetime64(day, "D") - self.dates[0]).astype(np.int64))
        if not 0 <= index < self.dates.shape[0]:
            raise InputError(
                "date",
                day.isoformat(),
                f"outside the history {self.first_date.isoformat()}..{self.last_date.isoformat()}",
            )
        return index

    def close_usd(self, asset: str, day: date) -> float:
        """Close of ``asset``'s candle dated ``day`` in USD per coin (NaN when missing)."""
        if asset not in self.closes_usd:
            raise InputError("asset", asset, f"no price history (have {sorted(self.closes_usd)})")
        return float(self.closes_usd[asset][self.day_index(day)])

    def dvol(self, asset: str, day: date) -> float:
        """DVOL close of ``asset`` on ``day`` in percent (NaN when missing)."""
        if asset not in self.dvol_pct:
            raise InputError("asset", asset, f"no DVOL history (have {sorted(self.dvol_pct)})")
        return float(self.dvol_pct[asset][self.day_index(day)])


def _as_date(day: np.datetime64) -> date:
    return date.fromisoformat(str(day.astype("datetime64[D]")))


def load_market_history(
    data_dir: str | Path,
    assets: Sequence[str] = ("BTC", "ETH", "SOL"),
    dvol_assets: Sequence[str] = ("BTC", "ETH"),
) -> MarketHistory:
    """Load the real Binance daily closes and Deribit DVOL series, aligned by day.

    Parameters
    ----------
    data_dir:
        The shared data directory, which holds the files of :data:`BINANCE_DAILY_FILES` and
        :data:`DVOL_FILES` (the entry points locate it with :mod:`crossmargin.shared_data`).
    assets:
        Assets whose Binance daily closes to load (keys of :data:`BINANCE_DAILY_FILES`).
    dvol_assets:
        Assets whose DVOL to load (keys of :data:`DVOL_FILES`).

    Returns
    -------
    MarketHistory
        All series on one calendar of consecutive days, NaN where a series has no row. Raises
        :class:`FileInputError` naming the file when one is missing or malformed.
    """
    directory = Path(data_dir)
    for asset in assets:
        if asset not in BINANCE_DAILY_FILES:
            raise InputError("assets", asset, f"no price file (have {sorted(BINANCE_DAILY_FILES)})")
    for asset in dvol_assets:
        if asset not in DVOL_FILES:
            raise InputError("dvol_assets", asset, f"no DVOL file (have {sorted(DVOL_FILES)})")
    prices = [read_binance_daily(directory / BINANCE_DAILY_FILES[a], a) for a in assets]
    vols = [read_deribit_dvol(directory / DVOL_FILES[a], a) for a in dvol_assets]
    dates, aligned = align_daily([*prices, *vols])
    count = len(prices)
    return MarketHistory(
        dates=dates,
        closes_usd={a: aligned[k] for k, a in enumerate(assets)},
        dvol_pct={a: aligned[count + k] for k, a in enumerate(dvol_assets)},
    )
