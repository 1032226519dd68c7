"""Authorisation as FastAPI dependencies (authentication happened already, before the body was
read, in :mod:`crossmargin.service.boundary`).

* :func:`authenticate` — the verified :class:`~crossmargin.service.keys.Principal` of the
  request (the bearer scheme is declared for the OpenAPI documentation).
* :func:`require_admin` — the admin key, else 403.
* :func:`account_access` — the ``{account_id}`` of the path, when the key may use it: the admin
  key any id, an account key only its own. Any other id — another account's or one that does not
  exist — is the same 404 with the same body, so a key learns nothing about accounts that are
  not its own. A custody key may only deposit (403 elsewhere).
* :func:`deposit_access` — deposits are custody operations: the admin or a custody key may
  credit any existing account; an account key gets 403 (it may withdraw its own free
  collateral, never credit itself).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from crossmargin.service.errors import (
    ServiceError,
    forbidden_body,
    not_found_body,
    unauthorized_body,
)
from crossmargin.service.keys import KeyScope, Principal

__all__ = [
    "account_access",
    "authenticate",
    "deposit_access",
    "parse_path_account_id",
    "principal_of",
    "require_admin",
]

_BEARER = HTTPBearer(auto_error=False, description="An account, custody or admin key.")
_MAX_ID_DIGITS = 18


def principal_of(connection: HTTPConnection) -> Principal | None:
    """The principal the trust boundary verified for ``connection`` (``None`` if none)."""
    found = connection.scope.get("state", {}).get("principal")
    return found if isinstance(found, Principal) else None


async def authenticate(
    connection: HTTPConnection, _: Annotated[object, Depends(_BEARER)]
) -> Principal:
    """The caller; 401 when the boundary did not verify a key (it normally answers first)."""
    principal = principal_of(connection)
    if principal is None:
        raise ServiceError(401, unauthorized_body(), {"WWW-Authenticate": "Bearer"})
    return principal


async def require_admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """The admin; 403 for any other key."""
    if not principal.is_admin:
        raise ServiceError(403, forbidden_body("this needs the admin key"))
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
    """The path's account id when ``principal`` may use it; else the 404 (or 403 for a custody
    key) described above."""
    if principal.scope is KeyScope.CUSTODY:
        raise ServiceError(403, forbidden_body("a custody key may only post deposits"))
    parsed = parse_path_account_id(account_id)
    if parsed is None or not principal.may_access(parsed):
        raise ServiceError(404, not_found_body())
    return parsed


async def deposit_access(
    principal: Annotated[Principal, Depends(authenticate)],
    account_id: Annotated[str, Path(description="Account id (a positive integer).")],
) -> int:
    """The path's account id for a deposit (see the module docstring)."""
    if not principal.may_deposit:
        raise ServiceError(
            403,
            forbidden_body(
                "deposits are custody operations: they need the admin key or a custody key"
            ),
        )
    parsed = parse_path_account_id(account_id)
    if parsed is None:
        raise ServiceError(404, not_found_body())
    return parsed
