"""The committed state of the accounts a writer has touched, kept between write transactions.

A write batch reads each account it touches — the account row, every balance and position, how
many entries have touched it — once, then keeps it here, so the next batch does not read it
again. The cache is only ever trusted under the write lock and only while the database's last
event sequence is the one it was left at (:meth:`CommittedState.validate`): a write by anyone
else (another process, :meth:`~crossmargin.ledger.Ledger.open_account`) moves the head and
empties the cache. A batch that does not commit empties it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from crossmargin.ledger.accounts import AccountRecord
from crossmargin.ledger.state import LedgerPosition, StateBuilder, StateLoader

__all__ = ["CachedAccount", "CachedLoader", "CommittedState"]


@dataclass
class CachedAccount:
    """One account as last committed: its row, balances, positions and entry count."""

    record: AccountRecord
    balances: dict[str, Decimal]
    positions: dict[str, LedgerPosition]
    entry_count: int


class CommittedState:
    """The cache (see the module docstring); used by one writer at a time."""

    def __init__(self) -> None:
        self.last_sequence = -1
        self.accounts: dict[int, CachedAccount] = {}

    def validate(self, last_sequence: int) -> None:
        """Keep the cache only if nothing was written since it was last updated."""
        if last_sequence != self.last_sequence:
            self.accounts.clear()
            self.last_sequence = last_sequence

    def clear(self) -> None:
        """Forget everything (a batch failed to commit)."""
        self.accounts.clear()
        self.last_sequence = -1

    def opened(self, before: int, records: Iterable[AccountRecord], last_sequence: int) -> None:
        """Take over accounts just opened (no balance, position or entry yet) by a committed
        transaction that moved the head from ``before`` to ``last_sequence`` (under the write
        lock: nothing else was written in between); what else the cache held is kept only if
        it was current at ``before``."""
        if self.last_sequence != before:
            self.accounts.clear()
        for record in records:
            self.accounts[record.account_id] = CachedAccount(record, {}, {}, 0)
        self.last_sequence = last_sequence

    def commit(self, builder: StateBuilder, touched: Iterable[int]) -> None:
        """Take over what a committed batch wrote: ``builder`` applied the batch's entries,
        ``touched`` lists every account they touched."""
        for account_id, currency in builder.changed_balances:
            cached = self.accounts.get(account_id)
            if cached is not None:
                amount = builder.balance(account_id, currency)
                cached.balances[currency] = amount
        for account_id, instrument in builder.changed_positions:
            cached = self.accounts.get(account_id)
            if cached is None:
                continue
            after = builder.position(account_id, instrument)
            if after is None:
                cached.positions.pop(instrument, None)
            else:
                cached.positions[instrument] = after
        for account_id in touched:
            cached = self.accounts.get(account_id)
            if cached is not None:
                cached.entry_count = builder.entry_count(account_id)
        self.last_sequence = builder.last_sequence


class CachedLoader:
    """A :class:`~crossmargin.ledger.state.StateLoader` that answers from the cache and loads
    (and caches) a whole account from ``rows`` on a miss."""

    def __init__(self, state: CommittedState, rows: StateLoader) -> None:
        self._state = state
        self._rows = rows

    def _cached(self, account_id: int) -> CachedAccount | None:
        found = self._state.accounts.get(account_id)
        if found is not None:
            return found
        record = self._rows.load_account(account_id)
        if record is None:
            return None
        balances, positions = self._rows.load_holdings(account_id)
        found = CachedAccount(record, balances, positions, self._rows.load_entry_count(account_id))
        self._state.accounts[account_id] = found
        return found

    def load_account(self, account_id: int) -> AccountRecord | None:
        found = self._cached(account_id)
        return None if found is None else found.record

    def load_balance(self, account_id: int, currency: str) -> Decimal:
        found = self._cached(account_id)
        return Decimal(0) if found is None else found.balances.get(currency, Decimal(0))

    def load_position(self, account_id: int, instrument: str) -> LedgerPosition | None:
        found = self._cached(account_id)
        return None if found is None else found.positions.get(instrument)

    def load_holdings(
        self, account_id: int
    ) -> tuple[dict[str, Decimal], dict[str, LedgerPosition]]:
        found = self._cached(account_id)
        if found is None:
            return {}, {}
        return dict(found.balances), dict(found.positions)

    def load_entry_count(self, account_id: int) -> int:
        found = self._cached(account_id)
        return 0 if found is None else found.entry_count
