"""Position operations: trades, perpetual funding, expiry settlement and liquidation transfers.

The settlement account (``system:settlement``) is the central counterparty: it takes the other
side of every trade and settlement, holding the mirror of every position, and the opposite of
every realised P&L and premium. Computed cash (P&L, premium, funding, settlement) is rounded by
:func:`~crossmargin.ledger.money.round_cash_to_account`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import quantum_for
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.ledger.accounts import AccountKind, parse_account_id
from crossmargin.ledger.entries import (
    EntryDraft,
    EntryKind,
    PositionChange,
    Posting,
    PostingKind,
    RequestValue,
)
from crossmargin.ledger.money import (
    LEDGER_CONTEXT,
    DecimalInput,
    canonical_decimal,
    is_multiple_of_quantum,
    parse_amount,
    parse_currency,
    parse_price,
    parse_rate,
    parse_size,
)
from crossmargin.ledger.netting import expiry_value, funding_payment, net_trade
from crossmargin.ledger.operations import (
    TRADING_KINDS,
    Operation,
    SystemAccounts,
    cash_lines,
    held_position,
    mirror_change,
    parse_instrument_name,
    require_kind,
    transfer_lines,
)
from crossmargin.ledger.risk import MarginCheck
from crossmargin.ledger.state import StateBuilder

__all__ = ["expiry_settlement", "funding", "liquidation_transfer", "trade", "trade_lines"]


def _position_lines(
    view: StateBuilder,
    system: SystemAccounts,
    account_id: int,
    contract: Instrument,
    size: Decimal,
    price: Decimal,
    premium_kind: PostingKind,
    pnl_kind: PostingKind,
) -> tuple[tuple[Posting, ...], PositionChange]:
    """Cash lines (option premium, or realised P&L, against the settlement account) and the
    position change of ``account_id`` trading ``size`` of a non-spot ``contract`` at ``price``."""
    held = view.position(account_id, contract.name)
    size_before = held.size if held is not None else Decimal(0)
    entry_price = held.average_price if held is not None else None
    netted = net_trade(contract, size_before, entry_price, size, price)
    settlement = system[AccountKind.SETTLEMENT]
    currency = contract.settlement_currency
    if contract.kind is InstrumentKind.OPTION:
        with localcontext(LEDGER_CONTEXT):
            lines = cash_lines(account_id, settlement, currency, -size * price, premium_kind)
    else:
        lines = cash_lines(account_id, settlement, currency, netted.realised_pnl, pnl_kind)
    change = PositionChange(
        account_id, contract.name, size, netted.size_after, netted.average_price_after
    )
    return lines, change


def trade_lines(
    view: StateBuilder,
    system: SystemAccounts,
    account_id: int,
    contract: Instrument,
    size: Decimal,
    price: Decimal,
) -> tuple[tuple[Posting, ...], tuple[PositionChange, ...]]:
    """Lines of a trade against the settlement account, fee excluded. Spot exchanges the base
    currency (``size``, exact) for the quote (``size × price``) and opens no position."""
    settlement = system[AccountKind.SETTLEMENT]
    if contract.kind is InstrumentKind.SPOT:
        with localcontext(LEDGER_CONTEXT):
            quote = cash_lines(
                account_id,
                settlement,
                contract.settlement_currency,
                -size * price,
                PostingKind.SPOT,
            )
        base = (
            Posting(account_id, contract.underlying, size, PostingKind.SPOT),
            Posting(settlement, contract.underlying, -size, PostingKind.SPOT),
        )
        return base + quote, ()
    lines, change = _position_lines(
        view,
        system,
        account_id,
        contract,
        size,
        price,
        PostingKind.PREMIUM,
        PostingKind.REALISED_PNL,
    )
    return lines, (change, mirror_change(view, settlement, contract.name, -size))


def trade(
    account_id: int, instrument: str, size: DecimalInput, price: DecimalInput, fee: DecimalInput
) -> Operation:
    """Buy (``size`` > 0) or sell ``size`` of ``instrument`` at ``price`` against the settlement
    account, paying ``fee`` (settlement currency; quote currency for spot) to the fee account.
    A spot size is base-currency cash and must sit on that currency's quantum."""
    account_id = parse_account_id(account_id)
    contract = parse_instrument_name(instrument)
    amount = parse_size(size)
    unit_price = parse_price(price)
    fee_value = parse_amount(fee, contract.settlement_currency, "fee", allow_zero=True)
    if contract.kind is InstrumentKind.SPOT and not is_multiple_of_quantum(
        amount, contract.underlying
    ):
        raise InputError(
            "size",
            size,
            f"spot size is {contract.underlying} cash: it must be a multiple of "
            f"{quantum_for(contract.underlying)}",
        )

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "trades")
        postings, changes = trade_lines(view, system, account_id, contract, amount, unit_price)
        postings += transfer_lines(
            account_id,
            system[AccountKind.FEES],
            contract.settlement_currency,
            fee_value,
            PostingKind.FEE,
        )
        return EntryDraft(EntryKind.TRADE, account_id, request, postings, changes)

    request = {
        "instrument": contract.name,
        "size": canonical_decimal(amount),
        "price": canonical_decimal(unit_price),
        "fee": canonical_decimal(fee_value),
    }
    return Operation(EntryKind.TRADE, account_id, request, build, MarginCheck.TRADE)


