"""Bounded load test of the service on loopback, then proof that nothing was lost or doubled.

Run as ``python benchmarks/service_load.py [--clients 16] [--requests 2000] [--accounts 8]
[--retry-fraction 0.05] [--subscribers 4] [--postgresql URL] [--seed 7]``.

It starts its own uvicorn process (``crossmargin.service:create_app``) on 127.0.0.1 with a fresh
SQLite file (or, with ``--postgresql``, a fresh schema on that server, dropped afterwards),
opens ``--accounts`` funded accounts, and lets ``--clients`` concurrent async httpx clients (one
connection each) post a fixed, seeded plan of ``--requests`` deposits and trades
(linear-perpetual buys at 72,000 USD with a fee), of which ``--retry-fraction`` are re-sends of
earlier requests with the same idempotency key. WebSocket subscribers (``--subscribers``, spread
over the accounts) listen meanwhile. It prints requests/s and p50/p99 latency, then checks:

* every request was answered 201 (new) or 200 (a retry), and each distinct request was posted
  exactly once: one 201 per idempotency key, every 200 names the same entry as its 201;
* in the database: every ledger invariant holds and the event log replays to the live state byte
  for byte; the deposit and trade events of the load accounts equal the distinct requests;
* balances equal the expected sums (seed + deposits - fees, exactly, in Decimal) and positions
  the summed sizes, read both from the database and over HTTP;
* each WebSocket subscriber was told of every posting to its account exactly once.

Only loopback addresses are used. Key verification (scrypt) is warmed up before timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from crossmargin.ledger import Ledger, replay, state_to_bytes

# The scratch databases and the service process are test support (tests/support), not library code.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.databases import Backend, ScratchDatabases
from support.service_process import ServiceProcess

INSTRUMENT = "BTC_USDC-PERPETUAL"
PRICE = "72000"
SEED_DEPOSIT = Decimal("1000000")


@dataclass(frozen=True)
class Request:
    """One planned posting."""

    kind: str  # "deposit" or "trade"
    account: int  # index into the accounts
    body: dict[str, str]

    @property
    def key(self) -> tuple[int, str]:
        return self.account, self.body["idempotency_key"]


@dataclass
class Answer:
    request: Request
    status: int
    entry_id: int | None
    replay: bool
    seconds: float


@dataclass
class Subscriber:
    account_id: int
    entries: Counter[int] = field(default_factory=Counter)
    messages: int = 0


def plan(count: int, accounts: int, retry_fraction: float, seed: int) -> list[Request]:
    """``count`` requests: new deposits and trades, and re-sends of earlier ones."""
    rng = random.Random(seed)
    planned: list[Request] = []
    originals: list[Request] = []
    for number in range(count):
        if originals and rng.random() < retry_fraction:
            planned.append(rng.choice(originals))
            continue
        account = rng.randrange(accounts)
        key = f"load-{number}"
        if rng.random() < 0.5:
            amount = f"{rng.randint(1, 100000)}.{rng.randint(0, 99):02d}"
            request = Request(
                "deposit",
                account,
                {"currency": "USDC", "amount": amount, "idempotency_key": key},
            )
        else:
            size = f"0.{rng.randint(1, 10):03d}"
            fee = f"{rng.randint(0, 5)}.{rng.randint(0, 99):02d}"
            request = Request(
                "trade",
                account,
                {
                    "instrument": INSTRUMENT,
                    "size": size,
                    "price": PRICE,
                    "fee": fee,
                    "idempotency_key": key,
                },
            )
        originals.append(request)
        planned.append(request)
    return planned


async def _worker(
    base_url: str,
    queue: asyncio.Queue[Request],
    accounts: list[tuple[int, str]],
    answers: list[Answer],
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as client:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            account_id, api_key = accounts[request.account]
            path = "deposits" if request.kind == "deposit" else "trades"
            started = time.perf_counter()
            response = await client.post(
                f"/accounts/{account_id}/{path}",
                headers={"Authorization": f"Bearer {api_key}"},
                json=request.body,
            )
            seconds = time.perf_counter() - started
            body = response.json()
            answers.append(
                Answer(
                    request,
                    response.status_code,
                    body.get("entry_id"),
                    bool(body.get("idempotent_replay")),
                    seconds,
                )
            )


async def _subscribe(
    ws_url: str, api_key: str, subscriber: Subscriber, ready: asyncio.Event
) -> None:
    url = f"{ws_url}/ws/accounts/{subscriber.account_id}"
    async with connect(url, additional_headers={"Authorization": f"Bearer {api_key}"}) as socket:
        ready.set()
        async for raw in socket:
            message = json.loads(raw)
            subscriber.messages += 1
            for trigger in message.get("triggers", ()):
                if "entry_id" in trigger:
                    subscriber.entries[trigger["entry_id"]] += 1


async def run_load(
    process: ServiceProcess,
    accounts: list[tuple[int, str]],
    requests: list[Request],
    clients: int,
    subscribers: list[Subscriber],
) -> tuple[list[Answer], float]:
    """Post ``requests`` with ``clients`` concurrent clients; returns answers and wall time."""
    keys = {account_id: key for account_id, key in accounts}
    events = [asyncio.Event() for _ in subscribers]
    listening = [
        asyncio.create_task(_subscribe(process.ws_url, keys[s.account_id], s, e))
        for s, e in zip(subscribers, events, strict=True)
    ]
    await asyncio.gather(*(event.wait() for event in events))
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    answers: list[Answer] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(process.base_url, queue, accounts, answers) for _ in range(clients))
    )
    wall = time.perf_counter() - started
    expected = Counter(a.request.account for a in answers if a.status == 201)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivered = {s.account_id: sum(s.entries.values()) for s in subscribers}
        wanted = {s.account_id: expected[_index(accounts, s.account_id)] for s in subscribers}
        if delivered == wanted:
            break
        await asyncio.sleep(0.1)
    for task in listening:
        task.cancel()
    await asyncio.gather(*listening, return_exceptions=True)
    return answers, wall


def _index(accounts: list[tuple[int, str]], account_id: int) -> int:
    return next(i for i, (known, _) in enumerate(accounts) if known == account_id)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def verify(
    database_url: str,
    base_url: str,
    accounts: list[tuple[int, str]],
    answers: list[Answer],
    subscribers: list[Subscriber],
) -> list[str]:
    """Every check of the module docstring; returns the failures (empty when all hold)."""
    failures: list[str] = []
    bad = [a for a in answers if a.status not in (200, 201)]
    if bad:
        failures.append(f"{len(bad)} requests failed, e.g. status {bad[0].status}")
    by_key: defaultdict[tuple[int, str], list[Answer]] = defaultdict(list)
    for answer in answers:
        by_key[answer.request.key].append(answer)
    for key, group in by_key.items():
        created = [a for a in group if a.status == 201]
        if len(created) != 1 or len({a.entry_id for a in group}) != 1:
            failures.append(
                f"{key}: {len(created)} creations, entries {[a.entry_id for a in group]}"
            )
        if any(a.status == 200 and not a.replay for a in group):
            failures.append(f"{key}: a 200 that is not an idempotent replay")
    distinct = [group[0].request for group in by_key.values()]
    expected_cash = {i: SEED_DEPOSIT for i in range(len(accounts))}
    expected_size = {i: Decimal(0) for i in range(len(accounts))}
    for request in distinct:
        if request.kind == "deposit":
            expected_cash[request.account] += Decimal(request.body["amount"])
        else:
            expected_cash[request.account] -= Decimal(request.body["fee"])
            expected_size[request.account] += Decimal(request.body["size"])
    ids = [account_id for account_id, _ in accounts]
    with Ledger(database_url) as ledger:
        report = ledger.check_invariants()
        if not report.ok:
            failures.append(f"ledger invariants: {report.violations[:3]}")
        events = ledger.events()
        if state_to_bytes(replay(events)) != state_to_bytes(ledger.state()):
            failures.append("the event log does not replay to the live state")
        counted = Counter(
            e.kind for e in events if e.is_entry and json.loads(e.payload)["account_id"] in ids
        )
        wanted = Counter(r.kind for r in distinct) + Counter({"deposit": len(accounts)})
        if counted != wanted:
            failures.append(f"events {dict(counted)} != accepted requests {dict(wanted)}")
        for index, account_id in enumerate(ids):
            balance = ledger.balances(account_id).get("USDC", Decimal(0))
            size = sum((p.size for p in ledger.positions(account_id)), Decimal(0))
            if (balance, size) != (expected_cash[index], expected_size[index]):
                failures.append(
                    f"account {account_id}: USDC {balance} / size {size}, expected "
                    f"{expected_cash[index]} / {expected_size[index]}"
                )
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for index, (account_id, api_key) in enumerate(accounts):
            document = client.get(
                f"/accounts/{account_id}", headers={"Authorization": f"Bearer {api_key}"}
            ).json()
            if Decimal(document["balances"].get("USDC", "0")) != expected_cash[index]:
                failures.append(f"account {account_id}: HTTP balance differs from the expected sum")
    posted = {a.entry_id: a.request.account for a in answers if a.status == 201}
    for subscriber in subscribers:
        index = _index(accounts, subscriber.account_id)
        mine = {entry for entry, account in posted.items() if account == index}
        if set(subscriber.entries) != mine or any(n != 1 for n in subscriber.entries.values()):
            failures.append(
                f"subscriber of {subscriber.account_id}: told of {sum(subscriber.entries.values())}"
                f" postings ({len(set(subscriber.entries))} distinct), expected {len(mine)}"
            )
    return failures


def _open_accounts(process: ServiceProcess, admin_key: str, count: int) -> list[tuple[int, str]]:
    accounts = []
    with httpx.Client(base_url=process.base_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {admin_key}"}
        for _ in range(count):
            created = client.post("/accounts", headers=admin, json={}).json()
            account_id, api_key = created["account_id"], created["api_key"]
            funded = client.post(
                f"/accounts/{account_id}/deposits",
                headers={"Authorization": f"Bearer {api_key}"},
                json={"currency": "USDC", "amount": str(SEED_DEPOSIT), "idempotency_key": "seed"},
            )
            funded.raise_for_status()  # also warms the key cache (scrypt once per key)
            accounts.append((account_id, api_key))
    return accounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--retry-fraction", type=float, default=0.05)
    parser.add_argument("--subscribers", type=int, default=4)
    parser.add_argument(
        "--postgresql", default=None, help="server URL: run in a fresh schema there, not SQLite"
    )
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    backend = Backend.POSTGRESQL if options.postgresql else Backend.SQLITE
    with tempfile.TemporaryDirectory(prefix="crossmargin-load-") as directory:
        scratch = ScratchDatabases(backend, Path(directory), options.postgresql)
        try:
            answers, wall, subscribers, failures = _run(options, scratch.new_url())
        finally:
            scratch.close()
    report(options, backend, answers, wall, subscribers)
    if failures:
        print("FAILED:")
        for failure in failures:
            print(f"  {failure}")
        raise SystemExit(1)
    print("verified: no posting lost or duplicated (invariants, replay, events, balances, streams)")


def _run(
    options: argparse.Namespace, url: str
) -> tuple[list[Answer], float, list[Subscriber], list[str]]:
    """Start the service on ``url``, run the load, verify; returns what :func:`report` needs."""
    admin_key = f"load-admin-{secrets.token_urlsafe(24)}"
    with ServiceProcess(url, admin_key) as process:
        accounts = _open_accounts(process, admin_key, options.accounts)
        requests = plan(options.requests, options.accounts, options.retry_fraction, options.seed)
        subscribers = [
            Subscriber(accounts[i % len(accounts)][0]) for i in range(options.subscribers)
        ]
        answers, wall = asyncio.run(
            run_load(process, accounts, requests, options.clients, subscribers)
        )
        failures = verify(url, process.base_url, accounts, answers, subscribers)
    return answers, wall, subscribers, failures


def report(
    options: argparse.Namespace,
    backend: Backend,
    answers: list[Answer],
    wall: float,
    subscribers: list[Subscriber],
) -> None:
    """Print throughput and latency."""
    latencies = [a.seconds * 1000 for a in answers]
    print(
        f"service load: {len(answers)} requests, {options.clients} clients, "
        f"{options.accounts} accounts, {backend}, {len(subscribers)} WebSocket subscribers"
    )
    print(f"  throughput  {len(answers) / wall:8.1f} requests/s  ({wall:.2f} s wall)")
    print(
        f"  latency ms  p50 {_percentile(latencies, 0.50):7.2f}  p99 "
        f"{_percentile(latencies, 0.99):7.2f}  max {max(latencies):7.2f}  "
        f"mean {statistics.fmean(latencies):7.2f}"
    )
    for kind in ("deposit", "trade"):
        mine = [a.seconds * 1000 for a in answers if a.request.kind == kind]
        if mine:
            print(
                f"  {kind:<8}    p50 {_percentile(mine, 0.5):7.2f}  p99 "
                f"{_percentile(mine, 0.99):7.2f}  ({len(mine)} requests)"
            )
    statuses = Counter(a.status for a in answers)
    print(f"  answers     {dict(sorted(statuses.items()))} (200 = idempotent retry)")
    print(f"  stream      {sum(s.messages for s in subscribers)} messages")


if __name__ == "__main__":
    main()
