"""The demo desk: seed a ledger, then serve it live (``make run``) or replay headless.

``python -m crossmargin.service.demo --serve`` (what ``make run`` and ``crossmargin demo --serve``
run) creates or opens the SQLite ledger, seeds it once (the example portfolios and a synthetic
book, :mod:`crossmargin.service.seed`), prints the URL and how to log in, and serves the service
with the live desk replaying the real BTC/ETH history. Without ``--serve`` it replays ``--days``
days headless as fast as it can and prints a summary (``crossmargin demo --days N``).
The start market is the synthetic book's (the Deribit chain of 2024-03-11 plus ETH from real
data, :func:`~crossmargin.simulation.synthetic_market`); the replay starts at its valuation time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from fastapi import FastAPI

from crossmargin.ledger import Ledger
from crossmargin.service.app import ADMIN_KEY_ENV, create_app
from crossmargin.service.live_desk import REPLAY_DAYS_ENV, REPLAY_PACE_ENV, desk_of_app
from crossmargin.service.replay import load_tape
from crossmargin.service.secrets_dir import ADMIN_KEY_FILE, secrets_dir
from crossmargin.service.seed import seed_demo_ledger
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation.synthetic import synthetic_market

__all__ = ["DEMO_DATABASE_ENV", "create_demo_app", "main"]

#: The demo ledger's URL (default ``sqlite:///crossmargin-demo.db``).
DEMO_DATABASE_ENV = "CROSSMARGIN_DEMO_DATABASE_URL"
_DEFAULT_URL = "sqlite:///crossmargin-demo.db"


def _examples() -> list[Path]:
    folder = Path.cwd() / "examples"
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def _seed(url: str, accounts: int) -> None:
    data_dir = shared_data_dir()
    started = time.perf_counter()
    with Ledger(url) as ledger:
        report = seed_demo_ledger(
            ledger, synthetic_market(data_dir), data_dir, _examples(), accounts
        )
    if report.accounts:
        print(
            f"crossmargin demo: seeded {report.accounts:,} accounts with {report.entries:,} ledger "
            f"entries in {time.perf_counter() - started:.0f} s"
        )


def create_demo_app() -> FastAPI:
    """The service on the demo ledger (``$CROSSMARGIN_DEMO_DATABASE_URL``) at the synthetic
    book's market (a factory for uvicorn)."""
    url = os.environ.get(DEMO_DATABASE_ENV) or _DEFAULT_URL
    return create_app(url, market=synthetic_market(shared_data_dir()))


def _login_hint() -> str:
    if os.environ.get(ADMIN_KEY_ENV):
        return f"log in with the admin key in ${ADMIN_KEY_ENV}"
    return f"log in with the admin key in {secrets_dir() / ADMIN_KEY_FILE}"


def _headless(url: str, days: float) -> None:
    data_dir = shared_data_dir()
    app = create_demo_app()
    desk = desk_of_app(app)
    base = desk.context.market.current()
    tape = load_tape(data_dir, base.valuation_time, days)

    async def play() -> None:
        for number in range(tape.length):
            await desk.apply_tick(tape.tick(base, number))

    started = time.perf_counter()
    try:
        asyncio.run(play())
        overview = desk.overview()
        report = desk.context.ledger.check_invariants()
    finally:
        desk.context.close()
    last = overview["last_tick"]
    elapsed = time.perf_counter() - started
    print(f"replayed {tape.length} 4-hour ticks ({days:g} days) in {elapsed:.1f} s")
    print(
        f"last tick {last['time']}: "
        + ", ".join(f"{a} {p:,.2f} USD" for a, p in last["index_usd"].items())
    )
    print(
        f"accounts {overview['account_count']:,}: "
        + ", ".join(f"{s} {n:,}" for s, n in overview["accounts_by_health"].items())
    )
    print(
        f"total IM {overview['total_initial_margin_usd']:,.2f} USD, MM "
        f"{overview['total_maintenance_margin_usd']:,.2f} USD, insurance fund "
        f"{overview['insurance_fund_usd']:,.2f} USD, "
        f"liquidations {overview['liquidations']['count']}"
    )
    violations, entries = len(report.violations), report.entries_checked
    print(f"ledger invariants: {violations} violations over {entries:,} entries")


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="crossmargin demo")
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--pace", type=float, default=1.0, help="seconds per 4-hour bar (serve)")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    url = args.database or os.environ.get(DEMO_DATABASE_ENV) or _DEFAULT_URL
    os.environ[DEMO_DATABASE_ENV] = url
    _seed(url, args.accounts)
    if not args.serve:
        _headless(url, args.days)
        return 0
    import uvicorn

    os.environ[REPLAY_DAYS_ENV] = str(args.days)
    os.environ[REPLAY_PACE_ENV] = str(args.pace)
    print(f"crossmargin live desk: http://{args.host}:{args.port}/ — {_login_hint()}")
    print("replaying real BTC/ETH 4-hour history; Ctrl-C stops cleanly")
    sys.stdout.flush()
    uvicorn.run(
        "crossmargin.service.demo:create_demo_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
