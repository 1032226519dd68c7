"""``crossmargin span --risk-arrays FILE [--json]``: SPAN on external CME-style risk arrays.

A thin shell: load and validate the file (:mod:`crossmargin.compat.cme_risk_arrays`), compute the
requirement (:mod:`crossmargin.margin.span.arithmetic`), round the components up once, render.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from crossmargin.compat.cme_risk_arrays import SpanFile, load_span_file, span_file_requirement
from crossmargin.core.errors import CrossmarginError
from crossmargin.core.numeric import margin_to_decimal
from crossmargin.margin.span.arithmetic import COMPONENT_NAMES, SpanBreakdown, scenario_label

__all__ = ["span_command", "span_document"]

_DENOISE_DIGITS = 9


def _rounded(value: float, currency: str, field: str) -> Decimal:
    return margin_to_decimal(round(value, _DENOISE_DIGITS), _quantum_currency(currency), field)


def _quantum_currency(currency: str) -> str:
    return currency if currency in ("USD", "USDC", "USDT", "BTC", "ETH", "SOL") else "USD"


def span_document(span_file: SpanFile, breakdown: SpanBreakdown) -> dict[str, Any]:
    """The JSON-ready result: components rounded up to the currency quantum, as numbers.

    Keys: ``model``, ``currency``, ``scan_risk``, ``worst_scenario`` (1–16, of the combined
    commodity with the largest scan risk; null without positions), ``worst_scenario_label``,
    ``worst_combined_commodity``, ``components`` (adding up to ``initial_margin``),
    ``initial_margin``, ``maintenance_margin`` (IM / ratio), ``initial_to_maintenance_ratio``
    and ``combined_commodities`` (per commodity: its components, worst scenario and the 16
    scenario losses, loss positive).
    """
    currency = span_file.currency
    ratio = span_file.initial_to_maintenance_ratio
    components = {
        name: _rounded(value, currency, name) for name, value in breakdown.components().items()
    }
    maintenance = {
        name: _rounded(round(value, _DENOISE_DIGITS) / ratio, currency, name)
        for name, value in breakdown.components().items()
    }
    initial = sum(components.values(), Decimal(0))
    maintenance_total = min(sum(maintenance.values(), Decimal(0)), initial)
    worst = breakdown.worst
    return {
        "model": "span",
        "currency": currency,
        "scan_risk": float(components["scan_risk"]),
        "worst_scenario": None if worst is None else worst.worst_scenario,
        "worst_scenario_label": None if worst is None else scenario_label(worst.worst_scenario),
        "worst_combined_commodity": None if worst is None else worst.name,
        "components": {name: float(amount) for name, amount in components.items()},
        "initial_margin": float(initial),
        "maintenance_margin": float(maintenance_total),
        "initial_to_maintenance_ratio": ratio,
        "combined_commodities": [
            {
                "combined_commodity": commodity.name,
                "members": list(commodity.members),
                "worst_scenario": commodity.worst_scenario,
                **{
                    name: round(float(getattr(commodity, name)), _DENOISE_DIGITS)
                    for name in COMPONENT_NAMES
                },
                "short_option_minimum": commodity.short_option_minimum,
                "total": round(commodity.total, _DENOISE_DIGITS),
                "scenario_losses": [round(float(x), _DENOISE_DIGITS) for x in commodity.losses],
            }
            for commodity in breakdown.commodities
        ],
    }


def _render(console: Console, path: Path, document: dict[str, Any]) -> None:
    currency = document["currency"]
    table = Table(title=f"SPAN: {path.name}", title_justify="left")
    for header in (
        "combined commodity",
        "worst scenario",
        "scan risk",
        "intra spread",
        "inter credit",
        "SOM add-on",
        "total",
    ):
        table.add_column(header, justify="left" if header == "combined commodity" else "right")
    for row in document["combined_commodities"]:
        table.add_row(
            row["combined_commodity"],
            str(row["worst_scenario"]),
            f"{row['scan_risk']:,.2f}",
            f"{row['intra_spread_charge']:,.2f}",
            f"{row['inter_spread_credit']:,.2f}",
            f"{row['short_option_minimum_addon']:,.2f}",
            f"{row['total']:,.2f}",
        )
    console.print(table)
    if document["worst_scenario"] is not None:
        console.print(
            f"worst scenario {document['worst_scenario']} "
            f"({document['worst_combined_commodity']}): "
            f"{document['worst_scenario_label']}"
        )
    console.print(
        f"[bold]initial margin[/bold] {document['initial_margin']:,.2f} {currency}; "
        f"maintenance margin {document['maintenance_margin']:,.2f} {currency}"
    )


def span_command(
    risk_arrays: Annotated[
        Path,
        typer.Option(
            "--risk-arrays",
            help="JSON file of CME-style risk arrays and positions.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """SPAN margin of positions given as external risk arrays (CME convention: loss positive,
    per +1 unit, scenarios in CME order, 15-16 already at their cover fraction)."""
    try:
        span_file = load_span_file(risk_arrays)
        document = span_document(span_file, span_file_requirement(span_file))
    except CrossmarginError as error:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _render(Console(), risk_arrays, document)
