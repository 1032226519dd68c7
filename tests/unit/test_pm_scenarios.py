"""The generic scenario machinery: grids, term-structure vol shocks, counting, the P&L matrix."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_instrument
from crossmargin.market import MarketSnapshot, VolSmile, VolSurface
from crossmargin.pricing import instrument_arrays
from crossmargin.scenarios import (
    ScenarioKind,
    ScenarioSet,
    ScenarioSpec,
    VolRegime,
    build_scenario_set,
    combine_scenario_sets,
    counted_pnl,
    expiry_reference_vols,
    format_move,
    grid_price_moves,
    scenario_pnl_matrix,
    scenario_vol_shock,
    term_structure_vol_shocks,
)
from support.markets import NOW

DECK = {
    "vol_range_up": 0.5,
    "vol_range_down": 0.25,
    "short_term_power": 0.3,
    "long_term_power": 0.13,
    "min_vol_for_shock_up": 0.5,
}


def _market(rate: float = 0.0) -> MarketSnapshot:
    return MarketSnapshot(
        NOW,
        {"BTC": 72000.0, "ETH": 4000.0},
        rate,
        {"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
    )


def _arrays(
    names: list[str],
    market: MarketSnapshot | None = None,
    entries: list[float | None] | None = None,
):  # type: ignore[no-untyped-def]
    return instrument_arrays([parse_instrument(n) for n in names], market or _market(), entries)


def test_grid_has_nine_even_points_including_zero() -> None:
    """±16 % in 4 buckets per side: −16, −12, −8, −4, 0, 4, 8, 12, 16 %."""
    moves = grid_price_moves(0.16, 4)
    assert moves == pytest.approx([-0.16, -0.12, -0.08, -0.04, 0.0, 0.04, 0.08, 0.12, 0.16])
    assert moves[4] == 0.0
    with pytest.raises(InputError, match="price_range"):
        grid_price_moves(1.2, 4)


def test_term_structure_shock_of_a_7_day_option() -> None:
    """σ = 60 %, 7 days: x = (30/7)^0.30 = 1.5474156; σ_up = 0.6·(1 + 0.5·x) = 1.0642247 → +46.42
    points; σ_down = 0.6·(1 − 0.25·x) = 0.3678877 → −23.21 points."""
    up, down = term_structure_vol_shocks(0.6, 7 / 365, **DECK)
    assert float(up) == pytest.approx(0.4642246731632439, rel=1e-12)
    assert float(down) == pytest.approx(-0.232112336581622, rel=1e-12)


def test_term_structure_shock_of_a_90_day_option_and_the_floor() -> None:
    """σ = 60 %, 90 days: x = (30/90)^0.13 = 0.8669104; up +26.01 points, down −13.00 points.
    σ = 20 %: 0.2·(1 + 0.5·x) = 0.2867 is below the 50 % floor, so the shocked vol is 0.5 (+30)."""
    up, down = term_structure_vol_shocks([0.6, 0.2], 90 / 365, **DECK)
    assert up == pytest.approx([0.260073134273476, 0.3], rel=1e-12)
    assert down == pytest.approx([-0.130036567136738, -0.043345522378912676], rel=1e-12)


def test_short_expiries_are_floored_at_one_day_and_shocks_are_stronger_when_shorter() -> None:
    """An option one hour from expiry is shocked as a one-day option: x = 30^0.3 = 2.7741."""
    up, _ = term_structure_vol_shocks(0.6, 1 / (365 * 24), **DECK)
    assert float(up) == pytest.approx(0.6 * 0.5 * 30**0.3, rel=1e-12)
    ups, _ = term_structure_vol_shocks(0.8, np.array([2, 7, 29, 30, 90, 365]) / 365, **DECK)
    assert np.all(np.diff(ups) < 0)


def test_counted_pnl_weights_then_dampens_towards_zero() -> None:
    """raw −1000 at weight 0.5 and dampener 200 → −300; +500 at 0.5/300 → 0; −100 at 1/0 → −100."""
    scenarios = ScenarioSet(
        "BTC",
        [0.5, -0.5, 0.0],
        np.zeros((3, 1)),
        [0, 0, 0],
        [0.5, 0.5, 1],
        [200, 300, 0],
        ("a", "b", "c"),
        ("extended", "extended", "standard"),
    )
    assert counted_pnl([-1000.0, 500.0, -100.0], scenarios) == pytest.approx([-300, 0, -100])
    accounts = counted_pnl(np.array([[-1000.0, 500.0, -100.0], [0.0, 1000.0, 5.0]]), scenarios)
    assert accounts[1] == pytest.approx([0.0, 200.0, 5.0])


def test_pnl_matrix_of_perpetuals_is_linear_in_usd() -> None:
    """Inverse perp per USD of face entered at 70,000, S = 72,000: P&L = S·m/E; linear perp per
    coin: S·m. At m = +16 %: 0.1645714 and 11,520 USD. Other underlyings get 0."""
    arrays = _arrays(
        ["BTC-PERPETUAL", "BTC_USDC-PERPETUAL", "ETH-PERPETUAL"], entries=[70000.0, 71000.0, None]
    )
    specs = [ScenarioSpec(m, VolRegime.UNCHANGED, f"{m}") for m in (-0.16, 0.0, 0.16)]
    scenarios = build_scenario_set("BTC", arrays, specs, np.zeros(3), np.zeros(3))
    matrix = scenario_pnl_matrix(arrays, scenarios)
    assert matrix.shape == (3, 3)
    assert matrix[2, 0] == pytest.approx(72000 * 0.16 / 70000, rel=1e-12)
    assert matrix[2, 1] == pytest.approx(11520.0, rel=1e-12)
    assert matrix[0, 1] == pytest.approx(-11520.0, rel=1e-12)
    assert np.all(matrix[:, 2] == 0.0) and np.all(matrix[1] == 0.0)


def test_rate_shift_moves_a_dated_forward_by_exp_of_shift_times_t() -> None:
    """Inverse future on 28JUN24 (T = 108.6965/365), r = 0, F = S = 72,000 entered at F: a rate
    shift of +0.075 gives F' = F·e^{0.075·T}, per USD of face (1/F − 1/F')·S = 1 − e^{−0.075·T}
    = 1 − e^{−0.0223348} = 0.0220873; the perpetual does not move."""
    arrays = _arrays(["BTC-28JUN24", "BTC-PERPETUAL"])
    t = (datetime(2024, 6, 28, 8, tzinfo=UTC) - NOW).total_seconds() / 86400 / 365
    specs = [ScenarioSpec(0.0, VolRegime.UNCHANGED, "r+", ScenarioKind.RATE, rate_shift=0.075)]
    matrix = scenario_pnl_matrix(arrays, build_scenario_set("BTC", arrays, specs, 0.0, 0.0))
    assert matrix[0, 0] == pytest.approx(1 - math.exp(-0.075 * t), rel=1e-12)
    assert matrix[0, 0] == pytest.approx(0.0220873, rel=1e-5)
    assert matrix[0, 1] == 0.0


def test_vol_regimes_shift_options_of_the_underlying_only() -> None:
    """Up and down shifts land on the BTC options; futures and ETH options keep 0."""
    arrays = _arrays(["BTC-28JUN24-80000-C", "BTC-28JUN24", "ETH-28JUN24-4000-C"])
    specs = [ScenarioSpec(0.0, regime, regime.value) for regime in VolRegime]
    scenarios = build_scenario_set("BTC", arrays, specs, [0.3, 0.3, 0.3], [-0.1, -0.1, -0.1])
    assert scenarios.vol_shifts.tolist() == [[0.3, 0, 0], [0, 0, 0], [-0.1, 0, 0]]
    assert scenario_vol_shock(scenarios, arrays, 0) == 0.3
    assert not scenarios.vol_shifts.flags.writeable


def test_vol_shock_map_by_expiry_when_shocks_differ() -> None:
    """Two expiries shocked differently are reported as {"29MAR24": …, "28JUN24": …}."""
    arrays = _arrays(["BTC-28JUN24-80000-C", "BTC-29MAR24-80000-C"])
    specs = [ScenarioSpec(0.0, VolRegime.UP, "up")]
    up, _ = term_structure_vol_shocks(arrays.vol_annual, arrays.t_years, **DECK)
    scenarios = build_scenario_set("BTC", arrays, specs, up, -up)
    shock = scenario_vol_shock(scenarios, arrays, 0)
    assert isinstance(shock, dict) and list(shock) == ["29MAR24", "28JUN24"]
    assert shock["29MAR24"] > shock["28JUN24"] > 0


def test_reference_vol_is_the_at_the_money_vol_of_each_expiry() -> None:
    """A smile 0.8 / 0.6 / 0.7 at K/F = 0.8 / 1 / 1.25: the 100,000 call's reference is 0.6."""
    expiry = datetime(2024, 6, 28, 8, tzinfo=UTC)
    smile = VolSmile.from_strikes(expiry, [57600, 72000, 90000], [0.8, 0.6, 0.7], 72000.0)
    market = MarketSnapshot(NOW, {"BTC": 72000.0}, 0.0, {"BTC": VolSurface.from_smiles([smile])})
    arrays = _arrays(["BTC-28JUN24-90000-C", "BTC-PERPETUAL"], market)
    assert arrays.vol_annual[0] == pytest.approx(0.7)
    assert expiry_reference_vols(arrays, market, "BTC") == pytest.approx([0.6, 0.0])


