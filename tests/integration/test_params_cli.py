"""``crossmargin params history`` on the real history: writes the CSV and the PNG."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from crossmargin.cli.main import app
from support.shared_data import require_shared_data


def test_params_history_writes_csv_and_png(tmp_path: Path) -> None:
    require_shared_data("implied_vol", "deribit_dvol", "btc_dvol.csv")
    result = CliRunner().invoke(
        app, ["params", "history", "--asset", "BTC", "--from", "2024-01-01", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "Procyclicality" in result.output and "10-year floor" in result.output
    with (tmp_path / "params_history_BTC.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["date"] == "2024-01-01"
    assert float(rows[0]["none_price_range"]) == round(
        min(max(0.28 * float(rows[0]["dvol_pct"]) / 100, 0.10), 0.33), 6
    )
    png = (tmp_path / "params_history_BTC.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_params_history_rejects_bad_input(tmp_path: Path) -> None:
    require_shared_data()
    bad_date = CliRunner().invoke(
        app, ["params", "history", "--from", "yesterday", "--out", str(tmp_path)]
    )
    assert bad_date.exit_code == 2 and "--from" in bad_date.output
    no_dvol = CliRunner().invoke(
        app, ["params", "history", "--asset", "SOL", "--out", str(tmp_path)]
    )
    assert no_dvol.exit_code == 2 and "DVOL" in no_dvol.output
