"""The insurance fund, auto-deleveraging and socialised loss, in ledger money (``Decimal``).

State (:class:`InsuranceFund`, a balance that is never negative) is separate from policy
(:func:`adl_scores`, :func:`auto_deleverage`, :func:`socialise_loss`,
:func:`resolve_shortfall`). Every function returns allocations that add up to the amount they
were given to the last quantum, so a caller posting them to the ledger conserves money exactly.

Sources (venues.md, "Liquidation mechanics"): Binance ranks ADL candidates by
max(0, uPnL)/max(1, wallet) × MM/(wallet + uPnL); Bybit by PnL % × effective leverage (PnL % /
leverage in loss); both close against them at the bankrupt account's bankruptcy price, only when
the fund cannot absorb the loss; Deribit socialises among the day's winners when the fund is
empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import quantum_for
from crossmargin.liquidation.parameters import AdlRanking, ShortfallPolicy

__all__ = [
    "AdlFill",
    "FundDraw",
    "InsuranceFund",
    "ShortfallResolution",
    "adl_scores",
    "auto_deleverage",
    "resolve_shortfall",
    "socialise_loss",
]

FloatArray = NDArray[np.float64]


def _amount(value: Decimal, currency: str, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InputError(field, value, "must be a finite Decimal")
    if value != value.quantize(quantum_for(currency)):
        raise InputError(field, value, f"must be a multiple of {quantum_for(currency)}")
    return value


@dataclass(frozen=True, slots=True)
class FundDraw:
    """A draw on the fund: the fund after, what it covered and what is left uncovered (≥ 0)."""

    fund: InsuranceFund
    covered: Decimal
    uncovered: Decimal


@dataclass(frozen=True, slots=True)
class InsuranceFund:
    """The insurance fund's balance in ``currency``: a Decimal ≥ 0 on the currency quantum."""

    balance: Decimal
    currency: str = "USD"

    def __post_init__(self) -> None:
        _amount(self.balance, self.currency, "insurance_fund.balance")
        if self.balance < 0:
            raise InputError("insurance_fund.balance", self.balance, "must be >= 0")

    def deposit(self, amount: Decimal) -> InsuranceFund:
        """The fund after receiving ``amount`` ≥ 0 (a liquidation fee)."""
        if _amount(amount, self.currency, "deposit") < 0:
            raise InputError("deposit", amount, "must be >= 0")
        return InsuranceFund(self.balance + amount, self.currency)

    def draw(self, shortfall: Decimal) -> FundDraw:
        """Cover up to ``shortfall`` ≥ 0 (a bankrupt account's negative equity); the fund never
        goes below zero, what it cannot pay is ``uncovered``."""
        if _amount(shortfall, self.currency, "shortfall") < 0:
            raise InputError("shortfall", shortfall, "must be >= 0")
        covered = min(shortfall, self.balance)
        return FundDraw(
            InsuranceFund(self.balance - covered, self.currency), covered, shortfall - covered
        )