def test_combine_and_validation() -> None:
    """Blocks concatenate; bad moves, shapes and weights are rejected naming the field."""
    arrays = _arrays(["BTC-PERPETUAL"])
    a = build_scenario_set("BTC", arrays, [ScenarioSpec(0.1, VolRegime.UP, "a")], 0.0, 0.0)
    b = build_scenario_set("BTC", arrays, [ScenarioSpec(-0.1, VolRegime.UP, "b")], 0.0, 0.0)
    both = combine_scenario_sets([a, b])
    assert both.count == 2 and both.labels == ("a", "b")
    with pytest.raises(InputError, match=r"price_moves\[0\]"):
        ScenarioSet("BTC", [-1.0], np.zeros((1, 1)), [0], [1], [0], ("x",), ("standard",))
    with pytest.raises(InputError, match="vol_shifts"):
        ScenarioSet("BTC", [0.1], np.zeros((2, 1)), [0], [1], [0], ("x",), ("standard",))
    with pytest.raises(InputError, match=r"weights\[0\]"):
        ScenarioSet("BTC", [0.1], np.zeros((1, 1)), [0], [-1], [0], ("x",), ("standard",))
    with pytest.raises(InputError, match="columns"):
        scenario_pnl_matrix(_arrays(["BTC-PERPETUAL", "ETH-PERPETUAL"]), a)


def test_move_labels() -> None:
    """Moves read as percentages: −16 %, 0 %, +4 %, +500 %."""
    assert [format_move(m) for m in (-0.16, 0.0, 0.04, 5.0)] == ["-16%", "0%", "+4%", "+500%"]
