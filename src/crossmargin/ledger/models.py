"""SQLAlchemy 2 ORM models of the ledger tables.

Money, sizes and prices are stored as canonical decimal text (:class:`DecimalText`): exact on
every backend (SQLite has no exact decimal type) and read back as the same ``Decimal``.
The schema is created by the Alembic migrations in ``ledger/migrations``; these models mirror it.

Tables: ``ledger_head`` (one row: the last event sequence; writers lock it), ``events`` (the
append-only log), ``accounts``, ``entries`` (one per operation, with the idempotency key),
``postings`` and ``position_changes`` (the lines of each entry), the projections ``balances``
and ``positions`` (current state, rewritten in the same transaction as the entry), and
``account_entries`` (each account's own numbering of the entries touching it: 1, 2, 3, …).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from crossmargin.ledger.money import canonical_decimal

__all__ = [
    "AccountEntryRow",
    "AccountRow",
    "BalanceRow",
    "Base",
    "DecimalText",
    "EntryRow",
    "EventRow",
    "LedgerHeadRow",
    "PositionChangeRow",
    "PositionRow",
    "PostingRow",
]

#: Width of the text columns holding decimals (38 digits, sign, point and headroom).
DECIMAL_TEXT_LENGTH = 64


class DecimalText(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its canonical text; round-trips exactly on SQLite and
    PostgreSQL."""

    impl = String(DECIMAL_TEXT_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"DecimalText accepts finite Decimals only, not {value!r}")
        return canonical_decimal(value)

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class Base(DeclarativeBase):
    """Declarative base of the ledger tables."""


class LedgerHeadRow(Base):
    """The single row (id 1) holding the last event sequence; every writer locks it first."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(BigInteger)


class EventRow(Base):
    """One event of the append-only log."""

    __tablename__ = "events"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[str] = mapped_column(String(40))


class AccountRow(Base):
    """An account; ``id`` is assigned by the ledger (max + 1 under the write lock)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    opened_sequence: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.sequence"))


class EntryRow(Base):
    """A journal entry; ``sequence`` is its event's sequence and its id."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_entries_account_key"),
    )

    sequence: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.sequence"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))


class PostingRow(Base):
    """One cash line of an entry."""

    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_account_currency", "account_id", "currency"),)

    entry_sequence: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("entries.sequence"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"))
    currency: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(DecimalText)
    kind: Mapped[str] = mapped_column(String(32))


class PositionChangeRow(Base):
    """One position line of an entry."""

    __tablename__ = "position_changes"
    __table_args__ = (Index("ix_position_changes_account", "account_id"),)

    entry_sequence: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("entries.sequence"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"))
    instrument: Mapped[str] = mapped_column(String(64))
    size_change: Mapped[Decimal] = mapped_column(DecimalText)
    size_after: Mapped[Decimal] = mapped_column(DecimalText)
    average_price_after: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)


class BalanceRow(Base):
    """Current balance of one account in one currency (projection of the postings)."""

    __tablename__ = "balances"

    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(16), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(DecimalText)


class PositionRow(Base):
    """Current position of one account in one instrument (projection of the position changes)."""

    __tablename__ = "positions"

    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[Decimal] = mapped_column(DecimalText)
    average_price: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)


class AccountEntryRow(Base):
    """The ``account_sequence``-th entry touching ``account_id`` (as primary account, in a
    posting or a position change): the per-account numbering the service shows instead of the
    global event sequence. Derived from the event log in order, so replay reproduces it."""

    __tablename__ = "account_entries"
    __table_args__ = (
        UniqueConstraint("account_id", "entry_sequence", name="uq_account_entries_entry"),
    )

    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"), primary_key=True)
    account_sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_sequence: Mapped[int] = mapped_column(BigInteger, ForeignKey("entries.sequence"))
