"""Account endpoints: cash, trades, the pre-trade check, holdings, margin and the journal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from crossmargin.ledger import EntryRecord, cash_operations, position_operations
from crossmargin.ledger.ledger import MAX_PAGE_SIZE
from crossmargin.ledger.money import parse_amount, parse_price, parse_size
from crossmargin.margin.registry import MODEL_NAMES
from crossmargin.service import operations, oracle_guard
from crossmargin.service.auth import account_access, deposit_access
from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.errors import json_bytes
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
from crossmargin.service.trading import check_currency, check_order

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    404: {"model": ErrorOut, "description": "Not this key's account, or no such account"},
    422: {"model": ErrorOut, "description": "Invalid input: names the field and the value"},
}
#: Largest ``offset`` of a ledger page (an account with more entries than this is not served).
MAX_OFFSET = 10**12

_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    200: {"model": EntryOut, "description": "A retry: the original entry, nothing posted"},
    409: {
        "model": ErrorOut,
        "description": "Refused: insufficient margin (with the numbers) or balance, or an "
        "idempotency key reused for a different request",
    },
}

_ORACLE_ERROR: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "Refused: new risk on an asset whose oracle is unavailable (the reason, "
        "per asset, in ``oracle``)",
    },
}
_RISK_ERRORS: dict[int | str, dict[str, Any]] = {**_WRITE_ERRORS, **_ORACLE_ERROR}

_DEPOSIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_WRITE_ERRORS,
    403: {"model": ErrorOut, "description": "Not the admin or a custody key"},
}

router = APIRouter(prefix="/accounts/{account_id}", tags=["accounts"], responses=_ERRORS)

Context = Annotated[ServiceContext, Depends(get_context)]
AccountId = Annotated[int, Depends(account_access)]
DepositId = Annotated[int, Depends(deposit_access)]
_MODEL_HELP = f"Margin model: one of {', '.join(MODEL_NAMES)}."


def _posted(context: ServiceContext, entry: EntryRecord) -> Response:
    """201 for a new entry (and a stream trigger), 200 for an idempotent retry; the body is
    rendered here (no response-model pass: the entry is already exact)."""
    if not entry.idempotent_replay:
        trigger = {
            "kind": entry.kind.value,
            "account_sequence": entry.sequence_of(entry.account_id),
        }
        context.stream.publish_account(entry.account_id, trigger)
    return Response(
        json_bytes(render_entry(entry)),
        status_code=200 if entry.idempotent_replay else 201,
        media_type="application/json",
    )


def _cash(context: ServiceContext, body: CashRequest) -> tuple[str, Decimal]:
    currency = check_currency(context.trading, context.market.current(), body.currency)
    return currency, parse_amount(body.amount, currency)


@router.post("/deposits", status_code=201, response_model=EntryOut, responses=_DEPOSIT_ERRORS)
async def post_deposit(account_id: DepositId, body: CashRequest, context: Context) -> Response:
    """Credit cash from outside (``amount`` > 0, on the currency quantum): a custody operation,
    for the admin key or a custody key only (an account key gets 403)."""
    currency, amount = _cash(context, body)
    operation = cash_operations.deposit(account_id, currency, amount)
    return _posted(context, await context.writer.post(operation, body.idempotency_key))


@router.post("/withdrawals", status_code=201, response_model=EntryOut, responses=_RISK_ERRORS)
async def post_withdrawal(account_id: AccountId, body: CashRequest, context: Context) -> Response:
    """Pay cash out; refused (409) when the balance does not cover it or equity after it would
    be below the initial margin of the enforced model, and (503) while the account holds an asset
    whose oracle is unavailable."""
    currency, amount = _cash(context, body)
    await run_in_threadpool(oracle_guard.check_withdrawal, context, account_id)
    operation = cash_operations.withdrawal(account_id, currency, amount)
    return _posted(context, await context.writer.post(operation, body.idempotency_key))


@router.post("/trades", status_code=201, response_model=EntryOut, responses=_RISK_ERRORS)
async def post_trade(account_id: AccountId, body: TradeRequest, context: Context) -> Response:
    """Book a fill of a listed instrument: size a multiple of the lot, price a multiple of the
    tick within the band around the mark, notional within the cap (422 otherwise); a trade that
    adds risk is held to the initial-margin rule (409), and refused (503) while an oracle it
    depends on is unavailable (a trade that only reduces the position passes)."""
    size, price = parse_size(body.size), parse_price(body.price)
    instrument = check_order(
        context.trading, context.market.current(), body.instrument, size, price
    )
    await run_in_threadpool(oracle_guard.check_trade, context, account_id, instrument, size)
    operation = position_operations.trade(account_id, instrument.name, size, price, body.fee)
    return _posted(context, await context.writer.post(operation, body.idempotency_key))


@router.post("/orders/check", response_model=OrderCheckOut, responses=_ORACLE_ERROR)
async def post_order_check(
    account_id: AccountId, body: OrderCheck, context: Context
) -> dict[str, Any]:
    """Pre-trade what-if under any model: margin before and after; nothing is posted. An order
    that would increase the position while an oracle it depends on is unavailable: 503."""
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
    decimal strings), and ``oracle``: the state of each oracle-driven asset the account holds
    (``status``; ``last_good_price_usd`` and ``as_of``: the price it is margined at)."""
    return await run_in_threadpool(operations.margin_document, context, account_id, model)


@router.get("/ledger", response_model=LedgerPage)
async def get_ledger(
    account_id: AccountId,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """The account's journal entries, oldest first, paginated (``next_offset``)."""
    return await run_in_threadpool(operations.ledger_page, context, account_id, limit, offset)
