"""The de-peg charge on the real stablecoin histories (Yahoo, shared/data/stablecoins; the de-peg
lows are those its README lists: USDC 0.8774 on 2023-03-11 (SVB), USTC 0.154 close on
2022-05-13)."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.collateral.depeg import DepegParams, depeg_charge_path
from crossmargin.collateral.dynamic_schedule import load_dynamic_collateral
from crossmargin.oracles import STABLECOIN_FILES, Bars, read_yahoo_daily
from support.shared_data import require_shared_data


def history(asset: str) -> tuple[Bars, np.ndarray]:
    bars = read_yahoo_daily(require_shared_data(str(STABLECOIN_FILES[asset])), asset)
    return bars, depeg_charge_path(bars.low_usd, bars.close_usd, load_dynamic_collateral().depeg)


def charge_on(bars: Bars, charge: np.ndarray, day: str) -> float:
    days = bars.open_times.astype("datetime64[D]")
    return float(charge[int(np.flatnonzero(days == np.datetime64(day))[0])])


def test_usdc_svb_2023_03_11() -> None:
    """Before: 1 − 0.999218 (the 03-10 low) = 0.078 %. After 03-11 (low 0.8774): 12.26 %, held
    for the 30-day window, released on 2023-04-10 to the 03-12 low's 5.30 %."""
    bars, charge = history("USDC")
    assert charge_on(bars, charge, "2023-03-10") == pytest.approx(1 - 0.999218)
    assert charge_on(bars, charge, "2023-03-11") == pytest.approx(1 - 0.8774)
    assert charge_on(bars, charge, "2023-04-09") == pytest.approx(1 - 0.8774)
    assert charge_on(bars, charge, "2023-04-10") == pytest.approx(1 - 0.947013)
    # 1,000,000 USDC valued on 2023-03-12 at the 03-11 close 0.9715, less the 12.26 % charge:
    value = 1e6 * 0.9715 * (1 - charge_on(bars, charge, "2023-03-11"))
    assert value == pytest.approx(852_394.10, abs=0.01)  # 0.9715 × 0.8774


def test_ustc_collapse_may_2022() -> None:
    """Lows 0.793393 (05-09), 0.684081 (05-10), 0.299838 (05-11), 0.133137 (05-13)."""
    bars, charge = history("USTC")
    expected = {
        "2022-05-08": 1 - 0.990503,
        "2022-05-09": 1 - 0.793393,
        "2022-05-10": 1 - 0.684081,
        "2022-05-11": 1 - 0.299838,
        "2022-05-13": 1 - 0.133137,
    }
    for day, value in expected.items():
        assert charge_on(bars, charge, day) == pytest.approx(value), day
    # From the first null row (2022-10-10) on, nobody quotes USTC: full charge.
    assert charge_on(bars, charge, "2022-10-10") == 1.0
    # 1,000,000 USTC on 2022-05-14 at the 05-13 close 0.154002 counts for 0.154002 × 0.133137.
    assert 1e6 * 0.154002 * (1 - charge_on(bars, charge, "2022-05-13")) == pytest.approx(
        20_503.3, abs=0.1
    )


def test_usdt_march_2020_and_quiet_dai() -> None:
    bars, charge = history("USDT")
    assert charge_on(bars, charge, "2020-03-13") == pytest.approx(1 - 0.89949)
    _, dai = history("DAI")
    assert dai.max() < 0.06  # DAI never lost more than 5.45 % on a daily low 2019–2022


def test_window_parameter_changes_release_only() -> None:
    bars = read_yahoo_daily(require_shared_data(str(STABLECOIN_FILES["USDC"])), "USDC")
    short = depeg_charge_path(bars.low_usd, bars.close_usd, DepegParams(lookback_days=1))
    assert charge_on(bars, short, "2023-03-11") == pytest.approx(1 - 0.8774)
    assert charge_on(bars, short, "2023-03-13") == pytest.approx(1 - 0.988036)
