"""Our own cascade calibration figures on real bars, frozen (docs/cascades.md "Calibration").

Inputs: Binance daily bars of shared/data (BTC, ETH; σ_daily and V_daily of the 30 days before the
day), the close of the day's first 4-hour bar, Y = 1, venue share 2 (the defaults), the synthetic
book ``synthetic_book(4000, 120, seed=0, positions_per_account=5)``, cross margin, CEX, fund $1M,
the 2022-11-09 close-to-close move (BTC −14.15 %, ETH −17.38 %) at once. These are numbers
crossmargin produced, not an external truth: a change to the data, the book, the parameters or
the cascade shows here first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from crossmargin.oracles.bars import BINANCE_4H_FILES, read_binance_4h
from crossmargin.simulation import synthetic_book
from crossmargin.simulation.calibration import replay_day, run_replay
from crossmargin.simulation.liquidity import (
    LIQUIDITY_2024_03_11,
    liquidity_from_daily,
    read_binance_daily,
)
from support.shared_data import require_shared_data

MARKETS = ("BTC", "ETH")


def _daily() -> dict[str, object]:
    data = require_shared_data()
    return {
        a: read_binance_daily(data / f"prices/binance_daily/Binance_{a}USDT_d.csv") for a in MARKETS
    }


def test_default_liquidity_is_the_bars_before_the_book_date() -> None:
    """LIQUIDITY_2024_03_11 = σ and V of 2024-02-10 … 2024-03-10 from the daily bars."""
    measured = liquidity_from_daily(_daily(), "2024-03-11")  # type: ignore[arg-type]
    for market in MARKETS:
        assert measured.daily_vol[market] == pytest.approx(
            LIQUIDITY_2024_03_11.daily_vol[market], rel=1e-9
        )
        assert measured.daily_volume_usd[market] == pytest.approx(
            LIQUIDITY_2024_03_11.daily_volume_usd[market], rel=1e-9
        )


def test_replay_2022_11_09_from_the_close_frozen() -> None:
    data = require_shared_data()
    start = datetime(2022, 11, 9, tzinfo=UTC)
    first_bar = {}
    for asset in MARKETS:
        bars = read_binance_4h(data / BINANCE_4H_FILES[asset], asset)
        first_bar[asset] = float(bars.close_usd[bars.index_of(start)])
    assert first_bar == {"BTC": 18313.68, "ETH": 1312.39}
    replay = replay_day("2022-11-09", _daily(), first_bar)  # type: ignore[arg-type]
    assert replay.close_move["BTC"] == pytest.approx(-0.1414993, abs=1e-6)
    assert replay.low_move["BTC"] == pytest.approx(-0.1595510, abs=1e-6)
    assert replay.liquidity.daily_vol["BTC"] == pytest.approx(0.0256661, abs=1e-6)
    assert replay.liquidity.daily_volume_usd["BTC"] == pytest.approx(5.6415063e9, rel=1e-6)
    book = synthetic_book(4000, 120, seed=0, data_dir=data, positions_per_account=5.0)
    out = run_replay(book, replay, "cross", "close")
    result = out.outcome.result
    assert out.simulated_end("BTC") == pytest.approx(-0.1463994, abs=1e-6)
    assert out.simulated_trough("BTC") == pytest.approx(-0.1468369, abs=1e-6)
    assert out.simulated_end("ETH") == pytest.approx(-0.1979426, abs=1e-6)
    assert result.accounts_liquidated == 107
    assert result.cascade_rounds == 5
    assert result.total("liquidated_notional_usd") == pytest.approx(45_647_894.12, rel=1e-6)
    assert out.real_usd_per_book_usd == pytest.approx(46.152215, rel=1e-6)
    # the simulated liquidations clear the published lower bound of the FTX week (> $846M)
    assert out.liquidated_real_usd == pytest.approx(2.1067514e9, rel=1e-6)
    assert np.isfinite(out.liquidated_real_usd) and out.liquidated_real_usd > 846e6
