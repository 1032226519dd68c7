"""The ledger's invariants, checked against everything stored.

1. The event log runs 1, 2, …, head with no gap, and every entry event parses and balances.
2. Every entry's posting rows sum to zero per currency and its position changes per instrument.
3. The posting and position-change rows are exactly the lines recorded in the entry's event.
4. Every balance row equals the sum of the postings of its account and currency; every position
   row equals the sum of its position changes.
5. Replaying the event log gives the live state byte for byte (:func:`state_to_bytes`).
6. No balance of a user, the fee account or the insurance fund went negative (or more negative)
   except through recorded losses (:mod:`crossmargin.ledger.rules`, checked entry by entry along
   the log), and every such negative balance has loss postings behind it.
7. ``account_entries`` numbers the entries touching each account 1, 2, … in event order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from crossmargin.ledger.entries import EntryRecord
from crossmargin.ledger.errors import LedgerIntegrityError
from crossmargin.ledger.events import LedgerEvent, entry_from_event
from crossmargin.ledger.money import LEDGER_CONTEXT, is_multiple_of_quantum
from crossmargin.ledger.rules import uncovered_debits
from crossmargin.ledger.state import StateBuilder, state_to_bytes
from crossmargin.ledger.store import LedgerStore

__all__ = ["InvariantReport", "check_store_invariants"]


@dataclass(frozen=True, slots=True)
class InvariantReport:
    """Outcome of :func:`check_store_invariants`: what was checked and every violation found
    (human-readable, empty when the ledger is sound)."""

    last_sequence: int
    events_checked: int
    entries_checked: int
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no invariant is violated."""
        return not self.violations


def _replay_checked(
    events: tuple[LedgerEvent, ...], violations: list[str]
) -> tuple[StateBuilder, dict[int, EntryRecord], set[tuple[int, int, int]]]:
    builder = StateBuilder()
    entries: dict[int, EntryRecord] = {}
    numbering: set[tuple[int, int, int]] = set()
    for event in events:
        try:
            if event.is_entry:
                entry = entry_from_event(event)
                for problem in uncovered_debits(builder, entry):
                    violations.append(
                        f"entry {event.sequence}: account {problem.account_id} {problem.currency}"
                        f" balance {problem.balance} does not cover {problem.required} and it is"
                        " not a recorded loss"
                    )
                entries[event.sequence] = entry
                numbers = builder.apply_entry(event.sequence, entry)
                numbering.update((a, n, event.sequence) for a, n in numbers.items())
            else:
                builder.apply_event(event)
        except LedgerIntegrityError as error:
            violations.append(f"event {event.sequence}: {error}")
            break
    return builder, entries, numbering


def _sum_rows(
    rows: list[tuple[int, tuple[int, str], Decimal]],
) -> tuple[dict[int, dict[str, Decimal]], dict[tuple[int, str], Decimal]]:
    """Per-entry totals by asset, and totals by (account, asset)."""
    per_entry: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    per_key: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for sequence, key, amount in rows:
        per_entry[sequence][key[1]] = LEDGER_CONTEXT.add(per_entry[sequence][key[1]], amount)
        per_key[key] = LEDGER_CONTEXT.add(per_key[key], amount)
    return per_entry, per_key


def check_store_invariants(store: LedgerStore) -> InvariantReport:
    """Check every invariant of the module docstring inside the store's (read) transaction."""
    violations: list[str] = []
    head = store.last_sequence()
    events = store.events(0, None)
    sequences = [event.sequence for event in events]
    if sequences != list(range(1, len(sequences) + 1)) or (sequences[-1:] or [0])[0] != head:
        violations.append(f"event sequences are not 1..{head} without gaps")
    builder, entries, numbering = _replay_checked(events, violations)
    if set(store.account_entry_rows()) != numbering:
        violations.append("account_entries does not number each account's entries in order")

    posting_rows = list(store.posting_rows())
    change_rows = list(store.position_change_rows())
    entry_sequences = {row.sequence for row in store.entry_rows()}
    if entry_sequences != set(entries):
        violations.append("the entries table does not match the entry events")
    by_entry: dict[int, list[tuple[int, str, Decimal, str]]] = defaultdict(list)
    for p in posting_rows:
        by_entry[p.entry_sequence].append((p.account_id, p.currency, p.amount, p.kind))
    for sequence, entry in entries.items():
        recorded = [(p.account_id, p.currency, p.amount, p.kind.value) for p in entry.postings]
        if by_entry.get(sequence, []) != recorded:
            violations.append(f"entry {sequence}: posting rows differ from its event")
    changes_by_entry: dict[int, list[tuple[int, str, Decimal, Decimal, Decimal | None]]] = (
        defaultdict(list)
    )
    for c in change_rows:
        changes_by_entry[c.entry_sequence].append(
            (c.account_id, c.instrument, c.size_change, c.size_after, c.average_price_after)
        )
    for sequence, entry in entries.items():
        recorded_changes = [
            (c.account_id, c.instrument, c.size_change, c.size_after, c.average_price_after)
            for c in entry.position_changes
        ]
        if changes_by_entry.get(sequence, []) != recorded_changes:
            violations.append(f"entry {sequence}: position-change rows differ from its event")

    cash_per_entry, cash_per_key = _sum_rows(
        [(p.entry_sequence, (p.account_id, p.currency), p.amount) for p in posting_rows]
    )
    size_per_entry, size_per_key = _sum_rows(
        [(c.entry_sequence, (c.account_id, c.instrument), c.size_change) for c in change_rows]
    )
    for label, per_entry in (("postings", cash_per_entry), ("position changes", size_per_entry)):
        for sequence, totals in sorted(per_entry.items()):
            unbalanced = {asset: total for asset, total in totals.items() if total != 0}
            if unbalanced:
                violations.append(f"entry {sequence}: {label} do not sum to zero: {unbalanced}")
    for p in posting_rows:
        if not is_multiple_of_quantum(p.amount, p.currency):
            violations.append(f"entry {p.entry_sequence}: {p.amount} {p.currency} off quantum")

    live = store.state()
    for key in sorted(set(live.balances) | set(cash_per_key)):
        stored_amount = live.balances.get(key, Decimal(0))
        if stored_amount != cash_per_key.get(key, Decimal(0)):
            violations.append(
                f"balance {key}: {stored_amount} != sum of postings {cash_per_key.get(key)}"
            )
    for key in sorted(set(live.positions) | set(size_per_key)):
        held = live.positions.get(key)
        stored_size = held.size if held is not None else Decimal(0)
        if stored_size != size_per_key.get(key, Decimal(0)):
            violations.append(
                f"position {key}: {stored_size} != sum of changes {size_per_key.get(key)}"
            )
    if not violations and state_to_bytes(builder.to_state()) != state_to_bytes(live):
        violations.append("replaying the event log does not reproduce the live state")

    losses = {
        (p.account_id, p.currency)
        for entry in entries.values()
        for p in entry.postings
        if p.records_loss
    }
    for (account_id, currency), amount in live.balances.items():
        account = live.accounts.get(account_id)
        may_go_negative = account is None or account.kind.may_go_negative
        if amount < 0 and not may_go_negative and (account_id, currency) not in losses:
            violations.append(
                f"account {account_id} {currency} balance {amount} is negative without a "
                "recorded loss"
            )
    return InvariantReport(head, len(events), len(entries), tuple(violations))
