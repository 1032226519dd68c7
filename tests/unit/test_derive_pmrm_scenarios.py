"""The additions to the shared scenario machinery the Derive profile is built on.

``skew_vol_shocks``, ``ScenarioSet`` refinements (``discount_rates``, ``price_move_scales``,
``min_vol_annual``), ``base_unit_values`` and ``TermPowerRule``; numbers derived by hand in each
docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_instrument
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.pricing import instrument_arrays, unit_values_usd
from crossmargin.scenarios import (
    ScenarioSet,
    SkewShape,
    TermPowerRule,
    base_unit_values,
    combine_scenario_sets,
    scenario_pnl_matrix,
    skew_vol_shocks,
    term_structure_vol_shocks,
)
from support.markets import NOW

OPTION = "BTC_USDC-28JUN24-70000-C"


def _arrays(names: list[str]):  # type: ignore[no-untyped-def]
    market = MarketSnapshot(NOW, {"BTC": 72000.0}, 0.0, {"BTC": VolSurface.flat(0.6)})
    return instrument_arrays([parse_instrument(n) for n in names], market)


def _set(count: int, columns: int, **refinements: object) -> ScenarioSet:
    return ScenarioSet(
        "BTC",
        np.zeros(count),
        np.zeros((count, columns)),
        np.zeros(count),
        np.ones(count),
        np.zeros(count),
        tuple(f"s{i}" for i in range(count)),
        ("standard",) * count,
        **refinements,  # type: ignore[arg-type]
    )


def test_linear_skew_tilts_and_caps() -> None:
    """σ = 0.5, cap 0.2, width 0.4: k = 0.1 → x = 0.1·0.2/0.4 = 0.05, σ' = 0.525 (+0.025);
    k = −1 → x = max(−0.2, −0.5) = −0.2, σ' = 0.4 (−0.1); k = 1 → capped at +0.2 (+0.1)."""
    shifts = skew_vol_shocks(0.5, [0.1, -1.0, 1.0], cap=0.2, width=0.4, shape=SkewShape.LINEAR)
    assert shifts == pytest.approx([0.025, -0.1, 0.1])


def test_absolute_skew_raises_both_wings() -> None:
    """ABS uses |k|: k = −1 is treated as +1 → capped at +0.2: σ' = 0.6 (+0.1); k = 0 → 0."""
    shifts = skew_vol_shocks(0.5, [-1.0, 0.0], cap=0.2, width=0.4, shape=SkewShape.ABSOLUTE)
    assert shifts == pytest.approx([0.1, 0.0])


def test_skew_never_shocks_a_vol_below_zero() -> None:
    """cap 3, k = −10, width 1: x = −3, σ·max(1 − 3, 0) = 0, so the shift is −σ exactly."""
    assert skew_vol_shocks(0.7, -10.0, cap=3.0, width=1.0, shape=SkewShape.LINEAR) == -0.7


def test_power_rule_picks_the_power_by_actual_or_floored_days() -> None:
    """10 days to expiry with a 60-day floor: x = (30/60)^p. Floored days (60) are beyond the
    pivot → long power 0.13: x = 0.5^0.13 = 0.91366; actual days (10) ≤ 30 → short power 0.3:
    x = 0.5^0.3 = 0.81225. Up shift at σ = 1, range 0.5: 0.5·x."""
    deck = {
        "vol_range_up": 0.5,
        "vol_range_down": 0.0,
        "short_term_power": 0.3,
        "long_term_power": 0.13,
        "min_vol_for_shock_up": 0.0,
        "min_days": 60.0,
    }
    floored, _ = term_structure_vol_shocks(1.0, 10 / 365, **deck)  # type: ignore[arg-type]
    actual, _ = term_structure_vol_shocks(
        1.0,
        10 / 365,
        power_rule=TermPowerRule.ACTUAL_UP_TO_PIVOT,
        **deck,  # type: ignore[arg-type]
    )
    assert float(floored) == pytest.approx(0.5 * 0.5**0.13)
    assert float(actual) == pytest.approx(0.5 * 0.5**0.3)


