"""The ledger against real databases: an SQLite file and, when ``CROSSMARGIN_TEST_DATABASE_URL``
names a server, PostgreSQL (each test in a fresh schema).

Covers the schema migrations, exact Decimal round trips, idempotent retries (also concurrent,
from threads and from processes), crash safety (a writer process killed between writing its
postings and committing) and replay of the event log byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crossmargin.ledger import (
    EntryRecord,
    Ledger,
    LedgerPosition,
    cash_operations,
    create_ledger_engine,
    head_revision,
    position_operations,
    replay,
    state_to_bytes,
    upgrade_database,
)
from crossmargin.ledger.models import Base
from crossmargin.ledger.operations import Operation
from support.databases import (
    Backend,
    ScratchDatabases,
    require_postgresql,
)

D = Decimal
PERP = "BTC_USDC-PERPETUAL"


@pytest.fixture(scope="module", params=[Backend.SQLITE, Backend.POSTGRESQL], ids=str)
def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScratchDatabases]:
    server = require_postgresql() if request.param is Backend.POSTGRESQL else None
    scratch = ScratchDatabases(request.param, tmp_path_factory.mktemp("ledger"), server)
    yield scratch
    scratch.close()


@pytest.fixture
def database_url(databases: ScratchDatabases) -> str:
    return databases.new_url()


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    with Ledger(database_url) as opened:
        yield opened


def _assert_sound(ledger: Ledger) -> None:
    report = ledger.check_invariants()
    assert report.ok, report.violations
    assert state_to_bytes(replay(ledger.events())) == state_to_bytes(ledger.state())


def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    assert upgrade_database(database_url) == head_revision() == "0002_account_sequences"
    assert upgrade_database(database_url) == head_revision()  # a second run is a no-op
    engine = create_ledger_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            if engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_the_journal_is_append_only(ledger: Ledger) -> None:
    """The database itself refuses to change or delete committed events, entries and lines."""
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "10", "d")
    ledger.trade(alice, PERP, "0.001", "60000", "0", "t")
    engine = create_ledger_engine(ledger.url)
    try:
        for statement in (
            "UPDATE events SET payload = '{}'",
            "DELETE FROM events",
            "UPDATE postings SET amount = '1000000'",
            "DELETE FROM entries",
            "DELETE FROM position_changes",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    _assert_sound(ledger)


def test_tampering_with_a_balance_is_detected(ledger: Ledger) -> None:
    """Balances are a projection: edit one behind the ledger's back and the invariants (sum of
    postings, replay byte for byte) report it."""
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "10", "d")
    engine = create_ledger_engine(ledger.url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE balances SET amount = '10.000001' WHERE account_id = :a"),
                {"a": alice},
            )
    finally:
        engine.dispose()
    report = ledger.check_invariants()
    assert not report.ok
    assert any("sum of postings" in violation for violation in report.violations)


def test_decimals_round_trip_exactly(database_url: str) -> None:
    """Twelve-digit USDC, 8-decimal BTC and an 18-decimal position size come back equal, and
    are stored as their canonical text."""
    with Ledger(database_url) as ledger:
        alice = ledger.open_account("alice")
        ledger.deposit(alice, "USDC", "123456789012.123456", "usdc")
        ledger.deposit(alice, "BTC", "20999999.99999999", "btc")
        ledger.trade(alice, PERP, "0.123456789012345678", "65000.123456789", "0", "t")
    with Ledger(database_url) as reopened:
        assert reopened.balances(alice) == {
            "BTC": D("20999999.99999999"),
            "USDC": D("123456789012.123456"),
        }
        assert reopened.positions(alice) == (
            LedgerPosition(PERP, D("0.123456789012345678"), D("65000.123456789")),
        )
        engine = create_ledger_engine(database_url)
        try:
            with engine.connect() as connection:
                stored = connection.execute(
                    text("SELECT amount FROM balances WHERE account_id = :a AND currency = 'USDC'"),
                    {"a": alice},
                ).scalar_one()
        finally:
            engine.dispose()
        assert stored == "123456789012.123456"
        _assert_sound(reopened)


def test_a_retry_from_another_connection_posts_once(database_url: str) -> None:
    with Ledger(database_url) as first, Ledger(database_url) as second:
        alice = first.open_account("alice")
        original = first.deposit(alice, "USDC", "250", "dep-1")
        retried = second.deposit(alice, "USDC", "250.000000", "dep-1")
        assert retried == original and retried.idempotent_replay
        assert second.balances(alice) == {"USDC": D(250)}
        assert len(second.entries(alice)) == 1


def _run_together(calls: list[Callable[[], EntryRecord]]) -> list[EntryRecord | BaseException]:
    """Run ``calls`` in threads released at the same moment; results (or errors) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[EntryRecord | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as error:  # reported to the test below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_threads_posting_the_same_key_post_once(database_url: str) -> None:
    """Two ledgers (two connection pools) race the same key, five times over."""
    with Ledger(database_url) as first, Ledger(database_url) as second:
        alice = first.open_account("alice")
        for round_number in range(5):
            key = f"race-{round_number}"
            results = _run_together(
                [partial(ledger.deposit, alice, "USDC", "10", key) for ledger in (first, second)]
            )
            assert all(isinstance(r, EntryRecord) for r in results), results
            assert results[0] == results[1]
            assert sorted(r.idempotent_replay for r in results if isinstance(r, EntryRecord)) == [
                False,
                True,
            ]
        assert first.balances(alice) == {"USDC": D(50)}
        assert len(first.entries(alice)) == 5
        _assert_sound(first)


def test_concurrent_writers_lose_and_duplicate_nothing(database_url: str) -> None:
    """Four threads post 10 deposits and 5 trades each on one account: every posting lands
    exactly once and the event sequence stays gapless."""
    with Ledger(database_url) as ledger:
        alice = ledger.open_account("alice")

        def writer(worker: int) -> EntryRecord:
            last = None
            with Ledger(database_url) as own:
                for n in range(10):
                    last = own.deposit(alice, "USDC", "1.000001", f"w{worker}-d{n}")
                    if n % 2:
                        own.trade(alice, PERP, "0.01", "60000", "0.01", f"w{worker}-t{n}")
            assert last is not None
            return last

        results = _run_together([partial(writer, worker) for worker in range(4)])
        assert all(isinstance(r, EntryRecord) for r in results), results
        assert ledger.balances(alice) == {"USDC": D("40.00004") - D("0.2")}
        assert ledger.positions(alice)[0].size == D("0.2")
        _assert_sound(ledger)


_CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys
    from crossmargin.ledger import Ledger

    def crash(entry):
        os._exit(1)  # die between writing the postings and committing

    ledger = Ledger(sys.argv[1], _after_postings=crash)
    ledger.deposit(int(sys.argv[2]), "USDC", "777", "crash-key")
    raise SystemExit("the hook did not run")
    """
)


def test_a_crash_mid_transaction_leaves_no_partial_entry(database_url: str) -> None:
    with Ledger(database_url) as ledger:
        alice = ledger.open_account("alice")
        ledger.deposit(alice, "USDC", "100", "before-crash")
        events_before = ledger.events()
    finished = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, database_url, str(alice)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1, finished.stderr
    with Ledger(database_url) as reopened:
        _assert_sound(reopened)
        assert reopened.events() == events_before
        assert reopened.balances(alice) == {"USDC": D(100)}
        assert [e.idempotency_key for e in reopened.entries(alice)] == ["before-crash"]
        reposted = reopened.deposit(alice, "USDC", "777", "crash-key")  # the key was not used
        assert not reposted.idempotent_replay
        assert reopened.balances(alice) == {"USDC": D(877)}


def test_an_error_after_the_postings_rolls_everything_back(database_url: str) -> None:
    def fail(entry: EntryRecord) -> None:
        raise RuntimeError(f"injected failure after entry {entry.entry_id}")

    with Ledger(database_url) as ledger:
        alice = ledger.open_account("alice")
    with Ledger(database_url, _after_postings=fail) as failing:
        with pytest.raises(RuntimeError, match="injected"):
            failing.deposit(alice, "USDC", "5", "k")
        assert failing.balances(alice) == {}
        _assert_sound(failing)


_RACING_PROCESS = textwrap.dedent(
    """
    import os, sys, time
    from crossmargin.ledger import Ledger

    url, account, start = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ledger = Ledger(url)
    while not os.path.exists(start):
        time.sleep(0.001)
    entry = ledger.deposit(account, "USDC", "42", "process-race")
    print(entry.entry_id, entry.idempotent_replay)
    """
)


def test_two_processes_posting_the_same_key_post_once(database_url: str, tmp_path: Path) -> None:
    with Ledger(database_url) as ledger:
        alice = ledger.open_account("alice")
    start = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RACING_PROCESS, database_url, str(alice), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)  # let both import and open the ledger
    start.touch()
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    answers = sorted(out.split() for out, _ in outputs)
    assert answers[0][0] == answers[1][0]  # the same entry id
    assert sorted(a[1] for a in answers) == ["False", "True"]
    with Ledger(database_url) as reopened:
        assert reopened.balances(alice) == {"USDC": D(42)}
        _assert_sound(reopened)


def test_replay_reproduces_the_live_state_byte_for_byte(ledger: Ledger) -> None:
    alice, bob = ledger.open_account("alice"), ledger.open_account("bob")
    ledger.deposit(alice, "USDC", "5000", "a")
    ledger.deposit(bob, "BTC", "2", "b")
    ledger.trade(alice, PERP, "0.1", "65000.5", "0.65", "t1")
    ledger.trade(bob, "BTC-PERPETUAL", "-1000", "64000", "0.00001", "t2")
    ledger.trade(bob, "BTC-27DEC24-60000-C", "-1", "0.05", "0.0003", "t3")
    ledger.pay_funding(alice, PERP, "0.0001", "65100", "f")
    ledger.pay_funding(bob, "BTC-PERPETUAL", "0.0001", "65100", "f")
    ledger.settle_expiry(bob, "BTC-27DEC24-60000-C", "70000", "x")
    ledger.insurance_fund_deposit("USDC", "1000", "i")
    _assert_sound(ledger)
    assert os.environ.get("CROSSMARGIN_DATABASE_URL") is None or True  # the URL is explicit


def test_a_batch_posts_exactly_what_posting_one_by_one_would(
    databases: ScratchDatabases,
) -> None:
    """Group commit: one transaction of mixed operations — with a refusal, an in-batch retry and
    a conflicting key — gives the outcomes, state bytes and per-account numbers of posting them
    one by one, and a refused item leaves no trace."""

    def items(alice: int, bob: int) -> list[tuple[Operation, str]]:
        return [
            (cash_operations.deposit(alice, "USDC", "1000"), "d1"),
            (cash_operations.withdrawal(bob, "USDC", "5"), "w-bob"),  # bob has nothing
            (position_operations.trade(alice, PERP, "0.01", "60000", "0.5"), "t1"),
            (cash_operations.deposit(alice, "USDC", "1000"), "d1"),  # a retry inside the batch
            (cash_operations.deposit(alice, "USDC", "7"), "d1"),  # same key, other request
            (cash_operations.deposit(bob, "USDC", "3"), "d2"),
        ]

    states = []
    for batched in (True, False):
        with Ledger(databases.new_url()) as ledger:
            alice, bob = ledger.open_account("alice"), ledger.open_account("bob")
            if batched:
                outcomes = ledger.post_batch(items(alice, bob))
            else:
                outcomes = [ledger.post_batch([item])[0] for item in items(alice, bob)]
            assert [type(o).__name__ for o in outcomes] == [
                "EntryRecord",
                "InsufficientBalanceError",
                "EntryRecord",
                "EntryRecord",
                "IdempotencyConflictError",
                "EntryRecord",
            ]
            first, trade, retry = outcomes[0], outcomes[2], outcomes[3]
            assert isinstance(first, EntryRecord) and isinstance(retry, EntryRecord)
            assert isinstance(trade, EntryRecord)
            assert retry == first and retry.idempotent_replay and not first.idempotent_replay
            assert (first.sequence_of(alice), trade.sequence_of(alice)) == (1, 2)
            assert ledger.balances(alice) == {"USDC": D("999.5")}
            assert ledger.balances(bob) == {"USDC": D(3)}
            _assert_sound(ledger)
            states.append(state_to_bytes(ledger.state()))
    assert states[0] == states[1]
