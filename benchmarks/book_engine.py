"""Book engine benchmark: whole-book margin, market moves and pre-trade checks (issue 6).

Runs everything in one process on one synthetic book (:func:`crossmargin.simulation.synthetic_book`)
and prints a table with the ratios:

* full recompute of the fused numba kernel (``BookEngine.margin_all(incremental=False)``) vs a
  scipy sparse-matrix baseline (positions CSR @ dense P&L, counted P&L, min per underlying, no
  contingencies; once with all scenarios side by side, once per underlying), vs the engine's
  complete numpy/scipy twin (with contingencies), vs a per-account Python loop calling the
  single-account model (timed on a sample, extrapolated);
* a market move of one underlying (``update_market`` + incremental ``margin_all``) vs a move of
  every underlying (all P&L rows rebuilt, every account recomputed);
* ``pre_trade`` latency (p50, p99) over random checks;
* peak memory (RSS).

    python benchmarks/book_engine.py                       # 1,000,000 accounts (minutes)
    python benchmarks/book_engine.py --accounts 2000 --checks 500 --loop-sample 20   # seconds

``--balances F`` gives a fraction F of the accounts coin balances (half of their collateral in BTC
and ETH, the rest in USD), which the ``pm`` engine puts in the scenarios (``balance_coin``).

Against another version of the code (e.g. the previous commit in a worktree), interleaved:

    git worktree add ../pm-base HEAD
    python benchmarks/book_engine.py --accounts 200000 --compare-with ../pm-base/src --reps 9

runs ``--reps`` pairs of child processes, this code then the other (``PYTHONPATH``), each timing a
full recompute of the same synthetic book (best of ``--repeat`` after a warm-up), and prints the
medians and their ratio. A version without balance support runs the book without balances.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from crossmargin.engine import BookEngine
from crossmargin.engine.execution import available_cpus
from crossmargin.engine.reference import underlying_rows
from crossmargin.engine.tables import ScenarioCounting
from crossmargin.margin import build_model, is_liquidatable
from crossmargin.portfolio import Portfolio, Position
from crossmargin.scenarios import counted_pnl
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation import synthetic_book
from engine_bare_kernel import interleaved_ratio  # benchmarks/, next to this file


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _status_gib(field: str) -> float:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``) in GiB, NaN elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) so the next peak is the engine's alone."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _peak_gib() -> float:
    peak = _status_gib("VmHWM")
    if peak == peak:  # not NaN
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class ScipyBaseline:
    """Scan risk per account the plain scipy way: positions CSR @ dense P&L, counted P&L, min.

    ``single``: one CSR of all positions times one dense instruments × scenarios matrix holding
    every underlying's scenarios side by side (zeros across underlyings), as the design sketch
    has it. ``per_underlying``: each underlying's positions times its own scenarios only. The
    CSR matrices are built once outside the timing, as the engine's are at load.
    """

    def __init__(self, engine: BookEngine) -> None:
        tables = engine.tables
        rows = engine._book.packed()  # the engine's CSR rows (benchmark-only access)
        self.tables = tables
        self.accounts = rows.indptr.shape[0] - 1
        shape = (self.accounts, tables.pnl.shape[0])
        self.positions = sparse.csr_matrix((rows.sizes, rows.cols, rows.indptr), shape=shape)
        self.per_underlying = [
            underlying_rows(tables, rows, u) for u in range(tables.underlying_count)
        ]
        counts = [int(c) for c in tables.scenario_count]
        self.bounds = np.cumsum([0, *counts])
        wide = np.zeros((tables.pnl.shape[0], int(self.bounds[-1])))
        owner = tables.instrument_int[:, 0]
        for u, count in enumerate(counts):
            lo = int(self.bounds[u])
            wide[owner == u, lo : lo + count] = tables.pnl[owner == u, :count]
        self.wide = wide
        self.counting = ScenarioCounting(
            np.concatenate([tables.counting(u).weights for u in range(len(counts))]),
            np.concatenate([tables.counting(u).dampeners_usd for u in range(len(counts))]),
        )

    def single(self) -> NDArray[np.float64]:
        counted = counted_pnl(self.positions @ self.wide, self.counting)
        scan = np.zeros(self.accounts)
        for lo, hi in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            scan += np.maximum(0.0, -counted[:, lo:hi].min(axis=1))
        return scan

    def split(self) -> NDArray[np.float64]:
        tables = self.tables
        scan = np.zeros(self.accounts)
        for u, own in enumerate(self.per_underlying):
            count = int(tables.scenario_count[u])
            raw = own @ tables.pnl[:, :count]
            counted = counted_pnl(raw, tables.counting(u))
            scan += np.maximum(0.0, -counted.min(axis=1))
        return scan


def model_loop_seconds(engine: BookEngine, accounts: NDArray[np.int64]) -> float:
    """Mean seconds per account of the single-account model on the engine's positions."""
    model = build_model(engine.model)  # the single-account model of the same name
    entries = engine.entry_prices_usd
    instruments = engine.instruments
    portfolios = []
    for a in accounts:
        cols, sizes = engine.positions(int(a))
        positions = tuple(
            Position(
                instruments[i],
                float(s),
                None if np.isnan(entries[i]) else float(entries[i]),
            )
            for i, s in zip(cols, sizes, strict=True)
        )
        collateral = Decimal(repr(float(engine.collateral_usd[a])))
        portfolios.append(Portfolio(positions, {"USD": collateral}))
    start = time.perf_counter()
    for portfolio in portfolios:
        model.margin(portfolio, engine.market)
    return (time.perf_counter() - start) / max(len(portfolios), 1)


