"""``crossmargin backtest``: margin models walked over real history, written as a report folder.

Thin shell: locate the shared data (:mod:`crossmargin.shared_data`), load the portfolio files and
any synthetic accounts (:func:`crossmargin.simulation.synthetic_book`, drawn with ``--seed``),
build the models (:func:`crossmargin.margin.registry.build_model`), then call
:func:`crossmargin.backtest.run_backtest`, :func:`~crossmargin.backtest.summarise`,
:func:`~crossmargin.backtest.stress_outcomes` and :func:`~crossmargin.backtest.write_report`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from crossmargin.backtest import (
    BacktestBook,
    BarLength,
    ModelSummary,
    daily_market_path,
    load_four_hour_market_path,
    run_backtest,
    stress_outcomes,
    summarise,
    write_report,
)
from crossmargin.cli.render import make_console
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.instruments import Instrument
from crossmargin.margin.registry import MODEL_NAMES, build_model
from crossmargin.margin.var import load_var_parameters
from crossmargin.market.history import load_market_history
from crossmargin.portfolio import Portfolio, Position, load_portfolio_file
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation import ACCOUNT_KINDS, synthetic_book

__all__ = ["backtest_command"]

#: ``--models`` aliases: the README calls the standard cross model "standard".
_ALIASES = {"standard": "cross"}
#: Default first day: every model has history by then (var needs a year of daily scenarios).
_DEFAULT_START = date(2019, 1, 1)
#: Moments above which the progress bar is shown.
_PROGRESS_FROM = 30
#: Instruments of the synthetic venue the accounts trade.
_SYNTHETIC_INSTRUMENTS = 120


def _models(text: str) -> list[str]:
    if text == "all":
        return list(MODEL_NAMES)
    names = [_ALIASES.get(part.strip(), part.strip()) for part in text.split(",") if part.strip()]
    for name in names:
        if name not in MODEL_NAMES:
            known = ", ".join([*MODEL_NAMES, *_ALIASES])
            raise InputError("--models", name, f"must be a comma list of {known}, or all")
    if not names:
        raise InputError("--models", text, "names no model")
    return list(dict.fromkeys(names))


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(option, text, "is not a date YYYY-MM-DD") from None


def _synthetic_books(
    count: int, seed: int, horizon_days: int, data_dir: Path
) -> list[BacktestBook]:
    """``count`` accounts of a synthetic venue, positions within ``horizon_days`` + 1 day of
    expiry dropped (they would expire inside the first loss window)."""
    book = synthetic_book(
        count, _SYNTHETIC_INSTRUMENTS, seed, data_dir=data_dir, positions_per_account=3.0
    )
    cutoff = book.market.valuation_time + timedelta(days=horizon_days + 1)
    books = []
    for account in range(book.account_count):
        rows = np.flatnonzero(book.account_index == account)
        held: list[Position] = []
        for row in rows:
            instrument: Instrument = book.instruments[int(book.instrument_index[row])]
            if instrument.expiry is None or instrument.expiry > cutoff:
                held.append(Position(instrument, float(book.size[row])))
        if not held:
            continue
        portfolio = Portfolio.of(held, {"USDC": f"{book.collateral_usd[account]:.2f}"})
        kind = ACCOUNT_KINDS[int(book.account_kind[account])]
        books.append(BacktestBook(f"synthetic-{seed}-{account}-{kind}", portfolio, book.market))
    return books


def _table(summaries: tuple[ModelSummary, ...]) -> Table:
    table = Table(title="Margin backtest (coverage tests on non-overlapping windows)")
    for name in (
        "portfolio",
        "model",
        "exceptions",
        "zone",
        "Kupiec p",
        "mean IM USD",
        "IM/notional",
    ):
        table.add_column(
            name, justify="left" if name in ("portfolio", "model", "zone") else "right"
        )
    for s in summaries:
        table.add_row(
            s.portfolio,
            s.model,
            f"{s.exceptions}/{s.windows}",
            s.light.zone.value if s.light else "-",
            f"{s.kupiec.p_value:.3f}" if s.kupiec else "-",
            f"{s.mean_margin_usd:,.0f}",
            f"{s.efficiency:.2%}",
        )
    return table


def backtest_command(
    portfolios: Annotated[
        list[Path] | None, typer.Argument(help="Portfolio files (.toml or .json).")
    ] = None,
    models: Annotated[
        str, typer.Option("--models", help="Comma list of models (pm,span,var,...) or all.")
    ] = "all",
    bars: Annotated[str, typer.Option("--bars", help="daily or 4h.")] = "daily",
    start: Annotated[str | None, typer.Option("--start", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day, YYYY-MM-DD.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("backtest-report"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic accounts.")] = 0,
    synthetic: Annotated[
        int, typer.Option("--synthetic", help="Synthetic venue accounts to add (0 = none).")
    ] = 0,
    horizon_days: Annotated[
        int | None,
        typer.Option("--horizon-days", help="Loss horizon in days (default: the var model's)."),
    ] = None,
    coverage: Annotated[
        float, typer.Option("--coverage", help="Confidence the tests hold margins to.")
    ] = 0.99,
) -> None:
    """Walk the real history: margin per model at each bar, realised loss over the horizon,
    exceptions, cost, procyclicality and the stress days; writes OUT/index.html with CSVs and
    PNGs."""
    console = make_console()
    try:
        bar_length = BarLength(bars) if bars in {b.value for b in BarLength} else None
        if bar_length is None:
            raise InputError("--bars", bars, "must be daily or 4h")
        names = _models(models)
        first_day = _day(start, "--start") or _DEFAULT_START
        last_day = _day(end, "--end")
        horizon = horizon_days if horizon_days is not None else load_var_parameters().horizon_days
        if synthetic < 0:
            raise InputError("--synthetic", synthetic, "must be ≥ 0")
        if not portfolios and not synthetic:
            raise InputError("PORTFOLIO", None, "name portfolio files or ask for --synthetic N")
        data_dir = shared_data_dir()
        history = load_market_history(data_dir)
        books = []
        for file in portfolios or []:
            loaded = load_portfolio_file(file)
            books.append(BacktestBook(file.stem, loaded.portfolio, loaded.market))
        if synthetic:
            books += _synthetic_books(synthetic, seed, horizon, data_dir)
        assets = sorted({asset for book in books for asset in book.assets})
        if bar_length is BarLength.DAILY:
            path = daily_market_path(history, assets)
        else:
            path = load_four_hour_market_path(data_dir, history, assets)
        built = [build_model(name, history=history) for name in names]
        total = path.positions_between(first_day, last_day).size
        with Progress(
            TextColumn("backtest"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=make_console(stderr=True),
            transient=True,
            disable=total < _PROGRESS_FROM,
        ) as progress:
            task = progress.add_task("moments", total=total)
            run = run_backtest(
                books,
                built,
                path,
                horizon_days=horizon,
                start=first_day,
                end=last_day,
                progress=lambda done, _total: progress.update(task, completed=done),
            )
        summaries = summarise(run, coverage)
        outcomes = stress_outcomes(run)
        command = ["crossmargin backtest", *(str(p) for p in portfolios or [])]
        command += [f"--models {','.join(names)}", f"--bars {bar_length.value}"]
        command += [f"--start {first_day.isoformat()}"]
        command += [f"--end {last_day.isoformat()}"] if last_day else []
        command += [f"--synthetic {synthetic} --seed {seed}"] if synthetic else []
        notes = [
            " ".join(command),
            f"coverage tests at {coverage:.2%}; loss horizon {horizon} day(s)",
            "market: Binance closes, Deribit DVOL (EWMA stand-in before 2021-03-24)",
        ]
        index = write_report(run, summaries, outcomes, out, notes=notes)
    except CrossmarginError as error:
        make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    console.print(_table(summaries))
    console.print(f"wrote {index}", highlight=False)
