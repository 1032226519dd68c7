"""Liquidations in the live service: after an admin market update, and ``GET /liquidations``.

After ``POST /market`` swaps in a new market, :func:`liquidate_after_market` margins every user
account that holds positions under the enforced model; those whose equity / MM is below the
liquidatable band (the library's :class:`~crossmargin.margin.health.HealthState`
``liquidatable`` or ``bankrupt``) are liquidated in CEX mode, most underwater first (ties by
account id). Each account runs :func:`~crossmargin.liquidation.run_cex_liquidation` under the
enforced model (:class:`~crossmargin.liquidation.ModelMargin`), seeded by the market version and
the account id; every round is posted as one ledger entry
(:func:`~crossmargin.ledger.liquidation_postings.liquidation_round`: fills against the market at
the liquidation price, the fee to the insurance fund); a deficit left afterwards is covered by
the insurance fund as far as it holds
(:func:`~crossmargin.ledger.liquidation_postings.cover_deficits`: its own currency directly, a
coin it does not hold bought from the market at the new market's index for its USDC), the rest
stays a recorded deficit (bad debt).

Each liquidation becomes an event: kept in the process's log (``GET /liquidations``, admin key
only, newest first, paged; the ledger keeps the entries it names for good) and sent once per
subscriber on the account's WebSocket as a ``liquidation`` message, rendered once and fanned out
as the same bytes (:meth:`~crossmargin.service.stream.MarginStream.publish_event`), followed by
a margin message whose triggers name it.
"""

from __future__ import annotations

import secrets
import threading
from decimal import Decimal
from typing import Annotated, Any, cast

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from crossmargin.core.errors import CrossmarginError
from crossmargin.core.numeric import decimal_to_float
from crossmargin.ledger import AccountKind
from crossmargin.ledger.liquidation_postings import (
    LiquidationFill,
    cover_deficits,
    post_liquidation_entry,
)
from crossmargin.ledger.liquidation_postings import liquidation_round as round_operation
from crossmargin.ledger.risk import holdings_portfolio
from crossmargin.liquidation import (
    InsuranceFund,
    LiquidationParameters,
    account_under_model,
    load_liquidation_parameters,
    round_transfers,
    run_cex_liquidation,
)
from crossmargin.margin.health import HealthState, health_state, margin_ratio
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio
from crossmargin.service.auth import require_admin
from crossmargin.service.book_liquidations import cover_document, index_prices, round_document
from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.errors import json_bytes
from crossmargin.service.margin_screen import engine_matches
from crossmargin.service.schemas import ErrorOut

__all__ = ["LiquidationDesk", "desk_of", "liquidate_after_market", "router"]

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]

_FUND_CURRENCY = "USDC"
_DUE = (HealthState.LIQUIDATABLE, HealthState.BANKRUPT)


