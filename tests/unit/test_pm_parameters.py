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
    """The captured ETH response (2026-02-15): eth_usd price_range 0.18, vol up 0.4 / down 0.25,
    m_inc 0.000004; currency eth annualised_move_risk 0.05, min_annualised_move 0.005, extended
    dampener 200000, pnl_offset 0.6, max_offsetable_pnl 20M, equity_side_impact both; currency
    usd 0.1 / 0.01 / 25000 / 0.4 / 1M / none; mm_factor 0.8. BTC: docs.deribit.com
    private/pme/simulate example (2024-06-17): range 0.16, vol up 0.5 / down 0.25, floor 0.5,
    powers 0.3 / 0.13, m_inc 0.00005, annualised_move_risk 0.075, min 0.01, dampener 100000,
    pnl_offset 0. support.deribit.com Portfolio Margin: 4 buckets, the eight extended moves."""
    parameters = load_pm_parameters()
    assert parameters.version == "deribit-xpm-2026-02-15.1"
    assert parameters.buckets_per_side == 4 and parameters.mm_factor == 0.8
    assert parameters.extended_moves == (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    btc, eth = parameters.for_pair("BTC"), parameters.for_pair("ETH")
    assert (btc.price_range, btc.vol_range_up, btc.vol_range_down) == (0.16, 0.5, 0.25)
    assert (eth.price_range, eth.vol_range_up, eth.vol_range_down) == (0.18, 0.4, 0.25)
    assert (btc.short_term_vega_power, btc.long_term_vega_power) == (0.3, 0.13)
    assert (btc.delta_shock_increment_per_coin, eth.delta_shock_increment_per_coin) == (
        0.00005,
        0.000004,
    )
    coin = parameters.for_currency("ETH")
    assert (coin.annualised_move_risk, coin.min_annualised_move) == (0.05, 0.005)
    assert (coin.extended_dampener_usd, coin.pnl_offset) == (200_000.0, 0.6)
    assert coin.max_offsetable_pnl_usd == 20_000_000 and coin.equity_side_impact == "both"
    usd = parameters.for_currency("USDC")
    assert (usd.annualised_move_risk, usd.min_annualised_move, usd.pnl_offset) == (0.1, 0.01, 0.4)
    assert usd.extended_dampener_usd == 25_000 and usd.equity_side_impact == "none"
    assert parameters.for_currency("BTC").extended_dampener_usd == 100_000
    assert parameters.for_pair("SOL") == parameters.pair_fallback
    assert parameters.for_currency("SOL") == parameters.currency_fallback


def test_which_balances_enter_the_scenarios() -> None:
    """A coin with side impact "both" enters at (1 − haircut) = 1 (haircut 0); a stablecoin never
    does, whatever its parameters."""
    parameters = load_pm_parameters()
    assert parameters.balance_enters("BTC") and parameters.balance_enters("SOL")
    assert not parameters.balance_enters("USDC") and not parameters.balance_enters("USD")
    assert parameters.balance_weight("ETH", -2.0) == 1.0
    assert parameters.balance_weight("USDT", 5.0) == 0.0


def test_every_default_cites_a_source() -> None:
    """The TOML names its sources [A]–[E]."""
    text = _shipped_text()
    for tag in ("[A]", "[B]", "[C]", "[D]", "[E]"):
        assert tag in text
    assert "support.deribit.com" in text and "docs.deribit.com" in text
    assert "1771197609585683" in text  # the capture


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
