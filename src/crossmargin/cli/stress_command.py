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
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from crossmargin.cli.render import make_console
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.oracles.bars import BINANCE_4H_FILES, read_binance_4h
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation import synthetic_book
from crossmargin.simulation.adl import AdlPolicy
from crossmargin.simulation.contagion import replay_moves
from crossmargin.simulation.liquidity import (
    DEFAULT_VENUE_SHARE,
    LIQUIDITY_2024_03_11,
    MarketLiquidity,
    liquidity_from_daily,
    read_binance_daily,
)
from crossmargin.simulation.multivenue import VenueBook, run_venues
from crossmargin.simulation.report import write_report
from crossmargin.simulation.sweep import (
    MARGIN_MODELS,
    Scenario,
    ScenarioOutcome,
    prepare_scenario,
    run_sweep,
)
from crossmargin.simulation.venues import VenueMode, VenueParameters

__all__ = ["stress_command"]

_MARKETS = ("BTC", "ETH")
_REPLAY_DAYS = ("2020-03-12", "2021-05-19", "2022-11-09")
_REPLAY_STARTS = ("path", "first_bar", "close")
_VENUES = ("cex", "onchain", "dydx")


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


def _replay(day: str, data_dir: Path, rounds_per_bar: int, start_from: str) -> np.ndarray:
    """Exogenous log moves of a replayed day: every 4-hour close (``path``), the first bar's
    close only, or the day's close only (both against the previous day's last 4-hour close)."""
    if day not in _REPLAY_DAYS:
        raise InputError("--replay", day, f"must be one of {', '.join(_REPLAY_DAYS)}")
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    closes = {}
    for asset in _MARKETS:
        bars = read_binance_4h(data_dir / BINANCE_4H_FILES[asset], asset)
        first = bars.index_of(start)
        last = bars.index_of(start + timedelta(hours=20))
        closes[asset] = bars.close_usd[first - 1 : last + 1]
    if start_from == "first_bar":
        closes = {a: c[:2] for a, c in closes.items()}
    elif start_from == "close":
        closes = {a: c[[0, -1]] for a, c in closes.items()}
    return replay_moves(_MARKETS, closes, rounds_per_bar if start_from == "path" else 1)


def _liquidity(day: str | None, data_dir: Path, share: float, impact_y: float) -> MarketLiquidity:
    """The default (2024-03-11) liquidity, or the replayed day's from the Binance daily bars."""
    if day is None:
        return LIQUIDITY_2024_03_11.with_(venue_share=share, impact_y=impact_y)
    daily = {
        a: read_binance_daily(data_dir / f"prices/binance_daily/Binance_{a}USDT_d.csv")
        for a in _MARKETS
    }
    return liquidity_from_daily(daily, day, impact_y, share)


def _venue_parameters(name: str, outage: int, congestion: bool) -> VenueParameters:
    if name == "cex":
        venue = VenueParameters.cex()
        return venue.with_outage(outage) if outage else venue
    if name == "dydx":
        return VenueParameters.dydx()
    venue = VenueParameters.onchain()
    return venue.congested() if congestion else venue


