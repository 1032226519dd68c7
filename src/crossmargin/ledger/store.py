"""Reading and writing ledger rows inside one SQLAlchemy session (one transaction).

:class:`LedgerStore` is the database side of a :class:`~crossmargin.ledger.state.StateBuilder`
(it loads the rows an operation touches) and writes an entry's rows: the event, the entry, its
postings and position changes, and the new balances and positions the builder computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
from crossmargin.ledger.state import LedgerPosition, LedgerState, StateBuilder

__all__ = ["LedgerStore"]


def _record(row: AccountRow) -> AccountRecord:
    return AccountRecord(row.id, row.name, AccountKind(row.kind))


def _event(row: EventRow) -> LedgerEvent:
    return LedgerEvent(row.sequence, row.kind, row.payload, datetime.fromisoformat(row.recorded_at))


class LedgerStore:
    """Row access for one open session; every method runs inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the write lock and the head -----------------------------------------------------------

    def lock_head(self) -> int:
        """Lock the head row (PostgreSQL: ``FOR UPDATE``; SQLite holds the database write lock
        already) and return the last event sequence."""
        head = self.session.execute(
            select(LedgerHeadRow).where(LedgerHeadRow.id == 1).with_for_update()
        ).scalar_one_or_none()
        if head is None:
            raise LedgerIntegrityError("the ledger_head row is missing; run upgrade_database()")
        return head.last_sequence

    def last_sequence(self) -> int:
        """The last event sequence, without locking."""
        return self.session.execute(
            select(LedgerHeadRow.last_sequence).where(LedgerHeadRow.id == 1)
        ).scalar_one()

    # -- StateLoader ---------------------------------------------------------------------------

    def load_account(self, account_id: int) -> AccountRecord | None:
        row = self.session.get(AccountRow, account_id)
        return None if row is None else _record(row)

    def load_balance(self, account_id: int, currency: str) -> Decimal:
        row = self.session.get(BalanceRow, (account_id, currency))
        return Decimal(0) if row is None else row.amount

    def load_position(self, account_id: int, instrument: str) -> LedgerPosition | None:
        row = self.session.get(PositionRow, (account_id, instrument))
        return None if row is None else LedgerPosition(row.instrument, row.size, row.average_price)

    def load_holdings(
        self, account_id: int
    ) -> tuple[dict[str, Decimal], dict[str, LedgerPosition]]:
        balances = self.session.scalars(
            select(BalanceRow).where(BalanceRow.account_id == account_id)
        )
        positions = self.session.scalars(
            select(PositionRow).where(PositionRow.account_id == account_id)
        )
        return (
            {row.currency: row.amount for row in balances},
            {
                row.instrument: LedgerPosition(row.instrument, row.size, row.average_price)
                for row in positions
            },
        )

    def load_entry_count(self, account_id: int) -> int:
        return int(
            self.session.execute(
                select(func.max(AccountEntryRow.account_sequence)).where(
                    AccountEntryRow.account_id == account_id
                )
            ).scalar()
            or 0
        )

    # -- accounts ------------------------------------------------------------------------------

    def account_by_name(self, name: str) -> AccountRecord | None:
        row = self.session.scalars(select(AccountRow).where(AccountRow.name == name)).first()
        return None if row is None else _record(row)

    def accounts(self) -> tuple[AccountRecord, ...]:
        rows = self.session.scalars(select(AccountRow).order_by(AccountRow.id))
        return tuple(_record(row) for row in rows)

    def next_account_id(self) -> int:
        return int(self.session.execute(select(func.max(AccountRow.id))).scalar() or 0) + 1

    # -- appending -----------------------------------------------------------------------------

    def _append_event(self, sequence: int, kind: str, payload: str, recorded_at: datetime) -> None:
        self.session.add(
            EventRow(
                sequence=sequence, kind=kind, payload=payload, recorded_at=recorded_at.isoformat()
            )
        )
        head = self.session.get(LedgerHeadRow, 1)
        assert head is not None
        head.last_sequence = sequence
        self.session.flush()

    def write_account(self, sequence: int, record: AccountRecord, recorded_at: datetime) -> None:
        """Append an ``account_opened`` event and the account row."""
        self._append_event(sequence, ACCOUNT_OPENED, account_payload(record), recorded_at)
        self.session.add(
            AccountRow(
                id=record.account_id,
                name=record.name,
                kind=record.kind.value,
                opened_sequence=sequence,
            )
        )

    def write_entry(self, record: EntryRecord, request_hash: str, builder: StateBuilder) -> None:
        """Append the entry's event and rows, and write the balances and positions ``builder``
        changed (it has applied the entry)."""
        self._append_event(
            record.entry_id,
            record.kind.value,
            entry_payload(record, record.idempotency_key),
            record.recorded_at,
        )
        self.session.add(
            EntryRow(
                sequence=record.entry_id,
                kind=record.kind.value,
                account_id=record.account_id,
                idempotency_key=record.idempotency_key,
                request_hash=request_hash,
            )
        )
        self.session.flush()
        self.session.add_all(
            PostingRow(
                entry_sequence=record.entry_id,
                line=line,
                account_id=p.account_id,
                currency=p.currency,
                amount=p.amount,
                kind=p.kind.value,
            )
            for line, p in enumerate(record.postings)
        )
        self.session.add_all(
            PositionChangeRow(
                entry_sequence=record.entry_id,
                line=line,
                account_id=c.account_id,
                instrument=c.instrument,
                size_change=c.size_change,
                size_after=c.size_after,
                average_price_after=c.average_price_after,
            )
            for line, c in enumerate(record.position_changes)
        )
        self._write_projections(builder)
        self.session.flush()

    def _write_projections(self, builder: StateBuilder) -> None:
        for account_id, currency in sorted(builder.changed_balances):
            amount = builder.balance(account_id, currency)
            balance = self.session.get(BalanceRow, (account_id, currency))
            if balance is None:
                self.session.add(
                    BalanceRow(account_id=account_id, currency=currency, amount=amount)
                )
            else:
                balance.amount = amount
        for account_id, instrument in sorted(builder.changed_positions):
            after = builder.position(account_id, instrument)
            row = self.session.get(PositionRow, (account_id, instrument))
            if after is None:
                if row is not None:
                    self.session.delete(row)
            elif row is None:
                self.session.add(
                    PositionRow(
                        account_id=account_id,
                        instrument=instrument,
                        size=after.size,
                        average_price=after.average_price,
                    )
                )
            else:
                row.size = after.size
                row.average_price = after.average_price

    # -- entries and events --------------------------------------------------------------------

    def find_entry(self, account_id: int, idempotency_key: str) -> EntryRow | None:
        return self.session.scalars(
            select(EntryRow).where(
                EntryRow.account_id == account_id, EntryRow.idempotency_key == idempotency_key
            )
        ).first()

    def entry(self, sequence: int) -> EntryRecord:
        row = self.session.get(EventRow, sequence)
        if row is None:
            raise LedgerIntegrityError(f"entry {sequence} has no event")
        numbers = self.session.execute(
            select(AccountEntryRow.account_id, AccountEntryRow.account_sequence)
            .where(AccountEntryRow.entry_sequence == sequence)
            .order_by(AccountEntryRow.account_id)
        )
        return replace(
            entry_from_event(_event(row)),
            account_sequences=tuple((int(a), int(n)) for a, n in numbers),
        )

    def entries_of(self, account_id: int, limit: int, offset: int) -> tuple[EntryRecord, ...]:
        """Entries touching ``account_id`` (as primary account, in a posting or a position
        change) in the account's own order, skipping its first ``offset``; each record carries
        its number in this account's journal (only)."""
        rows = self.session.execute(
            select(EventRow, AccountEntryRow.account_sequence)
            .join(AccountEntryRow, AccountEntryRow.entry_sequence == EventRow.sequence)
            .where(
                AccountEntryRow.account_id == account_id,
                AccountEntryRow.account_sequence > offset,
            )
            .order_by(AccountEntryRow.account_sequence)
            .limit(limit)
        )
        return tuple(
            replace(entry_from_event(_event(row)), account_sequences=((account_id, number),))
            for row, number in rows
        )

    def events(self, after_sequence: int, limit: int | None) -> tuple[LedgerEvent, ...]:
        query = (
            select(EventRow).where(EventRow.sequence > after_sequence).order_by(EventRow.sequence)
        )
        if limit is not None:
            query = query.limit(limit)
        return tuple(_event(row) for row in self.session.scalars(query))

    # -- whole-ledger reads (state and invariants) ---------------------------------------------

    def state(self) -> LedgerState:
        """The live state from the projection tables."""
        balances = {
            (row.account_id, row.currency): row.amount
            for row in self.session.scalars(select(BalanceRow))
            if row.amount != 0
        }
        positions = {
            (row.account_id, row.instrument): LedgerPosition(
                row.instrument, row.size, row.average_price
            )
            for row in self.session.scalars(select(PositionRow))
        }
        return LedgerState(
            last_sequence=self.last_sequence(),
            accounts=MappingProxyType({a.account_id: a for a in self.accounts()}),
            balances=MappingProxyType(dict(sorted(balances.items()))),
            positions=MappingProxyType(dict(sorted(positions.items()))),
        )

    def posting_rows(self) -> Iterable[PostingRow]:
        return self.session.scalars(
            select(PostingRow).order_by(PostingRow.entry_sequence, PostingRow.line)
        )

    def position_change_rows(self) -> Iterable[PositionChangeRow]:
        return self.session.scalars(
            select(PositionChangeRow).order_by(
                PositionChangeRow.entry_sequence, PositionChangeRow.line
            )
        )

    def account_entry_rows(self) -> Iterable[tuple[int, int, int]]:
        """(account id, account sequence, entry sequence) of every account_entries row."""
        rows = self.session.execute(
            select(
                AccountEntryRow.account_id,
                AccountEntryRow.account_sequence,
                AccountEntryRow.entry_sequence,
            )
        )
        return [(int(a), int(n), int(e)) for a, n, e in rows]

    def entry_rows(self) -> Iterable[EntryRow]:
        return self.session.scalars(select(EntryRow).order_by(EntryRow.sequence))
