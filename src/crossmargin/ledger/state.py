"""Ledger state (accounts, balances, positions), the one function that applies an entry to it,
and replay of the event log.

:class:`StateBuilder` is used twice: live, over a loader that reads the rows an operation touches
from the database; and in :func:`replay`, over nothing, folding every event from the first. Both
paths apply entries with the same :meth:`StateBuilder.apply_entry`, and
:func:`state_to_bytes` serialises either result canonically, so live state and replayed state
can be compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from crossmargin.ledger.accounts import AccountRecord
from crossmargin.ledger.entries import EntryDraft, EntryRecord, touched_accounts
from crossmargin.ledger.errors import LedgerIntegrityError, UnknownAccountError
from crossmargin.ledger.events import (
    ACCOUNT_OPENED,
    LedgerEvent,
    account_from_payload,
    canonical_json,
    entry_from_event,
)
from crossmargin.ledger.money import LEDGER_CONTEXT

__all__ = [
    "AccountHoldings",
    "LedgerPosition",
    "LedgerState",
    "StateBuilder",
    "StateLoader",
    "replay",
    "state_to_bytes",
]


@dataclass(frozen=True, slots=True)
class LedgerPosition:
    """A position held by an account: ``size`` in the instrument's native amount (positive
    long), ``average_price`` its entry price (USD per coin; premium per unit for options; ``None``
    on the settlement account's mirror positions)."""

    instrument: str
    size: Decimal
    average_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountHoldings:
    """One account as of the event ``as_of_sequence``: its non-zero balances by currency and its
    positions by instrument (both sorted). ``account_sequence`` is the number of entries that
    have touched the account (its own journal's last number; 0 for none)."""

    account: AccountRecord
    balances: Mapping[str, Decimal]
    positions: tuple[LedgerPosition, ...]
    as_of_sequence: int
    account_sequence: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "balances", MappingProxyType(dict(sorted(self.balances.items()))))


@dataclass(frozen=True)
class LedgerState:
    """Everything the ledger holds after the event ``last_sequence``.

    ``balances`` maps (account id, currency) to a non-zero balance; ``positions`` maps
    (account id, instrument) to a non-zero position.
    """

    last_sequence: int
    accounts: Mapping[int, AccountRecord]
    balances: Mapping[tuple[int, str], Decimal]
    positions: Mapping[tuple[int, str], LedgerPosition]

    def balances_of(self, account_id: int) -> dict[str, Decimal]:
        """Non-zero balances of one account by currency, sorted."""
        return {c: a for (i, c), a in sorted(self.balances.items()) if i == account_id}

    def positions_of(self, account_id: int) -> tuple[LedgerPosition, ...]:
        """Positions of one account, sorted by instrument."""
        return tuple(p for (i, _), p in sorted(self.positions.items()) if i == account_id)


def state_to_bytes(state: LedgerState) -> bytes:
    """Canonical UTF-8 JSON of ``state``: equal states give equal bytes."""
    document = {
        "accounts": [
            {"account_id": a.account_id, "kind": a.kind.value, "name": a.name}
            for _, a in sorted(state.accounts.items())
        ],
        "balances": [
            {"account_id": i, "amount": amount, "currency": c}
            for (i, c), amount in sorted(state.balances.items())
            if amount != 0
        ],
        "last_sequence": state.last_sequence,
        "positions": [
            {
                "account_id": i,
                "average_price": p.average_price,
                "instrument": p.instrument,
                "size": p.size,
            }
            for (i, _), p in sorted(state.positions.items())
            if p.size != 0
        ],
    }
    return canonical_json(document).encode("utf-8")


class StateLoader(Protocol):
    """Where a live :class:`StateBuilder` reads rows it has not seen yet."""

    def load_account(self, account_id: int) -> AccountRecord | None:
        """The account, or ``None`` when there is none."""
        ...

    def load_balance(self, account_id: int, currency: str) -> Decimal:
        """The balance (0 when there is no row)."""
        ...

    def load_position(self, account_id: int, instrument: str) -> LedgerPosition | None:
        """The position, or ``None``."""
        ...

    def load_holdings(
        self, account_id: int
    ) -> tuple[dict[str, Decimal], dict[str, LedgerPosition]]:
        """All balances and positions of one account."""
        ...

    def load_entry_count(self, account_id: int) -> int:
        """How many entries have touched the account (its last account sequence; 0 for none)."""
        ...


