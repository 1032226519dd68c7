"""Plots of a backtest run (matplotlib, Agg backend: no window, no network, PNG files only)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from crossmargin.backtest.measures import STRESS_DAYS
from crossmargin.backtest.run import BacktestRun, BookPath

__all__ = ["plot_book"]


def plot_book(run: BacktestRun, book: BookPath, path: Path, dpi: int = 100) -> None:
    """Write one PNG for ``book``: above, its first underlying's index (USD per coin, log scale)
    and vol (% a year); below, each model's initial margin (USD) through time with the loss over
    the horizon (USD, positive a loss) in grey, exceptions (loss > margin) marked ×, and the stress
    days as dotted lines."""
    asset = book.assets[0]
    times = run.path.moments[book.moments].astype("datetime64[s]").astype(object)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=(1, 2))
    top.plot(times, run.path.index_usd[asset][book.moments], color="black", linewidth=0.8)
    top.set_yscale("log")
    top.set_ylabel(f"{asset} index, USD")
    vol_axis = top.twinx()
    vol = 100.0 * run.path.vol_annual[asset][book.moments]
    vol_axis.plot(times, vol, color="tab:purple", linewidth=0.7, alpha=0.8)
    vol_axis.set_ylabel(f"{asset} vol, % a year (DVOL)", color="tab:purple")
    top.grid(alpha=0.3)
    loss = -book.pnl_usd
    bottom.plot(
        times,
        np.where(loss > 0, loss, np.nan),
        color="grey",
        linewidth=0.6,
        label=f"loss over {run.horizon_days} d",
    )
    for model in run.models:
        margin = book.initial_margin_usd[model]
        (line,) = bottom.plot(times, margin, linewidth=0.9, label=model)
        hits = np.flatnonzero(book.exceptions(model))
        if hits.size:
            bottom.plot(
                [times[i] for i in hits],
                margin[hits],
                linestyle="none",
                marker="x",
                markersize=5,
                color=line.get_color(),
            )
    bottom.set_yscale("symlog", linthresh=max(1.0, float(np.nanmax(book.gross_notional_usd)) / 1e3))
    bottom.set_ylabel("initial margin / loss, USD")
    bottom.legend(loc="upper left", fontsize=8, ncol=4)
    bottom.grid(alpha=0.3)
    first, last = times[0], times[-1]
    for day in STRESS_DAYS:
        if _within(day, first.date(), last.date()):
            for axis in (top, bottom):
                axis.axvline(np.datetime64(day, "D").astype(object), color="red", linestyle=":")
    figure.suptitle(f"{book.name}: margin by model ({run.path.bars.value} bars); × = exception")
    figure.tight_layout()
    figure.savefig(path, dpi=dpi, metadata={"Software": None})
    plt.close(figure)


def _within(day: date, first: date, last: date) -> bool:
    return first <= day <= last
