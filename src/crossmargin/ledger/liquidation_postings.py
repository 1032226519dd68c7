"""Liquidation postings: a liquidation's transfers as balanced journal entries.

The liquidation engine (:mod:`crossmargin.liquidation`) returns ``Decimal`` transfers and never
imports the ledger; these operations post them. Each is **one** entry, so it is atomic: all of
it is written or none of it.

* :func:`liquidation_round` — one CEX round: every fill closes part of the account's position
  against the settlement account (the market) at the liquidation price, and the liquidation fee
  goes to the insurance fund. The account's P&L and fee are loss postings (a liquidation may
  leave a recorded deficit); the slippage is in the fill price, so the market keeps it.
* :func:`shortfall_settlement` — a bankrupt account's deficit paid: the insurance fund covers
  ``from_fund`` (it must hold it), and each :class:`LossShare` pays its part — an
  auto-deleveraged counterparty has its opposing position reduced at mark and pays the
  difference to the bankruptcy price (closing at the bankruptcy price, on the currency
  quantum), a socialised share is cash alone. The account ends at exactly zero when the shares
  and the fund add up to its deficit.
* :func:`converted_deficit_cover` — a deficit in a coin the insurance fund does not hold (an
  inverse position's loss realised in BTC or ETH by an account holding none): the fund buys the
  coin from the settlement account (the market) at the index, paying ``coin × index`` in its
  own currency (USDC) rounded up to that currency's quantum, and the coin covers the deficit —
  one entry, so the purchase and the cover are atomic.
* :func:`cover_deficits` — the policy both service paths apply after a liquidation: per account
  and currency in deficit, the account's own other balances buy it at the index first, then the
  fund pays from its own balance of that currency, then buys the coin with its
  ``pay_currency`` at the index, as far as it holds; only the remainder is left as bad debt (a
  recorded deficit), reported by currency.

Conservation: every entry sums to zero per currency and its position changes per instrument,
and no posting touches ``system:external`` — the sum of all user balances + insurance fund +
fees + market is unchanged by a liquidation, to the last quantum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import quantum_for
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.ledger.accounts import AccountKind, parse_account_id
from crossmargin.ledger.batch import validate_idempotency_key
from crossmargin.ledger.entries import (
    EntryDraft,
    EntryKind,
    EntryRecord,
    PositionChange,
    Posting,
    PostingKind,
    RequestValue,
)
from crossmargin.ledger.ledger import Ledger
from crossmargin.ledger.money import (
    LEDGER_CONTEXT,
    canonical_decimal,
    parse_amount,
    parse_currency,
    parse_price,
    parse_size,
)
from crossmargin.ledger.netting import net_trade
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
from crossmargin.ledger.state import StateBuilder

__all__ = [
    "DeficitCover",
    "DeficitCovers",
    "LiquidationFill",
    "LossShare",
    "conversion_cost",
    "converted_deficit_cover",
    "cover_deficits",
    "liquidation_round",
    "post_liquidation_entry",
    "shortfall_settlement",
]


@dataclass(frozen=True, slots=True)
class LiquidationFill:
    """One fill of a liquidation round.

    ``size`` is the order in native units (signed: −2 sells 2, so it reduces a long of at least
    2); ``price`` the fill price in the ledger's convention (USD per coin for futures and
    perpetuals, premium per unit in the settlement currency for options), > 0. With
    ``closes_position`` the fill closes whatever the account holds (the ledger's exact size).
    """

    instrument: str
    size: Decimal
    price: Decimal
    closes_position: bool = False


@dataclass(frozen=True, slots=True)
class LossShare:
    """A counterparty's part of a bankrupt account's loss, ``amount`` ≥ 0 paid to it.

    For auto-deleveraging, ``instrument``, ``size`` (the counterparty's order, signed, reducing
    its opposing position) and ``mark_price`` (ledger convention) close that much of its
    position at mark; with ``amount`` it is the close at the bankruptcy price. Without them the
    share is cash alone (socialised loss).
    """

    counterparty_id: int
    amount: Decimal
    instrument: str | None = None
    size: Decimal | None = None
    mark_price: Decimal | None = None


def _close_lines(
    view: StateBuilder,
    system: SystemAccounts,
    account_id: int,
    contract: Instrument,
    size: Decimal,
    price: Decimal,
    pnl_kind: PostingKind,
) -> tuple[tuple[Posting, ...], PositionChange]:
    """Cash lines and the position change of ``account_id`` reducing its position in
    ``contract`` by the order ``size`` at ``price`` against the settlement account."""
    held = held_position(view, account_id, contract)
    if (held.size > 0) == (size > 0) or size.copy_abs() > held.size.copy_abs():
        raise InputError(
            "size",
            canonical_decimal(size),
            f"must reduce the {contract.name} position {canonical_decimal(held.size)} of account "
            f"{account_id}, not add to or flip it",
        )
    netted = net_trade(contract, held.size, held.average_price, size, price)
    settlement = system[AccountKind.SETTLEMENT]
    currency = contract.settlement_currency
    if contract.kind is InstrumentKind.OPTION:
        with localcontext(LEDGER_CONTEXT):
            lines = cash_lines(account_id, settlement, currency, -size * price, pnl_kind)
    else:
        lines = cash_lines(account_id, settlement, currency, netted.realised_pnl, pnl_kind)
    change = PositionChange(
        account_id, contract.name, size, netted.size_after, netted.average_price_after
    )
    return lines, change


def _contract(name: str) -> Instrument:
    contract = parse_instrument_name(name)
    if contract.kind is InstrumentKind.SPOT:
        raise InputError("instrument", name, "spot is cash: a liquidation closes positions")
    return contract


def liquidation_round(
    account_id: int, fills: Sequence[LiquidationFill], fees: Mapping[str, Decimal]
) -> Operation:
    """One liquidation round of ``account_id`` as one entry (see the module docstring).

    Parameters
    ----------
    account_id:
        The liquidated account (a user, or any account that holds positions).
    fills:
        At most one per instrument; each reduces (never adds to or flips) the position.
    fees:
        Liquidation fee by currency, each ≥ 0 on the currency quantum, to the insurance fund.

    Returns
    -------
    Operation
        Post it with :func:`post_liquidation_entry` (or :meth:`Ledger.post_batch`). A fill that
        does not reduce a held position is refused with :class:`InputError` naming ``size``.
    """
    account_id = parse_account_id(account_id)
    if not fills:
        raise InputError("fills", [], "a round closes at least one position")
    parsed: list[tuple[Instrument, Decimal, Decimal, bool]] = []
    for fill in fills:
        contract = _contract(fill.instrument)
        if any(contract.name == seen.name for seen, *_ in parsed):
            raise InputError("fills", contract.name, "at most one fill per instrument")
        parsed.append(
            (contract, parse_size(fill.size), parse_price(fill.price), fill.closes_position)
        )
    charged = {
        parse_currency(c, "fees"): parse_amount(v, c, f"fees.{c}", allow_zero=True)
        for c, v in sorted(fees.items())
    }

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "liquidations")
        settlement = system[AccountKind.SETTLEMENT]
        postings: list[Posting] = []
        changes: list[PositionChange] = []
        for contract, size, price, closes in parsed:
            if closes:
                size = -held_position(view, account_id, contract).size
            lines, change = _close_lines(
                view, system, account_id, contract, size, price, PostingKind.LIQUIDATION_PNL
            )
            postings += lines
            changes += [change, mirror_change(view, settlement, contract.name, -size)]
        for currency, fee in charged.items():
            postings += transfer_lines(
                account_id,
                system[AccountKind.INSURANCE],
                currency,
                fee,
                PostingKind.LIQUIDATION_PENALTY,
            )
        return EntryDraft(
            EntryKind.LIQUIDATION_TRANSFER, account_id, request, tuple(postings), tuple(changes)
        )

    request: dict[str, RequestValue] = {
        "liquidation": "round",
        "fills": {
            contract.name: f"{'all' if closes else canonical_decimal(size)}"
            f"@{canonical_decimal(price)}"
            for contract, size, price, closes in parsed
        },
        "fees": {c: canonical_decimal(v) for c, v in charged.items()},
    }
    return Operation(EntryKind.LIQUIDATION_TRANSFER, account_id, request, build)


def shortfall_settlement(
    account_id: int, currency: str, from_fund: Decimal, shares: Sequence[LossShare] = ()
) -> Operation:
    """Pay (part of) ``account_id``'s deficit in ``currency``: ``from_fund`` ≥ 0 from the
    insurance fund, then each share from its counterparty, as one entry.

    The total may not exceed the deficit (:class:`InputError` naming ``from_fund``); the fund
    must hold ``from_fund`` (:class:`~crossmargin.ledger.InsufficientBalanceError` otherwise).
    A counterparty's debit is a loss posting: the venue takes it whatever its balance.
    """
    account_id = parse_account_id(account_id)
    currency = parse_currency(currency)
    fund_part = parse_amount(from_fund, currency, "from_fund", allow_zero=True)
    parsed: list[tuple[int, Decimal, Instrument | None, Decimal | None, Decimal | None]] = []
    for k, share in enumerate(shares):
        who = parse_account_id(share.counterparty_id, f"shares[{k}].counterparty_id")
        if who == account_id:
            raise InputError(f"shares[{k}].counterparty_id", who, "must differ from account_id")
        amount = parse_amount(share.amount, currency, f"shares[{k}].amount", allow_zero=True)
        given = (share.instrument is not None, share.size is not None, share.mark_price is not None)
        if any(given) and not all(given):
            raise InputError(f"shares[{k}].instrument", share.instrument, "goes with size, price")
        contract = None if share.instrument is None else _contract(share.instrument)
        if contract is not None and contract.settlement_currency != currency:
            raise InputError(f"shares[{k}].instrument", contract.name, f"settles not in {currency}")
        size = None if share.size is None else parse_size(share.size, f"shares[{k}].size")
        price = None if share.mark_price is None else parse_price(share.mark_price)
        if any(who == seen for seen, *_ in parsed):
            raise InputError(f"shares[{k}].counterparty_id", who, "appears twice")
        parsed.append((who, amount, contract, size, price))
    total = fund_part + sum((amount for _, amount, *_ in parsed), Decimal(0))

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "shortfall settlements")
        deficit = max(-view.balance(account_id, currency), Decimal(0))
        if total > deficit:
            raise InputError(
                "from_fund",
                canonical_decimal(total),
                f"fund + shares exceed the {currency} deficit {canonical_decimal(deficit)} of "
                f"account {account_id}",
            )
        settlement = system[AccountKind.SETTLEMENT]
        postings = list(
            transfer_lines(
                system[AccountKind.INSURANCE],
                account_id,
                currency,
                fund_part,
                PostingKind.DEFICIT_COVER,
            )
        )
        changes: list[PositionChange] = []
        mirrored: defaultdict[str, Decimal] = defaultdict(Decimal)
        for who, amount, contract, size, price in parsed:
            require_kind(view, who, TRADING_KINDS, "loss shares")
            if contract is not None and size is not None and price is not None:
                lines, change = _close_lines(
                    view, system, who, contract, size, price, PostingKind.REALISED_PNL
                )
                postings += lines
                changes.append(change)
                mirrored[contract.name] = LEDGER_CONTEXT.add(mirrored[contract.name], -size)
            postings += transfer_lines(
                who, account_id, currency, amount, PostingKind.LIQUIDATION_PNL
            )
        for name, total_change in sorted(mirrored.items()):
            if total_change != 0:
                changes.append(mirror_change(view, settlement, name, total_change))
        return EntryDraft(
            EntryKind.DEFICIT_COVER, account_id, request, tuple(postings), tuple(changes)
        )

    request: dict[str, RequestValue] = {
        "liquidation": "shortfall",
        "currency": currency,
        "amount": canonical_decimal(fund_part),
        "shares": {
            str(who): canonical_decimal(amount)
            + (
                ""
                if contract is None or size is None or price is None
                else f"|{contract.name}|{canonical_decimal(size)}@{canonical_decimal(price)}"
            )
            for who, amount, contract, size, price in parsed
        },
    }
    return Operation(EntryKind.DEFICIT_COVER, account_id, request, build)


def conversion_cost(amount: Decimal, price: Decimal, pay_currency: str) -> Decimal:
    """What buying ``amount`` coin (≥ 0) at ``price`` (``pay_currency`` per coin, > 0) costs in
    ``pay_currency``: ``amount × price`` rounded **up** to its quantum (the market is never
    short-changed; the buyer pays less than one quantum above the index value)."""
    with localcontext(LEDGER_CONTEXT):
        return (amount * price).quantize(quantum_for(pay_currency), rounding=ROUND_CEILING)


def converted_deficit_cover(
    account_id: int,
    currency: str,
    amount: Decimal,
    index_price: Decimal,
    pay_currency: str,
    *,
    from_account: bool = False,
) -> Operation:
    """Cover ``amount`` (> 0, ``currency`` units) of ``account_id``'s deficit in ``currency`` with
    coin bought from the settlement account (the market) at ``index_price`` (``pay_currency``
    per unit of ``currency``, > 0), as one entry. The buyer is the insurance fund, or with
    ``from_account`` the account itself, paying with its own ``pay_currency`` balance (a venue's
    auto-conversion of the collateral a debtor still holds).

    Postings (kind ``deficit_cover``): buyer → settlement :func:`conversion_cost` ``(amount,
    index_price, pay_currency)`` in ``pay_currency``; settlement → account ``amount`` in
    ``currency``. ``amount`` may not exceed the deficit (:class:`InputError` naming
    ``amount``); the buyer must hold the cost
    (:class:`~crossmargin.ledger.InsufficientBalanceError` otherwise).
    """
    account_id = parse_account_id(account_id)
    currency = parse_currency(currency)
    pay = parse_currency(pay_currency, "pay_currency")
    if pay == currency:
        raise InputError("pay_currency", pay, "must differ from the deficit's currency")
    coin = parse_amount(amount, currency, "amount")
    price = parse_price(index_price, "index_price")
    cost = conversion_cost(coin, price, pay)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, TRADING_KINDS, "shortfall settlements")
        deficit = max(-view.balance(account_id, currency), Decimal(0))
        if coin > deficit:
            raise InputError(
                "amount",
                canonical_decimal(coin),
                f"exceeds the {currency} deficit {canonical_decimal(deficit)} of account "
                f"{account_id}",
            )
        settlement = system[AccountKind.SETTLEMENT]
        buyer = account_id if from_account else system[AccountKind.INSURANCE]
        postings = transfer_lines(
            buyer, settlement, pay, cost, PostingKind.DEFICIT_COVER
        ) + transfer_lines(settlement, account_id, currency, coin, PostingKind.DEFICIT_COVER)
        return EntryDraft(EntryKind.DEFICIT_COVER, account_id, request, postings, ())

    request: dict[str, RequestValue] = {
        "liquidation": "converted_shortfall",
        "currency": currency,
        "amount": canonical_decimal(coin),
        "index_price": canonical_decimal(price),
        "pay_currency": pay,
        "cost": canonical_decimal(cost),
        "payer": "account" if from_account else "insurance_fund",
    }
    return Operation(EntryKind.DEFICIT_COVER, account_id, request, build)


@dataclass(frozen=True, slots=True)
class DeficitCover:
    """One posted cover of an account's deficit.

    ``amount`` (> 0, ``currency`` units) of the deficit was paid by ``payer``
    (``"insurance_fund"`` or ``"account"``: the account's own other balances) with ``paid``
    (> 0) of ``paid_currency``: the same currency and amount for a direct cover (``index_price``
    ``None``), the purchase cost at ``index_price`` (``paid_currency`` per unit of
    ``currency``) for a conversion.
    """

    entry_id: int
    currency: str
    amount: Decimal
    payer: str
    paid_currency: str
    paid: Decimal
    index_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DeficitCovers:
    """What :func:`cover_deficits` posted: per account its covers, and the bad debt left by
    currency (> 0, that currency's units)."""

    covers: dict[int, list[DeficitCover]]
    bad_debt: dict[int, dict[str, Decimal]]


def _buyable(deficit: Decimal, funds: Decimal, price: Decimal, currency: str) -> Decimal:
    """The most of ``deficit`` that ``funds`` buy at ``price`` (funds per unit), on the quantum
    of ``currency``, rounded down (so the cost, rounded up, stays within ``funds``)."""
    if funds <= 0 or deficit <= 0:
        return Decimal(0)
    with localcontext(LEDGER_CONTEXT):
        affordable = (funds / price).quantize(quantum_for(currency), rounding=ROUND_FLOOR)
    return min(deficit, affordable)


def cover_deficits(
    ledger: Ledger,
    account_ids: Sequence[int],
    index_prices: Mapping[str, Decimal],
    key_prefix: str,
    pay_currency: str = "USDC",
) -> DeficitCovers:
    """Settle the accounts' deficits after a liquidation, in order (one
    :meth:`Ledger.post_batch`). For each account and each currency it owes:

    1. its own positive balances of other currencies buy the owed currency from the market at
       the index (``pay_currency`` first, then the others by name; the price of one in the
       other is the ratio of their index prices);
    2. the insurance fund pays from its own balance of the owed currency;
    3. the fund buys the owed currency from the market at the index with its ``pay_currency``,
       as far as it holds.

    Only what is left after that is bad debt (a recorded deficit).

    Parameters
    ----------
    ledger:
        The ledger, after the liquidation rounds.
    account_ids:
        The accounts, in the order the fund serves them.
    index_prices:
        Index price per coin in ``pay_currency`` (> 0; USD per coin with a USD stablecoin as
        ``pay_currency``, which is priced 1). A currency without a price is neither bought nor
        sold: a deficit in it is covered only from the fund's own balance of it.
    key_prefix:
        Idempotency keys are ``{key_prefix}-{account}-{step}-{currency}[-{pay}]``.
    pay_currency:
        What the fund buys coin with (its USDC).
    """
    prices = {**index_prices, pay_currency: Decimal(1)}
    fund_id = ledger.system_account_id(AccountKind.INSURANCE)
    fund = {c: max(v, Decimal(0)) for c, v in ledger.balances(fund_id).items()}
    items: list[tuple[Operation, str]] = []
    owners: list[tuple[int, str, Decimal, str, str, Decimal, Decimal | None]] = []
    for account_id in account_ids:
        held = ledger.balances(account_id)
        for currency in sorted(c for c, v in held.items() if v < 0):
            deficit = -held[currency]
            owed_price = prices.get(currency)
            payers = sorted(
                (c for c, v in held.items() if v > 0 and c != currency and c in prices),
                key=lambda c: (c != pay_currency, c),
            )
            for pay in payers:
                if owed_price is None:
                    break
                price = LEDGER_CONTEXT.divide(owed_price, prices[pay])
                bought = _buyable(deficit, held[pay], price, currency)
                if bought <= 0:
                    continue
                cost = conversion_cost(bought, price, pay)
                held[pay] -= cost
                deficit -= bought
                operation = converted_deficit_cover(
                    account_id, currency, bought, price, pay, from_account=True
                )
                items.append((operation, f"{key_prefix}-{account_id}-own-{currency}-{pay}"))
                owners.append((account_id, currency, bought, "account", pay, cost, price))
            direct = min(deficit, fund.get(currency, Decimal(0)))
            if direct > 0:
                fund[currency] -= direct
                deficit -= direct
                operation = shortfall_settlement(account_id, currency, direct)
                items.append((operation, f"{key_prefix}-{account_id}-cover-{currency}"))
                owners.append(
                    (account_id, currency, direct, "insurance_fund", currency, direct, None)
                )
            if owed_price is None or currency == pay_currency:
                continue
            bought = _buyable(deficit, fund.get(pay_currency, Decimal(0)), owed_price, currency)
            if bought <= 0:
                continue
            cost = conversion_cost(bought, owed_price, pay_currency)
            fund[pay_currency] -= cost
            operation = converted_deficit_cover(
                account_id, currency, bought, owed_price, pay_currency
            )
            items.append((operation, f"{key_prefix}-{account_id}-convert-{currency}"))
            owners.append(
                (account_id, currency, bought, "insurance_fund", pay_currency, cost, owed_price)
            )
    outcomes = ledger.post_batch(items) if items else []
    covers: dict[int, list[DeficitCover]] = {}
    for owner, outcome in zip(owners, outcomes, strict=True):
        if isinstance(outcome, Exception):
            continue
        covers.setdefault(owner[0], []).append(DeficitCover(outcome.entry_id, *owner[1:]))
    bad_debt: dict[int, dict[str, Decimal]] = {}
    for account_id in dict.fromkeys(account_ids):
        for currency, balance in sorted(ledger.balances(account_id).items()):
            if balance < 0:
                bad_debt.setdefault(account_id, {})[currency] = -balance
    return DeficitCovers(covers, bad_debt)


def post_liquidation_entry(
    ledger: Ledger, operation: Operation, idempotency_key: str
) -> EntryRecord:
    """Post one liquidation operation in its own transaction and return its entry (the
    original one for a retry with the same key); raises what refused it — then nothing of it
    was written."""
    (outcome,) = ledger.post_batch([(operation, validate_idempotency_key(idempotency_key))])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
