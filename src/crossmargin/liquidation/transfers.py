"""A CEX liquidation as ledger-ready ``Decimal`` transfers, one set per round.

:func:`round_transfers` turns each :class:`~crossmargin.liquidation.cex.CexRound` into the
fills (instrument, signed size, price in the ledger's convention) and the liquidation fee per
settlement currency that :mod:`crossmargin.ledger.liquidation_postings` posts as one journal
entry. This package never imports the ledger: these are plain values.

Conventions (the ledger's, :meth:`crossmargin.ledger.Ledger.trade`): a futures or perpetual
price is USD per coin; an option's is its premium per unit in the settlement currency (coin for
inverse options: the USD fill price / the index). Conversions go through
:mod:`crossmargin.core.numeric` only: prices half-even to the quantum, fees **up** (a charge to
the account). A round's USD fee is split over its fills in proportion to notional × fee rate,
each share rounded down and the remainder given to the largest one, so the shares add up to the
round's fee to the last quantum; a share in a coin currency is that USD amount / the index,
rounded up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType

import numpy as np

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import (
    STABLECOINS,
    margin_to_decimal,
    parse_decimal,
    quantum_for,
    to_decimal_nearest,
)
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.liquidation.cex import CexLiquidation, CexRound
from crossmargin.market import MarketSnapshot

__all__ = ["FillTransfer", "RoundTransfer", "round_transfers"]

_SIZE_QUANTUM = Decimal("1e-10")


@dataclass(frozen=True, slots=True)
class FillTransfer:
    """One liquidation fill for the ledger.

    ``size`` is the order (native units, signed: −2 sells 2, so it has the opposite sign of the
    position it reduces); ``price`` is in the ledger's convention for the instrument (see the
    module docstring), > 0; ``closes_position`` is True when the fill closes what is left of
    the position (the ledger then closes exactly its own held size); ``currency`` is the
    instrument's settlement currency.
    """

    instrument: str
    size: Decimal
    price: Decimal
    currency: str
    closes_position: bool


@dataclass(frozen=True, slots=True)
class RoundTransfer:
    """One round: its index, fills, and the liquidation fee (≥ 0) by settlement currency, to
    the insurance fund."""

    index: int
    fills: tuple[FillTransfer, ...]
    fees: Mapping[str, Decimal]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fees", MappingProxyType(dict(self.fees)))


def _ledger_price(instrument: Instrument, price_usd: float, market: MarketSnapshot) -> Decimal:
    """The fill price in the ledger's convention, > 0 (at least one quantum)."""
    currency = instrument.settlement_currency
    if instrument.kind is InstrumentKind.OPTION and currency not in STABLECOINS:
        value = to_decimal_nearest(price_usd / market.index(instrument.underlying), currency)
        return max(value, quantum_for(currency))
    return max(to_decimal_nearest(price_usd, "USD", "price_usd"), quantum_for("USD"))


def _fee_shares(weights: Sequence[float], fee: Decimal) -> list[Decimal]:
    """``fee`` (USD) split in proportion to ``weights`` ≥ 0, rounded down, the remainder to
    the largest weight (ties: the first); the shares add up to ``fee`` exactly."""
    if not weights:
        return []
    total = float(sum(weights))
    quantum = quantum_for("USD")
    if total <= 0.0:
        shares = [Decimal(0)] * len(weights)
    else:
        shares = [
            (fee * Decimal(repr(w / total))).quantize(quantum, rounding=ROUND_FLOOR)
            for w in weights
        ]
    largest = max(range(len(weights)), key=lambda i: (weights[i], -i))
    shares[largest] += fee - sum(shares, Decimal(0))
    return shares


def _round(
    cex_round: CexRound,
    result: CexLiquidation,
    held: dict[str, float],
    by_name: Mapping[str, Instrument],
    market: MarketSnapshot,
) -> RoundTransfer:
    account = result.account
    index_of = {name: i for i, name in enumerate(account.instruments)}
    weights = [
        f.notional_usd * float(account.fee_rate[index_of[f.instrument]]) for f in cex_round.fills
    ]
    shares = _fee_shares(weights, cex_round.fee)
    fills: list[FillTransfer] = []
    fees: defaultdict[str, Decimal] = defaultdict(Decimal)
    for fill, share in zip(cex_round.fills, shares, strict=True):
        instrument = by_name[fill.instrument]
        if fill.price_usd is None:
            raise InputError(f"{fill.instrument}.price_usd", None, "a fill needs a price")
        held[fill.instrument] += fill.size
        currency = instrument.settlement_currency
        size = parse_decimal(fill.size, f"{fill.instrument}.size").quantize(_SIZE_QUANTUM)
        fills.append(
            FillTransfer(
                fill.instrument,
                size,
                _ledger_price(instrument, fill.price_usd, market),
                currency,
                bool(np.isclose(held[fill.instrument], 0.0, rtol=0.0, atol=1e-12)),
            )
        )
        if share > 0:
            if currency in STABLECOINS:
                fees[currency] += share
            else:
                coin = float(share) / market.index(instrument.underlying)
                fees[currency] += margin_to_decimal(coin, currency, "fee")
    return RoundTransfer(cex_round.index, tuple(fills), dict(sorted(fees.items())))


def round_transfers(
    result: CexLiquidation, instruments: Sequence[Instrument], market: MarketSnapshot
) -> tuple[RoundTransfer, ...]:
    """The ledger transfers of every round of ``result``.

    Parameters
    ----------
    result:
        A finished CEX liquidation (its ``account`` holds the final sizes).
    instruments:
        The account's instruments, in the order of ``result.account.instruments``.
    market:
        The market the liquidation ran at (index prices convert coin amounts).

    Returns
    -------
    tuple[RoundTransfer, ...]
        One per round with fills, in order; rounds that traded nothing are left out.
    """
    by_name = {i.name: i for i in instruments}
    missing = [name for name in result.account.instruments if name not in by_name]
    if missing:
        raise InputError("instruments", missing[0], "is traded by the liquidation but not given")
    held = dict(zip(result.account.instruments, result.account.size.tolist(), strict=True))
    for cex_round in result.rounds:
        for fill in cex_round.fills:
            held[fill.instrument] -= fill.size
    return tuple(
        _round(cex_round, result, held, by_name, market)
        for cex_round in result.rounds
        if cex_round.fills
    )
