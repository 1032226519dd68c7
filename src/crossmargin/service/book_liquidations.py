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
(:func:`~crossmargin.ledger.liquidation_postings.shortfall_settlement`), one more batch; the
rest is a recorded deficit (bad debt) — as after ``POST /market``
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
from crossmargin.engine import BookEngine
from crossmargin.engine.results import BookMarginResult
from crossmargin.instruments import Instrument
from crossmargin.ledger import AccountKind, EntryRecord, Ledger
from crossmargin.ledger.batch import Outcome
from crossmargin.ledger.entries import EntryDraft
from crossmargin.ledger.liquidation_postings import (
    LiquidationFill,
    liquidation_round,
    shortfall_settlement,
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

__all__ = [
    "PlannedLiquidation",
    "ScaledMargin",
    "due_accounts",
    "fund_of",
    "plan_liquidations",
    "post_liquidations",
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


def _round_document(
    transfer: RoundTransfer, entry: EntryRecord, margin_ratio_after: float
) -> dict[str, Any]:
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
    ledger: Ledger, planned: Sequence[PlannedLiquidation], version: int
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
        ``insurance_fund_delta`` (currency → decimal text, fees in − cover out), ``bad_debt``
        (currency → decimal text left uncovered) and ``error`` (the ledger's refusal, if any).
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
        rounds[k].append(_round_document(transfer, outcome, ratio))
        for currency, fee in transfer.fees.items():
            fees[k][currency] += fee
    covers, bad_debt = _cover_deficits(ledger, [p.account_id for p in planned], token)
    events = []
    for k, plan in enumerate(planned):
        delta = dict(fees[k])
        entries: list[int] = []
        for entry_id, currency, amount in covers.get(plan.account_id, []):
            entries.append(entry_id)
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
                "insurance_fund_delta": {c: str(v) for c, v in sorted(delta.items()) if v != 0},
                "bad_debt": bad_debt.get(plan.account_id, {}),
                "error": errors[k],
            }
        )
    return events


def _cover_deficits(
    ledger: Ledger, account_ids: Sequence[int], token: str
) -> tuple[dict[int, list[tuple[int, str, Decimal]]], dict[int, dict[str, str]]]:
    """Let the insurance fund pay the accounts' deficits, in order, as far as it holds (one
    batch); returns per account the (entry id, currency, amount) covered and the bad debt left
    by currency (decimal text)."""
    fund_id = ledger.system_account_id(AccountKind.INSURANCE)
    fund = {c: max(v, Decimal(0)) for c, v in ledger.balances(fund_id).items()}
    items: list[tuple[Operation, str]] = []
    owners: list[tuple[int, str, Decimal]] = []
    bad_debt: dict[int, dict[str, str]] = {}
    for account_id in account_ids:
        for currency, balance in sorted(ledger.balances(account_id).items()):
            if balance >= 0:
                continue
            cover = min(-balance, fund.get(currency, Decimal(0)))
            if cover > 0:
                fund[currency] -= cover
                operation = shortfall_settlement(account_id, currency, cover)
                items.append((operation, f"liquidation-{token}-{account_id}-cover-{currency}"))
                owners.append((account_id, currency, cover))
            if -balance - cover > 0:
                bad_debt.setdefault(account_id, {})[currency] = str(-balance - cover)
    covers: dict[int, list[tuple[int, str, Decimal]]] = {}
    for (account_id, currency, amount), outcome in zip(
        owners, ledger.post_batch(items) if items else [], strict=True
    ):
        if isinstance(outcome, Exception):
            left = bad_debt.setdefault(account_id, {})
            left[currency] = str(Decimal(left.get(currency, "0")) + amount)
            continue
        covers.setdefault(account_id, []).append((outcome.entry_id, currency, amount))
    return covers, bad_debt


def fund_of(ledger: Ledger) -> InsuranceFund:
    """The insurance fund as the liquidation engine sees it: its USDC balance (≥ 0), USD."""
    balance = ledger.balances(ledger.system_account_id(AccountKind.INSURANCE))
    return InsuranceFund(max(balance.get(_FUND_CURRENCY, Decimal(0)), Decimal(0)))
