"""The ``crossmargin`` command line: thin shells that parse, call the library and render."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from crossmargin.cli.backtest_command import backtest_command
from crossmargin.cli.compat_command import compat_app
from crossmargin.cli.demo_command import demo_command
from crossmargin.cli.liquidate_command import liquidate_command
from crossmargin.cli.margin_command import margin_command
from crossmargin.cli.params_command import params_app
from crossmargin.cli.render import make_console, render_valuation, valuation_to_json
from crossmargin.cli.serve_command import serve_command
from crossmargin.cli.span_command import span_command
from crossmargin.cli.stress_command import stress_command
from crossmargin.cli.valuation_view import ranked_by_value
from crossmargin.cli.whatif_command import whatif_command
from crossmargin.collateral import default_haircuts
from crossmargin.core.errors import CrossmarginError
from crossmargin.portfolio import load_portfolio_file, value_portfolio

__all__ = ["app"]

app = typer.Typer(
    name="crossmargin",
    help="Cross-margining risk engine for crypto derivatives.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(error: CrossmarginError) -> None:
    make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
    raise typer.Exit(code=2)


@app.callback()
def main() -> None:
    """Cross-margining risk engine for crypto derivatives."""


@app.command()
def value(
    files: Annotated[list[Path], typer.Argument(help="Portfolio files (.toml or .json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            help="Positions shown, largest |mark value| first (0 = all), with a total over "
            "every position. Tables default to 20; --json lists every position unless --top "
            "is given.",
        ),
    ] = -1,
) -> None:
    """Value portfolios: positions with mark value and Greeks (trader units in tables),
    totals per underlying, collateral."""
    haircuts = default_haircuts()
    console = make_console()
    documents = []
    try:
        for path in files:
            loaded = load_portfolio_file(path)
            valuation = value_portfolio(loaded.portfolio, loaded.market, haircuts)
            if as_json:
                shown = None if top <= 0 else ranked_by_value(valuation, top)
                documents.append(valuation_to_json(loaded.name, valuation, shown))
            else:
                render_valuation(console, loaded.name, valuation, 20 if top < 0 else top)
    except CrossmarginError as error:
        _fail(error)
    if as_json:
        payload = documents[0] if len(documents) == 1 else documents
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")


def _register_commands() -> None:
    """Attach the commands that live in their own modules."""
    app.command("margin")(margin_command)
    app.command("whatif")(whatif_command)
    app.command("span")(span_command)
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)
    app.command("backtest")(backtest_command)
    app.command("liquidate")(liquidate_command)
    app.command("stress")(stress_command)
    app.add_typer(compat_app, name="compat", help="Reproduce other venues' margin engines.")
    app.add_typer(params_app, name="params", help="Dynamic risk parameters over real history.")


_register_commands()