class StateBuilder:
    """A working copy of (part of) the ledger state that entries are applied to.

    Without a loader it starts empty (replay); with one it reads rows on first use and records
    which balances and positions changed, so the caller writes back exactly those.
    """

    def __init__(self, loader: StateLoader | None = None, last_sequence: int = 0) -> None:
        self._loader = loader
        self.last_sequence = last_sequence
        self._accounts: dict[int, AccountRecord] = {}
        self._balances: dict[tuple[int, str], Decimal] = {}
        self._positions: dict[tuple[int, str], LedgerPosition | None] = {}
        self._complete: set[int] = set()
        self._entry_counts: dict[int, int] = {}
        self.changed_balances: set[tuple[int, str]] = set()
        self.changed_positions: set[tuple[int, str]] = set()

    # -- reading -------------------------------------------------------------------------------

    def account(self, account_id: int) -> AccountRecord:
        """The account; raises :class:`UnknownAccountError` when there is none."""
        record = self._accounts.get(account_id)
        if record is None and self._loader is not None:
            record = self._loader.load_account(account_id)
            if record is not None:
                self._accounts[account_id] = record
        if record is None:
            raise UnknownAccountError(account_id)
        return record

    def balance(self, account_id: int, currency: str) -> Decimal:
        """Balance of one account in one currency (0 when none)."""
        key = (account_id, currency)
        if key not in self._balances:
            loaded = Decimal(0)
            if self._loader is not None and account_id not in self._complete:
                loaded = self._loader.load_balance(account_id, currency)
            self._balances[key] = loaded
        return self._balances[key]

    def position(self, account_id: int, instrument: str) -> LedgerPosition | None:
        """Position of one account in one instrument, or ``None``."""
        key = (account_id, instrument)
        if key not in self._positions:
            loaded = None
            if self._loader is not None and account_id not in self._complete:
                loaded = self._loader.load_position(account_id, instrument)
            self._positions[key] = loaded
        return self._positions[key]

    def entry_count(self, account_id: int) -> int:
        """How many entries have touched the account so far (its last account sequence)."""
        count = self._entry_counts.get(account_id)
        if count is None:
            count = 0
            if self._loader is not None and account_id in self._accounts:
                count = self._loader.load_entry_count(account_id)
            self._entry_counts[account_id] = count
        return count

    def holdings(self, account_id: int) -> AccountHoldings:
        """All non-zero balances and the positions of one account, as of :attr:`last_sequence`."""
        record = self.account(account_id)
        if self._loader is not None and account_id not in self._complete:
            balances, positions = self._loader.load_holdings(account_id)
            for currency, amount in balances.items():
                self._balances.setdefault((account_id, currency), amount)
            for instrument, position in positions.items():
                self._positions.setdefault((account_id, instrument), position)
            self._complete.add(account_id)
        return AccountHoldings(
            record,
            {c: a for (i, c), a in self._balances.items() if i == account_id and a != 0},
            tuple(
                p
                for (i, _), p in sorted(self._positions.items())
                if i == account_id and p is not None
            ),
            self.last_sequence,
            self.entry_count(account_id),
        )

    def holdings_after(self, account_id: int, entry: EntryDraft | EntryRecord) -> AccountHoldings:
        """The account's holdings as they would be after ``entry``, without applying it (the
        builder is left unchanged): a margin check can refuse the entry afterwards."""
        before = self.holdings(account_id)
        balances = dict(before.balances)
        for posting in entry.postings:
            if posting.account_id == account_id:
                balances[posting.currency] = LEDGER_CONTEXT.add(
                    balances.get(posting.currency, Decimal(0)), posting.amount
                )
        positions = {p.instrument: p for p in before.positions}
        for change in entry.position_changes:
            if change.account_id != account_id:
                continue
            if change.size_after == 0:
                positions.pop(change.instrument, None)
            else:
                positions[change.instrument] = LedgerPosition(
                    change.instrument, change.size_after, change.average_price_after
                )
        return AccountHoldings(
            before.account,
            {c: a for c, a in balances.items() if a != 0},
            tuple(p for _, p in sorted(positions.items())),
            self.last_sequence + 1,
            before.account_sequence + 1,
        )

    # -- writing -------------------------------------------------------------------------------

    def _advance(self, sequence: int) -> None:
        if sequence != self.last_sequence + 1:
            raise LedgerIntegrityError(
                f"event sequence {sequence} does not follow {self.last_sequence}"
            )
        self.last_sequence = sequence

    def open_account(self, sequence: int, record: AccountRecord) -> None:
        """Apply an ``account_opened`` event."""
        if record.account_id in self._accounts:
            raise LedgerIntegrityError(f"account {record.account_id} opened twice")
        self._advance(sequence)
        self._accounts[record.account_id] = record
        self._complete.add(record.account_id)
        self._entry_counts[record.account_id] = 0

    def apply_entry(self, sequence: int, entry: EntryDraft | EntryRecord) -> dict[int, int]:
        """Apply an entry's postings and position changes (it is balanced by construction).

        Returns the entry's number in the journal of every account it touches
        (:func:`~crossmargin.ledger.entries.touched_accounts`). Raises
        :class:`LedgerIntegrityError` when a position change does not add up to the size it
        records, or an account is unknown.
        """
        touched = touched_accounts(entry)
        for account_id in touched:
            self.account(account_id)
        for posting in entry.postings:
            self.account(posting.account_id)
        for change in entry.position_changes:
            self.account(change.account_id)
            before = self.position(change.account_id, change.instrument)
            size_before = before.size if before is not None else Decimal(0)
            if LEDGER_CONTEXT.add(size_before, change.size_change) != change.size_after:
                raise LedgerIntegrityError(
                    f"position {change.account_id}/{change.instrument}: {size_before} + "
                    f"{change.size_change} != {change.size_after}"
                )
        self._advance(sequence)
        for posting in entry.postings:
            key = (posting.account_id, posting.currency)
            self._balances[key] = LEDGER_CONTEXT.add(self.balance(*key), posting.amount)
            self.changed_balances.add(key)
        for change in entry.position_changes:
            key = (change.account_id, change.instrument)
            self._positions[key] = (
                None
                if change.size_after == 0
                else LedgerPosition(
                    change.instrument, change.size_after, change.average_price_after
                )
            )
            self.changed_positions.add(key)
        numbers = {}
        for account_id in touched:
            numbers[account_id] = self.entry_count(account_id) + 1
            self._entry_counts[account_id] = numbers[account_id]
        return numbers

    def apply_event(self, event: LedgerEvent) -> None:
        """Apply one event of the log."""
        if event.kind == ACCOUNT_OPENED:
            self.open_account(event.sequence, account_from_payload(event.payload))
        else:
            self.apply_entry(event.sequence, entry_from_event(event))

    def to_state(self) -> LedgerState:
        """The state built so far (complete only for a builder without a loader)."""
        return LedgerState(
            last_sequence=self.last_sequence,
            accounts=MappingProxyType(dict(sorted(self._accounts.items()))),
            balances=MappingProxyType({k: v for k, v in sorted(self._balances.items()) if v != 0}),
            positions=MappingProxyType(
                {k: v for k, v in sorted(self._positions.items()) if v is not None}
            ),
        )


def replay(events: Iterable[LedgerEvent]) -> LedgerState:
    """Fold the event log, from sequence 1 and without gaps, into the ledger state.

    Raises :class:`LedgerIntegrityError` on a gap, a repeated account or an entry that does not
    add up.
    """
    builder = StateBuilder()
    for event in events:
        builder.apply_event(event)
    return builder.to_state()
