"""The scenario picture of a result: P&L against the price move, one curve per vol shock.

:func:`scenario_curves` reads a result's scenarios (no repricing: the points are the P&L the model
counted) into curves; :func:`render_scenario_grid` prints them compactly in the terminal (a row
per vol shock, a column per price move, the worst cell marked) and :mod:`crossmargin.cli.plot`
draws them into an image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table

from crossmargin.margin.result import MarginResult, ScenarioPnl

__all__ = [
    "EXTENDED_SUFFIX",
    "ScenarioCurve",
    "is_tail_scenario",
    "render_scenario_grid",
    "scenario_curves",
    "vol_shock_label",
]


@dataclass(frozen=True, slots=True)
class ScenarioCurve:
    """The P&L of one underlying's scenarios that share one vol shock.

    ``price_moves`` (relative, 0.1 = +10 %) are sorted; ``pnl_usd`` is the counted P&L at each
    (negative is a loss; the worst where a move appears twice).
    """

    underlying: str
    vol_label: str
    price_moves: tuple[float, ...]
    pnl_usd: tuple[float, ...]


#: Appended to the vol label of a curve of tail scenarios (counted at a fraction of their P&L).
EXTENDED_SUFFIX = " (extended, as counted)"


def is_tail_scenario(scenario: ScenarioPnl) -> bool:
    """Whether a scenario is a tail scenario counted at a weight (pm's "(extended)" moves,
    SPAN's "extreme" 15–16), read off its label; such points are drawn apart from the grid."""
    label = scenario.label.lower()
    return "extended" in label or "extreme" in label


def vol_shock_label(shock: float | Mapping[str, float]) -> str:
    """``"vol +25.4 pts"``, ``"vol unchanged"`` or ``"vol +12.1 to +25.4 pts by expiry"``."""
    if isinstance(shock, int | float):
        return "vol unchanged" if shock == 0.0 else f"vol {shock * 100:+.1f} pts"
    shifts = sorted(float(value) for value in shock.values())
    if not shifts or shifts[0] == shifts[-1]:
        return vol_shock_label(shifts[0] if shifts else 0.0)
    return f"vol {shifts[0] * 100:+.1f} to {shifts[-1] * 100:+.1f} pts by expiry"


def scenario_curves(result: MarginResult) -> list[ScenarioCurve]:
    """The result's scenarios as curves, by underlying then by vol shock (in order of first
    appearance). Historical scenarios that move every asset at once (underlying ``"*"``) form
    one curve against the move they record."""
    points: dict[tuple[str, str], dict[float, float]] = {}
    for scenario in result.scenarios:
        label = vol_shock_label(scenario.vol_shock)
        if is_tail_scenario(scenario):
            label += EXTENDED_SUFFIX
        key = (scenario.underlying, label)
        curve = points.setdefault(key, {})
        move = float(scenario.price_move)
        curve[move] = min(curve.get(move, scenario.pnl_usd), scenario.pnl_usd)
    curves = []
    for (underlying, label), by_move in points.items():
        moves = tuple(sorted(by_move))
        curves.append(ScenarioCurve(underlying, label, moves, tuple(by_move[m] for m in moves)))
    return curves


def _thousands(value: float) -> str:
    return f"{value / 1000:+,.1f}k" if abs(value) >= 1000 else f"{value:+,.0f}"


def _is_worst(worst: ScenarioPnl | None, curve: ScenarioCurve, move: float, pnl: float) -> bool:
    return (
        worst is not None
        and worst.underlying == curve.underlying
        and curve.vol_label.startswith(vol_shock_label(worst.vol_shock))
        and worst.price_move == move
        and worst.pnl_usd == pnl
    )


def _cell(worst: ScenarioPnl | None, curve: ScenarioCurve, move: float, pnl: float | None) -> str:
    if pnl is None:
        return ""
    text = _thousands(pnl)
    if _is_worst(worst, curve, move, pnl):
        return f"[bold red]{text}◆[/bold red]"
    return f"[red]{text}[/red]" if pnl < 0 else text


def render_scenario_grid(console: Console, result: MarginResult, max_columns: int = 17) -> None:
    """Print each underlying's scenario P&L as a grid (vol shocks × price moves, USD; the worst
    cell in bold red), and the margin line; nothing for a model without scenarios. Historical
    scenario sets (more price moves than ``max_columns``) print their worst few instead."""
    curves = [c for c in scenario_curves(result) if c.price_moves]
    worst = result.worst_scenario
    for underlying in dict.fromkeys(c.underlying for c in curves):
        own = [c for c in curves if c.underlying == underlying]
        grid = [c for c in own if not c.vol_label.endswith(EXTENDED_SUFFIX)]
        moves = sorted({m for c in grid for m in c.price_moves})
        if len(moves) > max_columns:
            pnl = sorted(p for c in own for p in c.pnl_usd)
            console.print(
                f"{underlying} scenarios: {len(pnl):,}; worst five P&L USD: "
                + ", ".join(f"{p:,.0f}" for p in pnl[:5]),
                highlight=False,
            )
            continue
        title = f"scenario P&L, {underlying if underlying != '*' else 'all assets'} (USD)"
        table = Table(title=title, title_justify="left", box=box.SIMPLE, padding=(0, 1))
        table.add_column("vol shock \\ price", no_wrap=True)
        for move in moves:
            table.add_column(f"{move * 100:+.4g}%" if move else "0%", justify="right", no_wrap=True)
        for curve in grid:
            cells = dict(zip(curve.price_moves, curve.pnl_usd, strict=True))
            table.add_row(curve.vol_label, *(_cell(worst, curve, m, cells.get(m)) for m in moves))
        console.print(table)
        for curve in own:
            if curve.vol_label.endswith(EXTENDED_SUFFIX):
                points = zip(curve.price_moves, curve.pnl_usd, strict=True)
                console.print(
                    f"  {curve.vol_label}: "
                    + ", ".join(f"{m * 100:+.4g}% {_cell(worst, curve, m, p)}" for m, p in points)
                )
    if curves:
        console.print(
            f"margin line: IM {float(result.initial_margin):,.2f} USD (a loss of -IM); "
            "◆ = worst scenario; --plot FILE.png draws it",
            highlight=False,
        )
