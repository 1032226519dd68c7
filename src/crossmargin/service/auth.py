"""Authentication and authorisation as FastAPI dependencies.

* :func:`authenticate` — ``Authorization: Bearer <key>``; a missing or unknown key is a 401.
* :func:`require_admin` — the admin key, else 403.
* :func:`account_access` — the ``{account_id}`` of the path, when the key may use it: the admin
  key may use any id, an account key only its own. Any other id — another account's or one that
  does not exist — is the same 404 with the same body, so a key learns nothing about accounts
  that are not its own. These checks run before the request body is validated.
* :func:`token_from` — the WebSocket's token: the bearer header, or a ``token`` query parameter
  for clients (browsers) that cannot set headers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from crossmargin.service.context import ServiceContext, get_context
from crossmargin.service.errors import ServiceError, not_found_body, unauthorized_body
from crossmargin.service.keys import Principal

__all__ = [
    "account_access",
    "authenticate",
    "parse_path_account_id",
    "principal_for",
    "require_admin",
    "token_from",
]

_BEARER = HTTPBearer(auto_error=False, description="An account key or the admin key.")
_MAX_ID_DIGITS = 18


async def principal_for(context: ServiceContext, token: str | None) -> Principal | None:
    """The principal of ``token`` (``None`` when absent or unknown); scrypt runs off the loop."""
    if not token:
        return None
    known = context.keys.cached(token)
    if known is not None:
        return known
    return await run_in_threadpool(context.keys.authenticate, token)


async def authenticate(
    context: Annotated[ServiceContext, Depends(get_context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    """The caller; 401 with ``WWW-Authenticate: Bearer`` without a valid key."""
    principal = await principal_for(context, credentials.credentials if credentials else None)
    if principal is None:
        raise ServiceError(401, unauthorized_body(), {"WWW-Authenticate": "Bearer"})
    return principal


async def require_admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """The admin; 403 for an account key."""
    if not principal.is_admin:
        raise ServiceError(403, {"error": "forbidden", "detail": "this needs the admin key"})
    return principal


def parse_path_account_id(raw: str) -> int | None:
    """A positive account id from path text, or ``None``."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_ID_DIGITS or int(raw) < 1:
        return None
    return int(raw)


async def account_access(
    principal: Annotated[Principal, Depends(authenticate)],
    account_id: Annotated[str, Path(description="Account id (a positive integer).")],
) -> int:
    """The path's account id when ``principal`` may use it; else the 404 described above."""
    parsed = parse_path_account_id(account_id)
    if parsed is None or not principal.may_access(parsed):
        raise ServiceError(404, not_found_body())
    return parsed


def token_from(connection: HTTPConnection) -> str | None:
    """The bearer token of a connection's header, else its ``token`` query parameter."""
    header = connection.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return connection.query_params.get("token") or None
