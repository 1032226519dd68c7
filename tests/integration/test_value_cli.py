"""The `crossmargin value` command on the example files and on broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossmargin.cli.main import app
from crossmargin.portfolio import load_portfolio_file
from support.markets import EXAMPLE_FILES

runner = CliRunner()


def test_there_are_the_six_documented_examples() -> None:
    names = {path.stem for path in EXAMPLE_FILES}
    assert {
        "naked_perpetual",
        "covered_call",
        "hedged_straddle",
        "call_spread",
        "calendar_spread",
        "btc_eth_book",
    } <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_value_json_matches_the_library(path: Path) -> None:
    result = runner.invoke(app, ["value", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    loaded = load_portfolio_file(path)
    assert len(document["positions"]) == len(loaded.portfolio.positions)
    total = sum(float(row["mark_value_usd"]) for row in document["positions"])
    assert float(document["positions_value_usd"]) == pytest.approx(total, abs=1e-5)
    assert float(document["equity_usd"]) == pytest.approx(
        float(document["collateral_value_usd"]) + float(document["positions_value_usd"]), abs=1e-9
    )
    for risk in document["underlyings"]:
        rows = [
            r
            for r in document["positions"]
            if r["instrument"].split("-")[0].split("_")[0] == risk["underlying"]
        ]
        assert risk["delta_coin"] == pytest.approx(sum(r["delta_coin"] for r in rows), abs=1e-9)


def test_value_json_keys_are_the_attribute_names_with_units() -> None:
    """Positions and underlyings carry the fields of PositionValuation and UnderlyingRisk, named
    as the README's Conventions say."""
    result = runner.invoke(
        app, ["value", str(EXAMPLE_FILES[0].parent / "covered_call.toml"), "--json"]
    )
    document = json.loads(result.stdout)
    greeks = {"delta_coin", "delta_usd", "gamma_coin_per_usd", "vega_usd_per_vol"}
    greeks |= {"theta_usd_per_year", "mark_value_usd"}
    for row in document["positions"]:
        assert set(row) == greeks | {
            "instrument",
            "underlying",
            "size",
            "mark_value_settlement",
            "settlement_currency",
        }
    for risk in document["underlyings"]:
        assert set(risk) == greeks | {"underlying", "index_usd"}


def test_naked_perpetual_numbers() -> None:
    """Short 100,000 USD face at 70,000, index 72,000: −2,857.142857 USD. 0.5 BTC collateral at a
    10 % haircut taken on the net BTC holding, 0.5 − 0.0396825 = 0.4603175 BTC: collateral
    36,000 − 3,314.285714 = 32,685.714285 (rounded down); equity 0.4603175 × 72,000 × 0.9 =
    29,828.571428."""
    result = runner.invoke(
        app, ["value", str(EXAMPLE_FILES[0].parent / "naked_perpetual.toml"), "--json"]
    )
    document = json.loads(result.stdout)
    assert document["positions"][0]["mark_value_usd"] == pytest.approx(-2857.142857142857)
    assert document["collateral_value_usd"] == "32685.714285"
    assert float(document["equity_usd"]) == pytest.approx(29828.571428, abs=1e-6)


def test_tables_for_people() -> None:
    result = runner.invoke(app, ["value", *map(str, EXAMPLE_FILES)])
    assert result.exit_code == 0, result.output
    assert "covered call: positions" in result.stdout
    assert "BTC-28JUN24-80000-C" in result.stdout


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[market]\nvaluation_time = "2024-03-11T15:17:00Z"\nindex_usd = { BTC = 72000.0 }\n'
            'vol_annual = { BTC = 0.6 }\n[[positions]]\ninstrument = "BTC-PERPETUAL"\n'
            'size = "ten"\n',
            "positions[0].size = 'ten'",
        ),
        (
            '[market]\nvaluation_time = "2024-03-11T15:17:00Z"\nindex_usd = { BTC = 72000.0 }\n'
            'vol_annual = { BTC = 0.6 }\n[[positions]]\ninstrument = "BTC-32DEC24"\nsize = 1\n',
            "positions[0].instrument = 'BTC-32DEC24'",
        ),
        (
            '[market]\nvaluation_time = "2024-03-11T15:17:00Z"\nindex_usd = { BTC = 72000.0 }\n'
            'vol_annual = { BTC = 0.6 }\n[collateral]\nUSDC = "lots"\n',
            "collateral.USDC = 'lots'",
        ),
        (
            '[market]\nvaluation_time = "2024-03-11T15:17:00Z"\nindex_usd = { BTC = 72000.0 }\n'
            'vol_annual = { BTC = 0.6 }\n[[positions]]\ninstrument = "BTC-8MAR24"\nsize = 1\n',
            "positions[0].instrument = 'BTC-8MAR24'",
        ),
        (
            '[market]\nvaluation_time = "2024-03-11T15:17:00Z"\nindex_usd = { BTC = 72000.0 }\n'
            'vol_annual = { BTC = 0.6 }\n[[positions]]\ninstrument = "BTC-PERPETUAL"\nsize = 1\n'
            "leverage = 10\n",
            "positions[0].leverage = 10",
        ),
        ("this is [not toml", "is not valid"),
    ],
)
def test_bad_files_name_the_file_field_and_value(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "book.toml"
    path.write_text(body, encoding="utf-8")
    result = runner.invoke(app, ["value", str(path)])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert str(path) in message
    assert expected in message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["value", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr


def test_a_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path) -> None:
    """Outside finding (issue 12): a non-UTF-8 portfolio file gave a ``UnicodeDecodeError``
    traceback. Now: exit code 2 and one line naming the file and the first bad byte."""
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('name = "café"\n'.encode("latin-1"))
    for command in (["value", str(bad)], ["margin", str(bad), "--model", "pm"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "latin1.toml" in result.output and "is not UTF-8 text (byte 11" in result.output
        assert "Traceback" not in result.output
