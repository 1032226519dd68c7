"""Posting many operations in one transaction (group commit).

:func:`post_operations` takes the write lock once, looks every idempotency key up in one query,
builds each operation's entry against the state left by the ones before it — exactly as if they
were posted one by one, in order — and writes all accepted entries with one statement per table.
An operation that is refused (bad input, not enough balance or margin, an idempotency conflict)
gets its error as its outcome and leaves no trace; the others are unaffected. An error of the
database aborts the whole batch: nothing of it is written, and every operation gets that error.
Nothing is acknowledged before the commit, so a crash loses only unacknowledged operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc
from crossmargin.ledger.accounts import AccountKind
from crossmargin.ledger.cache import CachedLoader, CommittedState
from crossmargin.ledger.entries import EntryRecord
from crossmargin.ledger.errors import (
    IdempotencyConflictError,
    InsufficientBalanceError,
    LedgerIntegrityError,
)
from crossmargin.ledger.events import request_hash
from crossmargin.ledger.operations import Operation
from crossmargin.ledger.risk import MarginCheck, MarginScreen, RiskCheck, enforce_initial_margin
from crossmargin.ledger.risk import holdings_portfolio as portfolio_of
from crossmargin.ledger.rows import KnownEntry, LedgerRows, WrittenEntry
from crossmargin.ledger.rules import uncovered_debits
from crossmargin.ledger.state import StateBuilder

__all__ = [
    "MAX_BATCH",
    "BatchContext",
    "BatchResult",
    "Outcome",
    "post_operations",
    "validate_idempotency_key",
]

#: Most operations one transaction takes.
MAX_BATCH = 256

_MAX_KEY_LENGTH = 200

#: What posting one operation gave: its entry (new, or the original for a retry), or the error
#: that refused it.
Outcome = EntryRecord | Exception


def validate_idempotency_key(raw: object) -> str:
    """An idempotency key: 1 to 200 printable characters."""
    if not isinstance(raw, str) or not raw or len(raw) > _MAX_KEY_LENGTH or not raw.isprintable():
        raise InputError(
            "idempotency_key", raw, f"must be 1 to {_MAX_KEY_LENGTH} printable characters"
        )
    return raw


@dataclass(frozen=True)
class BatchContext:
    """What a batch needs besides its operations."""

    system: Mapping[AccountKind, int]
    risk_check: RiskCheck | None
    clock: Callable[[], datetime]
    after_postings: Callable[[EntryRecord], None] | None = None
    margin_screen: MarginScreen | None = None


def _check_margin(
    context: BatchContext, builder: StateBuilder, operation: Operation, record: EntryRecord
) -> None:
    """Hold a user's withdrawal or trade to the initial-margin rule, before it is applied (the
    context's margin screen first, when it has one: what it shows to pass skips the check)."""
    if (
        context.risk_check is None
        or operation.margin_check is MarginCheck.NONE
        or builder.account(operation.account_id).kind is not AccountKind.USER
    ):
        return
    holdings_after = builder.holdings_after(operation.account_id, record)
    screen = context.margin_screen
    if screen is not None and screen(operation.margin_check, holdings_after):
        return  # shown to pass: the risk check would let it through
    before = portfolio_of(builder.holdings(operation.account_id))
    enforce_initial_margin(
        context.risk_check,
        operation.account_id,
        operation.margin_check,
        before,
        portfolio_of(holdings_after),
    )


class _Batch:
    """One transaction's worth of operations (see the module docstring)."""

    def __init__(self, rows: LedgerRows, cache: CommittedState, context: BatchContext) -> None:
        self.rows = rows
        self.context = context
        last = rows.lock_head()
        cache.validate(last)
        self.builder = StateBuilder(CachedLoader(cache, rows), last)
        self.pending: dict[tuple[int, str], WrittenEntry] = {}
        self.written: list[WrittenEntry] = []
        self.touched: set[int] = set()

    def post(
        self, operation: Operation, key: str, known: Mapping[tuple[int, str], KnownEntry]
    ) -> Outcome:
        digest = request_hash(operation.kind, operation.account_id, operation.request)
        slot = (operation.account_id, key)
        earlier = self.pending.get(slot)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise IdempotencyConflictError(slot[0], key, earlier.record.kind.value)
            return replace(earlier.record, idempotent_replay=True)
        stored = known.get(slot)
        if stored is not None:
            if stored.request_hash != digest:
                raise IdempotencyConflictError(slot[0], key, stored.kind)
            return replace(self.rows.entry(stored.sequence), idempotent_replay=True)
        draft = operation.build(self.builder, self.context.system)
        uncovered = uncovered_debits(self.builder, draft)
        if uncovered:
            first = uncovered[0]
            raise InsufficientBalanceError(
                first.account_id, first.currency, first.balance, first.required
            )
        sequence = self.builder.last_sequence + 1
        record = EntryRecord(
            entry_id=sequence,
            kind=draft.kind,
            account_id=draft.account_id,
            idempotency_key=key,
            request=draft.request,
            postings=draft.postings,
            position_changes=draft.position_changes,
            recorded_at=ensure_utc(self.context.clock(), "clock"),
        )
        _check_margin(self.context, self.builder, operation, record)
        numbers = self.builder.apply_entry(sequence, draft)
        record = replace(record, account_sequences=tuple(sorted(numbers.items())))
        self.touched.update(numbers)
        entry = WrittenEntry(record, digest)
        self.pending[slot] = entry
        self.written.append(entry)
        return record


@dataclass(frozen=True)
class BatchResult:
    """The outcomes of a batch, in order, and what the cache takes over after the commit."""

    outcomes: list[Outcome]
    builder: StateBuilder
    touched: frozenset[int]

    def commit_to(self, cache: CommittedState) -> None:
        """Update ``cache`` once the transaction has committed."""
        cache.commit(self.builder, self.touched)


def post_operations(
    rows: LedgerRows,
    cache: CommittedState,
    context: BatchContext,
    items: Sequence[tuple[Operation, str]],
) -> BatchResult:
    """Post ``items`` (operation, idempotency key) in order inside the transaction of ``rows``;
    one outcome per item. The caller commits, then calls :meth:`BatchResult.commit_to` — or,
    when anything raised, rolls back and clears the cache.

    Raises what the database raised (and :class:`LedgerIntegrityError`): the whole batch failed.
    """
    batch = _Batch(rows, cache, context)
    keys: list[str | Exception] = []
    for _, raw in items:
        try:
            keys.append(validate_idempotency_key(raw))
        except InputError as error:
            keys.append(error)
    known = rows.known_entries(
        (operation.account_id, key)
        for (operation, _), key in zip(items, keys, strict=True)
        if isinstance(key, str)
    )
    outcomes: list[Outcome] = []
    for (operation, _), key in zip(items, keys, strict=True):
        if isinstance(key, Exception):
            outcomes.append(key)
            continue
        try:
            outcomes.append(batch.post(operation, key, known))
        except (SQLAlchemyError, LedgerIntegrityError):
            raise
        except Exception as refusal:  # this operation only: nothing of it was applied
            outcomes.append(refusal)
    rows.write_entries(batch.written, batch.builder)
    if context.after_postings is not None:
        for entry in batch.written:
            context.after_postings(entry.record)
    return BatchResult(outcomes, batch.builder, frozenset(batch.touched))
