"""Issue 12, finding by finding: results a trader can act on, and no tracebacks.

Each test reproduces what an outside user found (the issue quotes the command) and failed on the
code before the fix.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crossmargin.cli.main import app
from crossmargin.margin import MODEL_NAMES, build_model
from crossmargin.portfolio import load_portfolio_file
from support.markets import EXAMPLES
from support.shared_data import require_shared_data

runner = CliRunner()

MARKET = """[market]
valuation_time = "{time}"
rate_annual = {rate}
index_usd = {{ BTC = 72000.0, ETH = 4000.0 }}
vol_annual = {{ BTC = {vol}, ETH = 0.70 }}
"""


def _market(time: str = "2024-03-11T15:17:00Z", rate: str = "0.0", vol: str = "0.60") -> str:
    return MARKET.format(time=time, rate=rate, vol=vol)


def _write(tmp_path: Path, body: str, name: str = "book.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"not strict JSON: {name}")


def _strict(text: str) -> Any:
    """Parse as RFC 8259 JSON: NaN and ±Infinity are errors, not numbers."""
    return json.loads(text, parse_constant=_reject_constant)


def _run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _fails_cleanly(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    return " ".join(result.output.split())


# ---------------------------------------------------------------- 1. tracebacks


def test_whatif_with_all_models_compares_them_instead_of_a_traceback() -> None:
    """`whatif covered_call --trade BTC-28JUN24-80000-C:10 --model all` raised ValueError."""
    path = str(EXAMPLES / "covered_call.toml")
    result = _run("whatif", path, "--trade", "BTC-28JUN24-80000-C:10", "--model", "all")
    assert "passes IM" in result.stdout
    documents = _strict(
        _run("whatif", path, "--trade", "BTC-28JUN24-80000-C:10", "--model", "all", "--json").stdout
    )
    assert [d["model"] for d in documents] == list(MODEL_NAMES)
    for document in documents:
        if not document.get("failed"):
            assert isinstance(document["passes_initial_margin"], bool)


@pytest.mark.parametrize("command", ["value", "margin"])
def test_a_non_utf8_file_is_named_not_a_traceback(tmp_path: Path, command: str) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(_market().replace("BTC = 0.60", "BTC = 0.60 # \xe9t\xe9").encode("latin-1"))
    assert "latin1.toml" in _fails_cleanly(command, str(path))


# ---------------------------------------------------------------- 2. strict JSON


def test_no_equity_is_strict_json_with_a_null_ratio_and_the_state_saying_why(
    tmp_path: Path,
) -> None:
    """A file without [collateral] and a losing perpetual: equity < 0, MM > 0. Before the fix
    `margin --json` printed `"margin_ratio": Infinity` and the table `inf%`."""
    path = _write(
        tmp_path,
        _market()
        + '[[positions]]\ninstrument = "BTC-PERPETUAL"\nsize = -100000\naverage_price = 60000\n',
    )
    for model in ("cross", "pm"):
        document = _strict(_run("margin", str(path), "--model", model, "--json").stdout)
        assert Decimal(document["equity"]) < 0
        assert document["margin_ratio"] is None
        assert document["health"] == "bankrupt"
        assert "equity ≤ 0" in document["health_reason"]
    documents = _strict(_run("margin", str(path), "--model", "all", "--json").stdout)
    assert all(d.get("failed") or d["margin_ratio"] is None for d in documents)
    table = _run("margin", str(path), "--model", "cross").stdout
    assert "BANKRUPT" in table and "inf" not in table


# ---------------------------------------------------------------- 3. a trade at the mark


def _whatif_json(path: Path, model: str, *trades: str) -> Any:
    args = ["whatif", str(path), "--model", model, "--json"]
    for trade in trades:
        args += ["--trade", trade]
    return _strict(_run(*args).stdout)


def test_closing_half_a_coin_margined_perpetual_at_the_mark_keeps_equity() -> None:
    """naked_perpetual + BTC-PERPETUAL:50000 moved equity 29,542.86 → 29,685.71: the realised
    coin P&L was haircut, the unrealised was not. Now the BTC haircut applies to the net BTC
    holding (0.5 − 0.0396825 BTC either way): 0.4603175 × 72,000 × 0.9 = 29,828.571429."""
    document = _whatif_json(EXAMPLES / "naked_perpetual.toml", "cross", "BTC-PERPETUAL:50000")
    before, after = Decimal(document["before"]["equity"]), Decimal(document["after"]["equity"])
    assert abs(after - before) <= Decimal("0.01")
    assert float(before) == pytest.approx(29_828.571429, abs=1e-5)
    assert Decimal(document["after"]["initial_margin"]) < Decimal(
        document["before"]["initial_margin"]
    )


def test_a_flat_book_after_two_trades_keeps_equity() -> None:
    """covered_call, buy back the calls and sell the perpetual: equity fell 141,145.34 →
    134,759.87 (the premium paid made the BTC balance negative, and the haircut inflated that
    debt). A debt is valued at its full price, and a trade at the mark moves only margin."""
    document = _whatif_json(
        EXAMPLES / "covered_call.toml",
        "pm",
        "BTC-28JUN24-80000-C:10",
        "BTC_USDC-PERPETUAL:-10",
    )
    before, after = Decimal(document["before"]["equity"]), Decimal(document["after"]["equity"])
    assert abs(after - before) <= Decimal("0.01")
    assert document["after"]["positions"] == []


# ---------------------------------------------------------------- 4. one equity


def test_one_equity_whatever_the_model_on_a_linear_basis_trade(tmp_path: Path) -> None:
    """Long 10 BTC spot (bought at 70,000), short 10 BTC of the June future: isolated showed
    equity 100,000 and the others 820,000. One equity now, and isolated never leaves more room
    (excess) than cross."""
    path = _write(
        tmp_path,
        _market()
        + "[collateral]\nUSDC = 100000\n"
        + '[[positions]]\ninstrument = "BTC_USDC"\nsize = 10\naverage_price = 70000\n'
        + '[[positions]]\ninstrument = "BTC_USDC-28JUN24"\nsize = -10\n',
    )
    documents = {
        d["model"]: d
        for d in _strict(_run("margin", str(path), "--model", "all", "--json").stdout)
        if not d.get("failed")
    }
    assert len({d["equity"] for d in documents.values()}) == 1
    assert Decimal(documents["isolated"]["excess"]) <= Decimal(documents["cross"]["excess"])


def test_isolated_and_cross_agree_where_no_position_holds_a_profit_above_its_margin() -> None:
    """covered_call: 'IM / isolated' said cross costs 1.03x while the excess was identical
    (-9,469). Same requirement, same excess now."""
    documents = {
        d["model"]: d
        for d in _strict(
            _run("margin", str(EXAMPLES / "covered_call.toml"), "--model", "all", "--json").stdout
        )
        if not d.get("failed")
    }
    isolated, cross = documents["isolated"], documents["cross"]
    assert isolated["initial_margin"] == cross["initial_margin"]
    assert isolated["excess"] == cross["excess"]


def test_an_inverse_perpetual_in_profit_is_not_margined_at_zero(tmp_path: Path) -> None:
    """Short 100,000 USD face entered at 80,000, index 72,000 (profit 0.138889 BTC = 10,000 USD):
    isolated showed IM 0.00. Its profit stays with it: IM = standard 2,006.94 + the value held
    above it (10,000 − 2,006.94) = 10,000.00, and the excess is the collateral's, 36,000 × 0.9 −
    the haircut on the profit (0.1 × 10,000) = 31,400 − ... (cross has 8,000 more room)."""
    path = _write(
        tmp_path,
        _market()
        + "[collateral]\nBTC = 0.5\n"
        + '[[positions]]\ninstrument = "BTC-PERPETUAL"\nsize = -100000\naverage_price = 80000\n',
    )
    isolated = _strict(_run("margin", str(path), "--model", "isolated", "--json").stdout)
    cross = _strict(_run("margin", str(path), "--model", "cross", "--json").stdout)
    assert isolated["equity"] == cross["equity"]
    assert Decimal(isolated["initial_margin"]) == pytest.approx(
        Decimal("10000"), abs=Decimal("0.01")
    )
    assert Decimal(isolated["components"]["futures_im"]) == Decimal(cross["initial_margin"])
    assert Decimal(cross["excess"]) - Decimal(isolated["excess"]) == pytest.approx(
        Decimal("10000") - Decimal(cross["initial_margin"]), abs=Decimal("0.01")
    )


# ---------------------------------------------------------------- 5. silent nonsense


@pytest.mark.parametrize(
    ("market", "field", "unit"),
    [
        (_market(vol="70"), "market.vol_annual.BTC = 70", "0.7 = 70 %"),
        (_market(rate="5"), "market.rate_annual = 5", "0.05 = 5 %"),
    ],
)
def test_implausible_vols_and_rates_are_rejected_with_the_unit(
    tmp_path: Path, market: str, field: str, unit: str
) -> None:
    path = _write(tmp_path, market + "[collateral]\nUSDC = 1000\n")
    message = _fails_cleanly("margin", str(path))
    assert field in message and unit in message and "book.toml" in message


def test_an_unknown_asset_names_the_file_and_the_market_field(tmp_path: Path) -> None:
    """The error said `index_usd.DOGE = None` with no file; it is `market.index_usd.DOGE`."""
    path = _write(
        tmp_path, _market() + '[[positions]]\ninstrument = "DOGE-PERPETUAL"\nsize = -100\n'
    )
    message = _fails_cleanly("margin", str(path))
    assert "book.toml" in message and "market.index_usd.DOGE" in message
    assert "positions[0]" in message


def test_var_warns_when_the_history_ends_long_before_the_valuation_time(tmp_path: Path) -> None:
    require_shared_data()
    body = (EXAMPLES / "naked_perpetual.toml").read_text(encoding="utf-8")
    path = _write(tmp_path, body.replace("2024-03-11T15:17:00Z", "2030-03-11T15:17:00Z"))
    result = _run("margin", str(path), "--model", "var")
    assert "warning" in result.output and "history ends" in result.output
    document = _strict(_run("margin", str(path), "--model", "var", "--json").stdout)
    assert any("history ends" in warning for warning in document["warnings"])


def test_one_failing_model_marks_its_column_and_the_others_print(tmp_path: Path) -> None:
    """At a 2015 valuation time the history has no window, and `--model all` failed entirely."""
    require_shared_data()
    body = (EXAMPLES / "naked_perpetual.toml").read_text(encoding="utf-8")
    path = _write(tmp_path, body.replace("2024-03-11T15:17:00Z", "2015-03-11T15:17:00Z"))
    result = _run("margin", str(path), "--model", "all")
    assert "failed" in result.stdout and "var failed" in result.stdout
    assert "market.valuation_time" in " ".join(result.stdout.split())
    documents = _strict(_run("margin", str(path), "--model", "all", "--json").stdout)
    failed = {d["model"] for d in documents if d.get("failed")}
    assert "var" in failed and "cross" not in failed and "pm" not in failed


# ---------------------------------------------------------------- 6. labels


def test_the_worst_scenario_reads_its_shock_sizes_not_a_wrong_label() -> None:
    """naked_perpetual under pm: the label said 'BTC +16% vol up' with vol_shock 0.0."""
    document = _strict(
        _run("margin", str(EXAMPLES / "naked_perpetual.toml"), "--model", "pm", "--json").stdout
    )
    worst = document["worst_scenario"]
    assert worst["vol_shock"] == 0.0
    assert worst["description"] == "BTC +16%, vol unchanged"
    table = _run("margin", str(EXAMPLES / "naked_perpetual.toml"), "--model", "pm").stdout
    assert "worst scenario: BTC +16%, vol unchanged" in table


def test_an_options_average_price_is_checked(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _market()
        + "[collateral]\nUSDC = 100000\n"
        + '[[positions]]\ninstrument = "BTC-28JUN24-80000-C"\nsize = -1\naverage_price = 500000\n',
    )
    message = _fails_cleanly("margin", str(path))
    assert "positions[0].average_price = 500000" in message and "premium per unit" in message


def test_an_expired_instrument_is_echoed_as_written(tmp_path: Path) -> None:
    path = _write(
        tmp_path, _market() + '[[positions]]\ninstrument = "BTC-08MAR24-60000-C"\nsize = 1\n'
    )
    assert "'BTC-08MAR24-60000-C'" in _fails_cleanly("value", str(path))


def test_the_quick_start_counts_the_models_all_returns() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Quick start")
    quick_start = readme[start : readme.index("\n## ", start + 1)]
    assert f"{len(MODEL_NAMES)} models side by side" in quick_start.replace("six", "6")


# ---------------------------------------------------------------- 7. large books


def _book(tmp_path: Path, count: int) -> Path:
    strikes = [50_000 + 1_000 * (i % 60) for i in range(count)]
    rows = "".join(
        f'[[positions]]\ninstrument = "BTC-{expiry}-{strike}-{kind}"\nsize = {size}\n'
        for i, (strike, expiry, kind, size) in enumerate(
            (s, ("29MAR24", "28JUN24", "27SEP24", "27DEC24")[(i // 60) % 4], "CP"[(i // 240) % 2],
             (-1) ** i * (1 + i % 7))
            for i, s in enumerate(strikes)
        )
    )  # fmt: skip
    return _write(tmp_path, _market() + "[collateral]\nUSDC = 10000000\n" + rows)


def test_top_n_positions_sorted_by_contribution_and_a_total_over_all(tmp_path: Path) -> None:
    path = _book(tmp_path, 480)
    table = _run("margin", str(path), "--model", "cross", "--top", "5").stdout
    assert "(5 of 480, --top 0 for all)" in table
    assert "total, all 480 positions" in table
    document = _strict(_run("margin", str(path), "--model", "cross", "--top", "5", "--json").stdout)
    assert document["positions_total"] == 480 and len(document["positions"]) == 5
    shown = [abs(row["contribution_usd"]) for row in document["positions"]]
    assert shown == sorted(shown, reverse=True)
    everything = _strict(_run("margin", str(path), "--model", "cross", "--json").stdout)
    assert len(everything["positions"]) == 480
    assert max(abs(row["contribution_usd"]) for row in everything["positions"]) == shown[0]


# ---------------------------------------------------------------- the scenario picture


def test_plot_writes_an_image_and_the_terminal_shows_the_grid(tmp_path: Path) -> None:
    image = tmp_path / "covered_call.png"
    result = _run(
        "margin", str(EXAMPLES / "covered_call.toml"), "--model", "pm", "--plot", str(image)
    )
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "scenario picture written" in result.stdout
    terminal = _run("margin", str(EXAMPLES / "covered_call.toml"), "--model", "pm").stdout
    assert "scenario P&L, BTC" in terminal and "◆" in terminal and "margin line" in terminal


def test_plot_needs_a_scenario_model(tmp_path: Path) -> None:
    message = _fails_cleanly(
        "margin", str(EXAMPLES / "covered_call.toml"), "--model", "cross", "--plot",
        str(tmp_path / "x.png"),
    )  # fmt: skip
    assert "--plot" in message and "no scenarios" in message


# ---------------------------------------------------------------- what to do


def test_liquidation_price_is_where_equity_meets_maintenance_margin() -> None:
    """naked_perpetual under cross: short BTC, so the account's liquidation price is above the
    index. Re-margining there with the library gives equity = MM (to a cent)."""
    path = EXAMPLES / "naked_perpetual.toml"
    document = _strict(_run("margin", str(path), "--model", "cross", "--json").stdout)
    (price,) = document["liquidation_prices"]
    assert price["underlying"] == "BTC" and price["above_usd"] > 72_000
    loaded = load_portfolio_file(path)
    moved = loaded.market.shocked({"BTC": price["above_usd"] / 72_000 - 1})
    result = build_model("cross").margin(loaded.portfolio, moved)
    assert float(result.equity - result.maintenance_margin) == pytest.approx(0.0, abs=0.01)
    table = _run("margin", str(path), "--model", "cross").stdout
    assert "liquidation price (cross, other prices fixed): BTC" in table


def test_the_verdict_comes_first_and_greeks_are_in_trader_units() -> None:
    table = _run("margin", str(EXAMPLES / "covered_call.toml"), "--model", "cross").stdout
    first = table.splitlines()[:2]
    assert "covered call — cross:" in first[0]
    assert all(word in first[1] for word in ("equity", "IM", "MM", "equity/MM"))
    assert "shortfall 9,469.32" in first[1]  # equity 141,145.34 − IM 150,614.66
    for header in ("IV", "delta USD", "gamma USD/1%", "vega USD/vol pt", "theta USD/day"):
        assert header in table
    assert "60.0%" in table  # the June call's implied vol