def adl_scores(
    upnl_usd: ArrayLike,
    wallet_usd: ArrayLike,
    maintenance_usd: ArrayLike,
    notional_usd: ArrayLike,
    ranking: AdlRanking = AdlRanking.BINANCE,
) -> FloatArray:
    """ADL priority of each candidate (higher is deleveraged first), dimensionless.

    Binance: max(0, uPnL)/max(1, wallet) × MM/(wallet + uPnL) (0 when wallet + uPnL ≤ 0).
    Bybit: PnL % × leverage in profit, PnL % / leverage in loss, with PnL % = uPnL / max(1,
    wallet) and leverage = notional / (wallet + uPnL).

    Worked example (Binance): uPnL 500, wallet 1,000, MM 300 → 0.5 × 300/1,500 = 0.1.
    """
    upnl = np.asarray(upnl_usd, dtype=np.float64)
    wallet = np.asarray(wallet_usd, dtype=np.float64)
    equity = wallet + upnl
    positive = equity > 0
    safe_equity = np.where(positive, equity, 1.0)
    pnl_share = upnl / np.maximum(1.0, wallet)
    if ranking is AdlRanking.BINANCE:
        leverage = np.asarray(maintenance_usd, dtype=np.float64) / safe_equity
        score = np.maximum(0.0, pnl_share) * leverage
    else:
        leverage = np.maximum(np.asarray(notional_usd, dtype=np.float64) / safe_equity, 1e-12)
        score = np.where(upnl > 0, pnl_share * leverage, pnl_share / leverage)
    return np.asarray(np.where(positive, score, 0.0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class AdlFill:
    """One counterparty deleveraged: ``size`` (native, ≥ 0, of its opposing position) closed at
    the bankruptcy price, and the ``loss`` it bears against mark (≥ 0, Decimal)."""

    account: int
    size: Decimal
    loss: Decimal


def auto_deleverage(
    shortfall: Decimal,
    bankrupt_size: Decimal,
    candidates: Sequence[int],
    opposing_size: Sequence[Decimal],
    scores: ArrayLike,
    currency: str = "USD",
) -> tuple[AdlFill, ...]:
    """Close the bankrupt position against opposing accounts, highest score first.

    The bankrupt account's residual position |``bankrupt_size``| is closed at its bankruptcy
    price; each counterparty takes part of it (up to its own opposing size, ≥ 0) and bears the
    difference to mark in proportion. The losses add up to ``shortfall`` exactly: each fill
    loses shortfall × its share, rounded down to the quantum, and the last fill takes the
    remainder. Ties in score go to the lower candidate index.

    Raises :class:`InputError` when the opposing sizes cannot absorb the position.
    """
    quantum = quantum_for(currency)
    total = abs(bankrupt_size)
    if total == 0 or shortfall <= 0:
        return ()
    score = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((np.arange(len(candidates)), -score))
    fills: list[tuple[int, Decimal]] = []
    left = total
    for k in order:
        if left == 0:
            break
        take = min(left, max(opposing_size[k], Decimal(0)))
        if take > 0:
            fills.append((candidates[k], take))
            left -= take
    if left > 0:
        raise InputError("opposing_size", sum(opposing_size), f"cannot absorb {total}")
    result: list[AdlFill] = []
    allocated = Decimal(0)
    for index, (account, size) in enumerate(fills):
        if index == len(fills) - 1:
            loss = shortfall - allocated
        else:
            loss = (shortfall * size / total).quantize(quantum, rounding=ROUND_FLOOR)
        allocated += loss
        result.append(AdlFill(account, size, loss))
    return tuple(result)


def socialise_loss(
    shortfall: Decimal, profits: Sequence[Decimal], currency: str = "USD"
) -> tuple[Decimal, ...]:
    """Share ``shortfall`` among the winners in proportion to their profit (> 0 only).

    Each share is rounded down to the quantum; the remainder goes to the largest profit (ties:
    lowest index), so the shares add up to ``shortfall`` exactly. Raises when nobody is in profit.
    """
    quantum = quantum_for(currency)
    positive = [max(p, Decimal(0)) for p in profits]
    total = sum(positive, Decimal(0))
    if shortfall <= 0:
        return tuple(Decimal(0) for _ in profits)
    if total <= 0:
        raise InputError("profits", "none > 0", "cannot socialise a loss without winners")
    shares = [(shortfall * p / total).quantize(quantum, rounding=ROUND_FLOOR) for p in positive]
    largest = max(range(len(positive)), key=lambda i: (positive[i], -i))
    shares[largest] += shortfall - sum(shares, Decimal(0))
    return tuple(shares)


@dataclass(frozen=True, slots=True)
class ShortfallResolution:
    """Who paid a bankrupt account's negative equity: the fund, then ADL or the winners."""

    fund: InsuranceFund
    from_fund: Decimal
    adl_fills: tuple[AdlFill, ...]
    socialised: tuple[Decimal, ...]

    @property
    def passed_on(self) -> Decimal:
        """The part not paid by the fund (ADL losses or socialised shares), Decimal ≥ 0."""
        return sum((f.loss for f in self.adl_fills), Decimal(0)) + sum(self.socialised, Decimal(0))


def resolve_shortfall(
    shortfall: Decimal,
    fund: InsuranceFund,
    policy: ShortfallPolicy,
    *,
    bankrupt_size: Decimal = Decimal(0),
    candidates: Sequence[int] = (),
    opposing_size: Sequence[Decimal] = (),
    scores: ArrayLike = (),
    profits: Sequence[Decimal] = (),
) -> ShortfallResolution:
    """The fund pays first; what it cannot cover is deleveraged (ADL) or socialised.

    Conservation: ``from_fund + passed_on == shortfall`` exactly and the fund stays ≥ 0.
    """
    drawn = fund.draw(shortfall)
    if drawn.uncovered == 0:
        return ShortfallResolution(drawn.fund, drawn.covered, (), ())
    if policy is ShortfallPolicy.ADL:
        fills = auto_deleverage(
            drawn.uncovered, bankrupt_size, candidates, opposing_size, scores, fund.currency
        )
        return ShortfallResolution(drawn.fund, drawn.covered, fills, ())
    shares = socialise_loss(drawn.uncovered, profits, fund.currency)
    return ShortfallResolution(drawn.fund, drawn.covered, (), shares)