def random_checks(
    engine: BookEngine, checks: int, rng: np.random.Generator
) -> list[tuple[int, int, float]]:
    """(account, instrument, size) of random checks: random accounts, half of them trading an
    instrument they hold, half a random one; sizes of ±1 contract to ±20 % of the position."""
    accounts = rng.integers(engine.account_count, size=checks)
    orders = []
    count = len(engine.instruments)
    for a in accounts.tolist():
        cols, sizes = engine.positions(a)
        if cols.size and rng.random() < 0.5:
            pick = int(rng.integers(cols.size))
            instrument, size = int(cols[pick]), float(sizes[pick]) * rng.uniform(-0.2, 0.2)
        else:
            instrument = int(rng.integers(count))
            size = float(rng.choice([-1.0, 1.0])) * engine.instruments[instrument].contract_size
        orders.append((a, instrument, size))
    return orders


def pre_trade_latencies(
    engine: BookEngine, orders: list[tuple[int, int, float]]
) -> NDArray[np.float64]:
    """Microseconds per ``pre_trade`` call over ``orders``, in order."""
    latencies = np.empty(len(orders))
    check = engine.pre_trade
    clock = time.perf_counter_ns
    for n, (a, instrument, size) in enumerate(orders):
        start = clock()
        check(a, instrument, size)
        latencies[n] = (clock() - start) / 1000.0
    return latencies


def busy_wait_latencies(checks: int, microseconds: float) -> NDArray[np.float64]:
    """The machine's floor for a latency tail: microseconds taken by ``checks`` busy waits of
    ``microseconds`` each. Whatever exceeds the wait is the process being interrupted (other
    jobs, interrupts) — on a shared machine the maximum of any loop is at least this one's."""
    latencies = np.empty(checks)
    clock = time.perf_counter_ns
    target = int(microseconds * 1000)
    for n in range(checks):
        start = clock()
        while clock() - start < target:
            pass
        latencies[n] = (clock() - start) / 1000.0
    return latencies


def _percentiles(latencies: NDArray[np.float64]) -> str:
    return (
        f"{np.percentile(latencies, 50):.1f} / {np.percentile(latencies, 99):.1f} / "
        f"{latencies.max():.0f} us"
    )


