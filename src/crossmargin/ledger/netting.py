"""Position arithmetic in ``Decimal``: netting a trade into a position, expiry settlement and
perpetual funding. Pure functions; no rounding of money happens here (see
:func:`crossmargin.ledger.money.round_cash_to_account`).

The rules follow :func:`crossmargin.portfolio.apply_trade`:

* futures and perpetuals keep an entry price. Adding to a position averages it (weighted by size
  for linear contracts; harmonically for inverse ones, whose exposure is size/price coin);
  reducing it realises the P&L of the closed part in the settlement currency — linear
  ``closed × (price − entry)``, inverse ``closed × (1/entry − 1/price)`` coin; flipping closes
  the old position and opens the remainder at the trade price;
* options pay or receive the premium (``size × price`` in the settlement currency) and keep the
  average premium for reporting;
* spot trades are not positions: they exchange the base and the quote currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import parse_decimal
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.ledger.money import LEDGER_CONTEXT, round_average_price

__all__ = [
    "NettedPosition",
    "expiry_value",
    "funding_payment",
    "net_trade",
    "option_payoff_usd",
]


@dataclass(frozen=True, slots=True)
class NettedPosition:
    """A position after a trade, and the P&L the trade realised (exact, settlement currency)."""

    size_after: Decimal
    average_price_after: Decimal | None
    realised_pnl: Decimal


def _same_direction(a: Decimal, b: Decimal) -> bool:
    return (a > 0) == (b > 0)


def _average(
    instrument: Instrument, old_size: Decimal, old_price: Decimal, size: Decimal, price: Decimal
) -> Decimal:
    """Average entry of a position grown by ``size`` at ``price`` (same direction)."""
    new_size = old_size + size
    if instrument.is_inverse and instrument.kind is not InstrumentKind.OPTION:
        coins = old_size / old_price + size / price
        return round_average_price(new_size / coins)
    return round_average_price((old_size * old_price + size * price) / new_size)


def net_trade(
    instrument: Instrument,
    size_before: Decimal,
    average_price_before: Decimal | None,
    size: Decimal,
    price: Decimal,
) -> NettedPosition:
    """Net a trade of ``size`` (signed) at ``price`` into a position of ``size_before``.

    Options realise nothing here (their premium moves as cash); futures and perpetuals realise
    the P&L of the part closed. A position without an entry price (it never happens for positions
    the ledger built) is treated as entered at ``price``.
    """
    if instrument.kind is InstrumentKind.SPOT:
        raise InputError("instrument", instrument.name, "spot trades exchange cash, not positions")
    with localcontext(LEDGER_CONTEXT):
        size_after = size_before + size
        entry = average_price_before if average_price_before is not None else price
        if size_before == 0 or _same_direction(size_before, size):
            average = (
                price if size_before == 0 else _average(instrument, size_before, entry, size, price)
            )
            return NettedPosition(size_after, average, Decimal(0))
        closed = -size if size.copy_abs() <= size_before.copy_abs() else size_before
        realised = Decimal(0)
        if instrument.kind is not InstrumentKind.OPTION:
            realised = _pnl(instrument, closed, entry, price)
        if size_after == 0:
            average_after: Decimal | None = None
        elif _same_direction(size_after, size_before):
            average_after = entry
        else:
            average_after = price
        return NettedPosition(size_after, average_after, realised)


def _pnl(instrument: Instrument, size: Decimal, entry: Decimal, exit_price: Decimal) -> Decimal:
    """P&L of ``size`` of a future or perpetual from ``entry`` to ``exit_price`` (settlement
    currency; positive is profit)."""
    with localcontext(LEDGER_CONTEXT):
        if instrument.is_inverse:
            return size * (1 / entry - 1 / exit_price)
        return size * (exit_price - entry)


def option_payoff_usd(instrument: Instrument, settlement_price: Decimal) -> Decimal:
    """Intrinsic value of one unit of an option at ``settlement_price`` (USD per coin)."""
    if instrument.kind is not InstrumentKind.OPTION or instrument.strike is None:
        raise InputError("instrument", instrument.name, "is not an option")
    strike = parse_decimal(instrument.strike, "instrument.strike")
    with localcontext(LEDGER_CONTEXT):
        difference = settlement_price - strike if instrument.is_call else strike - settlement_price
        return max(difference, Decimal(0))


def expiry_value(
    instrument: Instrument,
    size: Decimal,
    average_price: Decimal | None,
    settlement_price: Decimal,
) -> Decimal:
    """Cash a position of ``size`` receives (negative: pays) when it expires at
    ``settlement_price`` (USD per coin), exact, in the settlement currency.

    Futures settle their P&L against the entry price; options pay their intrinsic value
    (in coin for inverse options: intrinsic USD / settlement price).
    """
    if instrument.kind is InstrumentKind.FUTURE:
        entry = average_price if average_price is not None else settlement_price
        return _pnl(instrument, size, entry, settlement_price)
    if instrument.kind is not InstrumentKind.OPTION:
        raise InputError("instrument", instrument.name, "only futures and options expire")
    payoff = option_payoff_usd(instrument, settlement_price)
    with localcontext(LEDGER_CONTEXT):
        if instrument.is_inverse:
            return size * payoff / settlement_price
        return size * payoff


def funding_payment(
    instrument: Instrument, size: Decimal, mark_price: Decimal, rate: Decimal
) -> Decimal:
    """Funding a perpetual position of ``size`` **pays** at one settlement (negative: receives),
    exact, in the settlement currency: notional × rate, where the notional is ``size × mark``
    for linear contracts and ``size / mark`` coin for inverse ones. With a positive rate longs
    pay and shorts receive."""
    if instrument.kind is not InstrumentKind.PERPETUAL:
        raise InputError("instrument", instrument.name, "funding applies to perpetuals only")
    with localcontext(LEDGER_CONTEXT):
        notional = size / mark_price if instrument.is_inverse else size * mark_price
        return notional * rate
