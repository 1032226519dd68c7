"""`crossmargin liquidate` on the example files: the JSON document, the table, and refusals."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossmargin.cli.main import app
from support.markets import EXAMPLES

runner = CliRunner()
NAKED = str(EXAMPLES / "naked_perpetual.toml")


def test_json_rounds_of_a_short_perpetual_after_a_40_percent_rally() -> None:
    """Short 100,000 USD face of BTC-PERPETUAL (entry 70,000) against 0.5 BTC; BTC +40 % to
    100,800. Each CEX round buys back at most 2,500 USD of face (inverse: 1 USD of notional per
    unit, minimum 10): 2,500 per round, fee 0.5 % = 12.50 USD to the insurance fund, bought
    above the index (100,800 × (1 + slippage)). The account starts liquidatable under pm and
    ends out of the band; the fund's change is the sum of the fees; no bad debt."""
    answer = runner.invoke(app, ["liquidate", NAKED, "--move", "BTC=0.4", "--json"])
    assert answer.exit_code == 0, answer.output
    document = json.loads(answer.output)
    assert document["health_before"] == "liquidatable" and document["model"] == "pm"
    assert document["health_after"] not in ("liquidatable", "bankrupt")
    first = document["rounds"][0]
    assert first["closed"][0]["instrument"] == "BTC-PERPETUAL"
    assert first["closed"][0]["size"] == 2500.0 and first["fee_usd"] == "12.500000"
    assert 100_800 < first["closed"][0]["price_usd"] < 100_800 * 1.001
    fees = sum(Decimal(r["fee_usd"]) for r in document["rounds"])
    assert Decimal(document["insurance_fund_delta_usd"]) == fees
    assert document["bad_debt_usd"] == "0"
    ratios = [r["margin_ratio_after"] for r in document["rounds"]]
    assert ratios[-1] < 1 / 1.05


LONG = """name = "long perpetual"
[market]
valuation_time = "2024-03-11T15:17:00Z"
rate_annual = 0.0
index_usd = { BTC = 72000.0, ETH = 4000.0 }
vol_annual = { BTC = 0.60, ETH = 0.70 }

[collateral]
USDC = 10000

[[positions]]
instrument = "BTC_USDC-PERPETUAL"
size = 2
average_price = 60000.0
"""


def test_onchain_mode_and_table(tmp_path: Path) -> None:
    """Long 2 BTC_USDC-PERPETUAL entered at 60,000 with 10,000 USDC; BTC −15 % to 61,200:
    MtM = 10,000 + 2 × 1,200 = 12,400 USD, below the pm maintenance margin. The auction
    charges 10 % of |MtM| = 1,240 USD once to the security module, then a keeper buys a
    fraction of the (positive-value) positions at the auction's discount."""
    path = tmp_path / "long.toml"
    path.write_text(LONG)
    answer = runner.invoke(
        app, ["liquidate", str(path), "--move", "BTC=-0.15", "--mode", "onchain", "--json"]
    )
    assert answer.exit_code == 0, answer.output
    document = json.loads(answer.output)
    assert document["mode"] == "onchain" and document["rounds"]
    assert document["equity_before_usd"] == pytest.approx(12_400.0)
    assert document["rounds"][0]["fee_usd"] == "1240.000000"
    table = runner.invoke(app, ["liquidate", NAKED, "--move", "BTC=0.4", "--model", "scenario"])
    assert table.exit_code == 0, table.output
    assert "liquidatable" in table.output and "BTC-PERPETUAL" in table.output


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--move", "XRP=-0.2"], "XRP=-0.2"),
        (["--move", "BTC=-1"], "BTC=-1"),
        (["--move", "BTC=-1.5"], "BTC=-1.5"),
        (["--move", "BTC"], "--move"),
        (["--mode", "dex"], "dex"),
        (["--model", "magic"], "magic"),
    ],
)
def test_bad_input_names_the_option_and_the_value(arguments: list[str], named: str) -> None:
    answer = runner.invoke(app, ["liquidate", NAKED, *arguments])
    assert answer.exit_code == 2
    assert named in answer.output and "Traceback" not in answer.output
    option = "--" + arguments[0].lstrip("-")
    assert option in answer.output
