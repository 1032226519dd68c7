"""Positions in trader units, largest contribution first, and the portfolio's Greek totals.

Tables show what a trader reads on a venue's screen: delta in USD, gamma as the USD change of
delta for a 1 % move, vega per vol point, theta per day and each option's implied vol. ``--json``
keeps the explicit-unit names of the library (``delta_coin``, ``vega_usd_per_vol``, ...).

Ranking and totals are numpy over every position, so a book of a million positions prints its
top rows and totals in a fraction of the time its margin took; only the rows shown are formatted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from crossmargin.core.errors import CrossmarginError
from crossmargin.instruments import InstrumentKind
from crossmargin.margin.result import PositionMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = [
    "DAYS_PER_YEAR",
    "VOL_POINTS",
    "GreekTotals",
    "greek_totals",
    "ranked_positions",
    "render_positions",
]

#: Calendar days per year of ``theta_usd_per_year`` (ACT/365).
DAYS_PER_YEAR = 365.0

#: Vol points per 1.00 of annual vol (vega per vol point = vega_usd_per_vol / 100).
VOL_POINTS = 100.0


@dataclass(frozen=True, slots=True)
class GreekTotals:
    """The portfolio's Greeks in USD, summed over every position.

    ``gamma_usd_per_pct`` is the change of ``delta_usd`` for a 1 % rise of each underlying,
    Σ Γ·S²/100; ``vega_usd_per_vol_point`` is per 0.01 of annual vol; ``theta_usd_per_day`` per
    calendar day (negative for long options).
    """

    delta_usd: float
    gamma_usd_per_pct: float
    vega_usd_per_vol_point: float
    theta_usd_per_day: float


def _column(rows: Sequence[PositionMargin], name: str) -> NDArray[np.float64]:
    return np.fromiter((getattr(row, name) for row in rows), dtype=np.float64, count=len(rows))


def ranked_positions(rows: Sequence[PositionMargin], top: int) -> list[int]:
    """Indices of the ``top`` positions with the largest contribution to the requirement in
    absolute value (a large hedge shows as well as a large risk), largest first; all of them
    when ``top`` ≤ 0. Ties keep file order."""
    contributions = np.abs(_column(rows, "contribution_usd"))
    order = np.argsort(-contributions, kind="stable")
    return [int(i) for i in (order if top <= 0 else order[:top])]


def _index_per_position(portfolio: Portfolio, market: MarketSnapshot) -> NDArray[np.float64]:
    prices = {asset: market.index(asset) for asset in portfolio.underlyings}
    return np.array([prices[p.instrument.underlying] for p in portfolio.positions], np.float64)


def greek_totals(
    rows: Sequence[PositionMargin], portfolio: Portfolio, market: MarketSnapshot
) -> GreekTotals:
    """Σ of every position's Greeks in trader units (USD), see :class:`GreekTotals`."""
    index = _index_per_position(portfolio, market)
    gamma = _column(rows, "gamma_coin_per_usd")
    return GreekTotals(
        delta_usd=float(_column(rows, "delta_usd").sum()),
        gamma_usd_per_pct=float(np.sum(gamma * index * index) / 100.0),
        vega_usd_per_vol_point=float(_column(rows, "vega_usd_per_vol").sum() / VOL_POINTS),
        theta_usd_per_day=float(_column(rows, "theta_usd_per_year").sum() / DAYS_PER_YEAR),
    )


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _implied_vol(portfolio: Portfolio, market: MarketSnapshot, position: int) -> str:
    instrument = portfolio.positions[position].instrument
    if instrument.kind is not InstrumentKind.OPTION or instrument.expiry is None:
        return ""
    try:
        vol = market.vol(instrument.underlying, instrument.expiry, float(instrument.strike or 0))
    except CrossmarginError:
        return "?"
    return f"{vol:.1%}"


def render_positions(
    console: Console,
    rows: Sequence[PositionMargin],
    portfolio: Portfolio,
    market: MarketSnapshot,
    top: int,
    initial_margin: float,
) -> None:
    """Print the ``top`` positions by |contribution| (all when ``top`` ≤ 0) in trader units,
    then the Greek totals over *every* position."""
    shown = ranked_positions(rows, top)
    same_book = len(rows) == len(portfolio.positions)
    index = _index_per_position(portfolio, market) if same_book else None
    title = f"positions by contribution ({len(shown):,} of {len(rows):,}" + (
        ", --top 0 for all)" if len(shown) < len(rows) else ")"
    )
    table = Table(title=title, title_justify="left")
    headers = (
        "instrument", "size", "value USD", "IV", "delta USD", "gamma USD/1%",
        "vega USD/vol pt", "theta USD/day", "contribution USD", "of IM",
    )  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "instrument" else "right")
    for i in shown:
        row = rows[i]
        gamma_pct = "" if index is None else _money(row.gamma_coin_per_usd * index[i] ** 2 / 100)
        share = f"{row.contribution_usd / initial_margin:.1%}" if initial_margin > 0 else "-"
        table.add_row(
            row.instrument,
            f"{row.size:,.4g}",
            _money(row.mark_value_usd),
            _implied_vol(portfolio, market, i) if same_book else "",
            _money(row.delta_usd),
            gamma_pct,
            _money(row.vega_usd_per_vol / VOL_POINTS),
            _money(row.theta_usd_per_year / DAYS_PER_YEAR),
            _money(row.contribution_usd),
            share,
        )
    if same_book and rows:
        totals = greek_totals(rows, portfolio, market)
        table.add_row(
            f"total, all {len(rows):,} positions",
            "",
            _money(float(_column(rows, "mark_value_usd").sum())),
            "",
            _money(totals.delta_usd),
            _money(totals.gamma_usd_per_pct),
            _money(totals.vega_usd_per_vol_point),
            _money(totals.theta_usd_per_day),
            _money(float(_column(rows, "contribution_usd").sum())),
            "",
            style="bold",
        )
    console.print(table)
