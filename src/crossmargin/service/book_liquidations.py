"""The live desk's liquidations: one whole-book pass over the book engine, posted in one batch.

After a tick the engine has every account's equity and maintenance margin (``pm``). The accounts
in the liquidatable or bankrupt band with a maintenance margin > 0 are taken most underwater
first (highest MM / equity, ties by engine index), at most ``limit`` of them, and each runs
:func:`~crossmargin.liquidation.run_cex_liquidation` on its engine account
(:func:`~crossmargin.liquidation.build.account_risk_from_engine`: its positions, entry prices,
collateral and the liquidation scenarios), the insurance fund carried from one account to the
next, each with a generator seeded by the market version and the account id — the order and the
arithmetic of :func:`~crossmargin.liquidation.liquidate_book`, with the service's cap and its
deficit policy.

**The planner's margin.** The liquidation scenarios' margin
(:class:`~crossmargin.liquidation.account.ScenarioMargin`) is an approximation of the venue's
model; it is scaled per account so that at the account's current sizes its maintenance margin
equals the engine's (``pm``, the margin that found the account liquidatable), when that is
larger. The planner's choice of what to close is unchanged by the scale (it ranks candidates by
the same function); the rounds continue until the scaled requirement is met, so an account the
engine finds liquidatable is not left untouched because the coarser scenarios find it healthy.

**Posting.** Every round of every account (:func:`round_transfers` →
:func:`~crossmargin.ledger.liquidation_postings.liquidation_round`) goes into **one**
:meth:`Ledger.post_batch` (one transaction, one commit); a round refused by the ledger refuses
the later rounds of the same account in that batch (the account's event then names the error).
Then the deficits the rounds left are covered by the insurance fund as far as it holds
(:func:`~crossmargin.ledger.liquidation_postings.cover_deficits`, one more batch): a deficit in
the fund's own currency (USDC) directly; a coin deficit (an inverse position's loss realised in
BTC or ETH the account does not hold) from the fund's coin first, then with coin the fund buys
from the market at the index for its USDC
(:func:`~crossmargin.ledger.liquidation_postings.converted_deficit_cover`). Only what the fund
cannot pay stays a recorded deficit (bad debt) — as after ``POST /market``
(:mod:`crossmargin.service.routes_liquidations`). Auto-deleveraging and socialisation are not
posted by the service.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import CrossmarginError
from crossmargin.core.numeric import STABLECOINS
from crossmargin.engine import BookEngine
from crossmargin.engine.results import BookMarginResult
from crossmargin.instruments import Instrument
from crossmargin.ledger import AccountKind, EntryRecord, Ledger
from crossmargin.ledger.batch import Outcome
from crossmargin.ledger.entries import EntryDraft
from crossmargin.ledger.liquidation_postings import (
    DeficitCover,
    LiquidationFill,
    cover_deficits,
    liquidation_round,
)
from crossmargin.ledger.operations import Operation, SystemAccounts
from crossmargin.ledger.state import StateBuilder
from crossmargin.liquidation import (
    InsuranceFund,
    LiquidationParameters,
    RoundTransfer,
    round_transfers,
    run_cex_liquidation,
)
from crossmargin.liquidation.account import MarginFunction
from crossmargin.liquidation.build import account_risk_from_engine
from crossmargin.liquidation.cex import CexLiquidation
from crossmargin.margin.health import HEALTH_STATES, HealthState, health_codes
from crossmargin.market import MarketSnapshot

__all__ = [
    "PlannedLiquidation",
    "ScaledMargin",
    "cover_document",
    "due_accounts",
    "fund_of",
    "index_prices",
    "plan_liquidations",
    "post_liquidations",
    "round_document",
]

FloatArray = NDArray[np.float64]

_FUND_CURRENCY = "USDC"
_DUE_CODES = tuple(HEALTH_STATES.index(s) for s in (HealthState.LIQUIDATABLE, HealthState.BANKRUPT))


@dataclass(frozen=True, slots=True)
class ScaledMargin:
    """A margin function times ``scale`` (≥ 1): (IM, MM) in USD of each candidate size row."""

    inner: MarginFunction
    scale: float

    def __call__(self, sizes: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``sizes`` (k, n) native → (IM (k,), MM (k,)) USD ≥ 0, ``scale`` × the inner ones."""
        initial, maintenance = self.inner(sizes)
        return initial * self.scale, maintenance * self.scale


@dataclass(frozen=True, eq=False)
class PlannedLiquidation:
    """One account's liquidation of the pass, before posting.

    Attributes
    ----------
    account_id:
        Ledger account id.
    account:
        Engine account index.
    instruments:
        The account's instruments, in the order of ``result.account.instruments``.
    result:
        The CEX liquidation (rounds, fills; Decimal USD money).
    transfers:
        Its rounds as ledger transfers (fills at the liquidation price, fees by currency).
    health_before:
        The engine's health state of the account at the tick (``liquidatable``/``bankrupt``).
    equity_before_usd:
        The engine's equity of the account at the tick, USD.
    """

    account_id: int
    account: int
    instruments: tuple[Instrument, ...]
    result: CexLiquidation
    transfers: tuple[RoundTransfer, ...]
    health_before: str
    equity_before_usd: float


