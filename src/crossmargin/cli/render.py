"""Rendering of library results for people (rich tables) and machines (JSON)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from crossmargin.cli.positions_view import DAYS_PER_YEAR, VOL_POINTS
from crossmargin.cli.valuation_view import render_valuation_positions
from crossmargin.portfolio import PortfolioValuation

__all__ = ["GREEK_COLUMNS", "make_console", "render_valuation", "valuation_to_json"]

#: Greek columns of every position table, headed by the field names (README, "Conventions").
GREEK_COLUMNS = (
    "delta_coin",
    "delta_usd",
    "gamma_coin_per_usd",
    "vega_usd_per_vol",
    "theta_usd_per_year",
)


#: Greek columns of the per-underlying table, in trader units.
UNDERLYING_HEADERS = (
    "delta coin",
    "delta USD",
    "gamma USD/1%",
    "vega USD/vol pt",
    "theta USD/day",
)


def make_console(stderr: bool = False) -> Console:
    """A console that keeps wide tables readable when output is piped (160 columns, not 80)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def _money(value: float | Decimal, digits: int = 2) -> str:
    return f"{float(value):,.{digits}f}"


def valuation_to_json(
    name: str, valuation: PortfolioValuation, shown: Sequence[int] | None = None
) -> dict[str, Any]:
    """A JSON-ready dict of a valuation (``crossmargin value --json``).

    Ledger amounts (equity, collateral) are decimal strings in USD; risk numbers are floats. A
    position or underlying is its :class:`~crossmargin.portfolio.PositionValuation` or
    :class:`~crossmargin.portfolio.UnderlyingRisk` field for field, so keys are the attribute
    names, each ending in its unit (README, "Conventions"); a collateral line's ``balance`` is in
    its ``currency`` and ``haircut`` is a fraction (0.1 = 10 %). ``shown`` picks and orders the
    positions written (indices, e.g. the top by |mark value|), all in file order when ``None``;
    ``positions_total`` counts them all.
    """
    rows = valuation.positions
    picked = rows if shown is None else [rows[i] for i in shown]
    return {
        "name": name,
        "currency": "USD",
        "equity_usd": str(valuation.equity_usd),
        "positions_value_usd": str(valuation.positions_value_usd),
        "collateral_value_usd": str(valuation.collateral.value_usd),
        "collateral_gross_usd": str(valuation.collateral.gross_usd),
        "positions": [dataclasses.asdict(row) for row in picked],
        "positions_total": len(rows),
        "underlyings": [dataclasses.asdict(risk) for risk in valuation.underlyings],
        "collateral": [
            {
                "currency": line.currency,
                "balance": str(line.balance),
                "price_usd": line.price_usd,
                "haircut": line.haircut,
                "gross_usd": str(line.gross_usd),
                "value_usd": str(line.value_usd),
            }
            for line in valuation.collateral.lines
        ],
    }


def render_valuation(
    console: Console, name: str, valuation: PortfolioValuation, top: int = 20
) -> None:
    """Print one valuation as tables: the ``top`` positions by |mark value| (all when ``top`` ≤ 0)
    in trader units with a total over every position, per-underlying risk (USD; vega per vol
    point, theta per day) and the collateral."""
    render_valuation_positions(console, name, valuation, top)
    totals = Table(title=f"{name}: risk per underlying (USD)", title_justify="left")
    for header in ("underlying", "index", "value", *UNDERLYING_HEADERS):
        totals.add_column(header, justify="left" if header == "underlying" else "right")
    for risk in valuation.underlyings:
        totals.add_row(
            risk.underlying,
            _money(risk.index_usd),
            _money(risk.mark_value_usd),
            f"{risk.delta_coin:,.4f}",
            _money(risk.delta_usd),
            _money(risk.gamma_coin_per_usd * risk.index_usd**2 / 100.0),
            _money(risk.vega_usd_per_vol / VOL_POINTS),
            _money(risk.theta_usd_per_year / DAYS_PER_YEAR),
        )
    console.print(totals)
    collateral = Table(title=f"{name}: collateral", title_justify="left")
    for header in ("currency", "balance", "price_usd", "haircut", "gross_usd", "value_usd"):
        collateral.add_column(header, justify="left" if header == "currency" else "right")
    for line in valuation.collateral.lines:
        collateral.add_row(
            line.currency,
            str(line.balance),
            _money(line.price_usd),
            f"{line.haircut:.1%}",
            _money(line.gross_usd),
            _money(line.value_usd),
        )
    collateral.add_row(
        "total",
        "",
        "",
        "",
        _money(valuation.collateral.gross_usd),
        _money(valuation.collateral.value_usd),
        style="bold",
    )
    console.print(collateral)
    console.print(
        f"[bold]{name}[/bold]: equity {_money(valuation.equity_usd)} USD = collateral "
        f"{_money(valuation.collateral.value_usd)} + positions "
        f"{_money(valuation.positions_value_usd)}\n"
    )
