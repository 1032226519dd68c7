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
from crossmargin.portfolio import apply_trade, load_portfolio_file
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
            # scenario models add each position's P&L per scenario, aligned with "scenarios"
            extra = {"scenario_pnl_usd"} if document.get("scenarios") else set()
            assert set(row) - extra == POSITION_KEYS


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
    # Short 100,000 USD face entered at 70,000 and a 0.5 BTC balance, index 72,000: at +16 % the
    # USD P&L is −0.16·(N·S/E − 0.5·S), counted in BTC at 1.16·S and valued at S.
    loss = 0.16 * (100_000 * 72_000 / 70_000 - 0.5 * 72_000)
    assert float(result.components["worst_case"]) == pytest.approx(loss / 1.16, abs=1e-6)


def test_hedges_pay_less_under_pm_and_span_than_isolated() -> None:
    """Calendar spread and call spread: PM and SPAN below 80 % of isolated; the covered call
    (a USDC-settled perpetual against BTC-settled calls) below isolated under PM, where the
    perpetual's gains cross currencies at USDC's pnl_offset 0.4, and below 80 % under SPAN; the
    cash-and-carry below 15 % of the same short held against USDC under PM."""
    haircuts = default_haircuts()
    for name in ("covered_call", "calendar_spread", "call_spread"):
        loaded = load_portfolio_file(EXAMPLES / f"{name}.toml")
        isolated = build_model("isolated", haircuts).margin(loaded.portfolio, loaded.market)
        for model in ("pm", "span"):
            hedged = build_model(model, haircuts).margin(loaded.portfolio, loaded.market)
            share = Decimal("1") if (name, model) == ("covered_call", "pm") else Decimal("0.8")
            assert hedged.initial_margin < share * isolated.initial_margin, (name, model)
    pm = build_model("pm", haircuts)
    carry, naked = (
        pm.margin(loaded.portfolio, loaded.market)
        for loaded in (
            load_portfolio_file(EXAMPLES / f"{name}.toml")
            for name in ("btc_cash_and_carry", "btc_short_future_usdc")
        )
    )
    assert carry.initial_margin < Decimal("0.15") * naked.initial_margin


def test_whatif_closing_the_perpetual_frees_its_margin() -> None:
    """Buying back the whole short leaves no position: PM falls to what the library asks of the
    remaining BTC balance alone."""
    loaded = load_portfolio_file(EXAMPLES / "naked_perpetual.toml")
    pm = build_model("pm")
    expected = pm.margin(loaded.portfolio, loaded.market).initial_margin
    flat = apply_trade(
        loaded.portfolio, loaded.portfolio.positions[0].instrument, 100_000.0, loaded.market
    )
    remaining = pm.margin(flat, loaded.market).initial_margin
    document = _json(
        "whatif",
        str(EXAMPLES / "naked_perpetual.toml"),
        "--trade",
        "BTC-PERPETUAL:100000",
        "--json",
    )
    assert isinstance(document, dict)
    assert document["before"]["initial_margin"] == str(expected)
    assert document["after"]["initial_margin"] == str(remaining)
    assert document["after"]["positions"] == []
    assert Decimal(document["initial_margin_change"]) == remaining - expected
    assert document["passes_initial_margin"] is True
    assert [set(row) for row in document["before"]["positions"]] == [POSITION_KEYS]
    # The realised loss, 100000·(1/70000 − 1/72000) = 0.03968254 BTC, moves from the position
    # into the BTC balance; the haircut applies to the net BTC holding either way, so equity
    # stays (issue 12). The balance is kept to the BTC quantum (1e-8 BTC = 0.00072 USD).
    assert float(document["after"]["equity"]) == pytest.approx(
        float(document["before"]["equity"]), abs=7.2e-4
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
    # Tables speak trader units (issue 12); --json keeps the explicit-unit attribute names.
    for header in ("value USD", "delta USD", "gamma USD/1%", "vega USD/vol pt", "theta USD/day"):
        assert header in one.stdout
    assert "contribution USD" in one.stdout


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


def test_the_deribit_capture_through_the_cli_is_deribit_im_times_the_index() -> None:
    """``margin examples/deribit_eth_perpetual_capture.toml --model pm --json``: the position of
    the captured Deribit response (short 0.999487053 ETH of ETH-PERPETUAL at 1949.34; see
    tests/golden/test_pm_golden.py). Deribit: IM 0.157461562 ETH, MM 0.125969250 ETH; here in
    USD, IM = 0.157461562 × 1949.34 and MM = 0.125969250 × 1949.34 (components rounded up to
    1e-6 USD, the capture to 1e-9 ETH: within 1e-5 USD)."""
    document = _json(
        "margin", str(EXAMPLES / "deribit_eth_perpetual_capture.toml"), "--model", "pm", "--json"
    )
    assert isinstance(document, dict)
    assert float(document["initial_margin"]) == pytest.approx(0.157461562 * 1949.34, abs=1e-5)
    assert float(document["maintenance_margin"]) == pytest.approx(0.125969250 * 1949.34, abs=1e-5)
    assert set(document["components"]) == {
        "worst_case", "correlation_contingency", "roll_shock:ETH", "delta_shock:ETH",
    }  # fmt: skip
