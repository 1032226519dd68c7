"""`crossmargin margin`: a thin shell over the margin models.

A model that needs the daily market history (``var``) gets it here
(:mod:`crossmargin.cli.model_runs` loads it once from the shared data set). With ``--model all``
a model that fails marks its own column failed and the others still print. Every report opens
with the verdict; ``--json`` is strict JSON carrying the same fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from crossmargin.cli.jsonout import write_json
from crossmargin.cli.margin_json import margin_document
from crossmargin.cli.model_runs import (
    ModelOutcome,
    ModelSet,
    build_models,
    located,
    model_names,
    run_models,
)
from crossmargin.cli.position_scenarios import position_scenario_pnl
from crossmargin.cli.positions_view import ranked_positions, render_positions
from crossmargin.cli.render import make_console
from crossmargin.cli.render_margin import (
    render_liquidation_prices,
    render_margin_result,
    render_side_by_side,
    render_verdict,
)
from crossmargin.cli.scenario_view import render_scenario_grid
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.margin.liquidation_price import LiquidationPrice, account_liquidation_prices
from crossmargin.margin.registry import MODEL_NAMES
from crossmargin.portfolio import PortfolioFile, load_portfolio_file

__all__ = ["margin_command"]

#: Models whose liquidation price is the account's (isolated has one per position, in its notes).
_ACCOUNT_MODELS = frozenset(MODEL_NAMES) - {"isolated"}

#: Positions above which liquidation prices (dozens of margin calls) are skipped unless asked.
_LIQUIDATION_AUTO_LIMIT = 2_000


def _fail(error: CrossmarginError) -> None:
    make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
    raise typer.Exit(code=2)


def _liquidation(
    outcome: ModelOutcome, loaded: PortfolioFile, model_set: ModelSet, wanted: bool | None
) -> tuple[LiquidationPrice, ...] | None:
    if outcome.result is None or outcome.model not in _ACCOUNT_MODELS:
        return None
    if wanted is False or (
        wanted is None and len(loaded.portfolio.positions) > _LIQUIDATION_AUTO_LIMIT
    ):
        return None
    model = next(m for m in model_set.models if m.name == outcome.model)
    return account_liquidation_prices(model, loaded.portfolio, loaded.market)


def _liquidation_json(prices: tuple[LiquidationPrice, ...] | None) -> list[dict[str, Any]] | None:
    if prices is None:
        return None
    return [
        {
            "underlying": p.underlying,
            "index_usd": p.index_usd,
            "below_usd": p.below_usd,
            "above_usd": p.above_usd,
        }
        for p in prices
    ]


def _document(
    outcome: ModelOutcome,
    top: int,
    loaded: PortfolioFile,
    model_set: ModelSet,
    prices: tuple[LiquidationPrice, ...] | None,
) -> dict[str, Any]:
    if outcome.result is None:
        return {"model": outcome.model, "failed": True, "error": outcome.error}
    shown = None if top <= 0 else ranked_positions(outcome.result.positions, top)
    model = next(m for m in model_set.models if m.name == outcome.model)
    try:
        pnl = position_scenario_pnl(model, loaded.portfolio, loaded.market, outcome.result)
    except CrossmarginError:
        pnl = None  # the model margined the account, so this only repeats its own work
    document = margin_document(outcome.result, shown, pnl)
    document["liquidation_prices"] = _liquidation_json(prices)
    document["warnings"] = [w for w in model_set.warnings if w.startswith(f"{outcome.model}:")]
    return document


def margin_command(
    file: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    model: Annotated[
        str, typer.Option("--model", help=f"One of {', '.join(MODEL_NAMES)} or all.")
    ] = "pm",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            help="Positions shown, largest |contribution| first (0 = all). Tables default to 20; "
            "--json lists every position unless --top is given.",
        ),
    ] = -1,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw the scenario P&L picture into this .png/.svg/.pdf."),
    ] = None,
    liquidation: Annotated[
        bool | None,
        typer.Option(
            "--liquidation-prices/--no-liquidation-prices",
            help="Account liquidation price per underlying (default: on up to 2,000 positions).",
        ),
    ] = None,
) -> None:
    """Margin an account under one model, or all of them side by side: verdict, why, what to do."""
    try:
        names = model_names(model)
        loaded = load_portfolio_file(file)
        model_set = build_models(names, loaded.market)
        outcomes = run_models(model_set, names, loaded.portfolio, loaded.market, file)
        if model != "all" and outcomes[0].error is not None:
            raise CrossmarginError(outcomes[0].error)
        single = outcomes[0]
        prices = _liquidation(single, loaded, model_set, liquidation) if model != "all" else None
        if plot is not None:
            if model == "all" or single.result is None:
                raise InputError("--plot", str(plot), "draws one model: pass --model pm (or span…)")
            from crossmargin.cli.plot import plot_scenarios

            plot_scenarios(single.result, loaded.name, plot)
    except CrossmarginError as error:
        _fail(located(error, file))
        return
    if as_json:
        if model == "all":
            write_json([_document(o, top, loaded, model_set, None) for o in outcomes])
        else:
            write_json(_document(single, top, loaded, model_set, prices))
        return
    console = make_console()
    for warning in model_set.warnings:
        make_console(stderr=True).print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if model == "all":
        render_side_by_side(console, loaded.name, outcomes, loaded.portfolio)
        return
    result = single.result
    assert result is not None
    render_verdict(console, loaded.name, result)
    render_margin_result(console, result, loaded.portfolio)
    if plot is None:
        render_scenario_grid(console, result)
    else:
        console.print(f"scenario picture written to {plot}", highlight=False)
    render_positions(
        console,
        result.positions,
        loaded.portfolio,
        loaded.market,
        20 if top < 0 else top,
        float(result.initial_margin),
    )
    if prices is not None:
        render_liquidation_prices(console, prices, result.model)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    console.print()
