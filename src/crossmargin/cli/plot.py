"""``crossmargin margin FILE --plot out.png``: the scenario picture as an image (matplotlib, Agg).

One panel per underlying: the counted P&L against the price move, one line per vol shock, the
margin line at −IM (a loss beyond it exceeds the requirement), and the worst scenario marked. No
window and no network: the Agg backend renders straight to the file, deterministically.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from crossmargin.cli.scenario_view import (
    EXTENDED_SUFFIX,
    scenario_curves,
    vol_shock_label,
)
from crossmargin.core.errors import InputError
from crossmargin.margin.result import MarginResult

__all__ = ["plot_scenarios"]

_SUFFIXES = frozenset({".png", ".svg", ".pdf"})


def plot_scenarios(result: MarginResult, title: str, path: Path) -> None:
    """Draw ``result``'s scenario P&L into ``path`` (``.png``, ``.svg`` or ``.pdf``).

    Parameters
    ----------
    result:
        A scenario model's result (``pm``, ``span``, ``var``, ``derive-pmrm``).
    title:
        The account's name, shown above the panels.
    path:
        The image file to write; its folder must exist.

    Raises
    ------
    InputError
        Naming ``--plot`` when the model has no scenarios, the suffix is not an image format, or
        the file cannot be written.
    """
    curves = [curve for curve in scenario_curves(result) if curve.price_moves]
    if not curves:
        raise InputError(
            "--plot",
            str(path),
            f"the {result.model} model has no scenarios to draw; use pm, span, var or derive-pmrm",
        )
    if path.suffix.lower() not in _SUFFIXES:
        raise InputError("--plot", str(path), "must end in .png, .svg or .pdf")
    underlyings = list(dict.fromkeys(curve.underlying for curve in curves))
    figure, axes = plt.subplots(
        1, len(underlyings), figsize=(6.4 * len(underlyings), 4.4), squeeze=False
    )
    worst = result.worst_scenario
    margin_line = -float(result.initial_margin)
    for axis, underlying in zip(axes[0], underlyings, strict=True):
        for curve in (c for c in curves if c.underlying == underlying):
            moves = [100.0 * move for move in curve.price_moves]
            if curve.vol_label.endswith(EXTENDED_SUFFIX):
                axis.scatter(moves, curve.pnl_usd, marker="x", s=28, label=curve.vol_label)
            else:
                axis.plot(moves, curve.pnl_usd, marker=".", linewidth=1.2, label=curve.vol_label)
        axis.set_xscale("symlog", linthresh=25.0)
        axis.axhline(margin_line, color="black", linestyle="--", linewidth=1.0)
        axis.annotate(
            f"−IM {margin_line:,.0f}",
            (0.01, margin_line),
            xycoords=("axes fraction", "data"),
            textcoords="offset points",
            xytext=(0, 4),
            fontsize=8,
        )
        axis.axhline(0.0, color="grey", linewidth=0.6)
        if worst is not None and worst.underlying == underlying:
            axis.plot(
                [100.0 * worst.price_move], [worst.pnl_usd], marker="o", markersize=10,
                markerfacecolor="none", markeredgecolor="red", markeredgewidth=2,
                label=f"worst: {100 * worst.price_move:+.4g}%, {vol_shock_label(worst.vol_shock)}",
            )  # fmt: skip
        axis.set_xlabel(
            f"{underlying if underlying != '*' else 'recorded'} price move (%, log beyond ±25 %)"
        )
        axis.set_ylabel("scenario P&L (USD)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle(f"{title}: {result.model} scenarios (IM {float(result.initial_margin):,.2f})")
    figure.tight_layout()
    try:
        figure.savefig(
            path, dpi=110, metadata={"Software": None} if path.suffix == ".png" else None
        )
    except OSError as error:
        raise InputError("--plot", str(path), error.strerror or "cannot be written") from None
    finally:
        plt.close(figure)
