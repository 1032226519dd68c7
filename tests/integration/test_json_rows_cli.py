"""Issue 12, the last three asks: per-position scenario P&L in ``margin --json``, ``value --top``
in trader units, and ``--json`` positions encoded column-wise with the same bytes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from crossmargin.cli.json_rows import encode_column, encode_rows, encode_vectors
from crossmargin.cli.jsonout import dumps_strict
from crossmargin.cli.main import app
from crossmargin.cli.margin_json import margin_document, margin_document_dicts
from crossmargin.cli.position_scenarios import position_scenario_pnl
from crossmargin.margin import build_model
from crossmargin.portfolio import load_portfolio_file
from support.markets import EXAMPLES

runner = CliRunner()
COVERED_CALL = str(EXAMPLES / "covered_call.toml")


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"not strict JSON: {name}")


def _json(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout, parse_constant=_reject_constant)


@pytest.mark.parametrize("model", ["pm", "span"])
def test_margin_json_gives_each_positions_pnl_in_each_scenario(model: str) -> None:
    document = _json("margin", COVERED_CALL, "--model", model, "--json")
    scenarios = document["scenarios"]
    for row in document["positions"]:
        assert len(row["scenario_pnl_usd"]) == len(scenarios)
    if model == "span":  # no coin balance, no offsets: the rows add up to the scenario's P&L
        for k, scenario in enumerate(scenarios):
            total = sum(row["scenario_pnl_usd"][k] for row in document["positions"])
            assert total == pytest.approx(scenario["pnl_usd"], abs=1e-6)
    else:  # a short call loses when BTC rallies, the long perpetual gains
        up = max(range(len(scenarios)), key=lambda k: scenarios[k]["price_move"])
        rows = {row["instrument"]: row for row in document["positions"]}
        call, perpetual = rows["BTC-28JUN24-80000-C"], rows["BTC_USDC-PERPETUAL"]
        assert call["scenario_pnl_usd"][up] < 0 < perpetual["scenario_pnl_usd"][up]
    cross = _json("margin", COVERED_CALL, "--model", "cross", "--json")
    assert "scenario_pnl_usd" not in cross["positions"][0]


def test_value_top_in_trader_units_with_a_total_over_every_position() -> None:
    result = runner.invoke(app, ["value", COVERED_CALL, "--top", "1"])
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert "(1 of 2, --top 0 for all)" in table and "total, all 2 positions" in table
    for header in ("IV", "delta USD", "gamma USD/1%", "vega USD/vol pt", "theta USD/day"):
        assert header in table
    assert "60.0%" in table and "-1,548.03" in table  # the call's IV; vega per vol point
    assert "BTC_USDC-PERPETUAL" not in table.split("total, all")[0]  # |5,000| < |63,854|
    document = _json("value", COVERED_CALL, "--top", "1", "--json")
    assert document["positions_total"] == 2
    (row,) = document["positions"]
    assert row["instrument"] == "BTC-28JUN24-80000-C"
    for key in ("delta_coin", "delta_usd", "gamma_coin_per_usd", "vega_usd_per_vol"):
        assert key in row
    assert row["vega_usd_per_vol"] == pytest.approx(-154_803, rel=1e-4)


def test_encoded_columns_are_the_bytes_json_dumps_writes() -> None:
    columns = {
        "instrument": encode_column(["BTC-PERPETUAL", 'é"x']),
        "size": encode_column([1, 2.5]),
        "value": encode_column([float("nan"), -0.1]),
        "pnl": encode_vectors(np.array([[1.0, float("inf")], [0.1, -3e-20]])),
    }
    rows = [
        {"instrument": "BTC-PERPETUAL", "size": 1, "value": None, "pnl": [1.0, None]},
        {"instrument": 'é"x', "size": 2.5, "value": -0.1, "pnl": [0.1, -3e-20]},
    ]
    assert encode_rows(columns).items == [json.dumps(row) for row in rows]
    assert encode_vectors(np.zeros((2, 0))) == ["[]", "[]"]


def _book(tmp_path: Path, count: int) -> Path:
    rows = "".join(
        f'[[positions]]\ninstrument = "BTC-{("28JUN24", "27SEP24")[i % 2]}-'
        f'{50_000 + 1_000 * (i // 2 % 60)}-{"CP"[(i // 120) % 2]}"\n'
        f"size = {(-1) ** i * (1 + i % 7)}\n"
        for i in range(count)
    )
    path = tmp_path / "book.toml"
    path.write_text(
        '[market]\nvaluation_time = "2024-03-11T15:17:00Z"\nindex_usd = { BTC = 72000.0 }\n'
        "vol_annual = { BTC = 0.60 }\n[collateral]\nUSDC = 10000000\nBTC = 3\n" + rows,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("model", ["cross", "span"])
def test_columnwise_positions_match_the_dict_path_byte_for_byte(tmp_path: Path, model: str) -> None:
    loaded = load_portfolio_file(_book(tmp_path, 240))
    margin_model = build_model(model)
    result = margin_model.margin(loaded.portfolio, loaded.market)
    pnl = position_scenario_pnl(margin_model, loaded.portfolio, loaded.market, result)
    assert (pnl is None) == (model == "cross")
    for shown in (None, [5, 3, 200, *range(210)]):
        fast = margin_document(result, shown, pnl)
        assert not isinstance(fast["positions"], list)  # the column-wise path was taken
        reference = dumps_strict(margin_document_dicts(result, shown, pnl))
        assert dumps_strict(fast) == reference
        assert len(json.loads(reference, parse_constant=_reject_constant)["positions"]) >= 200
    assert math.isfinite(float(result.initial_margin))
