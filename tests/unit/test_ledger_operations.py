"""Unit tests of the ledger's operations on a real SQLite file, with hand-computed numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.ledger import (
    AccountKind,
    DuplicateAccountError,
    EntryKind,
    IdempotencyConflictError,
    InsufficientBalanceError,
    Ledger,
    LedgerPosition,
    PostingKind,
    UnknownAccountError,
    replay,
    state_to_bytes,
)

D = Decimal
PERP = "BTC_USDC-PERPETUAL"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


@pytest.fixture
def alice(ledger: Ledger) -> int:
    account = ledger.open_account("alice")
    ledger.deposit(account, "USDC", "10000", "seed-usdc")
    return account


def _assert_sound(ledger: Ledger) -> None:
    report = ledger.check_invariants()
    assert report.ok, report.violations
    assert state_to_bytes(replay(ledger.events())) == state_to_bytes(ledger.state())


def test_system_accounts_exist_with_clear_names(ledger: Ledger) -> None:
    names = {record.kind: record.name for record in ledger.accounts()}
    assert names == {
        AccountKind.EXTERNAL: "system:external",
        AccountKind.FEES: "system:fees",
        AccountKind.INSURANCE: "system:insurance",
        AccountKind.FUNDING: "system:funding",
        AccountKind.SETTLEMENT: "system:settlement",
        AccountKind.LIQUIDATION: "system:liquidation",
    }


def test_deposit_and_withdraw_move_cash_to_and_from_the_outside_world(
    ledger: Ledger, alice: int
) -> None:
    entry = ledger.withdraw(alice, "USDC", "2500.25", "w1")
    assert entry.kind is EntryKind.WITHDRAWAL
    assert ledger.balances(alice) == {"USDC": D("7499.75")}
    external = ledger.system_account_id(AccountKind.EXTERNAL)
    assert ledger.balances(external) == {"USDC": D("-7499.75")}
    assert entry.cash_change(alice, "USDC") == D("-2500.25")
    _assert_sound(ledger)


def test_a_withdrawal_may_not_make_a_balance_negative(ledger: Ledger, alice: int) -> None:
    events_before = ledger.events()
    with pytest.raises(InsufficientBalanceError) as caught:
        ledger.withdraw(alice, "USDC", "10000.000001", "too-much")
    assert (caught.value.balance, caught.value.required) == (D(10000), D("10000.000001"))
    assert ledger.events() == events_before
    with pytest.raises(InsufficientBalanceError):
        ledger.withdraw(alice, "BTC", "0.1", "no-btc")


def test_bad_inputs_name_the_field(ledger: Ledger, alice: int) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: ledger.deposit(alice, "USDC", "0.0000001", "k"), "amount"),
        (lambda: ledger.deposit(alice, "USDC", 1.5, "k"), "amount"),  # type: ignore[arg-type]
        (lambda: ledger.deposit(alice, "usdc", "1", "k"), "currency"),
        (lambda: ledger.deposit(alice, "USDC", "1", ""), "idempotency_key"),
        (lambda: ledger.trade(alice, "BTC-NOPE", "1", "1", "0", "k"), "instrument"),
        (lambda: ledger.trade(alice, PERP, "0", "1", "0", "k"), "size"),
        (lambda: ledger.trade(alice, PERP, "1", "-1", "0", "k"), "price"),
        (lambda: ledger.trade(alice, PERP, "1", "1", "0.0000001", "k"), "fee"),
        (lambda: ledger.trade(alice, "BTC_USDC", "0.000000001", "1", "0", "k"), "size"),
        (lambda: ledger.deposit("1", "USDC", "1", "k"), "account_id"),  # type: ignore[arg-type]
    ]
    for call, field in cases:
        with pytest.raises(InputError) as caught:
            call()
        assert caught.value.field == field, caught.value


def test_unknown_accounts_raise_a_specific_error(ledger: Ledger) -> None:
    for call in (
        lambda: ledger.deposit(999, "USDC", "1", "k"),
        lambda: ledger.balances(999),
        lambda: ledger.entries(999),
        lambda: ledger.account(999),
        lambda: ledger.account_id_for("nobody"),
    ):
        with pytest.raises(UnknownAccountError):
            call()


def test_cash_operations_need_a_user_account(ledger: Ledger) -> None:
    fees = ledger.system_account_id(AccountKind.FEES)
    with pytest.raises(InputError, match="system:fees") as caught:
        ledger.deposit(fees, "USDC", "1", "k")
    assert caught.value.field == "account_id"


def test_account_names(ledger: Ledger, alice: int) -> None:
    assert ledger.account_id_for("alice") == alice
    with pytest.raises(DuplicateAccountError):
        ledger.open_account("alice")
    with pytest.raises(InputError, match="reserved"):
        ledger.open_account("system:mine")


def test_a_retry_posts_once_and_a_changed_payload_is_refused(ledger: Ledger, alice: int) -> None:
    first = ledger.deposit(alice, "USDC", "100", "dep-7")
    events = ledger.events()
    retry = ledger.deposit(alice, "USDC", D("100.000"), "dep-7")  # same amount, other spelling
    assert retry == first and retry.idempotent_replay and not first.idempotent_replay
    assert ledger.events() == events
    with pytest.raises(IdempotencyConflictError, match="dep-7"):
        ledger.deposit(alice, "USDC", "101", "dep-7")
    with pytest.raises(IdempotencyConflictError):
        ledger.withdraw(alice, "USDC", "100", "dep-7")
    bob = ledger.open_account("bob")
    assert ledger.deposit(bob, "USDC", "100", "dep-7").account_id == bob  # keys are per account
    assert ledger.balances(alice) == {"USDC": D(10100)}


def test_perpetual_trades_net_realise_and_pay_fees(ledger: Ledger, alice: int) -> None:
    """Buy 0.5 @ 65000.5 (fee 1.5), sell 0.2 @ 66000 (fee 0.5): realised 0.2 × 999.5 = 199.9;
    cash 10000 − 1.5 + 199.9 − 0.5 = 10197.9; 0.3 left at 65000.5, mirrored by the settlement
    account."""
    ledger.trade(alice, PERP, "0.5", "65000.5", "1.5", "t1")
    second = ledger.trade(alice, PERP, "-0.2", "66000", "0.5", "t2")
    assert {(p.kind, p.amount) for p in second.postings if p.account_id == alice} == {
        (PostingKind.REALISED_PNL, D("199.9")),
        (PostingKind.FEE, D("-0.5")),
    }
    assert ledger.balances(alice) == {"USDC": D("10197.9")}
    assert ledger.positions(alice) == (LedgerPosition(PERP, D("0.3"), D("65000.5")),)
    settlement = ledger.system_account_id(AccountKind.SETTLEMENT)
    assert ledger.positions(settlement) == (LedgerPosition(PERP, D("-0.3"), None),)
    assert ledger.balances(ledger.system_account_id(AccountKind.FEES)) == {"USDC": D(2)}
    ledger.trade(alice, PERP, "-0.3", "65000.5", "0", "t3")
    assert ledger.positions(alice) == () and ledger.positions(settlement) == ()
    _assert_sound(ledger)


def test_option_premium_and_spot_move_cash(ledger: Ledger) -> None:
    """Buy 2 BTC-27DEC24-60000-C @ 0.05 BTC (fee 0.0003): 1 − 0.1 − 0.0003 = 0.8997 BTC.
    Buy 0.01 BTC_USDC spot @ 60000: −600 USDC and +0.01 BTC (0.9097), no position."""
    bob = ledger.open_account("bob")
    ledger.deposit(bob, "BTC", "1", "btc")
    ledger.deposit(bob, "USDC", "1000", "usdc")
    ledger.trade(bob, "BTC-27DEC24-60000-C", "2", "0.05", "0.0003", "call")
    ledger.trade(bob, "BTC_USDC", "0.01", "60000", "0", "spot")
    assert ledger.balances(bob) == {"BTC": D("0.9097"), "USDC": D(400)}
    assert ledger.positions(bob) == (LedgerPosition("BTC-27DEC24-60000-C", D(2), D("0.05")),)
    with pytest.raises(InsufficientBalanceError):
        ledger.trade(bob, "BTC-27DEC24-60000-C", "20", "0.05", "0", "too-big")
    _assert_sound(ledger)


def test_a_realised_loss_may_leave_a_recorded_deficit(ledger: Ledger) -> None:
    """100 USDC, long 1 @ 65000 closed at 64000: −1000 realised → −900, a recorded loss.
    Withdrawals and fees are then refused; the insurance fund can cover the deficit."""
    carol = ledger.open_account("carol")
    ledger.deposit(carol, "USDC", "100", "d")
    ledger.trade(carol, PERP, "1", "65000", "0", "open")
    ledger.trade(carol, PERP, "-1", "64000", "0", "close")
    assert ledger.balances(carol) == {"USDC": D(-900)}
    _assert_sound(ledger)
    with pytest.raises(InsufficientBalanceError):
        ledger.withdraw(carol, "USDC", "1", "w")
    with pytest.raises(InsufficientBalanceError):
        ledger.trade(carol, PERP, "1", "64000", "0.01", "fee-in-deficit")
    ledger.insurance_fund_deposit("USDC", "5000", "fund")
    with pytest.raises(InputError, match="deficit"):
        ledger.cover_deficit(carol, "USDC", "900.000001", "cover-too-much")
    ledger.cover_deficit(carol, "USDC", "900", "cover")
    assert ledger.balances(carol) == {}
    insurance = ledger.system_account_id(AccountKind.INSURANCE)
    assert ledger.balances(insurance) == {"USDC": D(4100)}
    with pytest.raises(InsufficientBalanceError):
        ledger.insurance_fund_withdraw("USDC", "4100.000001", "drain")
    ledger.insurance_fund_withdraw("USDC", "4100", "empty")
    _assert_sound(ledger)


def test_funding_longs_pay_shorts_at_a_positive_rate(ledger: Ledger, alice: int) -> None:
    """Binance 2023-10-31 08:00: rate 0.0001, mark 34149.46365245. A 0.5 BTC long pays
    1.7074731826225 → debited 1.707474; a 0.5 short receives → credited 1.707473."""
    bob = ledger.open_account("bob")
    ledger.deposit(bob, "USDC", "10000", "seed")
    ledger.trade(alice, PERP, "0.5", "34000", "0", "long")
    ledger.trade(bob, PERP, "-0.5", "34000", "0", "short")
    paid = ledger.pay_funding(alice, PERP, "0.0001", "34149.46365245", "f1")
    received = ledger.pay_funding(bob, PERP, "0.0001", "34149.46365245", "f1")
    assert paid.cash_change(alice, "USDC") == D("-1.707474")
    assert received.cash_change(bob, "USDC") == D("1.707473")
    funding = ledger.system_account_id(AccountKind.FUNDING)
    assert ledger.balances(funding) == {"USDC": D("0.000001")}
    negative = ledger.pay_funding(alice, PERP, "-0.0002", "34000", "f2")
    assert negative.cash_change(alice, "USDC") == D("3.4")  # 0.5 × 34000 × 0.0002
    with pytest.raises(InputError, match="no position"):
        ledger.pay_funding(ledger.open_account("carl"), PERP, "0.0001", "34000", "f1")
    with pytest.raises(InputError, match="perpetuals"):
        ledger.pay_funding(alice, "BTC_USDC-27DEC24", "0.0001", "34000", "f3")
    _assert_sound(ledger)


def test_expiry_settles_options_and_futures_in_cash(ledger: Ledger, alice: int) -> None:
    """Long 2 linear 60000 calls bought at 1500 USDC (−3000) settle at 65000: +2 × 5000.
    Long 0.5 BTC_USDC-27DEC24 @ 65000.5 settles at 66000.5: +500."""
    call = "BTC_USDC-27DEC24-60000-C"
    ledger.trade(alice, call, "2", "1500", "0", "buy-call")
    ledger.trade(alice, "BTC_USDC-27DEC24", "0.5", "65000.5", "0", "buy-future")
    option = ledger.settle_expiry(alice, call, "65000", "expire-call")
    future = ledger.settle_expiry(alice, "BTC_USDC-27DEC24", "66000.5", "expire-future")
    assert option.cash_change(alice, "USDC") == D(10000)
    assert future.cash_change(alice, "USDC") == D(500)
    assert ledger.positions(alice) == ()
    assert ledger.positions(ledger.system_account_id(AccountKind.SETTLEMENT)) == ()
    assert ledger.balances(alice) == {"USDC": D(10000 - 3000 + 10000 + 500)}
    with pytest.raises(InputError, match="no position"):
        ledger.settle_expiry(alice, call, "65000", "again")
    _assert_sound(ledger)


def test_liquidation_transfer_moves_the_position_and_charges_a_penalty(
    ledger: Ledger,
) -> None:
    """Dave: 2000 USDC, long 1 @ 65000. Liquidated at 63500 with a 50 USDC penalty:
    2000 − 1500 − 50 = 450; the liquidator holds 1 @ 63500 and later sells at 63600 (+100)."""
    dave = ledger.open_account("dave")
    ledger.deposit(dave, "USDC", "2000", "d")
    ledger.trade(dave, PERP, "1", "65000", "0", "open")
    liquidator = ledger.system_account_id(AccountKind.LIQUIDATION)
    with pytest.raises(InputError, match="sign") as caught:
        ledger.liquidation_transfer(
            dave, liquidator, "liq", instrument=PERP, size="-1", price="63500"
        )
    assert caught.value.field == "size"
    entry = ledger.liquidation_transfer(
        dave, liquidator, "liq", instrument=PERP, size="1", price="63500", penalty="50"
    )
    assert entry.cash_change(dave, "USDC") == D(-1550)
    assert ledger.balances(dave) == {"USDC": D(450)}
    assert ledger.positions(dave) == ()
    assert ledger.positions(liquidator) == (LedgerPosition(PERP, D(1), D(63500)),)
    assert ledger.balances(ledger.system_account_id(AccountKind.INSURANCE)) == {"USDC": D(50)}
    ledger.liquidation_transfer(dave, liquidator, "take-cash", cash={"USDC": "450"})
    assert ledger.balances(dave) == {}
    ledger.trade(liquidator, PERP, "-1", "63600", "0", "unwind")
    assert ledger.balances(liquidator) == {"USDC": D(550)}
    _assert_sound(ledger)


def test_reads_entries_events_and_portfolio(ledger: Ledger, alice: int) -> None:
    ledger.trade(alice, PERP, "0.5", "65000.5", "1", "t1")
    ledger.withdraw(alice, "USDC", "1", "w1")
    entries = ledger.entries(alice)
    assert [e.kind for e in entries] == [EntryKind.DEPOSIT, EntryKind.TRADE, EntryKind.WITHDRAWAL]
    assert ledger.entries(alice, limit=1, offset=1) == entries[1:2]
    assert [e.sequence for e in ledger.events(after_sequence=entries[0].entry_id)] == [
        entries[1].entry_id,
        entries[2].entry_id,
    ]
    portfolio = ledger.portfolio(alice)
    assert portfolio.collateral == {"USDC": D(9998)}
    (position,) = portfolio.positions
    assert (position.instrument.name, position.size, position.average_price) == (PERP, 0.5, 65000.5)
    with pytest.raises(InputError, match="limit"):
        ledger.entries(alice, limit=0)