class LiquidationDesk:
    """The service's liquidation parameters and its log of liquidation events (thread safe;
    one process)."""

    def __init__(self, parameters: LiquidationParameters | None = None) -> None:
        self.parameters = parameters or load_liquidation_parameters()
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        """Append ``event`` with the next ``liquidation_id`` (1, 2, …); returns it."""
        with self._lock:
            stored = {"liquidation_id": len(self._events) + 1, **event}
            self._events.append(stored)
            return stored

    def page(self, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        """(total, events newest first from ``offset``, at most ``limit``)."""
        with self._lock:
            newest = self._events[::-1]
            return len(newest), newest[offset : offset + limit]


def desk_of(connection: HTTPConnection) -> LiquidationDesk:
    """The desk of the app serving ``connection``."""
    return cast(LiquidationDesk, connection.app.state.liquidations)


def _candidates(
    context: ServiceContext, market: MarketSnapshot, parameters: LiquidationParameters
) -> list[tuple[int, Portfolio]]:
    """User accounts with positions in the liquidatable or bankrupt band under the enforced
    model, most underwater first (highest MM / equity; ties by account id). With a live desk
    whose engine margins as the enforced model, the model runs only on the accounts the engine
    does not show clear of the band (:meth:`BookState.accounts_to_confirm`)."""
    ledger, model = context.ledger, context.model(context.risk_model)
    state = ledger.state()
    holders = sorted({account for account, _ in state.positions})
    book = context.live.book
    if book is not None and engine_matches(model):  # the live desk's engine narrows the pass
        unclear = book.accounts_to_confirm(market, parameters.health.reduce_only_from)
        if unclear is not None:
            holders = [account for account in holders if account in unclear]
    due: list[tuple[float, int, Portfolio]] = []
    for account_id in holders:
        if state.accounts[account_id].kind is not AccountKind.USER:
            continue
        portfolio = holdings_portfolio(ledger.holdings(account_id))
        result = model.margin(portfolio, market)
        state_now = health_state(result.equity, result.maintenance_margin, parameters.health)
        if state_now in _DUE and result.maintenance_margin > 0:
            ratio = margin_ratio(result.maintenance_margin, result.equity)
            due.append((-ratio, account_id, portfolio))
    return [
        (account_id, portfolio) for _, account_id, portfolio in sorted(due, key=lambda d: d[:2])
    ]


def _liquidate(
    context: ServiceContext,
    desk: LiquidationDesk,
    account_id: int,
    portfolio: Portfolio,
    version: int,
    market: MarketSnapshot,
) -> dict[str, Any]:
    """Liquidate one account and post it; returns the event (not yet recorded)."""
    ledger, parameters = context.ledger, desk.parameters
    model = context.model(context.risk_model)
    account, margin = account_under_model(model, portfolio, market, parameters)
    fund_id = ledger.system_account_id(AccountKind.INSURANCE)
    fund_before = ledger.balances(fund_id)
    fund = InsuranceFund(max(fund_before.get(_FUND_CURRENCY, Decimal(0)), Decimal(0)))
    rng = np.random.default_rng([version, account_id])
    result = run_cex_liquidation(account, margin, parameters, fund, rng)
    instruments = [p.instrument for p in portfolio.positions]
    token = secrets.token_hex(6)
    rounds: list[dict[str, Any]] = []
    error: str | None = None
    for transfer, cex_round in zip(
        round_transfers(result, instruments, market),
        (r for r in result.rounds if r.fills),
        strict=True,
    ):
        fills = [
            LiquidationFill(f.instrument, f.size, f.price, f.closes_position)
            for f in transfer.fills
        ]
        try:
            entry = post_liquidation_entry(
                ledger,
                round_operation(account_id, fills, transfer.fees),
                f"liquidation-{token}-round-{transfer.index}",
            )
        except CrossmarginError as refused:  # nothing of this round was written
            error = str(refused)
            break
        rounds.append(round_document(transfer, entry, cex_round.margin_ratio_after))
    covered = cover_deficits(
        ledger, [account_id], index_prices(market), f"liquidation-{token}", _FUND_CURRENCY
    )
    cover_entries, conversions, _ = cover_document(covered.covers.get(account_id, []))
    fund_after = ledger.balances(fund_id)
    after = model.margin(holdings_portfolio(ledger.holdings(account_id)), market)
    delta = {
        c: str(fund_after.get(c, Decimal(0)) - fund_before.get(c, Decimal(0)))
        for c in sorted(set(fund_before) | set(fund_after))
        if fund_after.get(c, Decimal(0)) != fund_before.get(c, Decimal(0))
    }
    return {
        "account_id": account_id,
        "market_version": version,
        "model": context.risk_model,
        "mode": "cex",
        "health_before": result.health_before.value,
        "health_after": health_state(
            after.equity, after.maintenance_margin, parameters.health
        ).value,
        "equity_before_usd": account.equity_usd(),
        "equity_after_usd": decimal_to_float(after.equity),
        "rounds": rounds,
        "cover_entry_ids": cover_entries,
        "conversions": conversions,
        "insurance_fund_delta": delta,
        "bad_debt": {c: str(v) for c, v in covered.bad_debt.get(account_id, {}).items()},
        "error": error,
    }


def _liquidate_all(
    context: ServiceContext, desk: LiquidationDesk, version: int, market: MarketSnapshot
) -> list[dict[str, Any]]:
    events = []
    for account_id, portfolio in _candidates(context, market, desk.parameters):
        event = _liquidate(context, desk, account_id, portfolio, version, market)
        events.append(desk.record(event))
    return events


async def liquidate_after_market(
    context: ServiceContext, desk: LiquidationDesk, version: int, market: MarketSnapshot
) -> list[dict[str, Any]]:
    """Liquidate every account the new market (``version``) puts in the liquidatable band,
    post it, and send each event on the account's WebSocket; returns the events."""
    events = await run_in_threadpool(_liquidate_all, context, desk, version, market)
    for event in events:
        message = json_bytes({"type": "liquidation", **event}).decode("ascii")
        trigger = {"kind": "liquidation", "liquidation_id": event["liquidation_id"]}
        context.stream.publish_event(event["account_id"], message, trigger)
    return events


@router.get(
    "/liquidations",
    response_model=dict[str, Any],
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"model": ErrorOut, "description": "Missing or invalid API key"},
        403: {"model": ErrorOut, "description": "An account key: this needs the admin key"},
        422: {"model": ErrorOut, "description": "Invalid paging"},
    },
)
async def get_liquidations(
    connection: HTTPConnection,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The liquidations this process ran, newest first: per event the account, the market
    version, health before and after, the rounds (closed legs at the liquidation price, fee,
    margin ratio after, ledger entry), the insurance fund's change and the bad debt."""
    total, events = desk_of(connection).page(limit, offset)
    return {
        "limit": limit,
        "offset": offset,
        "total": total,
        "next_offset": offset + len(events) if offset + len(events) < total else None,
        "liquidations": events,
    }
