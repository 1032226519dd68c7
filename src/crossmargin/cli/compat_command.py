"""``crossmargin compat derive-pmrm CASE.json [--json]``: other venues' engines on their own cases.

A thin shell: read the case file, evaluate it with :mod:`crossmargin.compat.derive_pmrm`, render
the initial and maintenance margin balances, the worst scenario and each contingency (``--json``:
the mapping :func:`~crossmargin.compat.derive_pmrm.evaluation_to_dict` describes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from crossmargin.cli.render import make_console
from crossmargin.compat.derive_pmrm import evaluate_case
from crossmargin.core.errors import CrossmarginError, InputError

__all__ = ["compat_app", "derive_pmrm_command", "read_case"]

compat_app = typer.Typer(
    help="Reproduce other venues' margin engines on their own case files.",
    no_args_is_help=True,
    add_completion=False,
)


def read_case(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`InputError` naming the file otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError("case", str(path), error.strerror or "cannot be read") from None
    except json.JSONDecodeError as error:
        raise InputError("case", str(path), f"is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError("case", str(path), "must hold a JSON object")
    return document


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _render(console: Console, name: str, result: dict[str, Any]) -> None:
    summary = Table(title=f"Derive PMRM — {name}", show_header=False)
    summary.add_column("item")
    summary.add_column("value", justify="right")
    summary.add_row("initial margin balance (IM)", _money(result["im"]))
    summary.add_row("maintenance margin balance (MM)", _money(result["mm"]))
    summary.add_row("mark-to-market", _money(result["mtm"]))
    summary.add_row("max loss", _money(result["max_loss"]))
    summary.add_row(
        "IM / MM loss factors", f"{result['im_loss_factor']:g} / {result['mm_loss_factor']:g}"
    )
    worst = result["worst_scenario"]
    summary.add_row("worst scenario", f"{worst['label']} ({worst['class']})")
    console.print(summary)
    contingencies = Table(title="Contingencies (taken off the balances)")
    contingencies.add_column("contingency")
    contingencies.add_column("amount", justify="right")
    for key, value in result["contingencies"].items():
        contingencies.add_row(key, _money(value))
    console.print(contingencies)
    scenarios = Table(title="Scenario P&L (as counted)")
    for column in ("#", "scenario", "class", "P&L"):
        scenarios.add_column(column, justify="right" if column in ("#", "P&L") else "left")
    for row in result["scenarios"]:
        scenarios.add_row(str(row["index"]), row["label"], row["class"], _money(row["pnl"]))
    console.print(scenarios)
    for note in result["notes"]:
        console.print(f"note: {note}", highlight=False)


@compat_app.command("derive-pmrm")
def derive_pmrm_command(
    case: Annotated[Path, typer.Argument(help="Derive PMRM case file (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Margin balances of a Derive PMRM case: IM, MM, worst scenario and every contingency."""
    try:
        result = evaluate_case(read_case(case))
    except CrossmarginError as error:
        make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    _render(make_console(), case.name, result)
