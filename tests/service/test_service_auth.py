"""The auth matrix over real HTTP: every endpoint × {no key, wrong key, another account's key,
the account's own key, the admin key}.

Account endpoints: no or wrong key → 401; another account's key → 404 with the very body a
missing account gets; own key and admin → success. Admin endpoints: account keys → 403.
Deposits are custody operations: admin (or a custody key) → 201, any account key → 403.
``/health`` needs no key. The WebSocket follows the same rules at the handshake.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from support.service_client import LINEAR_PERP, TEST_MARKET, Account, Service

ROLES = ("none", "wrong", "other", "own", "admin")
_counter = itertools.count()


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: method, path (``{id}`` is the target account), a body maker, and the
    status a permitted caller gets."""

    method: str
    path: str
    body: Callable[[], Any] | None
    success: int
    admin_only: bool = False
    public: bool = False
    custody: bool = False


def _key() -> str:
    return f"matrix-{next(_counter)}"


ENDPOINTS = [
    Endpoint("POST", "/accounts", lambda: {}, 201, admin_only=True),
    Endpoint("POST", "/custody-keys", None, 201, admin_only=True),
    Endpoint("POST", "/market", lambda: {"snapshot": TEST_MARKET}, 200, admin_only=True),
    Endpoint("GET", "/oracle", None, 200, admin_only=True),
    Endpoint("GET", "/health", None, 200, public=True),
    Endpoint(
        "POST",
        "/accounts/{id}/deposits",
        lambda: {"currency": "USDC", "amount": "10", "idempotency_key": _key()},
        201,
        custody=True,
    ),
    Endpoint(
        "POST",
        "/accounts/{id}/withdrawals",
        lambda: {"currency": "USDC", "amount": "1", "idempotency_key": _key()},
        201,
    ),
    Endpoint(
        "POST",
        "/accounts/{id}/trades",
        lambda: {
            "instrument": LINEAR_PERP,
            "size": "0.001",
            "price": "72000",
            "fee": "0.01",
            "idempotency_key": _key(),
        },
        201,
    ),
    Endpoint(
        "POST",
        "/accounts/{id}/orders/check",
        lambda: {"instrument": "BTC-PERPETUAL", "size": "-1000", "model": "pm"},
        200,
    ),
    Endpoint("GET", "/accounts/{id}", None, 200),
    Endpoint("GET", "/accounts/{id}/margin?model=pm", None, 200),
    Endpoint("GET", "/accounts/{id}/ledger?limit=5", None, 200),
]


def _headers(role: str, service: Service, own: Account, other: Account) -> dict[str, str]:
    tokens = {
        "none": None,
        "wrong": "cm_0123456789abcdef_not-a-real-key",
        "other": other.api_key,
        "own": own.api_key,
        "admin": service.admin_key,
    }
    token = tokens[role]
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def _expected(endpoint: Endpoint, role: str) -> int:
    if endpoint.public:
        return endpoint.success
    if role in ("none", "wrong"):
        return 401
    if endpoint.admin_only or endpoint.custody:
        return endpoint.success if role == "admin" else 403
    return 404 if role == "other" else endpoint.success


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_auth_matrix(
    service: Service, alice: Account, bob: Account, endpoint: Endpoint, role: str
) -> None:
    path = endpoint.path.replace("{id}", str(alice.account_id))
    answer = service.client.request(
        endpoint.method,
        path,
        headers=_headers(role, service, alice, bob),
        json=endpoint.body() if endpoint.body else None,
    )
    assert answer.status_code == _expected(endpoint, role), answer.text
    if answer.status_code == 401:
        assert answer.json()["error"] == "unauthorized"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    if answer.status_code == 404:
        missing = service.client.request(
            endpoint.method,
            endpoint.path.replace("{id}", "987654321"),
            headers=_headers(role, service, alice, bob),
            json=endpoint.body() if endpoint.body else None,
        )
        assert (missing.status_code, missing.json()) == (404, answer.json())


@pytest.mark.parametrize(
    "path_id", ["987654321", "0", "-1", "abc", "1e3"], ids=lambda text: f"id={text}"
)
def test_missing_or_malformed_ids_look_like_other_accounts(
    service: Service, alice: Account, bob: Account, path_id: str
) -> None:
    """Bob's key on Alice's id, and the admin or Bob on ids that do not exist, get one answer."""
    reference = service.client.get(f"/accounts/{alice.account_id}", headers=bob.headers)
    for headers in (bob.headers, service.admin):
        answer = service.client.get(f"/accounts/{path_id}", headers=headers)
        assert (answer.status_code, answer.json()) == (404, reference.json())


def test_a_foreign_key_with_a_bad_body_still_gets_the_404(
    service: Service, alice: Account, bob: Account
) -> None:
    """Authorisation is decided before the body is validated: no hint from a 422."""
    answer = service.client.post(
        f"/accounts/{alice.account_id}/trades", headers=bob.headers, json={"nonsense": 1}
    )
    assert answer.status_code == 404


def test_wrong_scheme_and_empty_bearer_are_401(service: Service, alice: Account) -> None:
    for header in (f"Basic {alice.api_key}", "Bearer", alice.api_key, f"Bearer {alice.api_key}x"):
        answer = service.client.get(
            f"/accounts/{alice.account_id}", headers={"Authorization": header}
        )
        assert answer.status_code == 401, header


def test_keys_are_stored_only_as_keyed_hashes(service: Service, alice: Account) -> None:
    """HMAC-SHA-256 under the server secret of the secrets directory (not in the database)."""
    import hashlib
    import hmac

    from sqlalchemy import select

    from crossmargin.ledger import create_ledger_engine
    from crossmargin.service.keys import API_KEYS

    engine = create_ledger_engine(service.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(API_KEYS)).mappings().all()
    finally:
        engine.dispose()
    stored = " ".join(str(dict(row)) for row in rows)
    assert alice.api_key not in stored and service.admin_key not in stored
    hashes = [row["key_hash"] for row in rows]
    assert len(set(hashes)) == len(hashes) and all(h.startswith("hmac-sha256$") for h in hashes)
    mine = next(row for row in rows if row["account_id"] == alice.account_id)
    secret = bytes.fromhex((service.process.secrets_dir / "key-secret").read_text().strip())
    expected = hmac.new(secret, alice.api_key.encode(), hashlib.sha256).hexdigest()
    assert mine["key_hash"] == f"hmac-sha256${expected}"
    assert (service.process.secrets_dir / "key-secret").stat().st_mode & 0o077 == 0
    unkeyed = hashlib.sha256(alice.api_key.encode()).hexdigest()
    assert unkeyed not in mine["key_hash"]  # keyed: the database alone cannot test a guess


WS_EXPECTED = {"none": 401, "wrong": 401, "other": 404, "own": 101, "admin": 101}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("transport", ["header", "query"])
def test_websocket_auth_matrix(
    service: Service, alice: Account, bob: Account, role: str, transport: str
) -> None:
    headers = _headers(role, service, alice, bob)
    url = f"{service.ws_url}/ws/accounts/{alice.account_id}"
    if transport == "query" and headers:
        url += "?token=" + headers.pop("Authorization").removeprefix("Bearer ")
    if WS_EXPECTED[role] == 101:
        with connect(url, additional_headers=headers, open_timeout=10) as socket:
            first = socket.recv(timeout=10)
        assert '"type":"margin"' in str(first)
        return
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, open_timeout=10)
    assert refused.value.response.status_code == WS_EXPECTED[role]
