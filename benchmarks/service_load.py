"""Service throughput on loopback, side by side with a baseline, then proof that nothing was lost
or doubled.

Run as ``python benchmarks/service_load.py [--baseline-src /work/svc-base/src] [--postgresql URL]
[--repetitions 9] [--clients 16] [--cash-requests 800] [--trade-requests 400] [--accounts 8]
[--retry-fraction 0.05] [--seed 7]``.

Up to three uvicorn processes serve on 127.0.0.1, each on its own fresh database (an SQLite file,
or a fresh schema on the ``--postgresql`` server, dropped afterwards):

* ``new`` — this checkout's service;
* ``base`` — the same service from another source tree (``--baseline-src``: e.g. a git worktree
  of the commit before a change, ``git worktree add /work/svc-base HEAD``), started with
  ``PYTHONPATH`` pointing at it;
* ``minimal`` — ``benchmarks/minimal_insert_app.py``: a FastAPI endpoint that inserts one row
  per request in its own transaction on the same kind of database, the practical limit of this
  stack for one-row-per-request writes.

Two workloads, each a seeded plan per repetition, sent by ``--clients`` concurrent keep-alive
connections of a small raw HTTP/1.1 client (cheap, so the server, not the client, is measured on
a 2-core machine): ``cash`` — deposits (admin key; custody operations) and withdrawals (the
account's key, margin-checked) on ``--accounts`` funded accounts; ``trades`` — margin-checked
linear-perpetual fills (the account's key). ``--retry-fraction`` of each plan re-sends an earlier
request with the same idempotency key. Repetitions are interleaved (new, base, minimal, new,
base, …) so a busy neighbour hurts all alike, and the table reports the median requests/s.

Afterwards, for ``new`` and ``base``: every answer was 201 or 200, one 201 per idempotency key
and every 200 the same entry; every ledger invariant holds and the event log replays to the live
state byte for byte; deposit, withdrawal and trade events equal the distinct accepted requests;
balances equal seed + deposits − withdrawals − fees exactly and positions the summed sizes, from
the database and over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx

from crossmargin.ledger import Ledger, replay, state_to_bytes

# The scratch databases and the service process are test support (tests/support).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.databases import Backend, ScratchDatabases
from support.service_client import TEST_MARKET
from support.service_process import ServiceProcess

INSTRUMENT = "BTC_USDC-PERPETUAL"
PRICE = "72000"
SEED_DEPOSIT = Decimal("1000000")
WORKLOADS = ("cash", "trades")


@dataclass(frozen=True)
class Request:
    """One planned request: ``kind`` deposit, withdrawal, trade or row."""

    kind: str
    account: int
    body: dict[str, str | int]

    @property
    def key(self) -> tuple[int, str]:
        return self.account, str(self.body["idempotency_key"])


@dataclass
class Answer:
    request: Request
    status: int
    entry: int | None
    replay: bool


@dataclass
class Target:
    """A running server and what the load needs to talk to it."""

    name: str
    process: ServiceProcess
    database_url: str
    admin_key: str
    accounts: list[tuple[int, str]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    rates: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


# -- plans ------------------------------------------------------------------------------------


def plan(
    workload: str, count: int, accounts: int, retry: float, seed: int, tag: str
) -> list[Request]:
    """``count`` requests of ``workload``: new ones and re-sends of earlier ones."""
    rng = random.Random(seed)
    planned: list[Request] = []
    for number in range(count):
        if planned and rng.random() < retry:
            planned.append(rng.choice(planned))
            continue
        account, key = rng.randrange(accounts), f"{tag}-{number}"
        if workload == "trades":
            sign = "-" if rng.random() < 0.5 else ""
            size = f"{sign}0.{rng.randint(1, 10):03d}"
            fee = f"{rng.randint(0, 5)}.{rng.randint(0, 99):02d}"
            body: dict[str, str | int] = {
                "instrument": INSTRUMENT,
                "size": size,
                "price": PRICE,
                "fee": fee,
                "idempotency_key": key,
            }
            planned.append(Request("trade", account, body))
        elif rng.random() < 0.5:
            amount = f"{rng.randint(1, 1000)}.{rng.randint(0, 99):02d}"
            body = {"currency": "USDC", "amount": amount, "idempotency_key": key}
            planned.append(Request("deposit", account, body))
        else:
            amount = f"{rng.randint(1, 100)}.{rng.randint(0, 99):02d}"
            body = {"currency": "USDC", "amount": amount, "idempotency_key": key}
            planned.append(Request("withdrawal", account, body))
    return planned


# -- a small HTTP/1.1 client ------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection (requests with a JSON body; answers with a length)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, token: str, body: dict[str, str | int]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        content = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\nauthorization: Bearer {token}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(content)}\r\n\r\n"
        )
        self.writer.write(head.encode() + content)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, closing = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                closing = True
        answer = await self.reader.readexactly(length)
        if closing:
            self.writer.close()
            self.writer = None
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _route(target: Target, request: Request) -> tuple[str, str, dict[str, str | int]]:
    if target.name == "minimal":
        body = {"account_id": request.account, "amount": "1", "idempotency_key": request.key[1]}
        return "/rows", target.admin_key, body
    account_id, api_key = target.accounts[request.account]
    path = {"deposit": "deposits", "withdrawal": "withdrawals", "trade": "trades"}[request.kind]
    token = target.admin_key if request.kind == "deposit" else api_key
    return f"/accounts/{account_id}/{path}", token, request.body


async def _load(target: Target, requests: list[Request], clients: int) -> float:
    """Send ``requests`` over ``clients`` connections; returns requests per second."""
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        connection = Connection("127.0.0.1", target.process.port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                path, token, body = _route(target, request)
                status, raw = await connection.post(path, token, body)
                parsed = json.loads(raw) if raw else {}
                entry = parsed.get("account_sequence", parsed.get("entry_id"))
                replay = bool(parsed.get("idempotent_replay"))
                target.answers.append(Answer(request, status, entry, replay))
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return len(requests) / (time.perf_counter() - started)


# -- servers ----------------------------------------------------------------------------------


@contextmanager
def serve(name: str, url: str, baseline_src: str | None, accounts: int) -> Iterator[Target]:
    """A server for ``name`` (new, base, minimal) on the database ``url``."""
    admin_key = f"load-admin-{secrets.token_urlsafe(32)}"
    environment = {"CROSSMARGIN_AUTH_FAILURE_LIMITS": "client_burst=100000"}
    factory = "crossmargin.service:create_app"
    if name == "base":
        assert baseline_src is not None
        environment["PYTHONPATH"] = baseline_src
    elif name == "minimal":
        environment["PYTHONPATH"] = str(Path(__file__).resolve().parent)
        factory = "minimal_insert_app:create_minimal_app"
    with ServiceProcess(url, admin_key, environment, factory=factory) as process:
        target = Target(name, process, url, admin_key)
        if name != "minimal":
            _open_accounts(target, accounts)
        yield target


def _open_accounts(target: Target, count: int) -> None:
    admin = {"Authorization": f"Bearer {target.admin_key}"}
    with httpx.Client(base_url=target.process.base_url, timeout=30) as client:
        assert client.post("/market", headers=admin, json={"snapshot": TEST_MARKET}).is_success
        for _ in range(count):
            created = client.post("/accounts", headers=admin, json={}).json()
            funded = client.post(
                f"/accounts/{created['account_id']}/deposits",
                headers=admin,
                json={"currency": "USDC", "amount": str(SEED_DEPOSIT), "idempotency_key": "seed"},
            )
            funded.raise_for_status()
            target.accounts.append((created["account_id"], created["api_key"]))


# -- verification -----------------------------------------------------------------------------


def _expected(target: Target) -> tuple[list[Request], dict[int, Decimal], dict[int, Decimal]]:
    by_key: dict[tuple[int, str], Request] = {}
    for answer in target.answers:
        by_key.setdefault(answer.request.key, answer.request)
    cash = {i: SEED_DEPOSIT for i in range(len(target.accounts))}
    size = {i: Decimal(0) for i in range(len(target.accounts))}
    for request in by_key.values():
        if request.kind == "deposit":
            cash[request.account] += Decimal(str(request.body["amount"]))
        elif request.kind == "withdrawal":
            cash[request.account] -= Decimal(str(request.body["amount"]))
        else:
            cash[request.account] -= Decimal(str(request.body["fee"]))
            size[request.account] += Decimal(str(request.body["size"]))
    return list(by_key.values()), cash, size


def verify(target: Target) -> list[str]:
    """The checks of the module docstring; returns the failures (empty when all hold)."""
    failures: list[str] = []
    bad = [a for a in target.answers if a.status not in (200, 201)]
    if bad:
        failures.append(f"{len(bad)} requests failed, e.g. status {bad[0].status}")
    groups: defaultdict[tuple[int, str], list[Answer]] = defaultdict(list)
    for answer in target.answers:
        groups[answer.request.key].append(answer)
    for key, group in groups.items():
        created = [a for a in group if a.status == 201]
        if len(created) != 1 or len({a.entry for a in group}) != 1:
            failures.append(f"{key}: {len(created)} creations, entries {[a.entry for a in group]}")
        if any(a.status == 200 and not a.replay for a in group):
            failures.append(f"{key}: a 200 that is not an idempotent replay")
    distinct, cash, size = _expected(target)
    ids = [account_id for account_id, _ in target.accounts]
    with Ledger(target.database_url) as ledger:
        report = ledger.check_invariants()
        if not report.ok:
            failures.append(f"ledger invariants: {report.violations[:3]}")
        events = ledger.events()
        if state_to_bytes(replay(events)) != state_to_bytes(ledger.state()):
            failures.append("the event log does not replay to the live state")
        counted = Counter(
            e.kind for e in events if e.is_entry and json.loads(e.payload)["account_id"] in ids
        )
        wanted = Counter(r.kind for r in distinct) + Counter({"deposit": len(ids)})
        if counted != wanted:
            failures.append(f"events {dict(counted)} != accepted requests {dict(wanted)}")
        for index, account_id in enumerate(ids):
            balance = ledger.balances(account_id).get("USDC", Decimal(0))
            held = sum((p.size for p in ledger.positions(account_id)), Decimal(0))
            if (balance, held) != (cash[index], size[index]):
                failures.append(
                    f"account {account_id}: {balance} / {held}, expected "
                    f"{cash[index]} / {size[index]}"
                )
    with httpx.Client(base_url=target.process.base_url, timeout=30) as client:
        for index, (account_id, api_key) in enumerate(target.accounts):
            document = client.get(
                f"/accounts/{account_id}", headers={"Authorization": f"Bearer {api_key}"}
            ).json()
            if Decimal(document["balances"].get("USDC", "0")) != cash[index]:
                failures.append(f"account {account_id}: HTTP balance differs from the expected sum")
    return failures


# -- the run ----------------------------------------------------------------------------------


def _median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def run(options: argparse.Namespace, scratch: ScratchDatabases) -> dict[str, Target]:
    """Serve every target, run the interleaved repetitions, verify; returns the targets."""
    names = ["new"] + (["base"] if options.baseline_src else []) + ["minimal"]
    with ExitStack() as stack:
        targets = {
            name: stack.enter_context(
                serve(name, scratch.new_url(), options.baseline_src, options.accounts)
            )
            for name in names
        }
        for repetition in range(options.repetitions):
            for workload in WORKLOADS:
                count = options.cash_requests if workload == "cash" else options.trade_requests
                for name in names:
                    tag = f"{workload}-{repetition}"
                    requests = plan(
                        workload,
                        count,
                        options.accounts,
                        options.retry_fraction,
                        options.seed + repetition,
                        tag,
                    )
                    rate = asyncio.run(_load(targets[name], requests, options.clients))
                    targets[name].rates[workload].append(rate)
            print(f"  repetition {repetition + 1}/{options.repetitions} done", flush=True)
        for name in names:
            if name != "minimal":
                failures = verify(targets[name])
                if failures:
                    print(f"FAILED ({name}):", *failures[:10], sep="\n  ")
                    raise SystemExit(1)
    return targets


def report(options: argparse.Namespace, backend: Backend, targets: dict[str, Target]) -> None:
    """Print the medians and ratios (a Markdown table)."""
    print(
        f"\nservice throughput, {backend}, {options.clients} clients, median of "
        f"{options.repetitions} interleaved repetitions (requests/s)\n"
    )
    minimal = _median(targets["minimal"].rates["cash"] + targets["minimal"].rates["trades"])
    print("| workload | base | new | new / base | minimal insert | new / minimal |")
    print("|---|---|---|---|---|---|")
    for workload in WORKLOADS:
        new = _median(targets["new"].rates[workload])
        base = _median(targets["base"].rates[workload]) if "base" in targets else float("nan")
        print(
            f"| {workload} | {base:.0f} | {new:.0f} | {new / base:.1f}× | {minimal:.0f} | "
            f"{new / minimal:.2f}× |"
        )
    checked = ", ".join(n for n in targets if n != "minimal")
    print(
        f"\nverified ({checked}): no posting lost or duplicated (answers, invariants, replay, "
        "events, balances from the database and over HTTP)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-src", default=None, help="src folder of the baseline code")
    parser.add_argument("--postgresql", default=None, help="server URL (else SQLite files)")
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--cash-requests", type=int, default=800)
    parser.add_argument("--trade-requests", type=int, default=400)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--retry-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    if options.baseline_src:
        options.baseline_src = str(Path(options.baseline_src).resolve())
    os.environ.pop("CROSSMARGIN_ADMIN_KEY", None)
    backend = Backend.POSTGRESQL if options.postgresql else Backend.SQLITE
    with tempfile.TemporaryDirectory(prefix="crossmargin-load-") as directory:
        scratch = ScratchDatabases(backend, Path(directory), options.postgresql)
        try:
            targets = run(options, scratch)
        finally:
            scratch.close()
    report(options, backend, targets)


if __name__ == "__main__":
    main()
