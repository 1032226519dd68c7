"""The whole book after a market move: find every liquidatable account and liquidate it.

:func:`liquidate_book` is what the simulation issue's cascades call after
``engine.update_market(...)``: the engine margins every account at once
(:func:`~crossmargin.liquidation.build.liquidation_queue`), the accounts in the liquidatable or
bankrupt band are taken most underwater first (ties by index: a deterministic order), each runs
:func:`~crossmargin.liquidation.cex.run_cex_liquidation` with the insurance fund left by the one
before, and a loss the fund cannot cover goes to auto-deleveraging or socialisation
(:func:`~crossmargin.liquidation.insurance.resolve_shortfall`, by the parameters' policy).

Pure: the engine is read, never changed, and nothing is posted. The caller applies the closes
(``closed_size``) and the money (``collateral`` per account, the fund) to its own state, or
posts them through :mod:`crossmargin.ledger.liquidation_postings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import collateral_to_decimal, parse_decimal
from crossmargin.engine import BookEngine, BookMarginResult
from crossmargin.instruments import InstrumentKind
from crossmargin.liquidation.account import AccountRisk, MarginFunction
from crossmargin.liquidation.build import account_risk_from_engine, liquidation_queue
from crossmargin.liquidation.cex import CexLiquidation, Fill, run_cex_liquidation
from crossmargin.liquidation.health import BookHealth
from crossmargin.liquidation.insurance import (
    InsuranceFund,
    ShortfallResolution,
    adl_scores,
    resolve_shortfall,
)
from crossmargin.liquidation.parameters import LiquidationParameters, ShortfallPolicy

__all__ = ["AccountLiquidation", "BookLiquidation", "MarginFactory", "liquidate_book"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: Builds one engine account's risk and margin function (default: the fast path,
#: :func:`~crossmargin.liquidation.build.account_risk_from_engine`).
MarginFactory = Callable[
    [BookEngine, int, LiquidationParameters], tuple[AccountRisk, MarginFunction]
]

_SIZE_QUANTUM = Decimal("1e-10")


@dataclass(frozen=True, eq=False)
class AccountLiquidation:
    """One account's liquidation in the pass.

    Attributes
    ----------
    account:
        Engine account index.
    instruments:
        (n,) engine instrument indices of its positions, in the order of ``result.account``.
    result:
        The CEX liquidation (rounds, fills, Decimal money; ``bad_debt`` after the fund).
    resolution:
        How a bad debt was passed on (ADL fills or socialised shares; ``None`` without one).
    counterparties:
        Engine account indices of ``resolution``'s ADL candidates or socialisation winners, in
        the order its ``AdlFill.account`` / ``socialised`` refer to.
    unresolved:
        Loss left over (Decimal USD ≥ 0) when nobody could take it (no opposing position, no
        winner): recorded bad debt.
    """

    account: int
    instruments: IntArray
    result: CexLiquidation
    resolution: ShortfallResolution | None
    counterparties: tuple[int, ...]
    unresolved: Decimal

    @property
    def closed_size(self) -> FloatArray:
        """(n,) native amount closed per position (sign of the position; size − closed is
        what is left)."""
        return self.size_before - self.result.account.size

    @property
    def size_before(self) -> FloatArray:
        """(n,) sizes before the liquidation (final sizes minus every order)."""
        before = self.result.account.size.copy()
        index = {name: i for i, name in enumerate(self.result.account.instruments)}
        for cex_round in self.result.rounds:
            for fill in cex_round.fills:
                before[index[fill.instrument]] -= fill.size
        return before


@dataclass(frozen=True, eq=False)
class BookLiquidation:
    """The pass: health before it, the accounts liquidated (in order) and the totals.

    ``fund_delta`` = fees in − cover out (Decimal USD); ``bad_debt`` = what the fund could not
    cover (passed on by ADL/socialisation or unresolved); ``unresolved`` = the part nobody took.
    """

    health: BookHealth
    accounts: tuple[AccountLiquidation, ...]
    fund_before: InsuranceFund
    fund_after: InsuranceFund
    bad_debt: Decimal
    unresolved: Decimal

    @property
    def fund_delta(self) -> Decimal:
        """Change of the insurance fund over the pass, Decimal USD (fees − cover)."""
        return self.fund_after.balance - self.fund_before.balance

    @property
    def fills(self) -> tuple[tuple[int, Fill], ...]:
        """Every fill of the pass as (engine account, fill), in execution order."""
        return tuple(
            (liquidation.account, fill)
            for liquidation in self.accounts
            for cex_round in liquidation.result.rounds
            for fill in cex_round.fills
        )


def _unit_notional_usd(engine: BookEngine, instrument: int) -> float:
    """Notional of +1 native unit, USD: 1 for an inverse future or perpetual (sized in USD of
    face), the index otherwise."""
    unit = engine.instruments[instrument]
    if unit.is_inverse and unit.kind is not InstrumentKind.OPTION:
        return 1.0
    return engine.market.index(unit.underlying)


def _largest_position(engine: BookEngine, account: int) -> tuple[int, float]:
    """(instrument index, size) of the account's largest position by notional (ties: the
    lowest instrument index)."""
    indices, sizes = engine.positions(account)
    notional = [
        abs(float(s)) * _unit_notional_usd(engine, int(i))
        for i, s in zip(indices, sizes, strict=True)
    ]
    k = max(range(len(notional)), key=lambda j: (notional[j], -j))
    return int(indices[k]), float(sizes[k])


def _opposing(
    engine: BookEngine, instrument: int, size: float, excluded: set[int]
) -> tuple[list[int], list[Decimal]]:
    """Accounts holding the opposite side of ``instrument`` and their |sizes| (Decimal)."""
    accounts: list[int] = []
    sizes: list[Decimal] = []
    for other in range(engine.account_count):
        if other in excluded:
            continue
        indices, held = engine.positions(other)
        found = np.flatnonzero(indices == instrument)
        if found.size and np.sign(held[found[0]]) == -np.sign(size):
            accounts.append(other)
            amount = abs(float(held[found[0]]))
            sizes.append(parse_decimal(amount, "size").quantize(_SIZE_QUANTUM))
    return accounts, sizes


def _pass_on(
    engine: BookEngine,
    margins: BookMarginResult,
    liquidation: CexLiquidation,
    account: int,
    parameters: LiquidationParameters,
    excluded: set[int],
) -> tuple[ShortfallResolution | None, tuple[int, ...], Decimal]:
    """ADL or socialise the account's bad debt (the fund is already empty)."""
    shortfall = liquidation.bad_debt
    equity = np.asarray(margins.equity, dtype=np.float64)
    wallet = np.asarray(engine.collateral_usd, dtype=np.float64)
    upnl = equity - wallet
    try:
        if parameters.insurance.shortfall_policy is ShortfallPolicy.ADL:
            instrument, size = _largest_position(engine, account)
            candidates, opposing = _opposing(engine, instrument, size, excluded)
            held = np.array([float(s) for s in opposing])
            notional = held * _unit_notional_usd(engine, instrument)
            scores = adl_scores(
                upnl[candidates],
                wallet[candidates],
                np.asarray(margins.maintenance_margin, dtype=np.float64)[candidates],
                notional,
                parameters.insurance.adl_ranking,
            )
            bankrupt_size = parse_decimal(abs(size), "size").quantize(_SIZE_QUANTUM)
            resolution = resolve_shortfall(
                shortfall,
                liquidation.fund,
                ShortfallPolicy.ADL,
                bankrupt_size=bankrupt_size,
                candidates=list(range(len(candidates))),
                opposing_size=opposing,
                scores=scores,
            )
            return resolution, tuple(candidates), Decimal(0)
        winners = [a for a in range(engine.account_count) if a not in excluded]
        profits = [collateral_to_decimal(max(float(upnl[a]), 0.0)) for a in winners]
        resolution = resolve_shortfall(
            shortfall, liquidation.fund, ShortfallPolicy.SOCIALISE, profits=profits
        )
        return resolution, tuple(winners), Decimal(0)
    except InputError:  # nobody can take it: recorded bad debt
        return None, (), shortfall


