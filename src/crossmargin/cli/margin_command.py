"""`crossmargin margin` and `crossmargin whatif`: thin shells over the margin models.

A model that needs the daily market history (``var``) gets it here: the command locates the shared
data set (:mod:`crossmargin.shared_data`), loads the history once and passes it to
:func:`~crossmargin.margin.registry.build_model`. Without the data set it stops with an error that
names what is missing; the other models never touch it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crossmargin.cli.render import make_console
from crossmargin.cli.render_margin import render_margin_result, render_side_by_side
from crossmargin.collateral import default_haircuts
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.instruments import parse_instrument
from crossmargin.margin.base import MarginModel
from crossmargin.margin.registry import HISTORY_MODEL_NAMES, MODEL_NAMES, build_model
from crossmargin.margin.rendering import margin_result_to_json
from crossmargin.portfolio import apply_trade, load_portfolio_file
from crossmargin.shared_data import shared_market_history

__all__ = ["margin_command", "parse_trade", "whatif_command"]


def _fail(error: CrossmarginError) -> None:
    make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
    raise typer.Exit(code=2)


def _model_names(model: str) -> list[str]:
    if model == "all":
        return list(MODEL_NAMES)
    if model not in MODEL_NAMES:
        raise InputError("--model", model, f"must be one of {', '.join(MODEL_NAMES)} or all")
    return [model]


def _build_models(names: list[str]) -> list[MarginModel]:
    """The models called ``names``, the history loaded (once) only if one of them needs it."""
    needs_history = any(name in HISTORY_MODEL_NAMES for name in names)
    history = shared_market_history() if needs_history else None
    haircuts = default_haircuts()
    return [build_model(name, haircuts, history=history) for name in names]


def margin_command(
    file: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    model: Annotated[
        str, typer.Option("--model", help=f"One of {', '.join(MODEL_NAMES)} or all.")
    ] = "pm",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Margin an account under one model, or under all of them side by side."""
    try:
        names = _model_names(model)
        loaded = load_portfolio_file(file)
        results = [model.margin(loaded.portfolio, loaded.market) for model in _build_models(names)]
    except CrossmarginError as error:
        _fail(error)
        return
    if as_json:
        documents = [margin_result_to_json(result) for result in results]
        payload: Any = documents[0] if model != "all" else documents
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    console = make_console()
    if model == "all":
        render_side_by_side(console, loaded.name, results)
    else:
        render_margin_result(console, loaded.name, results[0])


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


def whatif_command(
    file: Annotated[Path, typer.Argument(help="Portfolio file (.toml or .json).")],
    trade: Annotated[
        list[str], typer.Option("--trade", help="INSTRUMENT:SIZE at the mark; repeatable.")
    ],
    model: Annotated[str, typer.Option("--model", help=f"One of {', '.join(MODEL_NAMES)}.")] = "pm",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Margin before and after hypothetical trades (at the mark), under one model."""
    try:
        (name,) = _model_names(model)
        loaded = load_portfolio_file(file)
        (margin_model,) = _build_models([name])
        before = margin_model.margin(loaded.portfolio, loaded.market)
        portfolio = loaded.portfolio
        for text in trade:
            instrument_name, size = parse_trade(text)
            portfolio = apply_trade(
                portfolio, parse_instrument(instrument_name), size, loaded.market
            )
        after = margin_model.margin(portfolio, loaded.market)
    except CrossmarginError as error:
        _fail(error)
        return
    if as_json:
        payload = {
            "model": name,
            "trades": list(trade),
            "before": margin_result_to_json(before),
            "after": margin_result_to_json(after),
            "initial_margin_change": str(after.initial_margin - before.initial_margin),
            "maintenance_margin_change": str(after.maintenance_margin - before.maintenance_margin),
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    console = make_console()
    render_margin_result(console, f"{loaded.name} before", before)
    render_margin_result(console, f"{loaded.name} after {', '.join(trade)}", after)
    console.print(
        f"initial margin change: {after.initial_margin - before.initial_margin:+,.2f} USD"
    )
