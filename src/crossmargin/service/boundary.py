"""The trust boundary: an ASGI middleware that runs before anything reads a request.

For every HTTP request and WebSocket handshake except the public paths (``/health`` and the API
documentation) it, in this order:

1. authenticates the bearer key (``Authorization: Bearer``; for a WebSocket also a ``token``
   query parameter, parsed, for browsers) — an HMAC and a dict look-up, on the event loop.
   Without a valid key: 401, or 429 with ``Retry-After`` once the client or the key id has
   failed too often (:mod:`crossmargin.service.limits`). No body byte has been read;
2. refuses a body larger than the limit (64 KiB; 1 MiB for ``POST /market``) with 413, from
   ``Content-Length`` before reading, or while reading a body without one;
3. refuses a JSON body that is malformed, uses ``NaN``/``Infinity``, or repeats a key in an
   object (JSON leaves duplicates undefined; parsers keep the last) with 422 naming the key.

The verified principal is put in ``scope["state"]["principal"]`` for the routes, which decide
what it may do (:mod:`crossmargin.service.auth`). A refusal answers ``Connection: close`` when
the body was not read, so a client streaming a huge body is cut off.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from crossmargin.service.errors import (
    body_too_large_body,
    json_bytes,
    too_many_failures_body,
    unauthorized_body,
    validation_body,
)
from crossmargin.service.keys import KeyStore, Principal, key_id_of
from crossmargin.service.limits import FailureLimiter

__all__ = ["MARKET_BODY_LIMIT", "PUBLIC_PATHS", "REQUEST_BODY_LIMIT", "TrustBoundary"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest request body (bytes) in general, and for ``POST /market`` (a whole market).
REQUEST_BODY_LIMIT = 64 * 1024
MARKET_BODY_LIMIT = 1024 * 1024

#: Paths served without a key.
PUBLIC_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


class _BodyTooLargeError(Exception):
    pass


class _BadJsonError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _BadJsonError(key, "appears more than once in one JSON object")
        seen[key] = value
    return seen


def _no_constants(name: str) -> Any:
    raise _BadJsonError("body", f"{name} is not JSON")


def check_json(body: bytes) -> None:
    """Raise :class:`_BadJsonError` unless ``body`` is strict JSON without repeated keys."""
    try:
        json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and bad UTF-8
        raise _BadJsonError("body", f"is not valid JSON ({str(error)[:80]})") from None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def bearer_token(scope: Scope) -> str | None:
    """The bearer token of the ``Authorization`` header; for a WebSocket without one, the
    ``token`` query parameter (percent-decoded, as the routes would read it)."""
    header = _header(scope, b"authorization") or ""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scope["type"] == "websocket":
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name == "token" and value:
                return value
    return None


class TrustBoundary:
    """The middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, keys: KeyStore, limiter: FailureLimiter) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        principal = self.keys.authenticate(token) if token else None
        if principal is None:
            await self._refuse_key(scope, receive, send, token)
            return
        scope.setdefault("state", {})["principal"] = principal
        if scope["type"] == "websocket" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        await self._with_checked_body(scope, receive, send, principal)

    async def _refuse_key(
        self, scope: Scope, receive: Receive, send: Send, token: str | None
    ) -> None:
        client = (scope.get("client") or ("unknown", 0))[0]
        retry_after = self.limiter.record_failure(str(client), key_id_of(token) if token else None)
        if retry_after:
            headers = {"Retry-After": str(retry_after)}
            await _answer(scope, receive, send, 429, too_many_failures_body(), headers)
        else:
            headers = {"WWW-Authenticate": "Bearer"}
            await _answer(scope, receive, send, 401, unauthorized_body(), headers)

    async def _with_checked_body(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal
    ) -> None:
        limit = MARKET_BODY_LIMIT if scope["path"] == "/market" else REQUEST_BODY_LIMIT
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _answer(scope, receive, send, 413, body_too_large_body(limit))
            return
        try:
            body = await _read_body(receive, limit)
        except _BodyTooLargeError:
            await _answer(scope, receive, send, 413, body_too_large_body(limit))
            return
        if body:
            try:
                check_json(body)
            except _BadJsonError as error:
                item = {"field": error.field, "value": None, "message": error.message}
                await _answer(scope, receive, send, 422, validation_body([item]), closing=False)
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _unread_body_may_be_large(scope: Scope) -> bool:
    """True when the request may carry a body larger than the general limit (unread)."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return False
    declared = _header(scope, b"content-length")
    return declared is None or not declared.isdigit() or int(declared) > REQUEST_BODY_LIMIT


async def _answer(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    closing: bool = True,
) -> None:
    """Send a JSON refusal: an HTTP answer, or a WebSocket handshake denial (the HTTP answer
    where the server supports it, else a close with 1008)."""
    content = json_bytes(body)
    pairs = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    pairs += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
    ]
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": pairs}
            )
            await send({"type": "websocket.http.response.body", "body": content})
        else:
            await send({"type": "websocket.close", "code": 1008})
        return
    if closing and _unread_body_may_be_large(scope):
        pairs.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": pairs})
    await send({"type": "http.response.body", "body": content})
