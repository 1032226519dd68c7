"""`crossmargin stress` end to end on a small book: the report folder, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossmargin.cli.main import app
from support.shared_data import require_shared_data


@pytest.fixture(autouse=True)
def _data() -> None:
    require_shared_data()


def test_stress_writes_a_deterministic_report(tmp_path: Path) -> None:
    args = ["stress", "--accounts", "300", "--instruments", "60", "--models", "cross,pm",
            "--shock", "BTC=-0.2", "--seed", "4"]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--workers", "2"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    for name in ("index.html", "summary.csv", "cascade_rounds.png", "cascade_prices.png",
                 "cascade_fund.png"):  # fmt: skip
        assert (tmp_path / "a" / name).is_file()
    summary = (tmp_path / "a" / "summary.csv").read_text()
    assert summary == (tmp_path / "b" / "summary.csv").read_text()
    assert "BTC-20% pm cex" in summary


def test_stress_replays_a_day(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["stress", "--accounts", "200", "--instruments", "60",
                                      "--models", "cross", "--replay", "2022-11-09",
                                      "--out", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "replay 2022-11-09 cross cex" in (tmp_path / "summary.csv").read_text()


def test_stress_couples_three_venues(tmp_path: Path) -> None:
    args = ["stress", "--accounts", "300", "--instruments", "60", "--models", "cross",
            "--venues", "cex,onchain,dydx", "--outage", "2", "--congestion"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "summary.csv").read_text()
    for venue in ("cex", "onchain", "dydx"):
        assert f"BTC-20% cross {venue}" in summary
    assert "common price BTC" in result.output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--shock", "BTC=-1.5"], "--shock"),
        (["--shock", "DOGE=-0.1"], "--shock"),
        (["--models", "cross,var"], "--models"),
        (["--mode", "dex"], "--mode"),
        (["--replay", "2021-01-01"], "--replay"),
        (["--accounts", "0"], "--accounts"),
        (["--venues", "cex,ftx"], "--venues"),
        (["--venue-share", "0"], "--venue-share"),
        (["--arbitrage", "1.5"], "--arbitrage"),
        (["--replay", "2022-11-09", "--replay-start", "noon"], "--replay-start"),
    ],
)
def test_bad_input_names_the_option(tmp_path: Path, args: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["stress", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert named in result.output
    assert "Traceback" not in result.output