def funding(
    account_id: int, instrument: str, rate: DecimalInput, mark_price: DecimalInput
) -> Operation:
    """One perpetual funding settlement: the account pays ``notional × rate`` to the funding
    account (receives it when negative); longs pay when the rate is positive."""
    account_id = parse_account_id(account_id)
    contract = parse_instrument_name(instrument)
    if contract.kind is not InstrumentKind.PERPETUAL:
        raise InputError("instrument", instrument, "funding applies to perpetuals only")
    rate_value = parse_rate(rate)
    mark = parse_price(mark_price, "mark_price")

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "funding payments")
        position = held_position(view, account_id, contract)
        paid = funding_payment(contract, position.size, mark, rate_value)
        postings = cash_lines(
            account_id,
            system[AccountKind.FUNDING],
            contract.settlement_currency,
            -paid,
            PostingKind.FUNDING,
        )
        return EntryDraft(EntryKind.FUNDING, account_id, request, postings)

    request = {
        "instrument": contract.name,
        "rate": canonical_decimal(rate_value),
        "mark_price": canonical_decimal(mark),
    }
    return Operation(EntryKind.FUNDING, account_id, request, build)


def expiry_settlement(
    account_id: int, instrument: str, settlement_price: DecimalInput
) -> Operation:
    """Cash-settle and close the account's future or option position at ``settlement_price``
    (USD per coin) against the settlement account."""
    account_id = parse_account_id(account_id)
    contract = parse_instrument_name(instrument)
    if contract.kind not in (InstrumentKind.FUTURE, InstrumentKind.OPTION):
        raise InputError("instrument", instrument, "only futures and options expire")
    price = parse_price(settlement_price, "settlement_price")

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "expiry settlements")
        position = held_position(view, account_id, contract)
        settlement = system[AccountKind.SETTLEMENT]
        value = expiry_value(contract, position.size, position.average_price, price)
        postings = cash_lines(
            account_id, settlement, contract.settlement_currency, value, PostingKind.SETTLEMENT
        )
        changes = (
            PositionChange(account_id, contract.name, -position.size, Decimal(0), None),
            mirror_change(view, settlement, contract.name, position.size),
        )
        return EntryDraft(EntryKind.EXPIRY_SETTLEMENT, account_id, request, postings, changes)

    request = {"instrument": contract.name, "settlement_price": canonical_decimal(price)}
    return Operation(EntryKind.EXPIRY_SETTLEMENT, account_id, request, build)


def _penalty(
    penalty: DecimalInput, penalty_currency: str | None, contract: Instrument | None
) -> tuple[str | None, Decimal]:
    if penalty_currency is None and contract is not None:
        penalty_currency = contract.settlement_currency
    if penalty_currency is None:
        if parse_amount(penalty, "USD", "penalty", allow_zero=True) != 0:
            raise InputError("penalty_currency", None, "is required for a cash-only transfer")
        return None, Decimal(0)
    currency = parse_currency(penalty_currency, "penalty_currency")
    return currency, parse_amount(penalty, currency, "penalty", allow_zero=True)


