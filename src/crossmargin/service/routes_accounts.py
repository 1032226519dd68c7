"""Account endpoints: cash, trades, the pre-trade check, holdings, margin and the journal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from crossmargin.ledger import EntryRecord
from crossmargin.ledger.ledger import MAX_PAGE_SIZE
from crossmargin.margin.registry import MODEL_NAMES
from crossmargin.service import operations
from crossmargin.service.auth import account_access
from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.render import render_entry
from crossmargin.service.schemas import (
    AccountOut,
    CashRequest,
    EntryOut,
    ErrorOut,
    LedgerPage,
    OrderCheck,
    OrderCheckOut,
    TradeRequest,
)

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    404: {"model": ErrorOut, "description": "Not this key's account, or no such account"},
    422: {"model": ErrorOut, "description": "Invalid input: names the field and the value"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    200: {"model": EntryOut, "description": "A retry: the original entry, nothing posted"},
    409: {
        "model": ErrorOut,
        "description": "Refused: insufficient margin (with the numbers) or balance, or an "
        "idempotency key reused for a different request",
    },
}

router = APIRouter(prefix="/accounts/{account_id}", tags=["accounts"], responses=_ERRORS)

Context = Annotated[ServiceContext, Depends(get_context)]
AccountId = Annotated[int, Depends(account_access)]
_MODEL_HELP = f"Margin model: one of {', '.join(MODEL_NAMES)}."


def _posted(context: ServiceContext, entry: EntryRecord, response: Response) -> dict[str, Any]:
    """201 for a new entry (and a stream trigger), 200 for an idempotent retry."""
    if entry.idempotent_replay:
        response.status_code = 200
    else:
        trigger = {"kind": entry.kind.value, "entry_id": entry.entry_id}
        context.stream.publish_account(entry.account_id, trigger)
    return render_entry(entry)


@router.post("/deposits", status_code=201, response_model=EntryOut, responses=_WRITE_ERRORS)
async def post_deposit(
    account_id: AccountId, body: CashRequest, context: Context, response: Response
) -> dict[str, Any]:
    """Credit cash from outside (``amount`` > 0, on the currency quantum)."""
    entry = await run_in_threadpool(
        context.write,
        context.ledger.deposit,
        account_id,
        body.currency,
        body.amount,
        body.idempotency_key,
    )
    return _posted(context, entry, response)


@router.post("/withdrawals", status_code=201, response_model=EntryOut, responses=_WRITE_ERRORS)
async def post_withdrawal(
    account_id: AccountId, body: CashRequest, context: Context, response: Response
) -> dict[str, Any]:
    """Pay cash out; refused (409) when the balance does not cover it or equity after it would
    be below the initial margin of the enforced model."""
    entry = await run_in_threadpool(
        context.write,
        context.ledger.withdraw,
        account_id,
        body.currency,
        body.amount,
        body.idempotency_key,
    )
    return _posted(context, entry, response)


@router.post("/trades", status_code=201, response_model=EntryOut, responses=_WRITE_ERRORS)
async def post_trade(
    account_id: AccountId, body: TradeRequest, context: Context, response: Response
) -> dict[str, Any]:
    """Book a fill; a trade that adds risk is held to the initial-margin rule (409)."""
    entry = await run_in_threadpool(
        context.write,
        context.ledger.trade,
        account_id,
        body.instrument,
        body.size,
        body.price,
        body.fee,
        body.idempotency_key,
    )
    return _posted(context, entry, response)


@router.post("/orders/check", response_model=OrderCheckOut)
async def post_order_check(
    account_id: AccountId, body: OrderCheck, context: Context
) -> dict[str, Any]:
    """Pre-trade what-if under any model: margin before and after; nothing is posted."""
    return await run_in_threadpool(operations.order_check_document, context, account_id, body)


@router.get("", response_model=AccountOut)
async def get_account(account_id: AccountId, context: Context) -> dict[str, Any]:
    """Balances by currency and open positions."""
    return await run_in_threadpool(operations.account_document, context, account_id)


@router.get("/margin", response_model=dict[str, Any])
async def get_margin(
    account_id: AccountId,
    context: Context,
    model: Annotated[str, Query(description=_MODEL_HELP)] = "pm",
) -> dict[str, Any]:
    """The account's MarginResult under ``model`` at the current market (USD; amounts as
    decimal strings)."""
    return await run_in_threadpool(operations.margin_document, context, account_id, model)


@router.get("/ledger", response_model=LedgerPage)
async def get_ledger(
    account_id: AccountId,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The account's journal entries, oldest first, paginated (``next_offset``)."""
    return await run_in_threadpool(operations.ledger_page, context, account_id, limit, offset)