def _multi_venue(
    book_args: tuple[int, int, int, Path], names: list[str], base: Scenario,
    arbitrage: float, outage: int, congestion: bool,
) -> tuple[list[ScenarioOutcome], str]:  # fmt: skip
    """One book per venue (accounts split evenly, seeds seed + k), coupled through one price."""
    accounts, instruments, seed, data_dir = book_args
    books, outcomes = [], []
    per = max(1, accounts // len(names))
    for k, name in enumerate(names):
        book = synthetic_book(per, instruments, seed + k, data_dir=data_dir,
                              positions_per_account=5.0)  # fmt: skip
        policy = AdlPolicy.SCAN if name == "dydx" else base.adl_policy
        scenario = Scenario(
            f"{base.label} {name}", base.markets, base.log_moves, model=base.model,
            mode=VenueMode.ONCHAIN if name == "onchain" else VenueMode.CEX, adl_policy=policy,
            fund_usd=base.fund_usd, liquidity=base.liquidity, max_rounds=base.max_rounds,
            seed=seed + k, equal_health=base.equal_health,
        )  # fmt: skip
        source, cash, holdings, owner, config = prepare_scenario(
            book, scenario, _venue_parameters(name, outage, congestion)
        )
        books.append(VenueBook(name, source, cash, config, holdings))
        outcomes.append((scenario, owner))
    result = run_venues(books, arbitrage)
    moves = ", ".join(f"{m} {result.common_move(m):+.2%}" for m in result.markets)
    return [
        ScenarioOutcome(scenario, result.venues[venue.name], owner)
        for (scenario, owner), venue in zip(outcomes, books, strict=True)
    ], f"{base.label}: common price {moves}"


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
        str | None,
        typer.Option("--replay", help="Replay a day: 2020-03-12, 2021-05-19 or 2022-11-09."),
    ] = None,
    replay_start: Annotated[
        str,
        typer.Option("--replay-start", help="path (every 4h close), first_bar or close."),
    ] = "path",
    venue_share: Annotated[
        float,
        typer.Option("--venue-share", help="Book gross |delta| in days of daily volume."),
    ] = DEFAULT_VENUE_SHARE,
    impact_y: Annotated[float, typer.Option("--impact-y", help="Y of the square-root law.")] = 1.0,
    equal_health: Annotated[
        bool, typer.Option("--equal-health", help="Same start health as cross for every model.")
    ] = False,
    venues: Annotated[
        str | None,
        typer.Option(
            "--venues", help="Couple venues in one run: comma list of cex, onchain, dydx."
        ),
    ] = None,
    arbitrage: Annotated[
        float, typer.Option("--arbitrage", help="Share of a venue's price gap closed per round.")
    ] = 0.5,
    outage: Annotated[
        int, typer.Option("--outage", help="CEX liquidates nobody for this many rounds.")
    ] = 0,
    congestion: Annotated[
        bool, typer.Option("--congestion", help="On-chain gas x 25, capacity / 10.")
    ] = False,
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
        if not (np.isfinite(venue_share) and venue_share > 0):
            raise InputError("--venue-share", venue_share, "must be > 0")
        if not (np.isfinite(impact_y) and impact_y > 0):
            raise InputError("--impact-y", impact_y, "must be > 0")
        if not 0.0 <= arbitrage <= 1.0:
            raise InputError("--arbitrage", arbitrage, "must lie in [0, 1]")
        if outage < 0:
            raise InputError("--outage", outage, "must be >= 0")
        if replay_start not in _REPLAY_STARTS:
            raise InputError("--replay-start", replay_start, f"must be one of {_REPLAY_STARTS}")
        chosen_venues = None if venues is None else _choices(venues, "--venues", _VENUES)
        if chosen_venues is not None and len(set(chosen_venues)) != len(chosen_venues):
            raise InputError("--venues", venues, "must not repeat a venue")
        data_dir = shared_data_dir()
        liquidity = _liquidity(replay, data_dir, venue_share, impact_y)
        if replay is not None:
            log_moves = _replay(replay, data_dir, 30, replay_start)
            name = f"replay {replay}" + ("" if replay_start == "path" else f" {replay_start}")
        else:
            moves = _shocks(shock or ["BTC=-0.2"])
            log_moves = np.array([[float(np.log1p(moves.get(m, 0.0))) for m in _MARKETS]])
            name = ",".join(f"{k}{v:+.0%}" for k, v in moves.items())
        if chosen_venues is not None:
            outcomes, lines = [], []
            for model in chosen_models:
                base = Scenario(
                    f"{name} {model}", _MARKETS, log_moves, model=model, adl_policy=policies[0],
                    fund_usd=fund, seed=seed, liquidity=liquidity, equal_health=equal_health,
                    max_rounds=max(200, log_moves.shape[0] + 100),
                )  # fmt: skip
                found, line = _multi_venue(
                    (accounts, instruments, seed, data_dir), chosen_venues, base, arbitrage,
                    outage, congestion,
                )  # fmt: skip
                outcomes += found
                lines.append(line)
            index = write_report(outcomes, out, f"crossmargin stress: {name}, venues {venues}")
            for line in lines:
                console.print(line)
            _print(console, outcomes, index)
            return
        book = synthetic_book(accounts, instruments, seed, data_dir=data_dir,
                              positions_per_account=5.0)  # fmt: skip
        scenarios = [
            Scenario(
                f"{name} {model} {venue.value}{' dynamic' if dyn else ''}"
                + (f" adl={policy.value}" if len(policies) > 1 else ""),
                _MARKETS, log_moves, model=model, mode=venue, dynamic=dyn,
                adl_policy=policy, fund_usd=fund, seed=seed, liquidity=liquidity,
                equal_health=equal_health, max_rounds=max(200, log_moves.shape[0] + 100),
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
    _print(console, outcomes, index)


def _print(console: Console, outcomes: list[ScenarioOutcome], index: Path) -> None:
    for outcome in outcomes:
        s = outcome.summary()
        console.print(
            f"{outcome.scenario.label}: {int(s['accounts_liquidated']):,} accounts, "
            f"{s['liquidated_notional_usd']:,.0f} USD liquidated in {int(s['cascade_rounds'])} "
            f"rounds, BTC {s['move_BTC']:+.2%}, bad debt {s['bad_debt_usd']:,.0f} USD"
        )
    console.print(f"report: {index}")
