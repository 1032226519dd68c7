"""The write path's SQL: SQLAlchemy Core on one open connection (one transaction).

:class:`LedgerRows` serves a write batch (:mod:`crossmargin.ledger.batch`): it locks the head,
looks idempotency keys up in one query, loads the rows of accounts not yet in the committed-state
cache, and writes a whole batch of entries with one multi-row statement per table, then the
balances and positions the batch changed (upserts). Core statements skip the ORM's unit of work,
which cost most of a posting's time (see ``docs/service.md``, "Throughput").
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crossmargin.ledger.accounts import AccountKind, AccountRecord
from crossmargin.ledger.entries import EntryRecord
from crossmargin.ledger.errors import LedgerIntegrityError
from crossmargin.ledger.events import (
    ACCOUNT_OPENED,
    LedgerEvent,
    account_payload,
    entry_from_event,
    entry_payload,
)
from crossmargin.ledger.models import (
    AccountEntryRow,
    AccountRow,
    BalanceRow,
    EntryRow,
    EventRow,
    LedgerHeadRow,
    PositionChangeRow,
    PositionRow,
    PostingRow,
)
from crossmargin.ledger.state import LedgerPosition, StateBuilder

__all__ = ["KnownEntry", "LedgerRows", "WrittenEntry", "known_entries_query"]

_HEAD: Table = LedgerHeadRow.__table__  # type: ignore[assignment]
_EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
_ACCOUNTS: Table = AccountRow.__table__  # type: ignore[assignment]
_ENTRIES: Table = EntryRow.__table__  # type: ignore[assignment]
_POSTINGS: Table = PostingRow.__table__  # type: ignore[assignment]
_CHANGES: Table = PositionChangeRow.__table__  # type: ignore[assignment]
_BALANCES: Table = BalanceRow.__table__  # type: ignore[assignment]
_POSITIONS: Table = PositionRow.__table__  # type: ignore[assignment]
_ACCOUNT_ENTRIES: Table = AccountEntryRow.__table__  # type: ignore[assignment]


@functools.cache
def _upsert_statement(dialect_name: str, table: Table, keys: tuple[str, ...]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` of every other column of ``table``, built once
    per dialect and table (a statement is immutable; building one per batch cost ~5 % of a
    posting)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    changed = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """An entry already stored under an idempotency key."""

    sequence: int
    kind: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class WrittenEntry:
    """An entry of the batch with the hash of the request it answers."""

    record: EntryRecord
    request_hash: str


def known_entries_query(pairs: Iterable[tuple[int, str]]) -> Select[Any]:
    """The entries stored under any of the (account id, idempotency key) ``pairs`` — and under
    other combinations of the same accounts and keys, which the caller drops: two ``IN`` lists
    are searched through the (account id, key) unique index by SQLite and PostgreSQL alike,
    where SQLite scans the whole table for a row-value ``IN`` (5.7 ms at 65,000 entries, once
    per write batch, growing with the ledger)."""
    accounts = sorted({account for account, _ in pairs})
    keys = sorted({key for _, key in pairs})
    return select(
        _ENTRIES.c.account_id,
        _ENTRIES.c.idempotency_key,
        _ENTRIES.c.sequence,
        _ENTRIES.c.kind,
        _ENTRIES.c.request_hash,
    ).where(_ENTRIES.c.account_id.in_(accounts), _ENTRIES.c.idempotency_key.in_(keys))


class LedgerRows:
    """Core SQL of the write path on ``connection`` (inside the caller's transaction)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- the lock ------------------------------------------------------------------------------

    def lock_head(self) -> int:
        """Lock the head row (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock already
        through ``BEGIN IMMEDIATE``) and return the last event sequence."""
        query = select(_HEAD.c.last_sequence).where(_HEAD.c.id == 1).with_for_update()
        found = self.connection.execute(query).scalar_one_or_none()
        if found is None:
            raise LedgerIntegrityError("the ledger_head row is missing; run upgrade_database()")
        return int(found)

    # -- StateLoader ---------------------------------------------------------------------------

    def load_account(self, account_id: int) -> AccountRecord | None:
        query = select(_ACCOUNTS.c.id, _ACCOUNTS.c.name, _ACCOUNTS.c.kind).where(
            _ACCOUNTS.c.id == account_id
        )
        row = self.connection.execute(query).first()
        return None if row is None else AccountRecord(int(row[0]), str(row[1]), AccountKind(row[2]))

    def load_balance(self, account_id: int, currency: str) -> Decimal:
        return self.load_holdings(account_id)[0].get(currency, Decimal(0))

    def load_position(self, account_id: int, instrument: str) -> LedgerPosition | None:
        return self.load_holdings(account_id)[1].get(instrument)

    def load_holdings(
        self, account_id: int
    ) -> tuple[dict[str, Decimal], dict[str, LedgerPosition]]:
        balances = self.connection.execute(
            select(_BALANCES.c.currency, _BALANCES.c.amount).where(
                _BALANCES.c.account_id == account_id
            )
        )
        positions = self.connection.execute(
            select(_POSITIONS.c.instrument, _POSITIONS.c.size, _POSITIONS.c.average_price).where(
                _POSITIONS.c.account_id == account_id
            )
        )
        return (
            {str(currency): amount for currency, amount in balances},
            {
                str(name): LedgerPosition(str(name), size, average)
                for name, size, average in positions
            },
        )

    def load_entry_count(self, account_id: int) -> int:
        query = select(func.max(_ACCOUNT_ENTRIES.c.account_sequence)).where(
            _ACCOUNT_ENTRIES.c.account_id == account_id
        )
        return int(self.connection.execute(query).scalar() or 0)

    # -- accounts ------------------------------------------------------------------------------

    def taken_names(self, names: Sequence[str]) -> set[str]:
        """Which of ``names`` are already account names (queries of at most 500 names)."""
        taken: set[str] = set()
        for start in range(0, len(names), 500):
            chunk = list(names[start : start + 500])
            query = select(_ACCOUNTS.c.name).where(_ACCOUNTS.c.name.in_(chunk))
            taken.update(str(name) for name in self.connection.execute(query).scalars())
        return taken

    def next_account_id(self) -> int:
        """The id the next account gets (the largest id + 1)."""
        return int(self.connection.execute(select(func.max(_ACCOUNTS.c.id))).scalar() or 0) + 1

    def write_accounts(
        self, last_sequence: int, records: Sequence[AccountRecord], recorded_at: datetime
    ) -> None:
        """Append one ``account_opened`` event (sequences ``last_sequence`` + 1, + 2, …) and
        one account row per record, with one statement per table, and move the head."""
        if not records:
            return
        stamp = recorded_at.isoformat()
        self._insert(
            _EVENTS,
            [
                {
                    "sequence": last_sequence + 1 + k,
                    "kind": ACCOUNT_OPENED,
                    "payload": account_payload(record),
                    "recorded_at": stamp,
                }
                for k, record in enumerate(records)
            ],
        )
        self._insert(
            _ACCOUNTS,
            [
                {
                    "id": record.account_id,
                    "name": record.name,
                    "kind": record.kind.value,
                    "opened_sequence": last_sequence + 1 + k,
                }
                for k, record in enumerate(records)
            ],
        )
        self.connection.execute(
            update(_HEAD).where(_HEAD.c.id == 1).values(last_sequence=last_sequence + len(records))
        )

    # -- idempotency ---------------------------------------------------------------------------

    def known_entries(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], KnownEntry]:
        """Entries stored under any of the (account id, idempotency key) pairs, in one query."""
        wanted = set(keys)
        if not wanted:
            return {}
        found = {
            (int(account), str(key)): KnownEntry(int(sequence), str(kind), str(digest))
            for account, key, sequence, kind, digest in self.connection.execute(
                known_entries_query(wanted)
            )
        }
        return {pair: entry for pair, entry in found.items() if pair in wanted}

    def entry(self, sequence: int) -> EntryRecord:
        """The stored entry ``sequence`` with its account sequences."""
        row = self.connection.execute(
            select(_EVENTS.c.kind, _EVENTS.c.payload, _EVENTS.c.recorded_at).where(
                _EVENTS.c.sequence == sequence
            )
        ).first()
        if row is None:
            raise LedgerIntegrityError(f"entry {sequence} has no event")
        event = LedgerEvent(sequence, str(row[0]), str(row[1]), datetime.fromisoformat(row[2]))
        numbers = self.connection.execute(
            select(_ACCOUNT_ENTRIES.c.account_id, _ACCOUNT_ENTRIES.c.account_sequence)
            .where(_ACCOUNT_ENTRIES.c.entry_sequence == sequence)
            .order_by(_ACCOUNT_ENTRIES.c.account_id)
        )
        record = entry_from_event(event)
        return _with_sequences(record, tuple((int(a), int(n)) for a, n in numbers))

    # -- writing -------------------------------------------------------------------------------

    def write_entries(self, written: Sequence[WrittenEntry], builder: StateBuilder) -> None:
        """Append the entries' events, rows and account sequences, write the balances and
        positions ``builder`` changed (it has applied every entry) and move the head."""
        if not written:
            return
        records = [item.record for item in written]
        self._insert(
            _EVENTS,
            [
                {
                    "sequence": r.entry_id,
                    "kind": r.kind.value,
                    "payload": entry_payload(r, r.idempotency_key),
                    "recorded_at": r.recorded_at.isoformat(),
                }
                for r in records
            ],
        )
        self._insert(
            _ENTRIES,
            [
                {
                    "sequence": item.record.entry_id,
                    "kind": item.record.kind.value,
                    "account_id": item.record.account_id,
                    "idempotency_key": item.record.idempotency_key,
                    "request_hash": item.request_hash,
                }
                for item in written
            ],
        )
        self._insert(_POSTINGS, _posting_rows(records))
        self._insert(_CHANGES, _change_rows(records))
        self._insert(
            _ACCOUNT_ENTRIES,
            [
                {"account_id": account, "account_sequence": number, "entry_sequence": r.entry_id}
                for r in records
                for account, number in r.account_sequences
            ],
        )
        self._write_projections(builder)
        self.connection.execute(
            update(_HEAD).where(_HEAD.c.id == 1).values(last_sequence=records[-1].entry_id)
        )

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.connection.execute(insert(table), rows)

    def _upsert(self, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.connection.execute(_upsert_statement(self.connection.dialect.name, table, keys), rows)

    def _write_projections(self, builder: StateBuilder) -> None:
        balances = sorted(builder.changed_balances)
        self._upsert(
            _BALANCES,
            ("account_id", "currency"),
            [
                {"account_id": a, "currency": c, "amount": builder.balance(a, c)}
                for a, c in balances
            ],
        )
        kept, closed = [], []
        for account_id, instrument in sorted(builder.changed_positions):
            after = builder.position(account_id, instrument)
            if after is None:
                closed.append({"a": account_id, "i": instrument})
            else:
                kept.append(
                    {
                        "account_id": account_id,
                        "instrument": instrument,
                        "size": after.size,
                        "average_price": after.average_price,
                    }
                )
        self._upsert(_POSITIONS, ("account_id", "instrument"), kept)
        if closed:
            self.connection.execute(
                delete(_POSITIONS).where(
                    _POSITIONS.c.account_id == bindparam("a"),
                    _POSITIONS.c.instrument == bindparam("i"),
                ),
                closed,
            )


def _with_sequences(record: EntryRecord, numbers: tuple[tuple[int, int], ...]) -> EntryRecord:
    return replace(record, account_sequences=numbers)


def _posting_rows(records: Sequence[EntryRecord]) -> list[dict[str, Any]]:
    return [
        {
            "entry_sequence": r.entry_id,
            "line": line,
            "account_id": p.account_id,
            "currency": p.currency,
            "amount": p.amount,
            "kind": p.kind.value,
        }
        for r in records
        for line, p in enumerate(r.postings)
    ]


def _change_rows(records: Sequence[EntryRecord]) -> list[dict[str, Any]]:
    return [
        {
            "entry_sequence": r.entry_id,
            "line": line,
            "account_id": c.account_id,
            "instrument": c.instrument,
            "size_change": c.size_change,
            "size_after": c.size_after,
            "average_price_after": c.average_price_after,
        }
        for r in records
        for line, c in enumerate(r.position_changes)
    ]