def coin_balances(
    collateral_usd: NDArray[np.float64], index_usd: dict[str, float], fraction: float, seed: int
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Move half of the collateral of a random ``fraction`` of the accounts into BTC and ETH
    balances (a quarter each, at the index): (USD collateral left, balance per coin)."""
    rng = np.random.default_rng(seed + 7)
    chosen = rng.random(collateral_usd.shape[0]) < fraction
    quarter = np.where(chosen, 0.25 * collateral_usd, 0.0)
    balances = {coin: quarter / index_usd[coin] for coin in ("BTC", "ETH") if coin in index_usd}
    return collateral_usd - quarter * len(balances), balances


def _build(args: argparse.Namespace) -> tuple[BookEngine, float, float]:
    """The synthetic book in an engine: (engine, seconds to generate, seconds to load)."""
    start = time.perf_counter()
    book = synthetic_book(
        args.accounts,
        args.instruments,
        args.seed,
        data_dir=shared_data_dir(),
        positions_per_account=args.positions,
    )
    generated = time.perf_counter() - start
    start = time.perf_counter()
    engine = BookEngine(book.instruments, book.market, args.model, threads=args.threads)
    takes_balances = "balance_coin" in inspect.signature(engine.load_positions).parameters
    if args.balances > 0.0 and takes_balances and args.model == "pm":
        index = {coin: book.market.index(coin) for coin in engine.underlyings}
        collateral, balances = coin_balances(book.collateral_usd, index, args.balances, args.seed)
        engine.load_positions(
            book.account_index, book.instrument_index, book.size,
            collateral + sum(b * index[c] for c, b in balances.items()), balance_coin=balances,
        )  # fmt: skip
    else:
        engine.load_positions(
            book.account_index, book.instrument_index, book.size, book.collateral_usd
        )
    loaded = time.perf_counter() - start
    return engine, generated, loaded


def kernel_only(args: argparse.Namespace) -> None:
    """Child of ``--compare-with``: one JSON line with the best full-recompute seconds."""
    engine, _, _ = _build(args)
    engine.margin_all(incremental=False)  # compile or load from cache
    best = _best(lambda: engine.margin_all(incremental=False), args.repeat)
    takes = "balance_coin" in inspect.signature(engine.load_positions).parameters
    print(json.dumps({"seconds": best, "balances": bool(args.balances > 0.0 and takes)}))


def compare(args: argparse.Namespace) -> None:
    """Interleaved child runs of this code and of ``args.compare_with``; medians and ratio."""
    here = str(Path(__file__).resolve().parents[1] / "src")
    child = [
        sys.executable, str(Path(__file__).resolve()), "--kernel-only",
        "--accounts", str(args.accounts), "--positions", str(args.positions),
        "--instruments", str(args.instruments), "--model", args.model, "--seed", str(args.seed),
        "--repeat", str(args.repeat), "--balances", str(args.balances),
    ]  # fmt: skip
    if args.threads:
        child += ["--threads", str(args.threads)]
    times: dict[str, list[float]] = {"this": [], "other": []}
    flags: dict[str, bool] = {}
    for rep in range(args.reps):
        for name, src in (("this", here), ("other", args.compare_with)):
            env = dict(os.environ, PYTHONPATH=src)
            out = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
            line = json.loads(out.stdout.strip().splitlines()[-1])
            times[name].append(line["seconds"])
            flags[name] = line["balances"]
        print(f"rep {rep + 1}: this {times['this'][-1] * 1e3:.1f} ms, "
              f"other {times['other'][-1] * 1e3:.1f} ms", flush=True)  # fmt: skip
    this, other = statistics.median(times["this"]), statistics.median(times["other"])
    print(
        f"\nfull recompute, {args.accounts:,} accounts, model {args.model}, {args.reps} "
        f"interleaved repetitions (best of {args.repeat} each), medians:\n"
        f"| code | median | balances in the scenarios |\n|---|---|---|\n"
        f"| this ({here}) | {this * 1e3:.1f} ms | {flags['this']} |\n"
        f"| other ({args.compare_with}) | {other * 1e3:.1f} ms | {flags['other']} |\n"
        f"ratio this / other: {this / other:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--positions", type=float, default=20.0, help="mean positions per account")
    parser.add_argument("--instruments", type=int, default=2000)
    parser.add_argument("--model", choices=("pm", "span"), default="pm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best kept")
    parser.add_argument("--checks", type=int, default=10_000, help="pre_trade calls")
    parser.add_argument("--loop-sample", type=int, default=200, help="accounts in the model loop")
    parser.add_argument("--threads", type=int, default=None, help="threads of margin_all")
    parser.add_argument("--skip-twin", action="store_true", help="skip the complete numpy twin")
    parser.add_argument("--balances", type=float, default=0.0, help="accounts with coin balances")
    parser.add_argument("--compare-with", default=None, help="src folder of another version")
    parser.add_argument("--reps", type=int, default=9, help="interleaved pairs with --compare-with")
    parser.add_argument(
        "--ratio-reps", type=int, default=9, help="interleaved repetitions against the bare kernel"
    )
    parser.add_argument("--kernel-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kernel_only:
        kernel_only(args)
        return
    if args.compare_with:
        compare(args)
        return
    rng = np.random.default_rng(args.seed + 1)
    rows: list[tuple[str, str, str]] = []

    gc.collect()
    process_rss = _status_gib("VmRSS")
    peak_reset = _reset_peak()
    engine, generated, loaded = _build(args)
    gc.collect()
    print(
        f"book: {engine.account_count:,} accounts, {engine.position_count:,} positions "
        f"({engine.position_count / max(engine.account_count, 1):.1f} per account), "
        f"{len(engine.instruments):,} instruments, {len(engine.scenario_labels)} scenarios; "
        f"{engine.linear_factor_instruments} instruments through linear factors; "
        f"generated in {generated:.1f} s, engine built and loaded in {loaded:.2f} s"
    )
    first = time.perf_counter()
    result = engine.margin_all(incremental=False)
    compile_and_run = time.perf_counter() - first
    kernel = _best(lambda: engine.margin_all(incremental=False), args.repeat)
    rows.append(("fused kernel, full recompute", f"{kernel * 1e3:,.1f} ms", "1.0x"))
    phases = None
    if args.ratio_reps > 0 and args.model == "pm":
        threads = args.threads or available_cpus()
        phases = interleaved_ratio(engine, args.ratio_reps, threads)
        rows.append(
            (
                f"bare fused kernel (CSR row x P&L rows, min), median of {phases.repetitions}",
                f"{phases.bare * 1e3:,.1f} ms",
                "floor",
            )
        )
        rows.append(
            (
                f"full recompute, interleaved with it, median of {phases.repetitions}",
                f"{phases.margin_all * 1e3:,.1f} ms",
                f"{phases.ratio:.2f}x the bare kernel",
            )
        )

    # ---- market moves
    moved_one = engine.market.shocked({"BTC": 0.01})
    start = time.perf_counter()
    engine.update_market(moved_one)
    rows_one = time.perf_counter() - start
    start = time.perf_counter()
    incremental = engine.margin_all()
    kernel_one = time.perf_counter() - start
    check = engine.margin_all(incremental=False)
    identical = np.array_equal(check.initial_margin, incremental.initial_margin)
    moved_eth = moved_one.shocked({"ETH": 0.01})
    start = time.perf_counter()
    engine.update_market(moved_eth)
    rows_eth = time.perf_counter() - start
    start = time.perf_counter()
    engine.margin_all()
    kernel_eth = time.perf_counter() - start
    moved_all = moved_eth.shocked({"BTC": 0.01, "ETH": -0.01})
    start = time.perf_counter()
    engine.update_market(moved_all)
    rows_all = time.perf_counter() - start
    start = time.perf_counter()
    engine.margin_all()
    kernel_all = time.perf_counter() - start
    one = rows_one + kernel_one
    every = rows_all + kernel_all
    rows.append(
        (
            "market move, BTC only (rows + accounts holding BTC)",
            f"{one * 1e3:,.1f} ms ({rows_one * 1e3:.1f} + {kernel_one * 1e3:.1f})",
            f"{every / one:.2f}x faster than all moving",
        )
    )
    eth = rows_eth + kernel_eth
    rows.append(
        (
            "market move, ETH only (rows + accounts holding ETH)",
            f"{eth * 1e3:,.1f} ms ({rows_eth * 1e3:.1f} + {kernel_eth * 1e3:.1f})",
            f"{every / eth:.2f}x faster than all moving",
        )
    )
    rows.append(
        (
            "market move, BTC and ETH (all rows + every account)",
            f"{every * 1e3:,.1f} ms ({rows_all * 1e3:.1f} + {kernel_all * 1e3:.1f})",
            "1.0x",
        )
    )

    # ---- pre-trade checks: cold (first check of an account since the move) and warm
    orders = random_checks(engine, args.checks, rng)
    gc.collect()
    latencies = pre_trade_latencies(engine, orders)
    rows.append(
        (
            "pre_trade latency p50 / p99 / max",
            _percentiles(latencies),
            f"{args.checks:,} random checks (first check of each account since the move)",
        )
    )
    warm = pre_trade_latencies(engine, orders)
    rows.append(
        (
            "pre_trade latency p50 / p99 / max, warm",
            _percentiles(warm),
            "the same checks again (stored vectors)",
        )
    )
    wait = float(np.percentile(warm, 50))
    floor = busy_wait_latencies(args.checks, wait)
    rows.append(
        (
            f"machine floor: {wait:.1f} us busy waits, p50 / p99 / max",
            _percentiles(floor),
            "no engine: the tail any loop of that length sees here",
        )
    )
    engine_peak = _peak_gib()
    engine_bytes = engine.memory_bytes / 2**30

    # ---- baselines
    scipy_runs = ScipyBaseline(engine)
    repeat = max(1, min(args.repeat, 3))
    single = _best(scipy_runs.single, repeat)
    split = _best(scipy_runs.split, repeat)
    del scipy_runs
    gc.collect()
    rows.append(
        (
            "scipy baseline: CSR @ dense P&L (all scenarios), counted, min",
            f"{single * 1e3:,.1f} ms",
            f"{single / kernel:.1f}x slower",
        )
    )
    rows.append(
        (
            "scipy, per underlying: CSR slice @ its own scenarios only",
            f"{split * 1e3:,.1f} ms",
            f"{split / kernel:.1f}x slower",
        )
    )
    if not args.skip_twin:
        start = time.perf_counter()
        twin = engine.margin_all_reference()
        twin_seconds = time.perf_counter() - start
        final = engine.margin_all(incremental=False)
        scale = np.maximum(np.abs(twin.initial_margin), 1.0)
        agree = float(np.max(np.abs(final.initial_margin - twin.initial_margin) / scale))
        rows.append(
            (
                "numpy/scipy twin (complete margin)",
                f"{twin_seconds * 1e3:,.1f} ms",
                f"{twin_seconds / kernel:.1f}x slower (max rel diff {agree:.1e})",
            )
        )
    sample = rng.choice(
        engine.account_count, size=min(args.loop_sample, engine.account_count), replace=False
    )
    per_account = model_loop_seconds(engine, sample)
    extrapolated = per_account * engine.account_count
    rows.append(
        (
            f"per-account model loop ({sample.size} sampled, extrapolated)",
            f"{extrapolated:,.0f} s",
            f"{extrapolated / kernel:,.0f}x slower",
        )
    )
    rows.append(
        (
            "engine arrays (rows, tables, stored vectors, cached results)",
            f"{engine_bytes * 1024:,.0f} MiB",
            "",
        )
    )
    rows.append(
        (
            "peak RSS while the engine loads, margins, moves and checks",
            f"{engine_peak:.2f} GiB",
            f"process before the book: {process_rss:.2f} GiB; "
            f"{'peak reset there' if peak_reset else 'peak since start'}",
        )
    )
    rows.append(("peak RSS at the end (baselines included)", f"{_peak_gib():.2f} GiB", ""))

    print(
        f"first margin_all (compile or load from cache + run): {compile_and_run:.2f} s; "
        f"incremental result identical to full recompute: {identical}; "
        f"threads: {args.threads or 'all CPUs'}; model: {args.model}; "
        f"liquidatable accounts (equity < MM): "
        f"{np.mean(is_liquidatable(result.equity, result.maintenance_margin)):.2%}"
    )
    if phases is not None:
        kernel_share = phases.engine_kernel
        print(
            f"phases (medians of {phases.repetitions} interleaved repetitions, one process): "
            f"bare fused kernel {phases.bare * 1e3:.1f} ms; engine kernel alone "
            f"{phases.engine_kernel * 1e3:.1f} ms ({phases.kernel_ratio:.2f}x); result assembly "
            f"and dispatch {max(phases.margin_all - kernel_share, 0.0) * 1e3:.1f} ms; "
            f"margin_all(incremental=False) {phases.margin_all * 1e3:.1f} ms "
            f"({phases.ratio:.2f}x the bare kernel)"
        )
    width = max(len(r[0]) for r in rows)
    middle = max(len(r[1]) for r in rows)
    print(f"\n| {'measure':<{width}} | {'time':>{middle}} | ratio |")
    print(f"|{'-' * (width + 2)}|{'-' * (middle + 2)}|-------|")
    for name, value, ratio in rows:
        print(f"| {name:<{width}} | {value:>{middle}} | {ratio} |")


if __name__ == "__main__":
    main()
