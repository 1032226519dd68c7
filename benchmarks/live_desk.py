"""The live desk measured: tick-to-WebSocket latency and margin-checked trades per second, each
against today's per-request path in the same run.

Run as ``python benchmarks/live_desk.py [--accounts 10000 --accounts 100000] [--subscribers 100]
[--repetitions 9] [--checks 3000] [--model-checks 60] [--model-sample 60] [--trades 400]
[--trade-concurrency 32] [--workdir DIR]``.

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
* **POST /market pass** — the liquidation pass an admin market move runs
  (``routes_liquidations``): without the engine the model margins every holder (the
  per-request tick above); with it, the model margins only the accounts the engine does not
  show clear of the liquidatable band (``BookState.accounts_to_confirm``, timed, plus the
  model's time per account, timed on the sample, times their number).
* **checks** — order checks (random account, one of its instruments, a small size) through the
  engine's ``pre_trade`` (``BookState.pre_trade``) against today's per-request path (the
  ledger's portfolio, ``apply_trade`` at mark, ``model.margin`` before and after), in checks
  per second.
* **trades** — ``--trades`` margin-checked trades (random account, one of its instruments, one
  or two lots at the mark rounded to the tick, a new idempotency key each) posted over HTTP
  (``POST /accounts/{id}/trades``, admin key) by a child process keeping
  ``--trade-concurrency`` requests in flight (a venue's order flow: the writer commits them in
  groups, checking each in turn), with the ledger's margin screen
  on (:mod:`crossmargin.service.margin_screen`: the book engine shows the trade passes) and off
  (the enforced ``pm`` model margins every trade, as before the screen), the two in alternating
  order; trades per second each, and the share the screen showed. The same trades' enforced
  check alone (the holdings after from ``Ledger.preview_trade``, not timed): the screen's call
  against ``enforce_initial_margin`` with the model, in checks per second.

Reported: the median over repetitions of each number and of each ratio (per-request / engine
time; engine / per-request rate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def _order(context: Any, market: Any, account_id: int, name: str, rng: random.Random) -> Any:
    """(instrument, size, price) of a small trade at the mark: one or two lots either way, the
    mark rounded to the instrument's tick (at least one tick)."""
    from decimal import Decimal

    from crossmargin.instruments import parse_instrument
    from crossmargin.service.trading import mark_price

    instrument = parse_instrument(name)
    rule = context.trading.rule_for(instrument)
    tick = rule.tick_size
    mark = Decimal(repr(mark_price(instrument, market)))
    price = max((mark / tick).quantize(Decimal(1)) * tick, tick)
    return name, rule.lot_size * rng.choice((-2, -1, 1, 2)), price


def _post_trades(
    port: int, key: str, bodies: list[Any], concurrency: int, pipe: Connection
) -> None:
    """Child process: post every (path, body) with ``concurrency`` requests in flight; reports
    (seconds from the first request to the last answer, the status codes)."""
    import httpx

    async def run() -> tuple[float, list[int]]:
        statuses: list[int] = []
        queue = list(reversed(bodies))
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            await client.get("/health")

            async def worker() -> None:
                while queue:
                    path, body = queue.pop()
                    answer = await client.post(path, json=body, headers=headers)
                    statuses.append(answer.status_code)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - started, statuses

    pipe.send(asyncio.run(run()))


def _trades(
    context: Any, desk: Any, port: int, key: str, orders: list[Any], rep: int, concurrency: int
) -> dict[str, float]:
    """Post ``orders`` over HTTP (``concurrency`` in flight, from a child process) with the
    margin screen on and off (alternating order by ``rep``); trades per second each and the
    share the screen showed; then the enforced check alone on the same trades, screen against
    model, in checks per second."""
    from crossmargin.ledger import InsufficientMarginError
    from crossmargin.ledger.risk import MarginCheck, enforce_initial_margin, holdings_portfolio

    screen = desk.margin_screen
    run = secrets.token_hex(4)  # the ledger is kept between runs: keys unique to this one
    rates: dict[str, float] = {}
    shown_before = screen.shown
    for mode in ("screen", "model") if rep % 2 else ("model", "screen"):
        context.ledger.margin_screen = screen if mode == "screen" else None
        bodies = [
            (f"/accounts/{account_id}/trades",
             {"instrument": name, "size": str(size), "price": str(price),
              "idempotency_key": f"bench-{run}-{rep}-{mode}-{n}"})
            for n, (account_id, (name, size, price)) in enumerate(orders)
        ]  # fmt: skip
        parent, child = multiprocessing.Pipe()
        poster = multiprocessing.get_context("spawn").Process(
            target=_post_trades, args=(port, key, bodies, concurrency, child), daemon=True
        )
        poster.start()
        elapsed, statuses = parent.recv()
        poster.join(timeout=30)
        assert set(statuses) <= {201, 409}, statuses
        rates[f"{mode}_trades_per_s"] = len(orders) / elapsed
    context.ledger.margin_screen = screen
    rates["shown_share"] = (screen.shown - shown_before) / len(orders)
    previews = [
        context.ledger.preview_trade(account_id, name, size, price)
        for account_id, (name, size, price) in orders
    ]
    afters = [(preview.before, preview.after) for preview in previews]
    risk_check = context.ledger.risk_check
    t0 = time.perf_counter()
    for _, after in afters:
        screen(MarginCheck.TRADE, after)
    rates["screen_checks_per_s"] = len(afters) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for before, after in afters:
        with contextlib.suppress(InsufficientMarginError):
            enforce_initial_margin(
                risk_check, after.account.account_id, MarginCheck.TRADE,
                holdings_portfolio(before), holdings_portfolio(after),
            )  # fmt: skip
    rates["model_enforced_checks_per_s"] = len(afters) / (time.perf_counter() - t0)
    return rates


