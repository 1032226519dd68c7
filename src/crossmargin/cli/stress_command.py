"""`crossmargin stress`: liquidation cascades on a synthetic book, written to a report folder.

A thin shell: parse the options, locate the shared data (the synthetic book's chain, the 4-hour
bars of a replayed day), build the scenarios (shock or replay × margin model), run them through
:func:`crossmargin.simulation.run_sweep` (Dask threads with ``--workers``), write
:func:`crossmargin.simulation.write_report`. Bad input exits 2 naming the option and the value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from crossmargin.cli.render import make_console
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.oracles.bars import BINANCE_4H_FILES, read_binance_4h
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation import synthetic_book
from crossmargin.simulation.adl import AdlPolicy
from crossmargin.simulation.contagion import replay_moves
from crossmargin.simulation.report import write_report
from crossmargin.simulation.sweep import MARGIN_MODELS, Scenario, run_sweep
from crossmargin.simulation.venues import VenueMode

__all__ = ["stress_command"]

_MARKETS = ("BTC", "ETH")
_REPLAY_DAYS = ("2020-03-12", "2022-11-09")


def _fail(error: CrossmarginError) -> None:
    make_console(stderr=True).print(f"[bold red]error:[/bold red] {error}", highlight=False)
    raise typer.Exit(code=2)


def _shocks(raw: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in raw:
        asset, sep, value = item.partition("=")
        try:
            move = float(value)
        except ValueError:
            raise InputError("--shock", item, "must be ASSET=MOVE, e.g. BTC=-0.2") from None
        if not sep or asset not in _MARKETS or not np.isfinite(move) or move <= -1.0:
            raise InputError("--shock", item, "must be BTC=m or ETH=m with m > -1")
        out[asset] = move
    return out


def _choices(raw: str, option: str, allowed: tuple[str, ...]) -> list[str]:
    items = [part.strip() for part in raw.split(",") if part.strip()]
    bad = [item for item in items if item not in allowed]
    if bad or not items:
        raise InputError(option, raw, f"must be a comma list of {', '.join(allowed)}")
    return items


def _replay(day: str, data_dir: Path, rounds_per_bar: int) -> np.ndarray:
    if day not in _REPLAY_DAYS:
        raise InputError("--replay", day, f"must be one of {', '.join(_REPLAY_DAYS)}")
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    closes = {}
    for asset in _MARKETS:
        bars = read_binance_4h(data_dir / BINANCE_4H_FILES[asset], asset)
        first = bars.index_of(start)
        last = bars.index_of(start + timedelta(hours=20))
        closes[asset] = bars.close_usd[first - 1 : last + 1]
    return replay_moves(_MARKETS, closes, rounds_per_bar)


def stress_command(
    shock: Annotated[
        list[str] | None, typer.Option("--shock", help="Shock ASSET=MOVE (repeatable).")
    ] = None,
    accounts: Annotated[int, typer.Option("--accounts", help="Accounts in the book.")] = 100_000,
    instruments: Annotated[int, typer.Option("--instruments", help="Instruments.")] = 300,
    models: Annotated[
        str, typer.Option("--models", help="Comma list of isolated, cross, pm, span.")
    ] = "isolated,cross,pm",
    mode: Annotated[str, typer.Option("--mode", help="cex or onchain (or cex,onchain).")] = "cex",
    replay: Annotated[
        str | None, typer.Option("--replay", help="Replay a day: 2020-03-12 or 2022-11-09.")
    ] = None,
    dynamic: Annotated[
        bool, typer.Option("--dynamic", help="Also run dynamic parameters.")
    ] = False,
    adl: Annotated[
        str, typer.Option("--adl", help="ADL policies: profit-leverage, pro-rata, scan.")
    ] = "profit-leverage",
    fund: Annotated[float, typer.Option("--fund", help="Insurance fund, USD.")] = 1_000_000.0,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("stress-report"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the book and the runs.")] = 0,
    workers: Annotated[
        int, typer.Option("--workers", help="Run scenarios on Dask threads (0: serial).")
    ] = 0,
) -> None:
    """Liquidation cascades after a shock or on a replayed day, per margin model and venue mode;
    writes index.html, PNGs and CSVs to --out."""
    console = make_console()
    try:
        if accounts < 1:
            raise InputError("--accounts", accounts, "must be >= 1")
        if workers < 0:
            raise InputError("--workers", workers, "must be >= 0")
        if fund < 0 or not np.isfinite(fund):
            raise InputError("--fund", fund, "must be >= 0")
        chosen_models = _choices(models, "--models", MARGIN_MODELS)
        modes = [VenueMode(m) for m in _choices(mode, "--mode", ("cex", "onchain"))]
        policies = [AdlPolicy(p) for p in _choices(adl, "--adl", tuple(x.value for x in AdlPolicy))]
        data_dir = shared_data_dir()
        if replay is not None:
            log_moves, name = _replay(replay, data_dir, 30), f"replay {replay}"
        else:
            moves = _shocks(shock or ["BTC=-0.2"])
            log_moves = np.array([[float(np.log1p(moves.get(m, 0.0))) for m in _MARKETS]])
            name = ",".join(f"{k}{v:+.0%}" for k, v in moves.items())
        book = synthetic_book(accounts, instruments, seed, data_dir=data_dir,
                              positions_per_account=5.0)  # fmt: skip
        scenarios = [
            Scenario(
                f"{name} {model} {venue.value}{' dynamic' if dyn else ''}"
                + (f" adl={policy.value}" if len(policies) > 1 else ""),
                _MARKETS, log_moves, model=model, mode=venue, dynamic=dyn,
                adl_policy=policy, fund_usd=fund, seed=seed,
                max_rounds=max(200, log_moves.shape[0] + 100),
            )
            for model in chosen_models for venue in modes
            for dyn in ((False, True) if dynamic else (False,)) for policy in policies
        ]  # fmt: skip
        if workers > 0:
            outcomes = run_sweep(book, scenarios, scheduler="threads")
        else:
            with Progress(
                TextColumn("[bold]scenarios"), BarColumn(), MofNCompleteColumn(),
                console=console, transient=True,
            ) as progress:  # fmt: skip
                task = progress.add_task("scenarios", total=len(scenarios))
                outcomes = run_sweep(book, scenarios, progress=lambda _: progress.advance(task))
        index = write_report(outcomes, out, f"crossmargin stress: {name}, {accounts:,} accounts")
    except CrossmarginError as error:
        _fail(error)
        return
    for outcome in outcomes:
        s = outcome.summary()
        console.print(
            f"{outcome.scenario.label}: {int(s['accounts_liquidated']):,} accounts, "
            f"{s['liquidated_notional_usd']:,.0f} USD liquidated in {int(s['cascade_rounds'])} "
            f"rounds, BTC {s['move_BTC']:+.2%}, bad debt {s['bad_debt_usd']:,.0f} USD"
        )
    console.print(f"report: {index}")
