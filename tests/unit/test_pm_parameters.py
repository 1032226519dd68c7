"""Portfolio-margin parameters: the shipped Deribit defaults and validation of user files."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.pm.parameters import load_pm_parameters


def _shipped_text() -> str:
    return resources.files("crossmargin.config").joinpath("pm_deribit.toml").read_text("utf-8")


def test_shipped_defaults_are_deribits_published_values() -> None:
    """docs.deribit.com private/pme/simulate example: range 0.16, 4 buckets, vol up 0.5 / down
    0.25, floor 0.5, powers 0.3 / 0.13, mm_factor 0.8, annualised_move_risk 0.075, dampener
    100000; support.deribit.com Portfolio Margin: the eight extended moves."""
    parameters = load_pm_parameters()
    btc = parameters.for_underlying("BTC")
    assert parameters.buckets_per_side == 4 and parameters.mm_factor == 0.8
    assert parameters.extended_moves == (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert parameters.cross_underlying_offset == 0.0
    assert (btc.price_range, btc.vol_range_up, btc.vol_range_down) == (0.16, 0.5, 0.25)
    assert (btc.short_term_vega_power, btc.long_term_vega_power) == (0.3, 0.13)
    assert (btc.min_vol_for_shock_up, btc.rate_shock_annual) == (0.5, 0.075)
    assert btc.extended_dampener_usd == 100_000 and btc.max_delta_shock == 0.1
    assert parameters.for_underlying("SOL") == parameters.fallback


def test_every_default_cites_a_source() -> None:
    """The TOML names its sources [A]–[F] and each value line carries a citation or sits under a
    commented table."""
    text = _shipped_text()
    for tag in ("[A]", "[B]", "[C]", "[D]", "[E]", "[F]"):
        assert tag in text
    assert "support.deribit.com" in text and "docs.deribit.com" in text


def _write(tmp_path: Path, edit: str, replacement: str) -> Path:
    text = _shipped_text()
    assert edit in text
    path = tmp_path / "pm.toml"
    path.write_text(text.replace(edit, replacement, 1), encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))
    return path


def test_extended_move_inside_the_grid_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "extended_moves = [-0.66,", "extended_moves = [-0.1,")
    with pytest.raises(InputError, match="extended_moves"):
        load_pm_parameters(path)


def test_down_shock_that_could_make_a_vol_negative_is_rejected(tmp_path: Path) -> None:
    """vol_range_down 0.5 with a 1-day floor: 0.5·30^0.3 = 1.39 ≥ 1 → a negative vol."""
    path = _write(tmp_path, "vol_range_down = 0.25 ", "vol_range_down = 0.5 ")
    with pytest.raises(InputError, match="vol_range_down"):
        load_pm_parameters(path)


def test_out_of_range_and_unknown_fields_name_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "mm_factor = 0.8", "mm_factor = 1.5")
    with pytest.raises(InputError, match="mm_factor"):
        load_pm_parameters(path)
    path = _write(tmp_path, "mm_factor = 0.8", "mm_factor = 0.8\nsurprise = 1")
    with pytest.raises(InputError, match="surprise"):
        load_pm_parameters(path)