def liquidation_transfer(
    account_id: int,
    liquidator_id: int,
    *,
    instrument: str | None = None,
    size: DecimalInput | None = None,
    price: DecimalInput | None = None,
    cash: Mapping[str, DecimalInput] | None = None,
    penalty: DecimalInput = "0",
    penalty_currency: str | None = None,
) -> Operation:
    """Move ``size`` of the account's position (same sign as the position, at most all of it)
    to the liquidator at ``price``, and/or cash balances, and charge ``penalty`` to the insurance
    fund.

    The account's side is closed at ``price``; its P&L (or the premium it pays or receives for
    an option) is a loss-kind posting, so a liquidation may leave a recorded deficit. The
    liquidator's side opens at ``price`` like a trade. Spot is cash: move it with ``cash``.
    """
    account_id = parse_account_id(account_id)
    liquidator_id = parse_account_id(liquidator_id, "liquidator_id")
    if liquidator_id == account_id:
        raise InputError("liquidator_id", liquidator_id, "must differ from account_id")
    given = (instrument is not None, size is not None, price is not None)
    if any(given) and not all(given):
        raise InputError("instrument", instrument, "instrument, size and price go together")
    contract = None if instrument is None else parse_instrument_name(instrument)
    if contract is not None and contract.kind is InstrumentKind.SPOT:
        raise InputError("instrument", instrument, "spot is cash: transfer it with cash")
    amount = None if size is None else parse_size(size)
    unit_price = None if price is None else parse_price(price)
    transfers = {
        parse_currency(c, "cash"): parse_amount(v, c, f"cash.{c}")
        for c, v in sorted((cash or {}).items())
    }
    if contract is None and not transfers:
        raise InputError("instrument", None, "a liquidation moves a position, cash or both")
    fee_currency, penalty_value = _penalty(penalty, penalty_currency, contract)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "liquidations")
        require_kind(view, liquidator_id, TRADING_KINDS, "liquidators")
        postings: list[Posting] = []
        changes: list[PositionChange] = []
        if contract is not None and amount is not None and unit_price is not None:
            held = held_position(view, account_id, contract)
            if (held.size > 0) != (amount > 0) or amount.copy_abs() > held.size.copy_abs():
                raise InputError(
                    "size",
                    canonical_decimal(amount),
                    f"must have the sign of the position {canonical_decimal(held.size)} and "
                    "not exceed it",
                )
            sides = (
                (account_id, -amount, PostingKind.LIQUIDATION_PNL, PostingKind.LIQUIDATION_PNL),
                (liquidator_id, amount, PostingKind.PREMIUM, PostingKind.REALISED_PNL),
            )
            for who, signed, premium_kind, pnl_kind in sides:
                lines, moved = _position_lines(
                    view, system, who, contract, signed, unit_price, premium_kind, pnl_kind
                )
                postings += lines
                changes.append(moved)
        for currency, value in transfers.items():
            postings += transfer_lines(
                account_id, liquidator_id, currency, value, PostingKind.LIQUIDATION_CASH
            )
        if fee_currency is not None:
            postings += transfer_lines(
                account_id,
                system[AccountKind.INSURANCE],
                fee_currency,
                penalty_value,
                PostingKind.LIQUIDATION_PENALTY,
            )
        return EntryDraft(
            EntryKind.LIQUIDATION_TRANSFER, account_id, request, tuple(postings), tuple(changes)
        )

    request: dict[str, RequestValue] = {
        "liquidator_id": liquidator_id,
        "instrument": None if contract is None else contract.name,
        "size": None if amount is None else canonical_decimal(amount),
        "price": None if unit_price is None else canonical_decimal(unit_price),
        "cash": {c: canonical_decimal(v) for c, v in transfers.items()},
        "penalty": canonical_decimal(penalty_value),
        "penalty_currency": fee_currency,
    }
    return Operation(EntryKind.LIQUIDATION_TRANSFER, account_id, request, build)
