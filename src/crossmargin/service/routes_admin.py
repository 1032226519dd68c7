"""Admin endpoints (open accounts, move the market, feed the oracles) and the health check."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import STABLECOINS, decimal_to_float
from crossmargin.ledger.money import parse_price
from crossmargin.market import MarketSnapshot, market_from_dict
from crossmargin.oracles import Quote
from crossmargin.service import operations, routes_liquidations
from crossmargin.service.auth import require_admin
from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.market_checks import check_market_update
from crossmargin.service.market_state import apply_tick
from crossmargin.service.oracle_state import OracleBook
from crossmargin.service.render import render_market
from crossmargin.service.schemas import (
    AccountCreate,
    AccountCreated,
    CustodyKeyCreated,
    ErrorOut,
    HealthOut,
    MarketOut,
    MarketUpdate,
    OracleQuotes,
    QuoteIn,
)

__all__ = ["router"]

_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    403: {"model": ErrorOut, "description": "An account key: this needs the admin key"},
    422: {"model": ErrorOut, "description": "Invalid input: names the field and the value"},
}

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]


def _open_account(context: ServiceContext, name: str) -> dict[str, Any]:
    account_id = context.ledger.open_account(name)
    return {
        "account_id": account_id,
        "name": name,
        "api_key": context.keys.issue_account_key(account_id),
    }


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreated,
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={**_ADMIN_ERRORS, 409: {"model": ErrorOut, "description": "Name taken"}},
)
async def post_account(
    context: Context, body: Annotated[AccountCreate | None, Body()] = None
) -> dict[str, Any]:
    """Open a user account; the answer holds its API key, shown this once (only a keyed hash
    is stored). Without a ``name`` one is generated."""
    name = body.name if body is not None and body.name else f"account-{secrets.token_hex(6)}"
    return await run_in_threadpool(_open_account, context, name)


@router.post(
    "/custody-keys",
    status_code=201,
    response_model=CustodyKeyCreated,
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_ADMIN_ERRORS,
)
async def post_custody_key(context: Context) -> dict[str, Any]:
    """Issue a custody key: it may post deposits to any account and nothing else (the desk
    that moves money in from outside). Shown this once; only a keyed hash is stored."""
    return {"api_key": await run_in_threadpool(context.keys.issue_custody_key)}


def _checked(context: ServiceContext, update: MarketUpdate) -> MarketSnapshot:
    """The market ``update`` asks for, once :func:`check_market_update` accepts it."""
    current = context.market.current()
    if update.snapshot is not None:
        field = "snapshot"
        market = market_from_dict(update.snapshot, "snapshot")
    else:
        assert update.tick is not None
        field = "tick"
        prices = {
            asset: parse_price(text, f"tick.index_usd.{asset}")
            for asset, text in update.tick.index_usd.items()
        }
        market = apply_tick(current, prices)
    check_market_update(
        current,
        market,
        field,
        datetime.now(UTC),
        lambda candidate: operations.probe_market(context, candidate),
    )
    return market


@router.post(
    "/market",
    response_model=MarketOut,
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_ADMIN_ERRORS,
)
async def post_market(body: MarketUpdate, context: Context, request: Request) -> dict[str, Any]:
    """Replace the market (``snapshot``: the ``[market]`` table of a portfolio file) or move
    index prices (``tick``: ``{"index_usd": {"BTC": "65000.5"}}``). An update the service could
    not margin with is refused (422; see :mod:`crossmargin.service.market_checks`) and the
    current market stays. Every WebSocket subscriber gets a margin update; then the accounts
    the new market puts in the liquidatable band are liquidated
    (:mod:`crossmargin.service.routes_liquidations`)."""
    async with context.market_update_lock:
        market = await run_in_threadpool(_checked, context, body)
        version = context.market.replace(market)
        await _after_move(context, request, version, market)
    return render_market(version, market)


async def _after_move(
    context: ServiceContext, request: Request, version: int, market: MarketSnapshot
) -> None:
    """What every market move does once it is in place (under the market-update lock): move the
    live desk's book engine with it (the overview and the order checks' ``book_engine`` answer
    read it), tell every WebSocket subscriber, then liquidate the accounts the move put in the
    band."""
    book = context.live.book
    if book is not None:
        await run_in_threadpool(book.move_market, market)
    context.stream.publish_all({"kind": "market", "market_version": version})
    desk = routes_liquidations.desk_of(request)
    await routes_liquidations.liquidate_after_market(context, desk, version, market)


def _quote(asset: str, index: int, given: QuoteIn) -> Quote:
    """``given`` as a :class:`Quote`; a refusal names ``quotes.<asset>[<index>].<field>``."""
    field = f"quotes.{asset}[{index}]"
    price = decimal_to_float(parse_price(given.price_usd, f"{field}.price_usd"))
    confidence = None
    if given.confidence_usd is not None:
        confidence = decimal_to_float(Decimal(given.confidence_usd))
    try:
        return Quote(given.source, price, given.published_at, confidence)
    except InputError as error:
        name = error.field.removeprefix("quote.")
        raise InputError(f"{field}.{name}", error.value, error.reason) from None


def _policy(book: OracleBook) -> dict[str, Any]:
    policy = book.policy
    return {
        "version": book.version,
        "max_age_s": policy.max_age_s,
        "max_deviation": policy.max_deviation,
        "min_sources": policy.min_sources,
    }


def _apply_quotes(context: ServiceContext, body: OracleQuotes) -> dict[str, Any]:
    """Aggregate ``body``'s quotes with the held ones; move the index of every asset whose
    aggregate is ok/degraded through the market checks of ``POST /market``; then record."""
    quotes: dict[str, list[Quote]] = {}
    for asset, given in body.quotes.items():
        if asset in STABLECOINS:
            raise InputError(f"quotes.{asset}", asset, "a stablecoin is priced at 1 USD")
        quotes[asset] = [_quote(asset, i, q) for i, q in enumerate(given)]
    now = datetime.now(UTC)
    update = context.oracle.prepare(quotes, now)
    prices = update.prices()
    version, market = context.market.versioned()
    if prices:
        moved = apply_tick(market, {a: Decimal(repr(p)) for a, p in prices.items()})
        check_market_update(
            market,
            moved,
            "quotes",
            now,
            lambda candidate: operations.probe_market(context, candidate),
        )
        version = context.market.replace(moved)
    views = context.oracle.commit(update)
    return {
        "market_version": version,
        "moved": {asset: repr(price) for asset, price in sorted(prices.items())},
        "policy": _policy(context.oracle),
        "oracle": {asset: view.to_json() for asset, view in sorted(views.items())},
    }


@router.post(
    "/oracle/quotes",
    response_model=dict[str, Any],
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_ADMIN_ERRORS,
)
async def post_oracle_quotes(
    body: OracleQuotes, context: Context, request: Request
) -> dict[str, Any]:
    """Feed the oracles: quotes per asset (``source``, ``price_usd`` as a decimal string,
    ``published_at``, optional ``confidence_usd``). Each asset's newest quote per source is kept
    and aggregated at now with the configured policy (median of fresh sources, stale ones and
    outliers excluded). The index of an asset whose aggregate is ok/degraded moves to it through
    the checks of ``POST /market`` (422 when refused: nothing changes); an unavailable aggregate
    leaves the last good price in the market and refuses new risk on the asset (503
    ``oracle_unavailable`` on trades, order checks and withdrawals). A move liquidates as one
    through ``POST /market`` does."""
    async with context.market_update_lock:
        answer = await run_in_threadpool(_apply_quotes, context, body)
        if answer["moved"]:
            await _after_move(context, request, *context.market.versioned())
    return answer


@router.get(
    "/oracle",
    response_model=dict[str, Any],
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_ADMIN_ERRORS,
)
async def get_oracle(context: Context) -> dict[str, Any]:
    """The policy and every oracle-driven asset's state, judged now."""
    views = context.oracle.views(context.oracle.assets(), datetime.now(UTC))
    return {
        "policy": _policy(context.oracle),
        "oracle": {asset: view.to_json() for asset, view in views.items()},
    }


@router.get("/health", response_model=HealthOut, tags=["health"])
async def get_health(context: Context) -> Any:
    """Liveness: 200 when the database answers, else 503. Needs no key."""
    version, _ = context.market.versioned()
    try:
        await run_in_threadpool(context.keys.ping)
    except Exception:
        body = {"status": "unavailable", "database": context.backend, "market_version": version}
        return JSONResponse(body, status_code=503)
    return {"status": "ok", "database": context.backend, "market_version": version}
