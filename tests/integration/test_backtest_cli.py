"""``crossmargin backtest`` on real files: a report folder, the same numbers on every run."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from typer.testing import CliRunner

from crossmargin.cli.main import app
from support.markets import EXAMPLES
from support.shared_data import require_shared_data

_ARGS = [
    str(EXAMPLES / "covered_call.toml"),
    str(EXAMPLES / "naked_perpetual.toml"),
    "--models",
    "pm,standard,var",
    "--start",
    "2022-11-05",
    "--end",
    "2022-11-12",
    "--synthetic",
    "2",
    "--seed",
    "3",
]


def _run(out: Path, *extra: str) -> None:
    result = CliRunner().invoke(app, ["backtest", *_ARGS, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert "Margin backtest" in result.output


def test_backtest_twice_writes_identical_tables(tmp_path: Path) -> None:
    """Two runs with the same seed write byte-identical CSVs; the page links only files beside
    it; the 2022-11-09 rows exist for every book and model (3 models × 4 books)."""
    require_shared_data("prices", "binance_daily", "Binance_BTCUSDT_d.csv")
    first, second = tmp_path / "a", tmp_path / "b"
    _run(first)
    _run(second)
    tables = sorted(p.name for p in first.glob("*.csv"))
    assert "summary.csv" in tables and "stress.csv" in tables and len(tables) == 6
    for name in tables:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    page = (first / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all((first / link).is_file() for link in links)
    assert "http" not in page
    with (first / "stress.csv").open(encoding="utf-8") as handle:
        stress = list(csv.DictReader(handle))
    assert {row["day"] for row in stress} == {"2022-11-09"}
    assert len(stress) == 12
    with (first / "summary.csv").open(encoding="utf-8") as handle:
        summary = {(r["portfolio"], r["model"]): r for r in csv.DictReader(handle)}
    # --models standard is the cross model; 8 daily moments, the last 2 without a 2-day P&L
    row = summary[("naked_perpetual", "cross")]
    assert int(row["windows"]) == 8 and int(row["failed_moments"]) == 0


def test_backtest_four_hour_bars_and_bad_input(tmp_path: Path) -> None:
    """4-hour bars: moments 00:00, 04:00, …, 20:00 UTC of 2022-11-08 and 09 (12), each with a
    2-day P&L. A bad --bars value fails naming the option."""
    require_shared_data("prices", "binance_4h", "BTCUSDT_4h.csv")
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(EXAMPLES / "naked_perpetual.toml"),
            "--models",
            "pm",
            "--bars",
            "4h",
            "--start",
            "2022-11-08",
            "--end",
            "2022-11-09",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "series_naked_perpetual.csv").open(encoding="utf-8") as handle:
        series = list(csv.DictReader(handle))
    assert len(series) == 12
    assert series[0]["moment"] == "2022-11-08T00:00:00"
    assert series[-1]["moment"] == "2022-11-09T20:00:00"
    assert all(row["pnl_usd"] for row in series)
    bad = CliRunner().invoke(
        app, ["backtest", str(EXAMPLES / "naked_perpetual.toml"), "--bars", "1h"]
    )
    assert bad.exit_code == 2 and "--bars" in bad.output
