"""`crossmargin margin` and `crossmargin whatif` on the example files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossmargin.cli.main import app
from crossmargin.collateral import default_haircuts
from crossmargin.margin import MODEL_NAMES, build_model
from crossmargin.portfolio import load_portfolio_file
from support.markets import EXAMPLES

runner = CliRunner()
REQUIRED = {
    "model",
    "currency",
    "initial_margin",
    "maintenance_margin",
    "equity",
    "collateral_value",
    "margin_ratio",
    "components",
    "worst_scenario",
    "positions",
}
#: A position's keys: its PositionMargin attributes, each naming its unit (README, Conventions).
POSITION_KEYS = {
    "instrument",
    "size",
    "mark_value_usd",
    "delta_coin",
    "delta_usd",
    "gamma_coin_per_usd",
    "vega_usd_per_vol",
    "theta_usd_per_year",
    "contribution_usd",
}


def _json(*args: str) -> object:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_all_models_side_by_side_json_has_every_field_and_adds_up() -> None:
    documents = _json("margin", str(EXAMPLES / "btc_eth_book.toml"), "--model", "all", "--json")
    assert isinstance(documents, list)
    assert [d["model"] for d in documents] == list(MODEL_NAMES)
    for document in documents:
        assert set(document) >= REQUIRED
        assert document["currency"] == "USD"
        total = sum(Decimal(v) for v in document["components"].values())
        assert total == Decimal(document["initial_margin"])
        assert Decimal(document["initial_margin"]) >= Decimal(document["maintenance_margin"])
        assert document["margin_ratio"] == pytest.approx(
            float(Decimal(document["maintenance_margin"]) / Decimal(document["equity"]))
        )
        for row in document["positions"]:
            assert set(row) == POSITION_KEYS


def test_scenario_models_list_their_scenarios_and_the_worst_is_the_minimum() -> None:
    for model in ("pm", "span"):
        document = _json("margin", str(EXAMPLES / "covered_call.toml"), "--model", model, "--json")
        assert isinstance(document, dict)
        scenarios = document["scenarios"]
        assert scenarios, model
        for scenario in scenarios:
            assert {"underlying", "price_move", "vol_shock", "pnl_usd"} <= set(scenario)
        worst = document["worst_scenario"]
        assert worst["pnl_usd"] == pytest.approx(min(s["pnl_usd"] for s in scenarios))


def test_pm_json_matches_the_library_to_the_cent() -> None:
    document = _json("margin", str(EXAMPLES / "naked_perpetual.toml"), "--model", "pm", "--json")
    loaded = load_portfolio_file(EXAMPLES / "naked_perpetual.toml")
    result = build_model("pm", default_haircuts()).margin(loaded.portfolio, loaded.market)
    assert isinstance(document, dict)
    assert Decimal(document["initial_margin"]) == result.initial_margin
    # Short 100,000 USD face entered at 70,000, index 72,000: 16 % move → 0.16·N·S/E.
    assert float(result.components["scan_risk:BTC"]) == pytest.approx(
        0.16 * 100_000 * 72_000 / 70_000, abs=1e-6
    )


def test_hedges_pay_less_under_pm_and_span_than_isolated() -> None:
    """Covered call, calendar spread and call spread: PM and SPAN below 80 % of isolated."""
    haircuts = default_haircuts()
    for name in ("covered_call", "calendar_spread", "call_spread"):
        loaded = load_portfolio_file(EXAMPLES / f"{name}.toml")
        isolated = build_model("isolated", haircuts).margin(loaded.portfolio, loaded.market)
        for model in ("pm", "span"):
            hedged = build_model(model, haircuts).margin(loaded.portfolio, loaded.market)
            assert hedged.initial_margin < Decimal("0.8") * isolated.initial_margin, (name, model)


def test_whatif_closing_the_perpetual_frees_its_margin() -> None:
    """Buying back the whole short leaves no position: PM goes from 16,457.142858 to 0."""
    document = _json(
        "whatif",
        str(EXAMPLES / "naked_perpetual.toml"),
        "--trade",
        "BTC-PERPETUAL:100000",
        "--json",
    )
    assert isinstance(document, dict)
    assert document["before"]["initial_margin"] == "16457.142858"
    assert document["after"]["initial_margin"] == "0.000000"
    assert document["initial_margin_change"] == "-16457.142858"
    assert [set(row) for row in document["before"]["positions"]] == [POSITION_KEYS]
    # The realised loss, 100000·(1/70000 − 1/72000) = 0.03968254 BTC (2,857.14 USD), leaves the BTC
    # balance; BTC carries a 10 % haircut, so equity rises by 10 % of it: 29,542.86 + 285.71.
    # The balance is kept to the BTC quantum (1e-8 BTC = 0.00072 USD), hence the tolerance.
    realised_usd = 100_000 * (72_000 / 70_000 - 1)
    assert float(document["after"]["equity"]) == pytest.approx(
        float(document["before"]["equity"]) + 0.10 * realised_usd, abs=7.2e-4
    )


def test_tables_for_people_show_every_model() -> None:
    result = runner.invoke(
        app, ["margin", str(EXAMPLES / "hedged_straddle.toml"), "--model", "all"]
    )
    assert result.exit_code == 0, result.output
    for model in ("isolated", "cross", "pm", "span", "var"):
        assert model in result.stdout
    one = runner.invoke(app, ["margin", str(EXAMPLES / "hedged_straddle.toml"), "--model", "pm"])
    assert one.exit_code == 0, one.output
    for header in POSITION_KEYS - {"instrument", "size"}:
        assert header in one.stdout  # the JSON keys head the positions table's columns


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["margin", "EX", "--model", "nope"], "--model = 'nope'"),
        (["whatif", "EX", "--trade", "BTC-PERPETUAL"], "--trade = 'BTC-PERPETUAL'"),
        (["whatif", "EX", "--trade", "BTC-PERPETUAL:ten"], "size 'ten'"),
        (["whatif", "EX", "--trade", "BTC-PERP:1"], "'BTC-PERP'"),
    ],
)
def test_bad_arguments_are_named(args: list[str], expected: str) -> None:
    arguments = [str(EXAMPLES / "naked_perpetual.toml") if a == "EX" else a for a in args]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert expected in " ".join(result.stderr.split())


@pytest.mark.parametrize("args", [["margin", "--model", "var"], ["whatif", "--model", "var"]])
def test_var_without_the_shared_data_names_what_is_missing(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command locates the data set itself; pointing it nowhere gives a one-line error that
    says the var model needs the daily history and how to provide it, and no traceback."""
    monkeypatch.setenv("CROSSMARGIN_SHARED_DATA", str(tmp_path / "missing"))
    trade = ["--trade", "BTC-PERPETUAL:1000"] if args[0] == "whatif" else []
    result = runner.invoke(app, [*args, str(EXAMPLES / "naked_perpetual.toml"), *trade])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "var model needs" in message and "CROSSMARGIN_SHARED_DATA" in message
    assert "Traceback" not in result.output


def test_models_without_history_never_look_for_the_shared_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSMARGIN_SHARED_DATA", str(tmp_path / "missing"))
    document = _json("margin", str(EXAMPLES / "naked_perpetual.toml"), "--model", "pm", "--json")
    assert isinstance(document, dict) and document["model"] == "pm"
