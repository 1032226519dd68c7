"""Errors as HTTP answers. Every error body is ``{"error": <code>, "detail": <message>, …}``.

======================================  ======  =============================================
cause                                   status  extra fields
======================================  ======  =============================================
no / unknown API key                    401     (``WWW-Authenticate: Bearer``)
an account key on an admin endpoint     403
another account's id, or a missing id   404     (one body for both)
bad input (pydantic or the library)     422     ``errors``: ``[{field, value, message}]``
not enough margin                       409     equity and initial margin before and after
not enough balance                      409     ``currency``, ``balance``, ``required``
idempotency key reused, other request   409     ``idempotency_key``
account name taken                      409
======================================  ======  =============================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    "ServiceError",
    "install_error_handlers",
    "not_found_body",
    "unauthorized_body",
    "validation_body",
]

_LOCATIONS = ("body", "query", "path", "header")


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
        "errors": list(errors),
    }


def _pydantic_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    found = []
    for item in error.errors():
        missing = item.get("type") == "missing"
        found.append(
            {
                "field": _field_name(item.get("loc", ())),
                "value": None if missing else error_value(item.get("input")),
                "message": str(item.get("msg", "invalid")),
            }
        )
    return found


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Any:
    return JSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


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
        item = {"field": error.field, "value": error_value(error.value), "message": error.reason}
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

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(InputError, input_invalid)
    app.add_exception_handler(UnknownAccountError, unknown_account)
    app.add_exception_handler(InsufficientMarginError, margin_refused)
    app.add_exception_handler(InsufficientBalanceError, balance_refused)
    app.add_exception_handler(IdempotencyConflictError, idempotency_conflict)
    app.add_exception_handler(DuplicateAccountError, duplicate_account)
