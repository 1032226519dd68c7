"""`crossmargin liquidate`: simulate one account's liquidation after a market move.

A thin shell over :func:`crossmargin.liquidation.simulate_liquidation`: load the portfolio file,
parse ``--move``, build the margin model (``--model``; ``scenario`` is the liquidation engine's
own fast PM-style grid), run CEX rounds or the on-chain auction, and render the rounds as a table
(or ``--json``). Bad input is refused with the option and the value, exit code 2, no traceback.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from crossmargin.cli.jsonout import write_json
from crossmargin.cli.model_runs import build_models, located
from crossmargin.cli.render import make_console
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.liquidation import (
    SCENARIO_MODEL,
    InsuranceFund,
    LiquidationMode,
    LiquidationReport,
    load_liquidation_parameters,
    parse_moves,
    simulate_liquidation,
)
from crossmargin.margin.base import MarginModel
from crossmargin.margin.registry import MODEL_NAMES
from crossmargin.portfolio import load_portfolio_file

__all__ = ["liquidate_command"]


def _fail(error: CrossmarginError) -> None:
    make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
    raise typer.Exit(code=2)


def _mode(raw: str) -> LiquidationMode:
    try:
        return LiquidationMode(raw)
    except ValueError:
        raise InputError("--mode", raw, "must be cex or onchain") from None


def _money(value: float | Decimal) -> str:
    return f"{float(value):,.2f}"


def _render(report: LiquidationReport, name: str) -> None:
    console = make_console()
    console.print(
        f"[bold]{name}[/bold] — {report.mode.value} liquidation under {report.model}, "
        f"moves {', '.join(f'{k} {v:+.2%}' for k, v in report.moves.items()) or 'none'}"
    )
    console.print(
        f"before: [bold]{report.health_before.value}[/bold]  equity "
        f"{_money(report.equity_before_usd)} USD  MM {_money(report.maintenance_before_usd)} USD"
    )
    table = Table(title="rounds", show_lines=False)
    for column in ("#", "time (s)", "instrument", "size", "price (USD)", "fee (USD)", "MR after"):
        table.add_column(column, justify="left" if column == "instrument" else "right")
    for r in report.rounds:
        ratio = f"{r.margin_ratio_after:.4f}" if np.isfinite(r.margin_ratio_after) else "∞"
        for k, leg in enumerate(r.closed):
            first = k == 0
            table.add_row(
                str(r.index) if first else "",
                f"{r.time_s:,.0f}" if first else "",
                leg.instrument,
                f"{leg.size:,.6g}",
                "—" if leg.price_usd is None else f"{leg.price_usd:,.2f}",
                _money(r.fee_usd) if first else "",
                ratio if first else "",
            )
    if report.rounds:
        console.print(table)
    else:
        console.print("nothing to liquidate: the account is not in the liquidatable band")
    console.print(
        f"after: [bold]{report.health_after.value}[/bold]  equity "
        f"{_money(report.equity_after_usd)} USD  MM {_money(report.maintenance_after_usd)} USD  "
        f"insurance fund {float(report.insurance_fund_delta):+,.2f} USD  bad debt "
        f"{_money(report.bad_debt)} USD"
    )


def liquidate_command(
    file: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    mode: Annotated[str, typer.Option("--mode", help="cex (rounds) or onchain (auction).")] = "cex",
    move: Annotated[
        list[str] | None,
        typer.Option("--move", help="Relative index move, e.g. BTC=-0.2 (repeatable)."),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help=f"Margin model deciding health: {', '.join(MODEL_NAMES)}, or {SCENARIO_MODEL} "
            "(the liquidation engine's fast PM-style grid).",
        ),
    ] = "pm",
    fund: Annotated[
        str, typer.Option("--fund", help="Insurance fund before, USD (decimal).")
    ] = "0",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the CEX depth draws.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Simulate the liquidation of one account whose market is moved by --move: the rounds
    (what was closed, at what price, the fee, the margin ratio after), the insurance fund's
    change and the bad debt."""
    try:
        chosen = _mode(mode)
        if model != SCENARIO_MODEL and model not in MODEL_NAMES:
            raise InputError(
                "--model", model, f"must be one of {', '.join(MODEL_NAMES)} or {SCENARIO_MODEL}"
            )
        try:
            fund_usd = Decimal(fund).quantize(Decimal("0.000001"))
        except ArithmeticError:
            raise InputError("--fund", fund, "must be a decimal amount ≥ 0") from None
        if not fund_usd >= 0:
            raise InputError("--fund", fund, "must be a decimal amount ≥ 0")
        fund_start = InsuranceFund(fund_usd)
        loaded = load_portfolio_file(file)
        moves = parse_moves(tuple(move or ()), loaded.market)
        margin_model: MarginModel | None = None
        if model != SCENARIO_MODEL:
            built = build_models([model], loaded.market)
            if built.failed:
                raise InputError("--model", model, built.failed[model])
            margin_model = built.models[0]
        try:
            report = simulate_liquidation(
                loaded.portfolio,
                loaded.market,
                moves,
                load_liquidation_parameters(),
                model=margin_model,
                mode=chosen,
                fund=fund_start,
                rng=np.random.default_rng(seed),
            )
        except CrossmarginError as error:
            raise located(error, file) from None
    except CrossmarginError as error:
        _fail(error)
        return
    if as_json:
        write_json({"file": str(file), "name": loaded.name, **report.to_document()})
    else:
        _render(report, loaded.name)
