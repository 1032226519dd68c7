"""Rendering of library results for people (rich tables) and machines (JSON)."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from crossmargin.portfolio import PortfolioValuation

__all__ = ["make_console", "render_valuation", "valuation_to_json"]


def make_console(stderr: bool = False) -> Console:
    """A console that keeps wide tables readable when output is piped (160 columns, not 80)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def _money(value: float | Decimal, digits: int = 2) -> str:
    return f"{float(value):,.{digits}f}"


def valuation_to_json(name: str, valuation: PortfolioValuation) -> dict[str, Any]:
    """A JSON-ready dict of a valuation; money as decimal strings, risk numbers as floats."""
    return {
        "name": name,
        "currency": "USD",
        "equity_usd": str(valuation.equity_usd),
        "positions_value_usd": str(valuation.positions_value_usd),
        "collateral_value_usd": str(valuation.collateral.value_usd),
        "collateral_gross_usd": str(valuation.collateral.gross_usd),
        "positions": [
            {
                "instrument": row.instrument,
                "size": row.size,
                "mark_value": row.mark_value_settlement,
                "mark_currency": row.settlement_currency,
                "mark_value_usd": row.mark_value_usd,
                "delta_coin": row.delta_coin,
                "delta_usd": row.delta_usd,
                "gamma": row.gamma,
                "vega": row.vega,
                "theta": row.theta,
            }
            for row in valuation.positions
        ],
        "underlyings": [
            {
                "underlying": risk.underlying,
                "index_usd": risk.index_usd,
                "mark_value_usd": risk.mark_value_usd,
                "delta_coin": risk.delta_coin,
                "delta_usd": risk.delta_usd,
                "gamma": risk.gamma,
                "vega": risk.vega,
                "theta": risk.theta,
            }
            for risk in valuation.underlyings
        ],
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


def render_valuation(console: Console, name: str, valuation: PortfolioValuation) -> None:
    """Print the positions, per-underlying totals and collateral of one valuation as tables."""
    positions = Table(title=f"{name}: positions", title_justify="left")
    for header in (
        "instrument",
        "size",
        "mark",
        "mark USD",
        "delta (coin)",
        "delta USD",
        "gamma",
        "vega",
        "theta/yr",
    ):
        positions.add_column(header, justify="left" if header == "instrument" else "right")
    for row in valuation.positions:
        positions.add_row(
            row.instrument,
            f"{row.size:,.4g}",
            f"{row.mark_value_settlement:,.6f} {row.settlement_currency}",
            _money(row.mark_value_usd),
            f"{row.delta_coin:,.4f}",
            _money(row.delta_usd),
            f"{row.gamma:.3e}",
            _money(row.vega),
            _money(row.theta),
        )
    console.print(positions)
    totals = Table(title=f"{name}: risk per underlying", title_justify="left")
    for header in (
        "underlying",
        "index USD",
        "mark USD",
        "delta (coin)",
        "delta USD",
        "gamma",
        "vega",
        "theta/yr",
    ):
        totals.add_column(header, justify="left" if header == "underlying" else "right")
    for risk in valuation.underlyings:
        totals.add_row(
            risk.underlying,
            _money(risk.index_usd),
            _money(risk.mark_value_usd),
            f"{risk.delta_coin:,.4f}",
            _money(risk.delta_usd),
            f"{risk.gamma:.3e}",
            _money(risk.vega),
            _money(risk.theta),
        )
    console.print(totals)
    collateral = Table(title=f"{name}: collateral", title_justify="left")
    for header in ("currency", "balance", "price USD", "haircut", "gross USD", "value USD"):
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
