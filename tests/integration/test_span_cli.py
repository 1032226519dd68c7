"""``span --risk-arrays FILE [--json]`` on real files, registered on a throwaway Typer app (the lead
registers ``span_command`` as ``crossmargin span`` in cli/main.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from crossmargin.cli.span_command import span_command

app = typer.Typer()
app.command("span")(span_command)


@app.callback()
def _main() -> None:
    """A group, so the command is invoked as ``span``."""


runner = CliRunner()

#: Illustrative arrays in CME order and convention (loss positive, per +1 long): a future with a
#: 30,000 price scan range, and a call on it (gains when price or vol rise).
FUTURE = [
    0,
    0,
    -10_000,
    -10_000,
    10_000,
    10_000,
    -20_000,
    -20_000,
    20_000,
    20_000,
    -30_000,
    -30_000,
    30_000,
    30_000,
    -21_000,
    21_000,
]
CALL = [
    -460,
    610,
    -2_640,
    -1_730,
    1_270,
    2_340,
    -5_210,
    -4_540,
    2_540,
    3_430,
    -8_060,
    -7_640,
    3_380,
    3_990,
    -3_130,
    1_500,
]


def _write(tmp_path: Path, document: dict[str, Any], name: str = "arrays.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _run_json(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["span", "--risk-arrays", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_issue_minimal_format_short_option(tmp_path: Path) -> None:
    """The issue's format: short 1 call. Short losses = −array; worst +8,060 at scenario 11
    (price up 3/3, vol up); IM 8,060; MM 8,060 / 1.1 = 7,327.272728."""
    path = _write(
        tmp_path,
        {
            "instruments": {"SP C": {"combined_commodity": "SP", "risk_array": CALL}},
            "positions": [{"instrument": "SP C", "size": -1}],
        },
    )
    document = _run_json(path)
    assert document["scan_risk"] == 8060.0
    assert document["worst_scenario"] == 11
    assert document["initial_margin"] == 8060.0
    assert document["maintenance_margin"] == pytest.approx(7327.272728)
    assert document["components"] == {
        "scan_risk": 8060.0,
        "intra_spread_charge": 0.0,
        "inter_spread_credit": 0.0,
        "short_option_minimum_addon": 0.0,
    }
    assert sum(document["components"].values()) == document["initial_margin"]


def test_covered_position_offsets_within_the_commodity(tmp_path: Path) -> None:
    """Long 1 future + short 1 call of SP: scenario 13 loses 30,000 − 3,380 = 26,620, scenario
    14 30,000 − 3,990 = 26,010, scenario 16 21,000 − 1,500 = 19,500 → scan 26,620 at 13."""
    path = _write(
        tmp_path,
        {
            "instruments": {
                "SP F": {"combined_commodity": "SP", "risk_array": FUTURE},
                "SP C": {"combined_commodity": "SP", "risk_array": CALL},
            },
            "positions": [{"instrument": "SP F", "size": 1}, {"instrument": "SP C", "size": -1}],
        },
    )
    document = _run_json(path)
    assert document["scan_risk"] == 26620.0
    assert document["worst_scenario"] == 13
    assert document["combined_commodities"][0]["scenario_losses"][13] == 26010.0


def test_two_commodities_and_spread_parameters(tmp_path: Path) -> None:
    """SP long 1 future (scan 30,000) vs NQ short 2 of a 20,000-range future (scan 40,000), a
    1:2 delta spread at 50 %: WPR 30,000 and 20,000 → credit 0.5 × (30,000 + 2 × 20,000) =
    35,000 → IM 35,000; the worst commodity is NQ (scenario 11)."""
    nq = [x * 2 / 3 for x in FUTURE]
    path = _write(
        tmp_path,
        {
            "currency": "USD",
            "instruments": {
                "SP F": {"combined_commodity": "SP", "risk_array": FUTURE, "delta": 1},
                "NQ F": {"combined_commodity": "NQ", "risk_array": nq, "delta": 1},
            },
            "positions": [{"instrument": "SP F", "size": 1}, {"instrument": "NQ F", "size": -2}],
            "parameters": {
                "inter_spreads": [
                    {
                        "credit_rate": 0.5,
                        "legs": [
                            {"combined_commodity": "SP", "delta_ratio": 1},
                            {"combined_commodity": "NQ", "delta_ratio": 2},
                        ],
                    }
                ]
            },
        },
    )
    document = _run_json(path)
    assert document["components"]["scan_risk"] == 70000.0
    assert document["components"]["inter_spread_credit"] == -35000.0
    assert document["initial_margin"] == 35000.0
    assert (document["worst_combined_commodity"], document["worst_scenario"]) == ("NQ", 11)


def test_table_output(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "instruments": {"SP C": {"combined_commodity": "SP", "risk_array": CALL}},
            "positions": [{"instrument": "SP C", "size": -1}],
        },
    )
    result = runner.invoke(app, ["span", "--risk-arrays", str(path)])
    assert result.exit_code == 0, result.output
    assert "8,060.00" in result.output and "worst scenario 11" in result.output


def test_bad_file_names_the_field_and_value(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "instruments": {"SP C": {"combined_commodity": "SP", "risk_array": CALL[:15]}},
            "positions": [],
        },
        "short.json",
    )
    result = runner.invoke(app, ["span", "--risk-arrays", str(path), "--json"])
    assert result.exit_code == 2
    assert "short.json" in result.output
    assert "instruments.SP C.risk_array" in result.output and "16" in result.output


def test_missing_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["span", "--json"])
    assert result.exit_code != 0
    assert "--risk-arrays" in result.output
