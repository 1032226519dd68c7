"""VaR parameters: the shipped defaults and validation of user files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.var.parameters import VarMeasure, load_var_parameters

MINIMAL = """
version = "test"
confidence = 0.975
horizon_days = 1
lookback_days = 500
ewma_decay = 0.97
ewma_seed_days = 10
stress_confidence = 0.95
stress_weight = 1.0
maintenance_ratio = 0.5
min_scenarios = 100
"""


def test_shipped_defaults() -> None:
    """99 % ES over 2 days (OCC STANS), λ = 0.94 (RiskMetrics), 10-year lookback, four stress
    windows, floor weight 0.5, MM = 0.8 × IM, SOL proxied by ETH."""
    parameters = load_var_parameters()
    assert parameters.confidence == 0.99
    assert parameters.measure is VarMeasure.EXPECTED_SHORTFALL
    assert parameters.horizon_days == 2
    assert parameters.ewma_decay == 0.94
    assert parameters.lookback_days == 3650
    assert [w.label for w in parameters.stress_windows] == [
        "covid-2020",
        "may-2021",
        "luna-3ac-2022",
        "ftx-2022",
    ]
    assert parameters.stress_windows[0].start == date(2020, 3, 1)
    assert parameters.stress_windows[-1].end == date(2022, 11, 30)
    assert (parameters.stress_confidence, parameters.stress_weight) == (0.99, 0.5)
    assert parameters.maintenance_ratio == 0.8
    assert parameters.dvol_proxy == {"SOL": "ETH"} == parameters.return_proxy


def test_user_file_with_defaults_for_optional_fields(tmp_path: Path) -> None:
    path = tmp_path / "var.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    parameters = load_var_parameters(path)
    assert parameters.measure is VarMeasure.EXPECTED_SHORTFALL
    assert parameters.stress_windows == ()
    assert parameters.confidence == 0.975


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('measure = "cvar"', "measure"),
        ("unknown = 1", "unknown"),
        ('dvol_proxy = { SOL = "SOL" }', "dvol_proxy"),
        ('[[stress_windows]]\nlabel = "x"\nstart = 2022-02-01\nend = 2022-01-01', "stress_windows"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, extra: str, field: str) -> None:
    path = tmp_path / "var.toml"
    path.write_text(MINIMAL + extra + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=field):
        load_var_parameters(path)


def test_out_of_range_confidence_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "var.toml"
    path.write_text(MINIMAL.replace("confidence = 0.975", "confidence = 1.0"), encoding="utf-8")
    with pytest.raises(InputError, match="confidence"):
        load_var_parameters(path)
