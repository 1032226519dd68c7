"""Errors as HTTP answers. Every error body is ``{"error": <code>, "detail": <message>, …}``.

======================================  ======  =============================================
cause                                   status  extra fields
======================================  ======  =============================================
no / unknown API key                    401     (``WWW-Authenticate: Bearer``)
too many failed authentications         429     (``Retry-After``)
a key without the scope (admin-only     403
endpoint; an account key depositing)
body larger than the limit              413     ``limit_bytes``
another account's id, or a missing id   404     (one body for both)
bad input (pydantic or the library)     422     ``errors``: ``[{field, value, message}]``
not enough margin                       409     equity and initial margin before and after
not enough balance                      409     ``currency``, ``balance``, ``required``
idempotency key reused, other request   409     ``idempotency_key``
account name taken                      409
new risk, an oracle unavailable         503     ``operation``, ``assets``, ``oracle``
too many WebSocket subscriptions        429
anything unexpected                     500     (no internals)
======================================  ======  =============================================

Echoed input values are truncated (:func:`~crossmargin.service.render.error_value`) and every
error body is encoded as ASCII JSON (:func:`json_bytes`), so no input — a 10 MB field, a lone
surrogate — can make an error answer large or fail to encode.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from crossmargin.core.errors import InputError
from crossmargin.ledger import (
    DuplicateAccountError,
    IdempotencyConflictError,
    InsufficientBalanceError,
    InsufficientMarginError,
    UnknownAccountError,
    canonical_decimal,
)
from crossmargin.service.render import error_value

__all__ = [
    "SafeJSONResponse",
    "ServiceError",
    "body_too_large_body",
    "forbidden_body",
    "install_error_handlers",
    "json_bytes",
    "not_found_body",
    "too_many_failures_body",
    "unauthorized_body",
    "validation_body",
]

_LOCATIONS = ("body", "query", "path", "header")
_MAX_ERRORS = 10
_logger = logging.getLogger("crossmargin.service")


def json_bytes(body: Any) -> bytes:
    """``body`` as compact ASCII JSON: safe for any string (lone surrogates are escaped)."""
    return json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode(
        "ascii"
    )


class SafeJSONResponse(JSONResponse):
    """A JSON response encoded by :func:`json_bytes`."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


class ServiceError(Exception):
    """An HTTP error with the uniform body."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(body.get("detail", ""))
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


def unauthorized_body() -> dict[str, Any]:
    """The 401 body."""
    return {"error": "unauthorized", "detail": "missing or invalid API key"}


def forbidden_body(detail: str) -> dict[str, Any]:
    """The 403 body: the key is valid but its scope does not allow this."""
    return {"error": "forbidden", "detail": detail}


def too_many_failures_body() -> dict[str, Any]:
    """The 429 body of a client (or key id) that failed authentication too often."""
    return {
        "error": "too_many_failed_authentications",
        "detail": "too many failed authentications; retry after the Retry-After seconds",
    }


def body_too_large_body(limit: int) -> dict[str, Any]:
    """The 413 body."""
    return {
        "error": "body_too_large",
        "detail": f"request body larger than {limit} bytes",
        "limit_bytes": limit,
    }


def not_found_body() -> dict[str, Any]:
    """The 404 body: one body for every account a key may not see, missing or not."""
    return {"error": "not_found", "detail": "account not found"}


def _field_name(location: Sequence[object]) -> str:
    parts = list(location)
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def validation_body(errors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The 422 body for ``[{field, value, message}]``; ``detail`` repeats the first one."""
    first = errors[0] if errors else {"field": "body", "value": None, "message": "invalid"}
    return {
        "error": "validation_error",
        "detail": f"{first['field']} = {first['value']!r}: {first['message']}",
        "errors": list(errors[:_MAX_ERRORS]),
    }


def _pydantic_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    found = []
    for item in error.errors():
        missing = item.get("type") == "missing"
        found.append(
            {
                "field": error_value(_field_name(item.get("loc", ()))),
                "value": None if missing else error_value(item.get("input")),
                "message": error_value(str(item.get("msg", "invalid"))),
            }
        )
    return found


def _json(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> SafeJSONResponse:
    return SafeJSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


def _margin_body(error: InsufficientMarginError) -> dict[str, Any]:
    return {
        "error": "insufficient_margin",
        "detail": str(error),
        "account_id": error.account_id,
        "operation": error.operation,
        "model": error.model,
        "currency": error.currency,
        "equity_before": canonical_decimal(error.equity_before),
        "equity_after": canonical_decimal(error.equity_after),
        "initial_margin_before": canonical_decimal(error.initial_margin_before),
        "initial_margin_after": canonical_decimal(error.initial_margin_after),
        "shortfall": canonical_decimal(error.shortfall),
    }


def install_error_handlers(app: FastAPI) -> None:
    """Map the library's refusals and validation failures to the answers above."""

    async def service_error(request: Request, error: Exception) -> Any:
        assert isinstance(error, ServiceError)
        return _json(error.status, error.body, error.headers)

    async def request_invalid(request: Request, error: Exception) -> Any:
        assert isinstance(error, RequestValidationError)
        return _json(422, validation_body(_pydantic_errors(error)))

    async def input_invalid(request: Request, error: Exception) -> Any:
        assert isinstance(error, InputError)
        item = {
            "field": error_value(error.field),
            "value": error_value(error.value),
            "message": error_value(error.reason),
        }
        return _json(422, validation_body([item]))

    async def unknown_account(request: Request, error: Exception) -> Any:
        return _json(404, not_found_body())

    async def margin_refused(request: Request, error: Exception) -> Any:
        assert isinstance(error, InsufficientMarginError)
        return _json(409, _margin_body(error))

    async def balance_refused(request: Request, error: Exception) -> Any:
        assert isinstance(error, InsufficientBalanceError)
        body = {
            "error": "insufficient_balance",
            "detail": str(error),
            "account_id": error.account_id,
            "currency": error.currency,
            "balance": canonical_decimal(error.balance),
            "required": canonical_decimal(error.required),
        }
        return _json(409, body)

    async def idempotency_conflict(request: Request, error: Exception) -> Any:
        assert isinstance(error, IdempotencyConflictError)
        body = {
            "error": "idempotency_conflict",
            "detail": str(error),
            "idempotency_key": error.idempotency_key,
        }
        return _json(409, body)

    async def duplicate_account(request: Request, error: Exception) -> Any:
        assert isinstance(error, DuplicateAccountError)
        return _json(409, {"error": "duplicate_account", "detail": str(error), "name": error.name})

    async def unexpected(request: Request, error: Exception) -> Response:
        _logger.error(
            "unhandled %s on %s %s", type(error).__name__, request.method, request.url.path
        )
        body = {"error": "internal_error", "detail": "internal server error"}
        return _json(500, body)

    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(InputError, input_invalid)
    app.add_exception_handler(UnknownAccountError, unknown_account)
    app.add_exception_handler(InsufficientMarginError, margin_refused)
    app.add_exception_handler(InsufficientBalanceError, balance_refused)
    app.add_exception_handler(IdempotencyConflictError, idempotency_conflict)
    app.add_exception_handler(DuplicateAccountError, duplicate_account)
