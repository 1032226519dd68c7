"""Rich tables of margin results for people (the JSON form is
:func:`crossmargin.margin.margin_result_to_json`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from crossmargin.cli.render import GREEK_COLUMNS
from crossmargin.margin.result import MarginResult

__all__ = ["render_margin_result", "render_side_by_side"]


def _money(value: float | Decimal) -> str:
    return f"{float(value):,.2f}"


def render_margin_result(console: Console, title: str, result: MarginResult) -> None:
    """Print one model's result: requirement, components, worst scenario and positions."""
    summary = Table(title=f"{title}: {result.model} margin (USD)", title_justify="left")
    for header in ("initial", "maintenance", "equity", "collateral", "margin ratio"):
        summary.add_column(header, justify="right")
    summary.add_row(
        _money(result.initial_margin),
        _money(result.maintenance_margin),
        _money(result.equity),
        _money(result.collateral_value),
        f"{result.margin_ratio:.2%}",
    )
    console.print(summary)
    components = Table(title="components", title_justify="left")
    components.add_column("component")
    components.add_column("initial", justify="right")
    components.add_column("maintenance", justify="right")
    for name in dict.fromkeys([*result.components, *result.maintenance_components]):
        components.add_row(
            name,
            _money(result.components.get(name, Decimal(0))),
            _money(result.maintenance_components.get(name, Decimal(0))),
        )
    console.print(components)
    if result.worst_scenario is not None:
        worst = result.worst_scenario
        console.print(
            f"worst scenario: {worst.label or worst.underlying} "
            f"(move {worst.price_move:+.2%}) P&L {_money(worst.pnl_usd)} USD"
        )
    positions = Table(title="positions", title_justify="left")
    for header in ("instrument", "size", "mark_value_usd", *GREEK_COLUMNS, "contribution_usd"):
        positions.add_column(header, justify="left" if header == "instrument" else "right")
    for row in result.positions:
        positions.add_row(
            row.instrument,
            f"{row.size:,.4g}",
            _money(row.mark_value_usd),
            f"{row.delta_coin:,.4f}",
            _money(row.delta_usd),
            f"{row.gamma_coin_per_usd:.3e}",
            _money(row.vega_usd_per_vol),
            _money(row.theta_usd_per_year),
            _money(row.contribution_usd),
        )
    console.print(positions)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    console.print()


def render_side_by_side(console: Console, title: str, results: Sequence[MarginResult]) -> None:
    """Print every model's requirement for one account, with the ratio to isolated margin."""
    isolated = next((r for r in results if r.model == "isolated"), None)
    table = Table(title=f"{title}: margin models side by side (USD)", title_justify="left")
    for header in ("model", "initial", "maintenance", "equity", "margin ratio", "IM / isolated"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for result in results:
        ratio = (
            f"{float(result.initial_margin / isolated.initial_margin):.3f}"
            if isolated is not None and isolated.initial_margin > 0
            else "-"
        )
        table.add_row(
            result.model,
            _money(result.initial_margin),
            _money(result.maintenance_margin),
            _money(result.equity),
            f"{result.margin_ratio:.2%}",
            ratio,
        )
    console.print(table)
    console.print()