def test_discount_rates_apply_at_the_base_and_in_scenarios() -> None:
    """A linear call discounted at 10 %: its base value is e^{−0.1·T} times the undiscounted
    Black price, and a scenario that moves nothing has zero P&L."""
    arrays = _arrays([OPTION])
    scenarios = _set(1, 1, discount_rates=[0.1])
    base = base_unit_values(arrays, scenarios)
    undiscounted = unit_values_usd(arrays)
    assert base[0] == pytest.approx(undiscounted[0] * math.exp(-0.1 * arrays.t_years[0]))
    assert scenario_pnl_matrix(arrays, scenarios)[0, 0] == 0.0


def test_price_move_scale_zero_holds_the_forward() -> None:
    """+10 % spot with scale 0 for the option and 1 for the perpetual: the option's P&L is 0,
    the linear perpetual's is 10 % of the index (7,200)."""
    arrays = _arrays([OPTION, "BTC_USDC-PERPETUAL"])
    scenarios = ScenarioSet(
        "BTC", [0.1], np.zeros((1, 2)), [0.0], [1.0], [0.0], ("up",), ("standard",),
        price_move_scales=[[0.0, 1.0]],
    )  # fmt: skip
    assert scenario_pnl_matrix(arrays, scenarios)[0] == pytest.approx([0.0, 7200.0])


def test_zero_vol_floor_prices_at_intrinsic_value() -> None:
    """A vol shifted by −σ with floor 0 prices at the discounted intrinsic value: 2,000 for the
    70,000 call at F = 72,000 (zero rates), 0 for the 72,000 call; with the default floor (1e-4)
    the at-the-money call keeps a small time value, about 0.4·F·1e-4·√T ≈ 1.6."""
    arrays = _arrays([OPTION, "BTC_USDC-28JUN24-72000-C"])
    shocked = -arrays.vol_annual[None, :]
    floored = ScenarioSet(
        "BTC", [0.0], shocked, [0.0], [1.0], [0.0], ("d",), ("standard",), min_vol_annual=0.0
    )
    base = unit_values_usd(arrays)
    assert base + scenario_pnl_matrix(arrays, floored)[0] == pytest.approx([2000.0, 0.0], abs=1e-9)
    default = ScenarioSet("BTC", [0.0], shocked, [0.0], [1.0], [0.0], ("d",), ("standard",))
    at_the_money = base[1] + scenario_pnl_matrix(arrays, default)[0, 1]
    assert at_the_money == pytest.approx(
        0.4 * 72000 * 1e-4 * math.sqrt(arrays.t_years[1]), rel=0.01
    )


def test_combining_keeps_refinements_and_rejects_mismatches() -> None:
    """Scales are stacked (1 where a set had none); discount rates and vol floor must agree."""
    plain = _set(1, 1, discount_rates=[0.05])
    scaled = _set(2, 1, discount_rates=[0.05], price_move_scales=[[0.5], [0.0]])
    combined = combine_scenario_sets([plain, scaled])
    assert combined.price_move_scales is not None
    assert combined.price_move_scales[:, 0].tolist() == [1.0, 0.5, 0.0]
    assert combined.discount_rates is not None and combined.discount_rates.tolist() == [0.05]
    with pytest.raises(InputError, match="discount rates"):
        combine_scenario_sets([plain, _set(1, 1)])


def test_refinements_are_validated() -> None:
    """Shapes, signs and the floor are checked at construction, naming the field."""
    with pytest.raises(InputError, match="price_move_scales"):
        _set(1, 2, price_move_scales=[[1.0]])
    with pytest.raises(InputError, match=r"price_move_scales\[1\]"):
        _set(1, 2, price_move_scales=[[1.0, -1.0]])
    with pytest.raises(InputError, match="discount_rates"):
        _set(1, 2, discount_rates=[0.1])
    with pytest.raises(InputError, match="min_vol_annual"):
        _set(1, 1, min_vol_annual=-0.1)
