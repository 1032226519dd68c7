"""`crossmargin whatif FILE --trade INSTRUMENT:SIZE ... [--model pm|all]`: would the trades pass?

Trades are applied at the mark (:func:`crossmargin.portfolio.apply_trade`), so equity does not
move (fees aside) and only margin does. Each model answers "passes IM: yes/no" by the ledger's own
order check (:func:`crossmargin.ledger.risk.enforce_initial_margin`): equity after ≥ IM after, or
a trade that does not lower the excess (equity − IM), so an under-margined account may reduce
risk. ``--model all`` compares every model in one table; a failing model is marked failed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crossmargin.cli.jsonout import write_json
from crossmargin.cli.model_runs import ModelOutcome, build_models, located, model_names, run_models
from crossmargin.cli.render import make_console
from crossmargin.cli.render_margin import health_text, render_verdict
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.instruments import parse_instrument
from crossmargin.ledger.errors import InsufficientMarginError
from crossmargin.ledger.risk import MarginCheck, enforce_initial_margin
from crossmargin.margin.registry import MODEL_NAMES
from crossmargin.margin.rendering import margin_result_to_json
from crossmargin.margin.result import MarginResult
from crossmargin.portfolio import Portfolio, apply_trade, load_portfolio_file

__all__ = ["parse_trade", "passes_initial_margin", "whatif_command"]


def parse_trade(text: str) -> tuple[str, float]:
    """Parse ``INSTRUMENT:SIZE`` (``BTC-PERPETUAL:-1000``) into a name and a native size."""
    name, separator, size_text = text.rpartition(":")
    if not separator or not name:
        raise InputError(
            "--trade", text, "must look like INSTRUMENT:SIZE, e.g. BTC-PERPETUAL:-1000"
        )
    try:
        size = float(size_text)
    except ValueError:
        raise InputError("--trade", text, f"size {size_text!r} is not a number") from None
    parse_instrument(name)
    return name, size


def passes_initial_margin(
    before: Portfolio, after: Portfolio, result_before: MarginResult, result_after: MarginResult
) -> bool:
    """Whether the ledger would accept the trade from ``before`` to ``after`` under the model
    that gave the two results (its one rule, :func:`enforce_initial_margin`)."""
    results = {id(before): result_before, id(after): result_after}
    try:
        enforce_initial_margin(lambda p: results[id(p)], 0, MarginCheck.TRADE, before, after)
    except InsufficientMarginError:
        return False
    return True


def _comparison(
    before: ModelOutcome, after: ModelOutcome, portfolios: tuple[Portfolio, Portfolio]
) -> dict[str, Any]:
    if before.result is None or after.result is None:
        return {"model": before.model, "failed": True, "error": before.error or after.error}
    old, new = before.result, after.result
    return {
        "model": before.model,
        "before": margin_result_to_json(old),
        "after": margin_result_to_json(new),
        "initial_margin_change": str(new.initial_margin - old.initial_margin),
        "maintenance_margin_change": str(new.maintenance_margin - old.maintenance_margin),
        "excess_after": str(new.equity - new.initial_margin),
        "passes_initial_margin": passes_initial_margin(*portfolios, old, new),
    }


def _money(value: Decimal | float) -> str:
    return f"{float(value):,.2f}"


def _render_table(title: str, comparisons: list[tuple[ModelOutcome, ModelOutcome, bool]]) -> Table:
    table = Table(title=title, title_justify="left")
    headers = ("model", "IM before", "IM after", "IM change", "excess after", "health after",
               "passes IM")  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "model" else "right")
    for before, after, passes in comparisons:
        if before.result is None or after.result is None:
            table.add_row(before.model, *["[red]failed[/red]"] * 6)
            continue
        old, new = before.result, after.result
        table.add_row(
            before.model,
            _money(old.initial_margin),
            _money(new.initial_margin),
            f"{float(new.initial_margin - old.initial_margin):+,.2f}",
            _money(new.equity - new.initial_margin),
            health_text(new.health),
            "[green]yes[/green]" if passes else "[red]no[/red]",
        )
    return table


def whatif_command(
    file: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    trade: Annotated[
        list[str], typer.Option("--trade", help="INSTRUMENT:SIZE at the mark; repeatable.")
    ],
    model: Annotated[
        str, typer.Option("--model", help=f"One of {', '.join(MODEL_NAMES)} or all.")
    ] = "pm",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Margin before and after hypothetical trades at the mark: passes IM, yes or no."""
    try:
        names = model_names(model)
        loaded = load_portfolio_file(file)
        portfolio = loaded.portfolio
        for text in trade:
            instrument_name, size = parse_trade(text)
            portfolio = apply_trade(
                portfolio, parse_instrument(instrument_name), size, loaded.market
            )
        model_set = build_models(names, loaded.market)
        before = run_models(model_set, names, loaded.portfolio, loaded.market, file)
        after = run_models(model_set, names, portfolio, loaded.market, file)
        if model != "all" and (before[0].error or after[0].error):
            raise CrossmarginError(str(before[0].error or after[0].error))
    except CrossmarginError as error:
        make_console(stderr=True).print(
            f"[bold red]error:[/bold red] {located(error, file)}", highlight=False
        )
        raise typer.Exit(code=2) from None
    pair = (loaded.portfolio, portfolio)
    documents = [_comparison(b, a, pair) for b, a in zip(before, after, strict=True)]
    if as_json:
        for document in documents:
            document["trades"] = list(trade)
        write_json(documents[0] if model != "all" else documents)
        return
    console = make_console()
    rows = [
        (b, a, bool(d.get("passes_initial_margin")))
        for b, a, d in zip(before, after, documents, strict=True)
    ]
    equity_before = next((o.result.equity for o in before if o.result is not None), None)
    equity_after = next((o.result.equity for o in after if o.result is not None), None)
    moved = (
        f"{_money(equity_before)} → {_money(equity_after)}"
        if equity_before != equity_after and equity_before is not None and equity_after is not None
        else f"{_money(equity_after or 0)} (unchanged)"
    )
    console.print(
        f"[bold]{loaded.name}[/bold] after {', '.join(trade)} at the mark: equity {moved} USD",
        highlight=False,
    )
    if model != "all":
        result_after = after[0].result
        assert result_after is not None
        render_verdict(console, f"{loaded.name} after", result_after)
    console.print(_render_table("what-if: margin before and after (USD)", rows))
    failures = {o.model: o.error for o in before + after if o.error is not None}
    for name, reason in failures.items():
        console.print(f"[red]{name} failed:[/red] {reason}", highlight=False)
