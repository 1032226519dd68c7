"""Admin endpoints (open accounts, move the market) and the public health check."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from crossmargin.market import market_from_dict
from crossmargin.service.auth import require_admin
from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.render import render_market
from crossmargin.service.schemas import (
    AccountCreate,
    AccountCreated,
    ErrorOut,
    HealthOut,
    MarketOut,
    MarketUpdate,
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
    account_id = context.write(context.ledger.open_account, name)
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
    """Open a user account; the answer holds its API key, shown this once (only a salted hash
    is stored). Without a ``name`` one is generated."""
    name = body.name if body is not None and body.name else f"account-{secrets.token_hex(6)}"
    return await run_in_threadpool(_open_account, context, name)


@router.post(
    "/market",
    response_model=MarketOut,
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_ADMIN_ERRORS,
)
async def post_market(body: MarketUpdate, context: Context) -> dict[str, Any]:
    """Replace the market (``snapshot``: the ``[market]`` table of a portfolio file) or move
    index prices (``tick``: ``{"index_usd": {"BTC": "65000.5"}}``). Every WebSocket subscriber
    gets a margin update."""
    if body.snapshot is not None:
        market = await run_in_threadpool(market_from_dict, body.snapshot, "snapshot")
        version = context.market.replace(market)
    else:
        assert body.tick is not None
        prices = {asset: Decimal(text) for asset, text in body.tick.index_usd.items()}
        version, market = await run_in_threadpool(context.market.tick, prices)
    context.stream.publish_all({"kind": "market", "market_version": version})
    return render_market(version, market)


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
