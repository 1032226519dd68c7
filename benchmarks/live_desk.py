"""The live desk measured: tick-to-WebSocket latency and margin-checked trades per second, each
against today's per-request path in the same run.

Run as ``python benchmarks/live_desk.py [--accounts 10000 --accounts 100000] [--subscribers 100]
[--repetitions 9] [--checks 3000] [--model-checks 60] [--model-sample 60] [--workdir DIR]``.

For each book size a demo ledger is seeded once (``crossmargin.service.seed``: the example
portfolios and a synthetic book; kept in ``--workdir`` and reused) and the service with its live
desk is served by uvicorn on 127.0.0.1 in this process. A child process opens ``--subscribers``
real WebSocket connections (``WS /ws/accounts/{id}?model=pm``, admin key) to a seeded sample of
accounts holding positions, and stamps every message it receives (Unix time).

Per repetition, interleaved:

* **tick** — one replayed 4-hour tick (real BTC/ETH history) applied through
  ``LiveDesk.apply_tick`` (engine move, whole-book liquidation pass posted, pushes); its
  latency runs from the tick's arrival to the last subscriber's message naming that market
  version. **Per-request tick**: what a service without the engine does to know who moved —
  margin every account holding positions with the single-account model (``holdings`` +
  ``PortfolioMargin.margin``, as ``routes_liquidations`` does after ``POST /market``), timed on
  ``--model-sample`` accounts and extrapolated.
* **checks** — order checks (random account, one of its instruments, a small size) through the
  engine's ``pre_trade`` (``BookState.pre_trade``) against today's per-request path (the
  ledger's portfolio, ``apply_trade`` at mark, ``model.margin`` before and after), in checks
  per second.

Reported: the median over repetitions of each number and of each ratio (per-request / engine
time; engine / per-request rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import socket
import statistics
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np


def _clients(port: int, key: str, account_ids: list[int], pipe: Connection) -> None:
    """Child process: one WebSocket per account; reports (version → last receive time) when
    every subscriber has seen a version, until told to stop."""
    from websockets.asyncio.client import connect

    async def run() -> None:
        seen: dict[int, dict[int, float]] = {}
        ready = asyncio.Event()
        opened = 0

        async def one(account_id: int) -> None:
            nonlocal opened
            url = f"ws://127.0.0.1:{port}/ws/accounts/{account_id}?model=pm"
            headers = {"Authorization": f"Bearer {key}"}
            async with connect(url, additional_headers=headers, max_size=None) as ws:
                await ws.recv()  # the subscribed message
                opened += 1
                if opened == len(account_ids):
                    ready.set()
                async for raw in ws:
                    stamp = time.time()
                    message = json.loads(raw)
                    if message.get("type") == "error":
                        pipe.send(("error", message.get("detail")))
                    if message.get("type") != "margin":
                        continue
                    for trigger in message["triggers"]:
                        if trigger.get("kind") == "market":
                            version = int(trigger["market_version"])
                            got = seen.setdefault(version, {})
                            got[account_id] = stamp
                            if len(got) == len(account_ids):
                                pipe.send((version, max(got.values())))

        tasks = [asyncio.ensure_future(one(a)) for a in account_ids]
        await ready.wait()
        pipe.send(("ready", 0.0))
        while not pipe.poll():
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def _receive(pipe: Connection) -> tuple[int, float]:
    """The next (market version, last receive time) the clients report (fails after 300 s)."""
    if not pipe.poll(300):
        raise TimeoutError("the WebSocket clients reported nothing for 300 s")
    got = pipe.recv()
    if got[0] == "error":
        raise RuntimeError(f"a subscriber got an error message: {got[1]}")
    return int(got[0]), float(got[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(path: Path, accounts: int) -> float:
    from crossmargin.ledger import Ledger
    from crossmargin.service.seed import seed_demo_ledger
    from crossmargin.shared_data import shared_data_dir
    from crossmargin.simulation.synthetic import synthetic_market

    if path.exists():
        return float("nan")
    data_dir = shared_data_dir()
    examples = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))
    started = time.perf_counter()
    with Ledger(f"sqlite:///{path}") as ledger:
        seed_demo_ledger(ledger, synthetic_market(data_dir), data_dir, examples, accounts)
    return time.perf_counter() - started


def _size(accounts: int, args: argparse.Namespace) -> dict[str, Any]:
    import uvicorn

    from crossmargin.ledger.risk import holdings_portfolio
    from crossmargin.margin.pm.model import PortfolioMargin
    from crossmargin.portfolio import apply_trade
    from crossmargin.service.app import create_app
    from crossmargin.service.live_desk import desk_of_app
    from crossmargin.service.replay import load_tape
    from crossmargin.shared_data import shared_data_dir
    from crossmargin.simulation.synthetic import synthetic_market

    path = Path(args.workdir) / f"live-desk-{accounts}.db"
    seed_s = _seed(path, accounts)
    key = secrets.token_urlsafe(32)
    os.environ["CROSSMARGIN_ADMIN_KEY"] = key
    os.environ.pop("CROSSMARGIN_REPLAY_DAYS", None)
    data_dir = shared_data_dir()
    started = time.perf_counter()
    app = create_app(f"sqlite:///{path}", market=synthetic_market(data_dir))
    desk = desk_of_app(app)
    desk.book.margins()
    load_s = time.perf_counter() - started
    context = desk.context
    context.stream.max_per_key = args.subscribers + 8
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    loop = server_loop(server)

    rng = random.Random(args.seed)
    holders = [a for a in desk.book.account_ids if (desk.book.row(a) or _EMPTY).positions]
    sample = sorted(rng.sample(holders, min(args.subscribers, len(holders))))
    parent, child = multiprocessing.Pipe()
    clients = multiprocessing.get_context("spawn").Process(
        target=_clients, args=(port, key, sample, child), daemon=True
    )
    clients.start()
    assert parent.recv()[0] == "ready"

    base = context.market.current()
    tape = load_tape(data_dir, base.valuation_time, (args.repetitions + 2) / 6 + 1)
    model = PortfolioMargin()
    rows: dict[str, list[float]] = {k: [] for k in _KEYS}
    checks = [
        (a, name, rng.choice((-1, 1)) * 0.01)
        for a in (rng.choice(holders) for _ in range(args.checks))
        for name in [rng.choice(sorted((desk.book.row(a) or _EMPTY).positions))]
    ]
    for rep in range(args.repetitions + 1):  # the first one warms up
        tick = tape.tick(base, rep + 1)  # tick 0 is the start bar: nothing moves
        asyncio.run_coroutine_threadsafe(desk.apply_tick(tick), loop).result()
        version, arrived, applied = desk.tick_applied_at[-1]
        assert set(sample) <= desk.book.moved_accounts(), "every sampled account moves"
        got_version, last = _receive(parent)
        while got_version != version:
            got_version, last = _receive(parent)
        tick_s = last - arrived
        market = context.market.current()
        timed = rng.sample(holders, min(args.model_sample, len(holders)))
        t0 = time.perf_counter()
        for account_id in timed:
            model.margin(holdings_portfolio(context.ledger.holdings(account_id)), market)
        per_request_tick = (time.perf_counter() - t0) / len(timed) * len(holders)

        t0 = time.perf_counter()
        for account_id, name, size in checks:
            desk.book.pre_trade(account_id, name, size)
        engine_rate = len(checks) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for account_id, name, size in checks[: args.model_checks]:
            portfolio = context.ledger.portfolio(account_id)
            instrument = next(
                p.instrument for p in portfolio.positions if p.instrument.name == name
            )
            after = apply_trade(portfolio, instrument, size, market)
            model.margin(portfolio, market)
            model.margin(after, market)
        model_rate = args.model_checks / (time.perf_counter() - t0)
        if rep == 0:
            continue
        for k, v in zip(
            _KEYS,
            (
                tick_s,
                applied - arrived,
                per_request_tick,
                per_request_tick / tick_s,
                engine_rate,
                model_rate,
                engine_rate / model_rate,
            ),
            strict=True,
        ):
            rows[k].append(v)
        print(
            f"  {accounts:,} rep {rep}: tick→last WS {tick_s * 1e3:.0f} ms (applied "
            f"{(applied - arrived) * 1e3:.0f} ms), per-request tick {per_request_tick:.1f} s, "
            f"checks/s engine {engine_rate:,.0f} model {model_rate:,.1f}",
            flush=True,
        )
    parent.send("stop")
    clients.join(timeout=10)
    server.should_exit = True
    thread.join(timeout=10)
    context.close()
    latencies = rows["tick_s"]
    return {
        "accounts": accounts,
        "seed_s": seed_s,
        "load_s": load_s,
        "liquidations": desk.liquidations.page(1, 0)[0],
        "p50_ms": float(np.percentile(latencies, 50)) * 1e3,
        "p99_ms": float(np.percentile(latencies, 99)) * 1e3,
        **{k: statistics.median(v) for k, v in rows.items()},
    }


_KEYS = (
    "tick_s",
    "applied_s",
    "per_request_tick_s",
    "tick_ratio",
    "engine_checks_per_s",
    "model_checks_per_s",
    "checks_ratio",
)


class _Empty:
    positions: dict[str, float] = {}  # noqa: RUF012


_EMPTY = _Empty()


def server_loop(server: Any) -> asyncio.AbstractEventLoop:
    """The event loop uvicorn's ``server`` runs on (started)."""
    loop: asyncio.AbstractEventLoop = server.servers[0].get_loop()
    return loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, action="append")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--model-checks", type=int, default=60)
    parser.add_argument("--model-sample", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default="/tmp/crossmargin-live-desk-bench")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    results = [_size(n, args) for n in (args.accounts or [10_000])]
    print()
    print(
        "| accounts | seed | load | tick→last WS p50 / p99 | engine part | per-request tick | "
        "ratio | checks/s engine | checks/s per-request | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['accounts']:,} | {r['seed_s']:.0f} s | {r['load_s']:.1f} s | "
            f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f} ms | {r['applied_s'] * 1e3:.0f} ms | "
            f"{r['per_request_tick_s']:.1f} s | {r['tick_ratio']:.0f}x | "
            f"{r['engine_checks_per_s']:,.0f} | {r['model_checks_per_s']:,.1f} | "
            f"{r['checks_ratio']:,.0f}x |"
        )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
