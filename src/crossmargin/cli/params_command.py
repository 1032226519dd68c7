"""``crossmargin params history``: the dynamic parameter path over real history, per APC tool.

Thin shell: locate the shared data (:mod:`crossmargin.shared_data`), load the daily history, call
:func:`crossmargin.riskparams.procyclicality_table`, then write a CSV and a PNG (matplotlib, Agg:
no window, no network) and print the procyclicality table.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import typer
from numpy.typing import NDArray
from rich.table import Table

from crossmargin.cli.render import make_console
from crossmargin.collateral.dynamic_schedule import load_dynamic_collateral
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.market.history import load_market_history
from crossmargin.riskparams import (
    DEFAULT_NOTIONAL_USD,
    ProcyclicalityRow,
    comparison_tools,
    load_dynamic_parameters,
    procyclicality_table,
)
from crossmargin.shared_data import shared_data_dir

__all__ = ["params_app", "write_history_csv", "write_history_plot"]

params_app = typer.Typer(
    help="Dynamic risk parameters over real history.", no_args_is_help=True, add_completion=False
)


def write_history_csv(
    rows: tuple[ProcyclicalityRow, ...], dvol_pct: NDArray[np.float64], path: Path
) -> None:
    """One line per day: close, DVOL, the ten-year vol, then per tool its driver, price range, vol
    shocks, haircut and the fixed portfolio's margin (USD)."""
    first = rows[0].path
    header = ["date", "close_usd", "dvol_pct", "ten_year_vol_annual"]
    for row in rows:
        header += [
            f"{row.slug}_vol_annual",
            f"{row.slug}_price_range",
            f"{row.slug}_vol_range_up",
            f"{row.slug}_vol_range_down",
            f"{row.slug}_haircut",
            f"{row.slug}_margin_usd",
        ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for k, day in enumerate(first.dates):
            line = [str(day), f"{first.close_usd[k]:.2f}", f"{dvol_pct[k]:.2f}"]
            line.append(f"{first.long_vol_annual[k]:.6f}")
            for row in rows:
                p = row.path.parameters
                cut = np.nan if p.haircut is None else p.haircut[k]
                line += [
                    f"{p.vol_annual[k]:.6f}",
                    f"{p.price_range[k]:.6f}",
                    f"{p.vol_range_up[k]:.6f}",
                    f"{p.vol_range_down[k]:.6f}",
                    f"{cut:.6f}",
                    f"{row.path.margin_usd[k]:.2f}",
                ]
            writer.writerow(line)


def write_history_plot(
    rows: tuple[ProcyclicalityRow, ...], dvol_pct: NDArray[np.float64], path: Path
) -> None:
    """Two panels on one time axis: DVOL (and the ten-year realised vol) above, the fixed
    portfolio's margin per tool below."""
    first = rows[0].path
    days = first.dates.astype("datetime64[D]").astype(object)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=(1, 2))
    top.plot(days, dvol_pct, color="black", linewidth=0.9, label=f"{first.asset} DVOL (%)")
    top.plot(
        days,
        100 * first.long_vol_annual,
        color="grey",
        linestyle="--",
        linewidth=0.9,
        label="10-year realised vol (%)",
    )
    top.set_ylabel("vol, % a year")
    top.legend(loc="upper right", fontsize=8)
    top.grid(alpha=0.3)
    for row in rows:
        bottom.plot(days, row.path.margin_usd / 1000.0, linewidth=0.9, label=row.label)
    notional = DEFAULT_NOTIONAL_USD / 1e6
    bottom.set_ylabel(f"margin on ${notional:g}M delta-one, k USD")
    bottom.legend(loc="upper right", fontsize=8, ncol=2)
    bottom.grid(alpha=0.3)
    figure.suptitle(
        f"{first.asset}: dynamic price range (∝ DVOL, floor and cap) under each APC tool"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)


def _table(rows: tuple[ProcyclicalityRow, ...]) -> Table:
    table = Table(title="Procyclicality (fixed $1M delta-one portfolio)")
    for name in ("tool", "peak/trough", "max 1-day rise", "max 5-day rise", "mean margin USD"):
        table.add_column(name, justify="left" if name == "tool" else "right")
    for row in rows:
        m = row.measures
        table.add_row(
            row.label,
            f"{m.peak_to_trough:.2f}",
            f"{m.max_increase_1d:+.1%}",
            f"{m.max_increase_5d:+.1%}",
            f"{m.mean_margin_usd:,.0f}",
        )
    return table


@params_app.command("history")
def history_command(
    asset: Annotated[
        str, typer.Option("--asset", help="Underlying with DVOL: BTC or ETH.")
    ] = "BTC",
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")] = "2021-03-24",
    out: Annotated[Path, typer.Option("--out", help="Directory for the CSV and PNG.")] = Path("."),
    max_daily_rise: Annotated[
        float,
        typer.Option("--max-daily-rise", help="Daily cap compared in the table (0.1 = 10 %)."),
    ] = 0.10,
) -> None:
    """Parameter path and procyclicality per APC tool: writes params_history_<ASSET>.csv/.png."""
    console = make_console()
    try:
        try:
            first_day = date.fromisoformat(start)
        except ValueError:
            raise InputError("--from", start, "is not a date YYYY-MM-DD") from None
        history = load_market_history(shared_data_dir())
        config = load_dynamic_parameters()
        schedule = load_dynamic_collateral()
        haircut = schedule.assets.get(asset)
        tools = comparison_tools(config.apc, max_daily_rise)
        rows = procyclicality_table(history, asset, first_day, config, tools, haircut=haircut)
        index = history.day_index(date.fromisoformat(str(rows[0].path.dates[0])))
        dvol = history.dvol_pct[asset][index : index + rows[0].path.dates.shape[0]]
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / f"params_history_{asset}.csv"
        png_path = out / f"params_history_{asset}.png"
        write_history_csv(rows, dvol, csv_path)
        write_history_plot(rows, dvol, png_path)
    except CrossmarginError as error:
        make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    console.print(_table(rows))
    console.print(f"wrote {csv_path} and {png_path}", highlight=False)
