"""The backtest's market path and realised P&L against the stress-day table of
shared/data/README.md (Binance daily close-to-close returns; Deribit DVOL closes)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from crossmargin.backtest import BacktestBook, daily_market_path, run_backtest
from crossmargin.margin.registry import build_model
from crossmargin.portfolio import Portfolio
from support.markets import MARKET
from support.shared_data import shared_market_history

#: shared/data/README.md, "Stress days": BTC and ETH close-to-close returns.
README_RETURNS = {
    date(2020, 3, 12): {"BTC": -0.3950, "ETH": -0.4460},
    date(2021, 5, 19): {"BTC": -0.1438, "ETH": -0.2774},
    date(2022, 6, 13): {"BTC": -0.1538, "ETH": -0.1568},
    date(2022, 11, 9): {"BTC": -0.1415, "ETH": -0.1738},
}


def test_one_day_pnl_of_a_long_is_the_readme_return() -> None:
    """A long of 100,000 USD face of each inverse perpetual (no collateral) earns
    100,000·(S_{t+1}/S_t − 1) over the day: the README's return on each stress day (to the
    table's 0.01 % rounding). Windows start at the day's 00:00 UTC (the previous candle's close)."""
    history = shared_market_history()
    path = daily_market_path(history, ["BTC", "ETH"])
    books = [
        BacktestBook(asset, Portfolio.of([(f"{asset}-PERPETUAL", 100_000.0)]), MARKET)
        for asset in ("BTC", "ETH")
    ]
    model = build_model("cross")
    for day, returns in README_RETURNS.items():
        run = run_backtest(books, [model], path, horizon_days=1, start=day, end=day)
        for book in run.books:
            assert book.pnl_usd[0] / 100_000.0 == pytest.approx(returns[book.name], abs=0.5e-4), (
                day,
                book.name,
            )


def test_vol_is_the_readme_dvol_close() -> None:
    """BTC DVOL closed at 124.83 on 2021-05-19 and 114.72 on 2022-11-09 (README): the path's
    vol at the next midnight is 1.2483 and 1.1472."""
    path = daily_market_path(shared_market_history(), ["BTC"])
    for day, dvol in ((date(2021, 5, 19), 124.83), (date(2022, 11, 9), 114.72)):
        k = int(np.searchsorted(path.moments, np.datetime64(day, "D") + np.timedelta64(1, "D")))
        assert path.vol_annual["BTC"][k] == pytest.approx(dvol / 100.0, abs=1e-12)
        assert path.vol_is_implied["BTC"][k]