def due_accounts(
    result: BookMarginResult, parameters: LiquidationParameters, limit: int
) -> NDArray[np.int64]:
    """Engine indices of the accounts to liquidate: liquidatable or bankrupt with MM > 0, most
    underwater first (highest MM / equity; ties by index), at most ``limit``."""
    codes = health_codes(
        np.asarray(result.equity), np.asarray(result.maintenance_margin), parameters.health
    )
    maintenance = np.asarray(result.maintenance_margin)
    due = np.flatnonzero(np.isin(codes, _DUE_CODES) & (maintenance > 0))
    ratios = np.asarray(result.margin_ratio)[due]
    return due[np.lexsort((due, -ratios))][:limit].astype(np.int64)


def plan_liquidations(
    engine: BookEngine,
    result: BookMarginResult,
    account_ids: Sequence[int],
    parameters: LiquidationParameters,
    fund: InsuranceFund,
    version: int,
    limit: int,
) -> list[PlannedLiquidation]:
    """The pass over the engine (read only; see the module docstring).

    Parameters
    ----------
    engine:
        The book at the tick's market.
    result:
        ``engine.margin_all()`` at that market (USD arrays over engine accounts).
    account_ids:
        Ledger account id of each engine account.
    parameters:
        Liquidation parameters.
    fund:
        The insurance fund before the pass (Decimal USD), carried from account to account.
    version:
        The market version (seeds each account's generator with the account id).
    limit:
        Most accounts liquidated.
    """
    codes = health_codes(
        np.asarray(result.equity), np.asarray(result.maintenance_margin), parameters.health
    )
    planned: list[PlannedLiquidation] = []
    for a in due_accounts(result, parameters, limit).tolist():
        risk, margin = account_risk_from_engine(engine, a, parameters)
        _, scenario_mm = margin(risk.size[None, :])
        engine_mm = float(result.maintenance_margin[a])
        scale = engine_mm / float(scenario_mm[0]) if float(scenario_mm[0]) > 0 else 1.0
        scaled = ScaledMargin(margin, max(scale, 1.0))
        account_id = account_ids[a]
        rng = np.random.default_rng([version, account_id])
        cex = run_cex_liquidation(risk, scaled, parameters, fund, rng)
        fund = cex.fund
        indices, _ = engine.positions(a)
        instruments = tuple(engine.instruments[int(i)] for i in indices)
        planned.append(
            PlannedLiquidation(
                account_id,
                a,
                instruments,
                cex,
                round_transfers(cex, instruments, engine.market),
                HEALTH_STATES[int(codes[a])].value,
                float(result.equity[a]),
            )
        )
    return planned


class _Guard:
    """Refuses an account's later rounds in a batch once one of its rounds was refused."""

    def __init__(self) -> None:
        self.refused: dict[int, str] = {}

    def wrap(self, operation: Operation) -> Operation:
        inner = operation.build
        account_id = operation.account_id

        def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
            earlier = self.refused.get(account_id)
            if earlier is not None:
                raise _EarlierRoundRefusedError(earlier)
            try:
                return inner(view, system)
            except Exception as refusal:
                self.refused[account_id] = str(refusal)
                raise

        return Operation(
            operation.kind, account_id, operation.request, build, operation.margin_check
        )


class _EarlierRoundRefusedError(CrossmarginError):
    """An earlier round of the same account was refused in this batch."""


def round_document(
    transfer: RoundTransfer, entry: EntryRecord, margin_ratio_after: float
) -> dict[str, Any]:
    """A posted liquidation round as its event shows it: index, ledger entry, the legs closed
    (instrument, size, price), the fee per currency and the margin ratio after (``None`` when
    not finite)."""
    return {
        "index": transfer.index,
        "entry_id": entry.entry_id,
        "closed": [
            {"instrument": f.instrument, "size": str(f.size), "price": str(f.price)}
            for f in transfer.fills
        ],
        "fee": {c: str(v) for c, v in transfer.fees.items()},
        "margin_ratio_after": margin_ratio_after if np.isfinite(margin_ratio_after) else None,
    }


