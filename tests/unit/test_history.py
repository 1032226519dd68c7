"""Daily history loaders: real Binance closes and Deribit DVOL from shared/data, and bad files."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.market.history import (
    DailySeries,
    MarketHistory,
    align_daily,
    load_market_history,
    read_binance_daily,
    read_deribit_dvol,
)
from support.shared_data import require_shared_data


@pytest.fixture(scope="module")
def history() -> MarketHistory:
    return load_market_history(require_shared_data())


def test_known_binance_closes(history: MarketHistory) -> None:
    """Binance_BTCUSDT_d.csv rows 2020-03-11 and 2020-03-12 close at 7934.52 and 4800.0 (the
    Yahoo series of the README has 4970.79 for the same day: a different venue and cut-off)."""
    assert history.close_usd("BTC", date(2020, 3, 11)) == 7934.52
    assert history.close_usd("BTC", date(2020, 3, 12)) == 4800.0
    assert history.close_usd("ETH", date(2022, 11, 9)) == 1102.73
    assert history.close_usd("SOL", date(2022, 11, 9)) == 14.08


def test_known_dvol_closes_in_percent(history: MarketHistory) -> None:
    """README: BTC DVOL closed 124.83 on 2021-05-19, 114.58 on 2022-05-12, 115.03 on 2022-06-18
    and 114.72 on 2022-11-09 (percent)."""
    assert history.dvol("BTC", date(2021, 5, 19)) == 124.83
    assert history.dvol("BTC", date(2022, 5, 12)) == 114.58
    assert history.dvol("BTC", date(2022, 6, 18)) == 115.03
    assert history.dvol("BTC", date(2022, 11, 9)) == 114.72
    assert history.dvol("ETH", date(2022, 11, 9)) == 153.93


def test_readme_stress_day_returns(history: MarketHistory) -> None:
    """README stress table, close-to-close: BTC 2020-03-12 −39.50 % (4800/7934.52 − 1), ETH
    2020-03-12 −44.60 %, SOL 2021-05-19 −37.50 %, SOL 2022-11-09 −42.25 %."""

    def day_return(asset: str, day: date) -> float:
        previous = date.fromordinal(day.toordinal() - 1)
        return history.close_usd(asset, day) / history.close_usd(asset, previous) - 1.0

    assert day_return("BTC", date(2020, 3, 12)) == pytest.approx(-0.3950, abs=5e-5)
    assert day_return("ETH", date(2020, 3, 12)) == pytest.approx(-0.4460, abs=5e-5)
    assert day_return("SOL", date(2021, 5, 19)) == pytest.approx(-0.3750, abs=5e-5)
    assert day_return("SOL", date(2022, 11, 9)) == pytest.approx(-0.4225, abs=5e-5)


def test_calendar_is_consecutive_with_nan_holes(history: MarketHistory) -> None:
    """One row per calendar day from 2017-08-17 (first Binance day) to 2026-04-06 (last DVOL
    day); SOL starts 2020-08-11 at 3.2985, DVOL on 2021-03-24 at 95.04; 2026-01-08 is a Binance
    gap (README) and holds NaN."""
    steps = np.diff(history.dates).astype(np.int64)
    assert np.all(steps == 1)
    assert history.first_date == date(2017, 8, 17)
    assert history.last_date == date(2026, 4, 6)
    assert history.dates.shape[0] == (date(2026, 4, 6) - date(2017, 8, 17)).days + 1
    assert math.isnan(history.close_usd("SOL", date(2020, 8, 10)))
    assert history.close_usd("SOL", date(2020, 8, 11)) == 3.2985
    assert math.isnan(history.dvol("BTC", date(2021, 3, 23)))
    assert history.dvol("BTC", date(2021, 3, 24)) == 95.04
    assert math.isnan(history.close_usd("BTC", date(2026, 1, 8)))
    assert math.isnan(history.close_usd("BTC", date(2026, 4, 1)))


def test_lookups_outside_reject(history: MarketHistory) -> None:
    with pytest.raises(InputError, match="outside the history"):
        history.close_usd("BTC", date(2016, 1, 1))
    with pytest.raises(InputError, match="no price history"):
        history.close_usd("XRP", date(2022, 1, 1))
    with pytest.raises(InputError, match="no DVOL"):
        history.dvol("SOL", date(2022, 1, 1))
    with pytest.raises(InputError, match="no price file"):
        load_market_history(Path("no-such-directory"), assets=("XRP",))


def test_the_loader_reads_only_the_directory_it_is_given(tmp_path: Path) -> None:
    """No search: an empty directory is an error naming the first file it lacks."""
    with pytest.raises(FileInputError, match=r"Binance_BTCUSDT_d\.csv"):
        load_market_history(tmp_path)


BANNER = "https://www.CryptoDataDownload.com\n"
HEADER = "Unix,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT,tradecount\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "file.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_binance_reader_skips_banner_and_sorts_oldest_first(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        BANNER + HEADER + "0,2024-01-03,BTCUSDT,1,1,1,300.5,0,0,0\n"
        "0,2024-01-01,BTCUSDT,1,1,1,100.0,0,0,0\n",
    )
    series = read_binance_daily(path, "BTC")
    assert [str(d) for d in series.dates] == ["2024-01-01", "2024-01-03"]
    assert series.values.tolist() == [100.0, 300.5]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0,2024-01-01,BTCUSDT,1,1,1,-5,0,0,0", "line 3.Close"),
        ("0,2024-01-01,BTCUSDT,1,1,1,abc,0,0,0", "is not a number"),
        ("0,2024-13-01,BTCUSDT,1,1,1,5,0,0,0", "line 3.date"),
        ("0,2024-01-01,ETHUSDT,1,1,1,5,0,0,0", "expected 'BTCUSDT'"),
        ("0,2024-01-01,BTCUSDT", "too few columns"),
    ],
)
def test_binance_reader_names_the_bad_line(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path, BANNER + HEADER + row + "\n")
    with pytest.raises(FileInputError, match=message) as caught:
        read_binance_daily(path, "BTC")
    assert str(path) in str(caught.value)


def test_readers_reject_duplicates_missing_columns_and_files(tmp_path: Path) -> None:
    duplicate = BANNER + HEADER + "0,2024-01-01,BTCUSDT,1,1,1,5,0,0,0\n" * 2
    with pytest.raises(FileInputError, match="appears twice"):
        read_binance_daily(_write(tmp_path, duplicate), "BTC")
    with pytest.raises(FileInputError, match="no column 'close'"):
        read_deribit_dvol(_write(tmp_path, "date,symbol,open\n2024-01-01,BTC,50\n"), "BTC")
    with pytest.raises(FileInputError, match="expected 'ETH'"):
        read_deribit_dvol(_write(tmp_path, "date,symbol,close\n2024-01-01,BTC,50\n"), "ETH")
    with pytest.raises(FileInputError, match="no data rows"):
        read_deribit_dvol(_write(tmp_path, "date,symbol,close\n"), "BTC")
    with pytest.raises(FileInputError):
        read_deribit_dvol(tmp_path / "absent.csv", "BTC")


def test_align_daily_fills_the_calendar_with_nan() -> None:
    """A = {Jan 1: 1, Jan 3: 3}, B = {Jan 2: 20}: calendar Jan 1..3, A = [1, NaN, 3],
    B = [NaN, 20, NaN]."""
    days = np.array(["2024-01-01", "2024-01-03"], dtype="datetime64[D]")
    first = DailySeries("A", days, np.array([1.0, 3.0]))
    second = DailySeries("B", np.array(["2024-01-02"], dtype="datetime64[D]"), np.array([20.0]))
    dates, (a, b) = align_daily([first, second])
    assert [str(d) for d in dates] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    np.testing.assert_array_equal(a, [1.0, np.nan, 3.0])
    np.testing.assert_array_equal(b, [np.nan, 20.0, np.nan])
    with pytest.raises(InputError):
        align_daily([])
