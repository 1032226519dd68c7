"""`crossmargin value` tables in trader units: the top positions, a total over all of them.

Positions are sorted by |mark value| (largest first) and cut at ``--top``; the totals row sums
*every* position. Greeks read as on a venue's screen: delta in USD, gamma as the USD change of
delta for a 1 % rise of the index (Γ·S²/100), vega per vol point (USD per 0.01 of vol), theta per
calendar day (USD, negative for a long option) and each option's implied vol. ``--json`` keeps
the library's explicit-unit names (``delta_coin``, ``vega_usd_per_vol``, ...).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from crossmargin.cli.positions_view import DAYS_PER_YEAR, VOL_POINTS
from crossmargin.instruments import InstrumentKind
from crossmargin.portfolio import PortfolioValuation

__all__ = ["TRADER_HEADERS", "ranked_by_value", "render_valuation_positions"]

#: Column headers of the positions table, units spelled out.
TRADER_HEADERS = (
    "instrument", "size", "value", "value USD", "IV", "delta USD", "gamma USD/1%",
    "vega USD/vol pt", "theta USD/day",
)  # fmt: skip


def _column(valuation: PortfolioValuation, name: str) -> NDArray[np.float64]:
    rows = valuation.positions
    return np.fromiter((getattr(r, name) for r in rows), dtype=np.float64, count=len(rows))


def ranked_by_value(valuation: PortfolioValuation, top: int) -> list[int]:
    """Indices of the ``top`` positions with the largest |mark value| (USD), largest first; all
    of them when ``top`` ≤ 0. Ties keep file order."""
    order = np.argsort(-np.abs(_column(valuation, "mark_value_usd")), kind="stable")
    return [int(i) for i in (order if top <= 0 else order[:top])]


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _implied_vol(valuation: PortfolioValuation, i: int) -> str:
    arrays = valuation.arrays
    if arrays.instruments[i].kind is not InstrumentKind.OPTION:
        return ""
    return f"{float(arrays.vol_annual[i]):.1%}"


def render_valuation_positions(
    console: Console, name: str, valuation: PortfolioValuation, top: int
) -> None:
    """Print the ``top`` positions by |mark value| (all when ``top`` ≤ 0) in trader units, then
    a bold row of totals over every position (value, delta, gamma, vega, theta in USD)."""
    rows = valuation.positions
    shown = ranked_by_value(valuation, top)
    index = valuation.arrays.index_usd
    more = ", --top 0 for all" if len(shown) < len(rows) else ""
    table = Table(
        title=f"{name}: positions by |value| ({len(shown):,} of {len(rows):,}{more})",
        title_justify="left",
    )
    for header in TRADER_HEADERS:
        table.add_column(header, justify="left" if header == "instrument" else "right")
    for i in shown:
        row = rows[i]
        table.add_row(
            row.instrument,
            f"{row.size:,.4g}",
            f"{row.mark_value_settlement:,.6f} {row.settlement_currency}",
            _money(row.mark_value_usd),
            _implied_vol(valuation, i),
            _money(row.delta_usd),
            _money(row.gamma_coin_per_usd * float(index[i]) ** 2 / 100.0),
            _money(row.vega_usd_per_vol / VOL_POINTS),
            _money(row.theta_usd_per_year / DAYS_PER_YEAR),
        )
    if rows:
        gamma = _column(valuation, "gamma_coin_per_usd")
        table.add_row(
            f"total, all {len(rows):,} positions",
            "",
            "",
            _money(float(_column(valuation, "mark_value_usd").sum())),
            "",
            _money(float(_column(valuation, "delta_usd").sum())),
            _money(float(np.sum(gamma * index * index)) / 100.0),
            _money(float(_column(valuation, "vega_usd_per_vol").sum()) / VOL_POINTS),
            _money(float(_column(valuation, "theta_usd_per_year").sum()) / DAYS_PER_YEAR),
            style="bold",
        )
    console.print(table)
