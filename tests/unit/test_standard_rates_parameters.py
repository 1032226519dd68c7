"""Standard-margin parameters: the shipped file, and validation of user files."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.standard.parameters import load_standard_parameters

_VALID = """
version = "test.1"
[fallback.futures]
initial_base = 0.04
maintenance_base = 0.02
size_factor_per_coin = 0.000005
max_rate = 1.0
[fallback.options]
initial_fraction = 0.15
initial_floor = 0.10
maintenance_fraction = 0.075
"""


def test_shipped_parameters_carry_deribit_2022_rates() -> None:
    """BTC 2 %/1 % + 0.005 %/BTC, ETH 2 %/1 % + 0.0004 %/ETH (Deribit, 11 January 2022);
    SOL 4 %/2 % + 0.0005 %/SOL (Deribit "Linear Perpetual"); options 0.15/0.10/0.075."""
    parameters = load_standard_parameters()
    assert parameters.version == "deribit-standard-2022-01-11.1"
    btc, eth, sol = (parameters.rates_for(asset).futures for asset in ("BTC", "ETH", "SOL"))
    assert (btc.initial_base, btc.maintenance_base, btc.size_factor_per_coin) == (0.02, 0.01, 5e-5)
    assert (eth.initial_base, eth.maintenance_base, eth.size_factor_per_coin) == (0.02, 0.01, 4e-6)
    assert (sol.initial_base, sol.maintenance_base, sol.size_factor_per_coin) == (0.04, 0.02, 5e-6)
    options = parameters.rates_for("BTC").options
    assert (options.initial_fraction, options.initial_floor, options.maintenance_fraction) == (
        0.15,
        0.10,
        0.075,
    )


def test_a_user_file_loads_and_unlisted_assets_use_the_fallback(tmp_path: Path) -> None:
    """A file with only a fallback margins every asset by it."""
    path = tmp_path / "standard.toml"
    path.write_text(_VALID, encoding="utf-8")
    parameters = load_standard_parameters(path)
    assert parameters.rates_for("BTC").futures.initial_base == 0.04


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("maintenance_base = 0.02", "maintenance_base = 0.05", "fallback.futures"),
        ("initial_floor = 0.10", "initial_floor = 0.05", "fallback.options"),
        ("max_rate = 1.0", "max_rate = 1.5", "fallback.futures.max_rate"),
        (
            "size_factor_per_coin = 0.000005",
            "size_factor_per_coin = -1",
            "fallback.futures.size_factor_per_coin",
        ),
        ('version = "test.1"', 'version = "test.1"\nsurprise = 1', "surprise"),
    ],
)
def test_invalid_files_are_rejected_naming_the_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    """IM below MM, a floor below the maintenance fraction, a rate above 100 %, a negative factor
    and an unknown key are all rejected with an error that names the field."""
    path = tmp_path / "bad.toml"
    path.write_text(_VALID.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_standard_parameters(path)
    assert field in caught.value.field