def post_liquidations(
    ledger: Ledger, planned: Sequence[PlannedLiquidation], version: int, market: MarketSnapshot
) -> list[dict[str, Any]]:
    """Post the pass (see the module docstring) and return one event per account (not yet
    recorded): ``health_after`` and ``equity_after_usd`` are left ``None`` for the caller, who
    re-reads the accounts (the engine's view after the posting).

    Returns
    -------
    list[dict]
        Per account: ``account_id``, ``market_version``, ``model`` (``pm``), ``mode``
        (``cex``), ``health_before``, ``equity_before_usd`` (USD), ``rounds`` (closed legs at
        the liquidation price, fee, margin ratio after, ledger entry), ``cover_entry_ids``,
        ``conversions`` (coin the fund bought at ``market``'s index to cover a coin deficit:
        :func:`cover_document`), ``insurance_fund_delta`` (currency → decimal text, fees in −
        covers and conversions out), ``bad_debt`` (currency → decimal text left uncovered: a
        recorded deficit once the fund is exhausted) and ``error`` (the ledger's refusal, if
        any).
    """
    token = secrets.token_hex(6)
    guard = _Guard()
    items: list[tuple[Operation, str]] = []
    owners: list[tuple[int, RoundTransfer, float]] = []
    for k, plan in enumerate(planned):
        with_fills = [r for r in plan.result.rounds if r.fills]
        for transfer, cex_round in zip(plan.transfers, with_fills, strict=True):
            fills = [
                LiquidationFill(f.instrument, f.size, f.price, f.closes_position)
                for f in transfer.fills
            ]
            operation = guard.wrap(liquidation_round(plan.account_id, fills, transfer.fees))
            items.append(
                (operation, f"liquidation-{token}-{plan.account_id}-round-{transfer.index}")
            )
            owners.append((k, transfer, cex_round.margin_ratio_after))
    outcomes: list[Outcome] = ledger.post_batch(items) if items else []
    rounds: list[list[dict[str, Any]]] = [[] for _ in planned]
    fees: list[defaultdict[str, Decimal]] = [defaultdict(Decimal) for _ in planned]
    errors: list[str | None] = [None for _ in planned]
    for (k, transfer, ratio), outcome in zip(owners, outcomes, strict=True):
        if isinstance(outcome, Exception):
            if errors[k] is None:
                errors[k] = str(outcome)
            continue
        rounds[k].append(round_document(transfer, outcome, ratio))
        for currency, fee in transfer.fees.items():
            fees[k][currency] += fee
    covered = cover_deficits(
        ledger,
        [p.account_id for p in planned],
        index_prices(market),
        f"liquidation-{token}",
        _FUND_CURRENCY,
    )
    events = []
    for k, plan in enumerate(planned):
        delta = dict(fees[k])
        entries, conversions, paid = cover_document(covered.covers.get(plan.account_id, []))
        for currency, amount in paid.items():
            delta[currency] = delta.get(currency, Decimal(0)) - amount
        events.append(
            {
                "account_id": plan.account_id,
                "market_version": version,
                "model": "pm",
                "mode": "cex",
                "health_before": plan.health_before,
                "health_after": None,
                "equity_before_usd": plan.equity_before_usd,
                "equity_after_usd": None,
                "rounds": rounds[k],
                "cover_entry_ids": entries,
                "conversions": conversions,
                "insurance_fund_delta": {c: str(v) for c, v in sorted(delta.items()) if v != 0},
                "bad_debt": {
                    c: str(v) for c, v in covered.bad_debt.get(plan.account_id, {}).items()
                },
                "error": errors[k],
            }
        )
    return events


def index_prices(market: MarketSnapshot) -> dict[str, Decimal]:
    """The market's index price of every coin (not the USD stablecoins), USD per coin as a
    ``Decimal`` (the float's shortest repr): the price at which the insurance fund buys a coin
    it does not hold to cover a deficit in it
    (:func:`~crossmargin.ledger.liquidation_postings.cover_deficits`)."""
    return {
        asset: Decimal(repr(float(price)))
        for asset, price in sorted(market.index_usd.items())
        if asset not in STABLECOINS and price > 0
    }


def cover_document(
    covers: Sequence[DeficitCover],
) -> tuple[list[int], list[dict[str, str | int]], dict[str, Decimal]]:
    """An event's view of an account's deficit covers: the entry ids, the conversions (a
    currency owed bought from the market at the index with the account's own other balances or
    the fund's USDC: ``entry_id``, ``payer`` (``account``/``insurance_fund``), ``currency``,
    ``amount``, ``index_price`` (``cost_currency`` per unit), ``cost`` and ``cost_currency``;
    decimal text) and what the insurance fund paid by currency (> 0)."""
    entries: list[int] = []
    conversions: list[dict[str, str | int]] = []
    paid: defaultdict[str, Decimal] = defaultdict(Decimal)
    for cover in covers:
        entries.append(cover.entry_id)
        if cover.payer == "insurance_fund":
            paid[cover.paid_currency] += cover.paid
        if cover.index_price is not None:
            conversions.append(
                {
                    "entry_id": cover.entry_id,
                    "payer": cover.payer,
                    "currency": cover.currency,
                    "amount": str(cover.amount),
                    "index_price": str(cover.index_price),
                    "cost": str(cover.paid),
                    "cost_currency": cover.paid_currency,
                }
            )
    return entries, conversions, dict(paid)


def fund_of(ledger: Ledger) -> InsuranceFund:
    """The insurance fund as the liquidation engine sees it: its USDC balance (≥ 0), USD."""
    balance = ledger.balances(ledger.system_account_id(AccountKind.INSURANCE))
    return InsuranceFund(max(balance.get(_FUND_CURRENCY, Decimal(0)), Decimal(0)))