def liquidate_book(
    engine: BookEngine,
    parameters: LiquidationParameters,
    fund: InsuranceFund,
    rng: np.random.Generator,
    *,
    margin_factory: MarginFactory = account_risk_from_engine,
) -> BookLiquidation:
    """Liquidate every account of ``engine`` in the liquidatable or bankrupt band.

    Parameters
    ----------
    engine:
        The book at the moved market (read only).
    parameters:
        Liquidation parameters (bands, planner, rounds, shortfall policy).
    fund:
        The insurance fund before the pass (Decimal USD).
    rng:
        Seeded generator shared by the accounts in order (the same inputs give the same pass).
    margin_factory:
        Builds each account's risk and margin function (default: the PM-style scenario margin;
        a :class:`~crossmargin.liquidation.model_margin.ModelMargin` adapter for exactness).

    Returns
    -------
    BookLiquidation
        Per account (most underwater first, ties by index) the rounds, fills and money; the fund
        after; bad debt passed on and left unresolved.
    """
    health, order = liquidation_queue(engine, parameters)
    margins = engine.margin_all()
    done: list[AccountLiquidation] = []
    excluded = {int(a) for a in order}
    fund_before, bad_debt, unresolved = fund, Decimal(0), Decimal(0)
    for account in order.tolist():
        risk, margin = margin_factory(engine, account, parameters)
        indices, _ = engine.positions(account)
        result = run_cex_liquidation(risk, margin, parameters, fund, rng)
        fund = result.fund
        resolution: ShortfallResolution | None = None
        counterparties: tuple[int, ...] = ()
        left = Decimal(0)
        if result.bad_debt > 0:
            bad_debt += result.bad_debt
            resolution, counterparties, left = _pass_on(
                engine, margins, result, account, parameters, excluded
            )
            if resolution is not None:
                fund = resolution.fund
            unresolved += left
        done.append(AccountLiquidation(account, indices, result, resolution, counterparties, left))
    return BookLiquidation(health, tuple(done), fund_before, fund, bad_debt, unresolved)
