"""Hypothesis: random sequences of ledger operations keep every invariant.

After every step: balances equal the sums of postings, every entry sums to zero per currency
and positions to zero per instrument, replaying the event log gives the live state byte for
byte, and no user balance is negative without a recorded loss. Refused operations write
nothing; retries return the original entry; a reused key with another payload is refused.
Runs on SQLite always and on PostgreSQL when ``CROSSMARGIN_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from crossmargin.core.errors import InputError
from crossmargin.ledger import (
    AccountKind,
    EntryRecord,
    IdempotencyConflictError,
    InsufficientBalanceError,
    Ledger,
    replay,
    state_to_bytes,
)
from support.databases import (
    Backend,
    ScratchDatabases,
    postgresql_test_url,
    require_postgresql,
)

D = Decimal


def _scaled(low: int, high: int, exponent: int) -> st.SearchStrategy[Decimal]:
    """Decimals n·10^exponent for n in [low, high] (n ≠ 0 when the range straddles zero)."""
    integers = st.integers(low, high)
    if low < 0 < high:
        integers = st.integers(low, -1) | st.integers(1, high)
    return integers.map(lambda n: D(n).scaleb(exponent))


#: (instrument, size strategy, price strategy); sizes in native units, prices as traded.
INSTRUMENTS: dict[str, tuple[st.SearchStrategy[Decimal], st.SearchStrategy[Decimal]]] = {
    "BTC_USDC-PERPETUAL": (_scaled(-300, 300, -3), _scaled(40_000_0, 90_000_0, -1)),
    "BTC-PERPETUAL": (_scaled(-50, 50, 1), _scaled(40_000_0, 90_000_0, -1)),
    "BTC_USDC-27DEC24": (_scaled(-300, 300, -3), _scaled(40_000, 90_000, 0)),
    "BTC-27DEC24-60000-C": (_scaled(-30, 30, -1), _scaled(1, 2000, -4)),
    "BTC_USDC-27DEC24-60000-P": (_scaled(-30, 30, -1), _scaled(1, 5000_00, -2)),
    "BTC_USDC": (_scaled(-5000, 5000, -4), _scaled(40_000_00, 90_000_00, -2)),
}
PERPETUALS = ("BTC_USDC-PERPETUAL", "BTC-PERPETUAL")
DATED = ("BTC_USDC-27DEC24", "BTC-27DEC24-60000-C", "BTC_USDC-27DEC24-60000-P")
#: Positions the first account opens, so funding, expiry and liquidation have work from step 1.
STARTING_POSITIONS = (
    ("BTC_USDC-PERPETUAL", D(1), D(65000)),
    ("BTC-PERPETUAL", D(-2000), D("65000.5")),
    ("BTC_USDC-27DEC24", D("0.5"), D(66000)),
    ("BTC-27DEC24-60000-C", D(-1), D("0.05")),
    ("BTC_USDC-27DEC24-60000-P", D(2), D(1500)),
)
AMOUNTS = {"USDC": _scaled(1, 20_000_000_000, -6), "BTC": _scaled(1, 200_000_000, -8)}
FEES = {"USDC": _scaled(0, 5_000_000, -6), "BTC": _scaled(0, 100_000, -8)}
REFUSALS = (InsufficientBalanceError, InputError)


class LedgerMachine(RuleBasedStateMachine):
    """Random operations on a fresh ledger; subclasses choose the backend."""

    new_url: Callable[[], str]

    accounts = Bundle("accounts")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(type(self).new_url())
        self.keys = 0
        self.posted: list[tuple[Callable[[], EntryRecord], EntryRecord]] = []
        self.conflicting: list[Callable[[], EntryRecord]] = []

    def teardown(self) -> None:
        self.ledger.close()

    # -- helpers -------------------------------------------------------------------------------

    def _key(self) -> str:
        self.keys += 1
        return f"key-{self.keys}"

    def _post(
        self, call: Callable[[str], EntryRecord], changed: Callable[[str], EntryRecord]
    ) -> None:
        """Post ``call(key)``; a refusal must write nothing. Remember it for retries, and a
        variant with another payload for conflicts."""
        key = self._key()
        before = self.ledger.events()
        try:
            record = call(key)
        except REFUSALS as refusal:
            event(f"refused: {type(refusal).__name__} {getattr(refusal, 'field', '')}".strip())
            assert self.ledger.events() == before
            return
        event(f"posted: {record.kind.value}")
        assert not record.idempotent_replay
        assert [e.sequence for e in self.ledger.events(before[-1].sequence)] == [record.entry_id]
        self.posted.append((lambda: call(key), record))
        self.conflicting.append(lambda: changed(key))

    # -- rules ---------------------------------------------------------------------------------

    def _held(self, account: int, among: tuple[str, ...], data: st.DataObject) -> str:
        """An instrument the account holds among ``among`` (mostly), else any of them."""
        held = sorted(p.instrument for p in self.ledger.positions(account) if p.instrument in among)
        if held and data.draw(st.integers(0, 9)) > 0:
            return data.draw(st.sampled_from(held))
        return data.draw(st.sampled_from(among))

    @initialize(target=accounts)
    def first_account(self) -> int:
        account = self.ledger.open_account("user-0")
        ledger = self.ledger
        for currency, amount in (("USDC", D(1_000_000)), ("BTC", D(50))):
            self._post(
                partial(ledger.deposit, account, currency, amount),
                partial(ledger.withdraw, account, currency, D(1)),
            )
        for instrument, size, price in STARTING_POSITIONS:
            self._post(
                partial(ledger.trade, account, instrument, size, price, D(0)),
                partial(ledger.trade, account, instrument, -size, price, D(0)),
            )
        return account

    @rule(target=accounts)
    def open_account(self) -> int:
        return self.ledger.open_account(f"user-{len(self.ledger.accounts())}")

    @rule(account=accounts, currency=st.sampled_from(["USDC", "BTC"]), data=st.data())
    def deposit(self, account: int, currency: str, data: st.DataObject) -> None:
        amount = data.draw(AMOUNTS[currency])
        self._post(
            lambda key: self.ledger.deposit(account, currency, amount, key),
            lambda key: self.ledger.deposit(account, currency, amount + 1, key),
        )

    @rule(account=accounts, currency=st.sampled_from(["USDC", "BTC"]), data=st.data())
    def withdraw(self, account: int, currency: str, data: st.DataObject) -> None:
        amount = data.draw(AMOUNTS[currency])
        self._post(
            lambda key: self.ledger.withdraw(account, currency, amount, key),
            lambda key: self.ledger.deposit(account, currency, amount, key),
        )

    @rule(account=accounts, instrument=st.sampled_from(sorted(INSTRUMENTS)), data=st.data())
    def trade(self, account: int, instrument: str, data: st.DataObject) -> None:
        sizes, prices = INSTRUMENTS[instrument]
        size, price = data.draw(sizes), data.draw(prices)
        fee_currency = "BTC" if instrument.startswith("BTC-") else "USDC"
        fee = data.draw(FEES[fee_currency])
        self._post(
            lambda key: self.ledger.trade(account, instrument, size, price, fee, key),
            lambda key: self.ledger.trade(account, instrument, -size, price, fee, key),
        )

    @rule(
        account=accounts,
        data=st.data(),
        rate=_scaled(-300, 300, -6),
        mark=_scaled(30_000_00000000, 90_000_00000000, -8),
    )
    def pay_funding(self, account: int, data: st.DataObject, rate: Decimal, mark: Decimal) -> None:
        instrument = self._held(account, PERPETUALS, data)
        self._post(
            lambda key: self.ledger.pay_funding(account, instrument, rate, mark, key),
            lambda key: self.ledger.pay_funding(account, instrument, -rate, mark, key),
        )

    @rule(account=accounts, data=st.data(), price=_scaled(30_000_0, 90_000_0, -1))
    def settle_expiry(self, account: int, data: st.DataObject, price: Decimal) -> None:
        instrument = self._held(account, DATED, data)
        self._post(
            lambda key: self.ledger.settle_expiry(account, instrument, price, key),
            lambda key: self.ledger.settle_expiry(account, instrument, price + 1, key),
        )

    @rule(
        account=accounts,
        to_system=st.booleans(),
        other=accounts,
        data=st.data(),
        fraction=st.sampled_from([D("0.5"), D(1)]),
        penalty=_scaled(0, 100_000_000, -6),
    )
    def liquidate(
        self,
        account: int,
        to_system: bool,
        other: int,
        data: st.DataObject,
        fraction: Decimal,
        penalty: Decimal,
    ) -> None:
        instrument = self._held(account, tuple(sorted(set(INSTRUMENTS) - {"BTC_USDC"})), data)
        price = data.draw(INSTRUMENTS[instrument][1])
        liquidator = self.ledger.system_account_id(AccountKind.LIQUIDATION) if to_system else other
        held = {p.instrument: p.size for p in self.ledger.positions(account)}
        size = held.get(instrument, D(1)) * fraction
        if instrument in ("BTC-PERPETUAL", "BTC-27DEC24"):
            size = size.to_integral_value() or held.get(instrument, D(1))
        if instrument.startswith("BTC-"):
            penalty = D(0)  # coin-settled: keep the penalty in USDC out of it
        self._post(
            lambda key: self.ledger.liquidation_transfer(
                account,
                liquidator,
                key,
                instrument=instrument,
                size=size,
                price=price,
                penalty=penalty,
            ),
            lambda key: self.ledger.liquidation_transfer(
                account, liquidator, key, cash={"USDC": "1"}
            ),
        )

    @rule(currency=st.sampled_from(["USDC", "BTC"]), data=st.data(), into=st.booleans())
    def insurance_fund(self, currency: str, data: st.DataObject, into: bool) -> None:
        amount = data.draw(AMOUNTS[currency])
        move = self.ledger.insurance_fund_deposit if into else self.ledger.insurance_fund_withdraw
        self._post(
            lambda key: move(currency, amount, key),
            lambda key: move(currency, amount + 1, key),
        )

    @rule(account=accounts)
    def cover_deficit(self, account: int) -> None:
        deficit = -self.ledger.balance(account, "USDC")
        if deficit > 0:
            self._post(
                lambda key: self.ledger.cover_deficit(account, "USDC", deficit, key),
                lambda key: self.ledger.cover_deficit(account, "USDC", deficit + 1, key),
            )

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(self.posted) - 1))
        call, original = self.posted[index]
        before = self.ledger.events()
        again = call()
        assert again == original and again.idempotent_replay
        assert self.ledger.events() == before
        with pytest.raises(IdempotencyConflictError):
            self.conflicting[index]()
        assert self.ledger.events() == before

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def the_ledger_is_sound(self) -> None:
        report = self.ledger.check_invariants()
        assert report.ok, report.violations
        live = self.ledger.state()
        assert state_to_bytes(replay(self.ledger.events())) == state_to_bytes(live)
        cash: dict[str, Decimal] = defaultdict(Decimal)
        for (_, currency), amount in live.balances.items():
            cash[currency] += amount
        assert all(total == 0 for total in cash.values()), cash
        sizes: dict[str, Decimal] = defaultdict(Decimal)
        for (_, instrument), position in live.positions.items():
            sizes[instrument] += position.size
        assert all(total == 0 for total in sizes.values()), sizes

    @invariant()
    def negative_user_balances_have_recorded_losses(self) -> None:
        live = self.ledger.state()
        for (account_id, currency), amount in live.balances.items():
            if amount < 0 and not live.accounts[account_id].kind.may_go_negative:
                losses = [
                    p
                    for entry in self.ledger.entries(account_id, limit=1000)
                    for p in entry.postings
                    if p.account_id == account_id and p.currency == currency and p.records_loss
                ]
                assert losses, (account_id, currency, amount)


_SCRATCH: list[Path] = []


def _scratch_dir() -> Path:
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="ledger-properties-")))
    return _SCRATCH[0]


def _sqlite_url() -> str:
    """A fresh SQLite file, copied from a migrated template (migrations run once)."""
    template = _scratch_dir() / "template.db"
    if not template.exists():
        Ledger(f"sqlite:///{template}").close()
    target = Path(tempfile.mkdtemp(dir=_scratch_dir())) / "ledger.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


class SQLiteLedgerMachine(LedgerMachine):
    new_url = staticmethod(_sqlite_url)


TestLedgerOnSQLite = SQLiteLedgerMachine.TestCase
TestLedgerOnSQLite.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_POSTGRESQL = postgresql_test_url()
_SCHEMAS = ScratchDatabases(Backend.POSTGRESQL, Path(), _POSTGRESQL) if _POSTGRESQL else None


class PostgreSQLLedgerMachine(LedgerMachine):
    new_url = staticmethod(lambda: _SCHEMAS.new_url() if _SCHEMAS else "")

    def teardown(self) -> None:
        super().teardown()
        if _SCHEMAS is not None:
            _SCHEMAS.close()


@pytest.fixture
def postgresql_server() -> str:
    """The PostgreSQL server the machine runs against (skip locally, fail under CI without)."""
    return require_postgresql()


TestLedgerOnPostgreSQL = pytest.mark.usefixtures("postgresql_server")(
    PostgreSQLLedgerMachine.TestCase
)
TestLedgerOnPostgreSQL.settings = settings(
    max_examples=5,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def teardown_module() -> None:
    for directory in _SCRATCH:
        shutil.rmtree(directory, ignore_errors=True)
