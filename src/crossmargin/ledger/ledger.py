"""The public face of the ledger: :class:`Ledger`.

Every write is one short database transaction that

1. takes the ledger's write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``SELECT … FOR UPDATE``
   of the ``ledger_head`` row) — writers are serialised, so event sequences are gapless and in
   commit order and no two writers can post the same idempotency key;
2. looks the idempotency key up for the operation's account: a retry with the same request
   returns the original entry and posts nothing; the same key with another request raises
   :class:`IdempotencyConflictError`;
3. builds the entry from the rows it reads, refuses uncovered debits
   (:class:`InsufficientBalanceError`) and, for user withdrawals and trades with a risk check,
   insufficient margin (:class:`InsufficientMarginError`);
4. writes the event, the entry, its lines and the new balances and positions, and commits.

Any error before the commit rolls everything back, and a crash before it leaves nothing behind:
the database discards the uncommitted transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc
from crossmargin.ledger import cash_operations, position_operations
from crossmargin.ledger.accounts import (
    AccountKind,
    AccountRecord,
    parse_account_id,
    validate_account_name,
)
from crossmargin.ledger.batch import (
    BatchContext,
    Outcome,
    post_operations,
    validate_idempotency_key,
)
from crossmargin.ledger.cache import CachedLoader, CommittedState
from crossmargin.ledger.database import (
    WRITE_OPTION,
    create_ledger_engine,
    database_url,
    redacted_url,
    upgrade_engine,
)
from crossmargin.ledger.entries import EntryRecord
from crossmargin.ledger.errors import (
    DuplicateAccountError,
    UnknownAccountError,
)
from crossmargin.ledger.events import LedgerEvent
from crossmargin.ledger.invariants import InvariantReport, check_store_invariants
from crossmargin.ledger.money import DecimalInput, parse_currency
from crossmargin.ledger.operations import Operation
from crossmargin.ledger.risk import (
    MarginScreen,
    RiskCheck,
    TradePreview,
    holdings_portfolio,
)
from crossmargin.ledger.rows import LedgerRows
from crossmargin.ledger.rules import uncovered_debits
from crossmargin.ledger.state import AccountHoldings, LedgerPosition, LedgerState, StateBuilder
from crossmargin.ledger.store import LedgerStore
from crossmargin.portfolio import Portfolio

__all__ = ["MAX_PAGE_SIZE", "Ledger", "validate_idempotency_key"]

#: Largest page :meth:`Ledger.entries` and :meth:`Ledger.events` return.
MAX_PAGE_SIZE = 1000


def _page(limit: object, offset: object) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InputError("limit", limit, f"must be an integer from 1 to {MAX_PAGE_SIZE}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InputError("offset", offset, "must be an integer ≥ 0")
    return limit, offset


class Ledger:
    """A double-entry ledger in a database.

    Parameters
    ----------
    url:
        SQLAlchemy URL; ``None`` resolves through :func:`database_url`
        (``$CROSSMARGIN_DATABASE_URL``, else ``./crossmargin.db``). The schema is migrated to the
        newest revision on opening (idempotent, safe with concurrent openers).
    risk_check:
        Margins user withdrawals and trades (see :mod:`crossmargin.ledger.risk`); without one
        only the no-negative-balance rule applies.
    margin_screen:
        Tried before ``risk_check`` on each withdrawal and trade
        (:class:`~crossmargin.ledger.risk.MarginScreen`): what it shows to pass is not
        margined again. Settable later (a service installs its book engine's screen once the
        engine is loaded).
    clock:
        Source of the ``recorded_at`` audit timestamps (UTC now by default).
    _after_postings:
        Test hook called with the entry after its rows are written, before the commit.
    """

    def __init__(
        self,
        url: str | None = None,
        risk_check: RiskCheck | None = None,
        *,
        margin_screen: MarginScreen | None = None,
        clock: Callable[[], datetime] | None = None,
        _after_postings: Callable[[EntryRecord], None] | None = None,
    ) -> None:
        self.url = database_url(url)
        self.risk_check = risk_check
        self.margin_screen = margin_screen
        self._clock = clock or (lambda: datetime.now(UTC))
        self._after_postings = _after_postings
        self._engine: Engine = create_ledger_engine(self.url)
        self._write_lock = threading.Lock()
        self._cache = CommittedState()
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        self._reader = (
            self._engine.execution_options(isolation_level="REPEATABLE READ")
            if self._engine.dialect.name == "postgresql"
            else self._engine
        )
        try:
            upgrade_engine(self._engine)
            self._system = self._ensure_system_accounts()
        except Exception:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Ledger({redacted_url(self.url)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[LedgerStore]:
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield LedgerStore(session)

    @contextmanager
    def _reading(self) -> Iterator[LedgerStore]:
        with Session(self._reader) as session, session.begin():
            yield LedgerStore(session)

    # -- accounts ------------------------------------------------------------------------------

    def _open(self, store: LedgerStore, last_sequence: int, name: str, kind: AccountKind) -> int:
        record = AccountRecord(store.next_account_id(), name, kind)
        store.write_account(last_sequence + 1, record, ensure_utc(self._clock(), "clock"))
        return record.account_id

    def _ensure_system_accounts(self) -> dict[AccountKind, int]:
        system_kinds = [kind for kind in AccountKind if kind.is_system]
        with self._reading() as store:
            found = {r.kind: r.account_id for r in store.accounts() if r.kind.is_system}
        if len(found) == len(system_kinds):
            return found
        with self._writing() as store:
            store.lock_head()  # first: a concurrent opener may be creating them right now
            for kind in system_kinds:
                existing = store.account_by_name(kind.system_name)
                if existing is None:
                    found[kind] = self._open(store, store.last_sequence(), kind.system_name, kind)
                else:
                    found[kind] = existing.account_id
        return found

    def open_account(self, name: str) -> int:
        """Open a user account named ``name`` (unique, 1–100 printable characters, not starting
        with ``system:``); returns its id. Raises :class:`DuplicateAccountError` when taken."""
        name = validate_account_name(name)
        with self._write_lock, self._writing() as store:
            last = store.lock_head()
            if store.account_by_name(name) is not None:
                raise DuplicateAccountError(name)
            return self._open(store, last, name, AccountKind.USER)

    def open_accounts(self, names: Sequence[str]) -> list[int]:
        """Open many user accounts in one transaction (the bulk form of :meth:`open_account`:
        the same events and rows, one statement per table); returns their ids, in order. All
        or nothing: a name taken already, or given twice, raises :class:`DuplicateAccountError`
        (naming the first one) and opens none; a bad name raises :class:`InputError`."""
        checked = [validate_account_name(name) for name in names]
        seen: set[str] = set()
        for name in checked:
            if name in seen:
                raise DuplicateAccountError(name)
            seen.add(name)
        if not checked:
            return []
        with self._write_lock:
            try:
                with self._writer.begin() as connection:
                    rows = LedgerRows(connection)
                    last = rows.lock_head()
                    taken = rows.taken_names(checked)
                    if taken:
                        raise DuplicateAccountError(next(n for n in checked if n in taken))
                    first = rows.next_account_id()
                    records = [
                        AccountRecord(first + k, name, AccountKind.USER)
                        for k, name in enumerate(checked)
                    ]
                    rows.write_accounts(last, records, ensure_utc(self._clock(), "clock"))
            except BaseException:
                self._cache.clear()
                raise
            self._cache.opened(last, records, last + len(records))
        return [record.account_id for record in records]

    def system_account_id(self, kind: AccountKind) -> int:
        """Id of the system account of ``kind`` (e.g. ``AccountKind.INSURANCE``)."""
        if kind is AccountKind.USER:
            raise InputError("kind", kind.value, "user accounts are opened with open_account")
        return self._system[kind]

    def account(self, account_id: int) -> AccountRecord:
        """The account; raises :class:`UnknownAccountError` when there is none."""
        account_id = parse_account_id(account_id)
        with self._reading() as store:
            record = store.load_account(account_id)
        if record is None:
            raise UnknownAccountError(account_id)
        return record

    def account_id_for(self, name: str) -> int:
        """Id of the account named ``name``; raises :class:`UnknownAccountError`."""
        with self._reading() as store:
            record = store.account_by_name(name)
        if record is None:
            raise UnknownAccountError(name)
        return record.account_id

    def accounts(self) -> tuple[AccountRecord, ...]:
        """All accounts, system accounts first, by id."""
        with self._reading() as store:
            return store.accounts()

    # -- writes --------------------------------------------------------------------------------

    def post_batch(self, items: Sequence[tuple[Operation, str]]) -> list[Outcome]:
        """Post many operations (built by :mod:`crossmargin.ledger.cash_operations` and
        :mod:`crossmargin.ledger.position_operations`, each with its idempotency key) in one
        transaction, in order, exactly as if they were posted one by one (see
        :mod:`crossmargin.ledger.batch`). Returns one outcome per item: the entry (new, or the
        original one for a retry) or the error that refused that item alone. An error of the
        database raises: then nothing of the batch was written."""
        if not items:
            return []
        context = BatchContext(
            self._system, self.risk_check, self._clock, self._after_postings, self.margin_screen
        )
        with self._write_lock:
            try:
                with self._writer.begin() as connection:
                    result = post_operations(LedgerRows(connection), self._cache, context, items)
            except BaseException:
                self._cache.clear()
                raise
            result.commit_to(self._cache)
        return result.outcomes

    def _post(self, operation: Operation, idempotency_key: str) -> EntryRecord:
        (outcome,) = self.post_batch([(operation, idempotency_key)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def deposit(
        self, account_id: int, currency: str, amount: DecimalInput, idempotency_key: str
    ) -> EntryRecord:
        """Credit ``amount`` of ``currency`` from the outside world to a user account.

        ``amount`` is a ``Decimal``, decimal string or int, > 0 and an exact multiple of the
        currency quantum (1e-6 USDC, 1e-8 BTC); otherwise :class:`InputError` names it.
        """
        return self._post(cash_operations.deposit(account_id, currency, amount), idempotency_key)

    def withdraw(
        self, account_id: int, currency: str, amount: DecimalInput, idempotency_key: str
    ) -> EntryRecord:
        """Pay ``amount`` of ``currency`` out of a user account. Refused with
        :class:`InsufficientBalanceError` when the balance does not cover it and with
        :class:`InsufficientMarginError` when the risk check says equity would fall below the
        initial margin."""
        return self._post(cash_operations.withdrawal(account_id, currency, amount), idempotency_key)

    def trade(
        self,
        account_id: int,
        instrument: str,
        size: DecimalInput,
        price: DecimalInput,
        fee: DecimalInput,
        idempotency_key: str,
    ) -> EntryRecord:
        """Book a fill: ``size`` (native amount, positive buys) of ``instrument`` (Deribit name)
        at ``price`` (USD per coin; premium per unit in the settlement currency for options),
        paying ``fee`` ≥ 0 in the settlement currency (quote currency for spot).

        Futures and perpetuals net into the position and realise the P&L of the closed part;
        options pay or receive the premium; spot exchanges base and quote cash. Refusals as for
        :meth:`withdraw` (a trade that does not reduce the margin excess is margin-checked).
        """
        return self._post(
            position_operations.trade(account_id, instrument, size, price, fee), idempotency_key
        )

    def pay_funding(
        self,
        account_id: int,
        instrument: str,
        rate: DecimalInput,
        mark_price: DecimalInput,
        idempotency_key: str,
    ) -> EntryRecord:
        """Settle one perpetual funding period: the account pays position notional × ``rate``
        (notional = size × ``mark_price`` for linear contracts, size / ``mark_price`` coin for
        inverse ones) to the funding account; longs pay shorts when the rate is positive. The
        account's cash moves by the exact amount rounded towards minus infinity."""
        return self._post(
            position_operations.funding(account_id, instrument, rate, mark_price), idempotency_key
        )

    def settle_expiry(
        self,
        account_id: int,
        instrument: str,
        settlement_price: DecimalInput,
        idempotency_key: str,
    ) -> EntryRecord:
        """Cash-settle the account's future or option position at ``settlement_price`` (USD per
        coin) in the settlement currency and close it."""
        return self._post(
            position_operations.expiry_settlement(account_id, instrument, settlement_price),
            idempotency_key,
        )

    def liquidation_transfer(
        self,
        account_id: int,
        liquidator_id: int,
        idempotency_key: str,
        *,
        instrument: str | None = None,
        size: DecimalInput | None = None,
        price: DecimalInput | None = None,
        cash: Mapping[str, DecimalInput] | None = None,
        penalty: DecimalInput = "0",
        penalty_currency: str | None = None,
    ) -> EntryRecord:
        """Move ``size`` of the account's ``instrument`` position (same sign, at most all of it)
        to ``liquidator_id`` at ``price``, and/or the ``cash`` amounts by currency, charging
        ``penalty`` (in ``penalty_currency``, default the instrument's settlement currency) to
        the insurance fund. The liquidated account's losses here may leave a recorded deficit.
        """
        return self._post(
            position_operations.liquidation_transfer(
                account_id,
                liquidator_id,
                instrument=instrument,
                size=size,
                price=price,
                cash=cash,
                penalty=penalty,
                penalty_currency=penalty_currency,
            ),
            idempotency_key,
        )

    def insurance_fund_deposit(
        self, currency: str, amount: DecimalInput, idempotency_key: str
    ) -> EntryRecord:
        """Pay ``amount`` from the outside world into the insurance fund."""
        return self._post(
            cash_operations.insurance_deposit(self._system, currency, amount), idempotency_key
        )

    def insurance_fund_withdraw(
        self, currency: str, amount: DecimalInput, idempotency_key: str
    ) -> EntryRecord:
        """Pay ``amount`` out of the insurance fund (it must cover it)."""
        return self._post(
            cash_operations.insurance_withdrawal(self._system, currency, amount), idempotency_key
        )

    def cover_deficit(
        self, account_id: int, currency: str, amount: DecimalInput, idempotency_key: str
    ) -> EntryRecord:
        """Let the insurance fund pay up to the account's recorded deficit in ``currency``."""
        return self._post(
            cash_operations.deficit_cover(account_id, currency, amount), idempotency_key
        )

    # -- reads ---------------------------------------------------------------------------------

    def holdings(self, account_id: int) -> AccountHoldings:
        """The account, its non-zero balances and its positions, read in one transaction."""
        account_id = parse_account_id(account_id)
        with self._reading() as store:
            return StateBuilder(store, store.last_sequence()).holdings(account_id)

    def holdings_many(self, account_ids: Iterable[int]) -> dict[int, AccountHoldings]:
        """The holdings of several accounts as of one event sequence (account id → holdings).
        Accounts a write batch touched since the head last moved under another writer come
        from the writer's cache of committed state (:mod:`crossmargin.ledger.cache`) without a
        query; the others are read in one transaction (and cached). Meant for a writer's
        follower re-reading what a commit touched: it takes the write lock for the read."""
        ids = sorted({parse_account_id(a) for a in account_ids})
        with self._write_lock, self._reading() as store:
            last = store.last_sequence()
            self._cache.validate(last)
            loader = CachedLoader(self._cache, store)
            return {a: StateBuilder(loader, last).holdings(a) for a in ids}

    def balances(self, account_id: int) -> dict[str, Decimal]:
        """Non-zero cash balances of the account by currency (sorted), exact."""
        return dict(self.holdings(account_id).balances)

    def balance(self, account_id: int, currency: str) -> Decimal:
        """One cash balance (0 when there is none)."""
        return self.balances(account_id).get(parse_currency(currency), Decimal(0))

    def positions(self, account_id: int) -> tuple[LedgerPosition, ...]:
        """Open positions of the account, by instrument name."""
        return self.holdings(account_id).positions

    def portfolio(self, account_id: int) -> Portfolio:
        """The account as a :class:`Portfolio` for the margin models (sizes and entry prices
        cross to float64 in :mod:`crossmargin.core.numeric`; balances stay ``Decimal``)."""
        return holdings_portfolio(self.holdings(account_id))

    def preview_trade(
        self,
        account_id: int,
        instrument: str,
        size: DecimalInput,
        price: DecimalInput,
        fee: DecimalInput = "0",
    ) -> TradePreview:
        """What :meth:`trade` would do with these inputs, computed the same way but written
        nowhere: the entry, the holdings before and after (margin them with any model for a
        pre-trade check) and the debits the balances would not cover."""
        operation = position_operations.trade(account_id, instrument, size, price, fee)
        with self._reading() as store:
            last = store.last_sequence()
            builder = StateBuilder(store, last)
            draft = operation.build(builder, self._system)
            uncovered = uncovered_debits(builder, draft)
            before = builder.holdings(operation.account_id)
            builder.apply_entry(last + 1, draft)
            after = builder.holdings(operation.account_id)
        return TradePreview(draft, before, after, uncovered)

    def entries(
        self, account_id: int, limit: int = 100, offset: int = 0
    ) -> tuple[EntryRecord, ...]:
        """Entries touching the account, oldest first; page with ``limit`` (≤ 1000) and
        ``offset`` (stable: new entries only ever append)."""
        account_id = parse_account_id(account_id)
        limit, offset = _page(limit, offset)
        with self._reading() as store:
            if store.load_account(account_id) is None:
                raise UnknownAccountError(account_id)
            return store.entries_of(account_id, limit, offset)

    def events(self, after_sequence: int = 0, limit: int | None = None) -> tuple[LedgerEvent, ...]:
        """Events with a sequence above ``after_sequence``, in order (all of them when ``limit``
        is ``None``)."""
        if (
            isinstance(after_sequence, bool)
            or not isinstance(after_sequence, int)
            or (after_sequence < 0)
        ):
            raise InputError("after_sequence", after_sequence, "must be an integer ≥ 0")
        if limit is not None:
            limit, _ = _page(limit, 0)
        with self._reading() as store:
            return store.events(after_sequence, limit)

    def state(self) -> LedgerState:
        """The live state (accounts, balances, positions, last sequence) from the projection
        tables, read in one transaction; ``state_to_bytes(ledger.state())`` equals
        ``state_to_bytes(replay(ledger.events()))``."""
        with self._reading() as store:
            return store.state()

    def check_invariants(self) -> InvariantReport:
        """Check every invariant (see :mod:`crossmargin.ledger.invariants`) in one read
        transaction; the report lists violations (none when ``report.ok``)."""
        with self._reading() as store:
            return check_store_invariants(store)