def _size(accounts: int, args: argparse.Namespace) -> dict[str, Any]:
    import uvicorn

    from crossmargin.instruments import parse_instrument
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
        t0 = time.perf_counter()
        unclear = desk.book.accounts_to_confirm(
            market, desk.liquidations.parameters.health.reduce_only_from
        )
        narrowing_s = time.perf_counter() - t0
        assert unclear is not None
        timed = rng.sample(holders, min(args.model_sample, len(holders)))
        t0 = time.perf_counter()
        for account_id in timed:
            model.margin(holdings_portfolio(context.ledger.holdings(account_id)), market)
        per_model_account = (time.perf_counter() - t0) / len(timed)
        per_request_tick = per_model_account * len(holders)
        narrowed_pass = narrowing_s + per_model_account * len(unclear)

        t0 = time.perf_counter()
        for account_id, name, size in checks:
            desk.book.pre_trade(account_id, name, size)
        engine_rate = len(checks) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for account_id, name, size in checks[: args.model_checks]:
            portfolio = context.ledger.portfolio(account_id)
            after = apply_trade(portfolio, parse_instrument(name), size, market)
            model.margin(portfolio, market)
            model.margin(after, market)
        model_rate = args.model_checks / (time.perf_counter() - t0)
        holding = [a for a in holders if _held(desk, a)]  # trades close some positions
        orders = [
            (a, _order(context, market, a, rng.choice(_held(desk, a)), rng))
            for a in (rng.choice(holding) for _ in range(args.trades))
        ]
        trades = _trades(context, desk, port, key, orders, rep, args.trade_concurrency)
        if rep == 0:
            continue
        for k, v in trades.items():
            rows.setdefault(k, []).append(v)
        rows.setdefault("unclear_accounts", []).append(len(unclear))
        rows.setdefault("narrowed_pass_s", []).append(narrowed_pass)
        rows.setdefault("pass_ratio", []).append(per_request_tick / narrowed_pass)
        rows.setdefault("trades_ratio", []).append(
            trades["screen_trades_per_s"] / trades["model_trades_per_s"]
        )
        rows.setdefault("enforced_checks_ratio", []).append(
            trades["screen_checks_per_s"] / trades["model_enforced_checks_per_s"]
        )
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
            f"checks/s engine {engine_rate:,.0f} model {model_rate:,.1f}; trades/s screen "
            f"{trades['screen_trades_per_s']:,.0f} model {trades['model_trades_per_s']:,.0f} "
            f"(shown {trades['shown_share']:.0%}); enforced checks/s screen "
            f"{trades['screen_checks_per_s']:,.0f} model "
            f"{trades['model_enforced_checks_per_s']:,.0f}",
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


def _held(desk: Any, account_id: int) -> list[str]:
    """The instruments ``account_id`` holds in the desk's book, sorted."""
    return sorted((desk.book.row(account_id) or _EMPTY).positions)


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
    parser.add_argument("--trades", type=int, default=400)
    parser.add_argument("--trade-concurrency", type=int, default=32)
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
    print()
    print(
        "| accounts | POST /market pass: model on every holder | engine-narrowed | "
        "model left | ratio |"
    )
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['accounts']:,} | {r['per_request_tick_s']:.1f} s | "
            f"{r['narrowed_pass_s']:.2f} s | {r['unclear_accounts']:,.0f} | "
            f"{r['pass_ratio']:.0f}x |"
        )
    print()
    print(
        "| accounts | trades/s screen | trades/s model | ratio | shown by engine | "
        "enforced checks/s screen | model | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['accounts']:,} | {r['screen_trades_per_s']:,.0f} | "
            f"{r['model_trades_per_s']:,.0f} | {r['trades_ratio']:.2f}x | "
            f"{r['shown_share']:.0%} | {r['screen_checks_per_s']:,.0f} | "
            f"{r['model_enforced_checks_per_s']:,.0f} | {r['enforced_checks_ratio']:.1f}x |"
        )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
