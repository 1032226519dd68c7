"""Market states through history: daily moments, the DVOL / EWMA vol and 4-hour alignment."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from crossmargin.backtest import BarLength, daily_market_path, four_hour_market_path
from crossmargin.market.history import MarketHistory
from crossmargin.oracles.bars import Bars


def _history() -> MarketHistory:
    dates = np.arange(
        np.datetime64("2021-03-01"), np.datetime64("2021-03-04"), dtype="datetime64[D]"
    )
    return MarketHistory(
        dates=dates,
        closes_usd={"BTC": np.array([100.0, 101.0, 102.0])},
        dvol_pct={"BTC": np.array([np.nan, 80.0, 90.0])},
    )


def test_daily_moments_are_the_next_midnight_and_vol_is_dvol() -> None:
    """The candle dated 2021-03-02 closes at 03-03 00:00 UTC at 101 USD with DVOL 80 % → 0.80;
    the first day has no DVOL, and with fewer than 30 returns its EWMA stand-in is NaN."""
    path = daily_market_path(_history(), ["BTC"])
    assert path.bars is BarLength.DAILY
    assert path.moment(1) == datetime(2021, 3, 3, tzinfo=UTC)
    assert path.index_usd["BTC"][1] == 101.0
    assert path.vol_annual["BTC"][1] == pytest.approx(0.80)
    assert path.vol_is_implied["BTC"].tolist() == [False, True, True]
    assert np.isnan(path.vol_annual["BTC"][0])
    assert path.ahead(0, 2) == 2 and path.ahead(1, 2) == -1
    snapshot = path.snapshot(2, ["BTC"])
    assert snapshot.index("BTC") == 102.0
    assert snapshot.vol("BTC", datetime(2021, 6, 1, 8, tzinfo=UTC), 150.0) == pytest.approx(0.90)


def test_four_hour_vol_is_the_last_daily_close_known() -> None:
    """Bars opening 03-03 00:00 and 20:00 close at 04:00 and 03-04 00:00: the first sees the
    DVOL that closed at 03-03 00:00 (80 %), the second the one closing at 03-04 00:00 (90 %)."""
    opens = np.array(["2021-03-03T00:00", "2021-03-03T20:00"], dtype="datetime64[s]")
    closes = np.array([101.5, 102.5])
    bars = Bars("BTC", opens, 4 * 3600, closes, closes, closes, closes)
    path = four_hour_market_path({"BTC": bars}, daily_market_path(_history(), ["BTC"]))
    assert path.moment(0) == datetime(2021, 3, 3, 4, tzinfo=UTC)
    assert path.index_usd["BTC"].tolist() == [101.5, 102.5]
    np.testing.assert_allclose(path.vol_annual["BTC"], [0.80, 0.90])
    assert path.bars.per_day == 6
