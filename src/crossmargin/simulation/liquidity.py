"""Market liquidity of a cascade from sourced quantities: the square-root law on real daily volume
and volatility, and the synthetic venue's size relative to the market.

**Impact law** (venues.md "Price impact"): a metaorder of ``Q`` USD moves the price by
``I = Y · σ_daily · √(Q / V_daily)`` (Tóth et al. 2011; on Bitcoin metaorders Donier & Bonart
2015, over four decades of size), ``Y`` of order 1, ``σ_daily`` the daily return volatility
(fraction) and ``V_daily`` the daily traded volume (USD). The cascade's impact module works with
a "1 % depth" ``D`` (taking ``D`` moves the price 1 %); both forms agree when
``D = V_daily · (0.01 / (Y · σ_daily))²`` (:func:`square_root_depth_usd`).

**Where V and σ come from**: the real Binance daily bars of shared/data (``Volume USDT`` and the
closes; the caller passes the path or the arrays, see :func:`read_binance_daily` and
:func:`liquidity_from_daily`): ``σ_daily`` = sample standard deviation of the 30 daily log
returns before the day, ``V_daily`` = mean daily USDT volume of the 30 days before the day.
:data:`LIQUIDITY_2024_03_11` holds those numbers for the synthetic book's date (2024-03-11).

**The venue's size relative to the market** (``venue_share``): the synthetic book's USD are not
the market's, so one explicit number ties them: the book's gross |USD delta| on an underlying is
``venue_share × V_daily`` — the open (delta) interest that liquidates like this book, measured in
days of the reference volume. In the book's own USD the reference volume is therefore
``G / venue_share`` (``G`` the book's gross |delta|), and one book USD stands for
``venue_share · V_daily / G`` real USD (:meth:`MarketLiquidity.real_usd_per_book_usd`), which is
how the cascade's liquidated notional is compared with the published totals of real cascade days.
The impact of the book's flow then depends on ``Y² · venue_share`` only
(``I = Y·σ·√(venue_share · Q / G)``); the liquidated notional in real USD on ``venue_share``
alone — the replays in docs/cascades.md use both to pin them.

Cross-checks of the default against venues.md (docs/cascades.md has the table): on 2024-03-11
``D = 2.90e9 · (0.01/0.0300)² ≈ $322M`` for BTC, against 16 venues × $14M = $224M of visible 1 %
depth (CoinDesk, Nov 2025) and Kaiko's ≈ 8k BTC within ±2 % across 16 venues (Feb 2023); a $10M
order moves ``0.0300 · √(10/2895) ≈ 18 bp`` by the law, where Amberdata saw > 50 bp on one
Binance book ($16.5M within 100 bp): one venue's visible book is thinner than the arbitraged
market the law describes (``Y ≈ 3`` would match it; the sensitivity table covers it).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import FileInputError, InputError

__all__ = [
    "DEFAULT_VENUE_SHARE",
    "LIQUIDITY_2024_03_11",
    "LIQUIDITY_WINDOW_DAYS",
    "DailyBars",
    "MarketLiquidity",
    "liquidity_from_daily",
    "read_binance_daily",
    "square_root_depth_usd",
]

FloatArray = NDArray[np.float64]

#: Days of history behind σ_daily and V_daily (the 30 days before the day).
LIQUIDITY_WINDOW_DAYS = 30
#: Default venue share: the book's gross |USD delta| per underlying in days of the reference
#: daily volume (see the module docstring; calibrated on the replays in docs/cascades.md).
DEFAULT_VENUE_SHARE = 2.0


def square_root_depth_usd(
    daily_volume_usd: ArrayLike, daily_vol: ArrayLike, impact_y: float = 1.0
) -> FloatArray:
    """1 % depth equivalent of the square-root law, USD: ``V · (0.01 / (Y · σ))²``.

    Parameters
    ----------
    daily_volume_usd:
        Daily traded volume ``V`` (USD > 0).
    daily_vol:
        Daily return volatility ``σ`` (fraction > 0, 0.03 = 3 % a day).
    impact_y:
        ``Y`` of the law (dimensionless > 0).

    Returns
    -------
    float64 array: the flow (USD) that moves the price by 1 %; e.g. V = 9e8, σ = 0.03, Y = 1 →
    1e8.
    """
    volume = np.asarray(daily_volume_usd, dtype=np.float64)
    sigma = np.asarray(daily_vol, dtype=np.float64)
    return np.asarray(volume * (0.01 / (impact_y * sigma)) ** 2, dtype=np.float64)


@dataclass(frozen=True)
class MarketLiquidity:
    """Sourced liquidity per underlying and the venue's size relative to the market.

    ``daily_volume_usd[u]`` (USD > 0) and ``daily_vol[u]`` (fraction > 0) are the square-root
    law's ``V`` and ``σ``; ``impact_y`` its ``Y``; ``venue_share`` the book's gross |delta| per
    underlying in days of ``V`` (> 0); ``source`` says where V and σ came from.
    """

    daily_volume_usd: Mapping[str, float]
    daily_vol: Mapping[str, float]
    impact_y: float = 1.0
    venue_share: float = DEFAULT_VENUE_SHARE
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if set(self.daily_volume_usd) != set(self.daily_vol):
            raise InputError("daily_vol", sorted(self.daily_vol), "must name the volume's markets")
        for name, values in (("daily_volume_usd", self.daily_volume_usd),
                             ("daily_vol", self.daily_vol)):  # fmt: skip
            for market, value in values.items():
                if not (np.isfinite(value) and value > 0):
                    raise InputError(f"{name}[{market}]", value, "must be > 0")
        for name in ("impact_y", "venue_share"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise InputError(name, value, "must be a finite number > 0")
        object.__setattr__(self, "daily_volume_usd", MappingProxyType(dict(self.daily_volume_usd)))
        object.__setattr__(self, "daily_vol", MappingProxyType(dict(self.daily_vol)))

    def with_(self, **changes: float) -> MarketLiquidity:
        """A copy with ``impact_y`` and/or ``venue_share`` changed."""
        return MarketLiquidity(
            self.daily_volume_usd, self.daily_vol,
            float(changes.get("impact_y", self.impact_y)),
            float(changes.get("venue_share", self.venue_share)), self.source,
        )  # fmt: skip

    def depth_usd(self, gross_delta_usd: Mapping[str, float]) -> dict[str, float]:
        """1 % depth per underlying in the book's USD: ``(G / venue_share) · (0.01/(Y·σ))²``.

        ``gross_delta_usd[u]``: the book's gross |USD delta| on ``u`` (≥ 0); markets without
        liquidity data are left out (they take no flow). A market with ``G = 0`` gets 1 USD.
        """
        out = {}
        for market, gross in gross_delta_usd.items():
            if market in self.daily_vol:
                volume = gross / self.venue_share
                depth = float(square_root_depth_usd(volume, self.daily_vol[market],
                                                    self.impact_y))  # fmt: skip
                out[market] = max(depth, 1.0)
        return out

    def real_usd_per_book_usd(self, gross_delta_usd: Mapping[str, float]) -> float:
        """Real USD one book USD stands for (> 0): ``venue_share · ΣV / ΣG`` over the underlyings
        with liquidity data (the book's gross |delta| is ``venue_share · V`` of the market)."""
        names = [m for m in gross_delta_usd if m in self.daily_volume_usd]
        gross = sum(gross_delta_usd[m] for m in names)
        if gross <= 0:
            raise InputError("gross_delta_usd", dict(gross_delta_usd), "must have gross > 0")
        return self.venue_share * sum(self.daily_volume_usd[m] for m in names) / gross

    def impact_of(self, market: str, flow_usd: float) -> float:
        """The law's move of ``flow_usd`` real USD on ``market`` (fraction ≥ 0, unsigned):
        ``Y · σ · √(|Q| / V)``; e.g. $10M on BTC at 2024-03-11's liquidity: 0.00176."""
        return float(self.impact_y * self.daily_vol[market]
                     * np.sqrt(abs(flow_usd) / self.daily_volume_usd[market]))  # fmt: skip


#: σ_daily and V_daily of the 30 days before 2024-03-11 (the synthetic book's date), measured on
#: shared/data/prices/binance_daily/Binance_{BTC,ETH}USDT_d.csv (2024-02-10 … 2024-03-10): BTC
#: σ = 2.999 %, V = $2.895B; ETH σ = 2.350 %, V = $1.666B (a regression test recomputes them).
LIQUIDITY_2024_03_11 = MarketLiquidity(
    {"BTC": 2_895_415_801.19, "ETH": 1_665_701_917.90},
    {"BTC": 0.029988795549, "ETH": 0.023499576883},
    source="Binance daily bars 2024-02-10..2024-03-10 (30 days), shared/data",
)


@dataclass(frozen=True, eq=False)
class DailyBars:
    """Daily bars oldest first: ``dates`` (ISO ``YYYY-MM-DD``), OHLC (USD) and ``volume_usd``."""

    dates: tuple[str, ...]
    open_usd: FloatArray
    high_usd: FloatArray
    low_usd: FloatArray
    close_usd: FloatArray
    volume_usd: FloatArray

    def index(self, day: str) -> int:
        """Row of ``day``; :class:`InputError` if the file has no such day."""
        try:
            return self.dates.index(day)
        except ValueError:
            raise InputError("day", day, "is not in the bars") from None


def read_binance_daily(path: str | Path) -> DailyBars:
    """Read a CryptoDataDownload Binance daily file (banner line, then
    ``Unix,Date,Symbol,Open,High,Low,Close,Volume <BASE>,Volume USDT,tradecount``, newest first)
    into :class:`DailyBars`, oldest first, volume in USDT (taken as USD)."""
    source = Path(path)
    try:
        with source.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise FileInputError(str(source), "file", str(error), "cannot be read") from None
    if len(rows) < 3 or "Volume USDT" not in rows[1]:
        raise FileInputError(
            str(source),
            "header",
            rows[1] if len(rows) > 1 else None,
            "must be a CryptoDataDownload Binance daily header",
        )
    header = rows[1]
    col = {name: header.index(name) for name in ("Date", "Open", "High", "Low", "Close")}
    volume_col = header.index("Volume USDT")
    body = [row for row in rows[2:] if row][::-1]
    try:
        values = np.array(
            [[float(row[col[k]]) for k in ("Open", "High", "Low", "Close")]
             + [float(row[volume_col])] for row in body], dtype=np.float64,
        )  # fmt: skip
    except (ValueError, IndexError):
        raise FileInputError(str(source), "row", None, "must hold numbers") from None
    return DailyBars(
        tuple(row[col["Date"]][:10] for row in body),
        values[:, 0], values[:, 1], values[:, 2], values[:, 3], values[:, 4],
    )  # fmt: skip


def liquidity_from_daily(
    bars: Mapping[str, DailyBars],
    day: str,
    impact_y: float = 1.0,
    venue_share: float = DEFAULT_VENUE_SHARE,
    window: int = LIQUIDITY_WINDOW_DAYS,
) -> MarketLiquidity:
    """σ_daily and V_daily per market from the ``window`` days before ``day`` (the day excluded).

    σ = sample standard deviation (ddof 1) of the ``window`` daily log returns ending at the
    previous day's close; V = mean daily USD volume of those ``window`` days.
    """
    volume, vol = {}, {}
    for market, series in bars.items():
        i = series.index(day)
        if i < window + 1:
            raise InputError("day", day, f"needs {window + 1} days of {market} bars before it")
        returns = np.diff(np.log(series.close_usd[i - window - 1 : i]))
        vol[market] = float(np.std(returns, ddof=1))
        volume[market] = float(np.mean(series.volume_usd[i - window : i]))
    return MarketLiquidity(volume, vol, impact_y, venue_share,
                           f"Binance daily bars, {window} days before {day}")  # fmt: skip
