"""``WS /ws/accounts/{account_id}?model=pm``: the account's margin, pushed on every change.

Authentication (in :mod:`crossmargin.service.boundary`) is the bearer header or, for browsers
that cannot set headers, a ``token`` query parameter (discouraged: URLs end up in logs; the
service redacts it by the parsed parameter). A refused handshake gets the same HTTP answer a
request would (401, 404, 422 as JSON; 429 beyond the key's subscription limit) where the server
supports the WebSocket denial-response extension (uvicorn does), else a close with code 1008.
Once accepted, the server sends a ``margin`` message at once (trigger
``subscribed``), then one after every trade, deposit or withdrawal the service posts for the
account and every market update, each naming its triggers (see
:mod:`crossmargin.service.stream`); a liquidation of the account sends its ``liquidation``
event first (:mod:`crossmargin.service.routes_liquidations`). Messages the client sends are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.ledger import UnknownAccountError
from crossmargin.service import operations
from crossmargin.service.auth import parse_path_account_id, principal_of
from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.errors import (
    SafeJSONResponse,
    json_bytes,
    not_found_body,
    unauthorized_body,
    validation_body,
)
from crossmargin.service.render import error_value
from crossmargin.service.stream import EVENT_KEY, Subscription

__all__ = ["router"]

router = APIRouter()

_POLICY_VIOLATION = 1008


async def _deny(websocket: WebSocket, status: int, body: dict[str, Any]) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await websocket.send_denial_response(SafeJSONResponse(body, status, headers))
    else:
        await websocket.close(code=_POLICY_VIOLATION, reason=str(body.get("error", "")))


async def _refusal(
    websocket: WebSocket, context: ServiceContext, account_id: str, model: str
) -> tuple[int, dict[str, Any]] | int:
    """The account id when the handshake may proceed, else the refusal (status, body)."""
    principal = principal_of(websocket)
    if principal is None:
        return 401, unauthorized_body()
    parsed = parse_path_account_id(account_id)
    if parsed is None or not principal.may_access(parsed):
        return 404, not_found_body()
    try:
        context.model(model)
        await run_in_threadpool(context.ledger.account, parsed)
    except UnknownAccountError:
        return 404, not_found_body()
    except InputError as error:
        item = {"field": error.field, "value": error_value(error.value), "message": error.reason}
        return 422, validation_body([item])
    return parsed


async def _pump(websocket: WebSocket, context: ServiceContext, subscription: Subscription) -> None:
    """Send one message per batch of triggers until the stream closes; the margin part is
    computed once per change for every subscriber of the account and model."""
    account_id, model = subscription.account_id, subscription.model

    stream = context.stream

    async def compute() -> str:  # the holdings are read once per write of the account
        revision = stream.account_revision(account_id)
        kept = stream.holdings(account_id)
        tail, holdings = await run_in_threadpool(
            operations.margin_message, context, account_id, model, kept
        )
        stream.keep_holdings(account_id, revision, holdings)
        return tail

    head = f'{{"type":"margin","account_id":{account_id},"model":{json_bytes(model).decode()},'
    while True:
        triggers = await subscription.next_batch()
        if triggers is None:
            return
        for trigger in triggers:
            if EVENT_KEY in trigger:  # a liquidation event: the shared text, sent as is
                await websocket.send_text(trigger[EVENT_KEY])
        triggers = [{k: v for k, v in t.items() if k != EVENT_KEY} for t in triggers]
        try:
            tail = await context.stream.shared(account_id, model, compute)
        except CrossmarginError as error:
            body = {"type": "error", "triggers": triggers, "detail": str(error)}
            await websocket.send_text(json_bytes(body).decode("ascii"))
            continue
        triggered = json_bytes(triggers).decode("ascii")
        await websocket.send_text(f'{head}"triggers":{triggered},{tail}')


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until the client goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


@router.websocket("/ws/accounts/{account_id}")
async def account_stream(websocket: WebSocket, account_id: str, model: str = "pm") -> None:
    """Stream the account's margin under ``model`` (see the module docstring)."""
    context = get_context(websocket)
    outcome = await _refusal(websocket, context, account_id, model)
    if isinstance(outcome, tuple):
        await _deny(websocket, *outcome)
        return
    principal = principal_of(websocket)
    owner = principal.key_id if principal is not None else ""
    subscription = context.stream.subscribe(outcome, model, owner)
    if subscription is None:
        body = {
            "error": "too_many_subscriptions",
            "detail": f"a key may hold at most {context.stream.max_per_key} subscriptions",
        }
        await _deny(websocket, 429, body)
        return
    try:
        await websocket.accept()
    except BaseException:
        context.stream.unsubscribe(subscription)
        raise
    subscription.push({"kind": "subscribed"})
    tasks = [
        asyncio.ensure_future(_pump(websocket, context, subscription)),
        asyncio.ensure_future(_drain(websocket)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        context.stream.unsubscribe(subscription)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close()
