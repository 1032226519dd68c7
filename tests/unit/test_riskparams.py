"""Dynamic parameters and the APC tools on small hand-derived paths."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.riskparams import (
    APCParams,
    APCTool,
    RiskParameterSet,
    apply_apc,
    ewma_vol_annual,
    load_dynamic_parameters,
    lookback_vol_annual,
    measure_procyclicality,
    parameters_from_vol,
)

VOL = np.array([0.4, 0.4, 0.8, 0.8, 0.4])


def test_none_is_the_raw_driver_and_nan_holds() -> None:
    shaped = apply_apc(np.array([0.5, np.nan, 0.6]), APCParams())
    assert shaped == pytest.approx([0.5, 0.5, 0.6])


def test_buffer_absorbs_a_rise_and_rebuilds() -> None:
    """b = 0.25, rebuild over 10 days. Day 0: 1.25 × 0.4 = 0.5. Day 1: min(0.5, 0.5 + 0.01) = 0.5.
    Day 2 (σ 0.8): max(0.8, min(1.0, 0.5 + 0.02)) = 0.8 — the buffer is used up. Day 3:
    min(1.0, 0.82) = 0.82. Day 4 (σ 0.4): min(0.5, 0.83) = 0.5."""
    shaped = apply_apc(VOL, APCParams(APCTool.BUFFER, rebuild_days=10.0))
    assert shaped == pytest.approx([0.5, 0.5, 0.8, 0.82, 0.5])


def test_stressed_weight_mixes_the_worst_observation() -> None:
    """0.75 σ + 0.25 max(σ so far): 0.4, 0.4, 0.8, 0.8, 0.3 + 0.2 = 0.5."""
    shaped = apply_apc(VOL, APCParams(APCTool.STRESSED_WEIGHT))
    assert shaped == pytest.approx([0.4, 0.4, 0.8, 0.8, 0.5])


def test_ten_year_floor_and_daily_cap() -> None:
    long_vol = np.array([np.nan, 0.6, 0.6, 0.6, 0.6])
    floored = apply_apc(VOL, APCParams(APCTool.TEN_YEAR_FLOOR), long_vol)
    assert floored == pytest.approx([0.4, 0.6, 0.8, 0.8, 0.6])
    capped = apply_apc(VOL, APCParams(max_daily_rise=0.25))
    assert capped == pytest.approx([0.4, 0.4, 0.5, 0.625, 0.4])
    with pytest.raises(InputError, match="long_vol_annual"):
        apply_apc(VOL, APCParams(APCTool.TEN_YEAR_FLOOR))


def test_regulatory_minimums_are_enforced() -> None:
    with pytest.raises(InputError, match=r"apc\.buffer"):
        APCParams(APCTool.BUFFER, buffer=0.2)
    with pytest.raises(InputError, match=r"apc\.stressed_weight"):
        APCParams(APCTool.STRESSED_WEIGHT, stressed_weight=0.1)
    with pytest.raises(InputError, match=r"apc\.tool"):
        APCParams("none-of-these")  # type: ignore[arg-type]


def test_measures() -> None:
    """Margins 100, 150, 120, 130, 140, 300: peak/trough 3; 1-day max 300/140 − 1; 5-day 2.0."""
    measures = measure_procyclicality([100, 150, 120, 130, 140, 300])
    assert measures.peak_to_trough == 3.0
    assert measures.max_increase_1d == pytest.approx(300 / 140 - 1)
    assert measures.max_increase_5d == pytest.approx(2.0)
    assert measures.mean_margin_usd == pytest.approx(940 / 6)


def test_parameters_follow_vol_with_floor_and_cap() -> None:
    """0.28 × σ within [0.10, 0.33]: σ 0.2 → 0.10 (floor), 0.5714 → 0.16, 2.0 → 0.33 (cap)."""
    config = load_dynamic_parameters()
    arrays = parameters_from_vol(np.array([0.2, 0.16 / 0.28, 2.0]), config.ranges)
    assert arrays.price_range == pytest.approx([0.10, 0.16, 0.33])
    assert arrays.vol_range_up == pytest.approx([0.30, 0.88 * 0.16 / 0.28, 0.80])


def test_parameter_set_names_pm_fields() -> None:
    moment = datetime(2024, 3, 12, tzinfo=UTC)
    params = RiskParameterSet("BTC", moment, 0.16, 0.5, 0.25, 0.1, 0.57, "v/none")
    assert params.pm_overrides() == {
        "price_range": 0.16,
        "vol_range_up": 0.5,
        "vol_range_down": 0.25,
    }
    with pytest.raises(InputError, match="price_range"):
        RiskParameterSet("BTC", moment, 1.5, 0.5, 0.25, None, 0.57, "v")


def test_ewma_and_lookback_vol_on_a_constant_move() -> None:
    """Closes growing 1 % a day: every log return ln 1.01, so both vols are ln 1.01 × √365."""
    closes = 100 * 1.01 ** np.arange(400)
    target = np.log(1.01) * np.sqrt(365)
    assert ewma_vol_annual(closes)[-1] == pytest.approx(target)
    assert np.isnan(ewma_vol_annual(closes)[29])
    long_vol = lookback_vol_annual(closes, 3650, min_days=365)
    assert np.isnan(long_vol[364]) and long_vol[365] == pytest.approx(target)
