"""Findings 2, 3, 5, 8 and 9 of issue 13 over real HTTP: failed authentication is rate-limited,
WebSocket subscriptions are capped and margined once per change, a market update the service
could not margin with is refused, keys never reach the logs, and the smaller ones (the SQLite
file's mode, per-account sequence numbers)."""

from __future__ import annotations

import contextlib
import json
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from support.databases import ScratchDatabases
from support.service_client import LINEAR_PERP, TEST_MARKET, Account, Service
from support.service_process import ServiceProcess


@pytest.fixture
def own_service(scratch: ScratchDatabases) -> Iterator[Service]:
    """A service of its own with the default limits and uvicorn's access log on."""
    url = scratch.new_url()
    admin_key = f"admin-{secrets.token_urlsafe(32)}"
    with (
        ServiceProcess(url, admin_key, access_log=True) as process,
        httpx.Client(base_url=process.base_url, timeout=30.0) as client,
    ):
        running = Service(process, url, admin_key, client)
        assert client.post("/market", headers=running.admin, json={"snapshot": TEST_MARKET})
        yield running


# -- finding 2: a flood of wrong keys -------------------------------------------------------------


def test_failed_authentication_is_rate_limited_and_valid_keys_still_work(
    own_service: Service,
) -> None:
    account = own_service.open_account()
    path = f"/accounts/{account.account_id}"
    statuses = [
        own_service.client.get(
            path, headers={"Authorization": f"Bearer cm_{secrets.token_hex(8)}_{n}"}
        ).status_code
        for n in range(40)
    ]
    assert statuses[:20] == [401] * 20  # the default burst per client address
    assert set(statuses[20:]) == {429}
    limited = own_service.client.get(path, headers={"Authorization": "Bearer nope"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert own_service.client.get(path, headers=account.headers).status_code == 200
    assert own_service.deposit(account, "1", "during-the-flood").status_code == 201


# -- finding 3: WebSocket amplification -----------------------------------------------------------


def _open(service: Service, account: Account) -> ClientConnection:
    return connect(
        f"{service.ws_url}/ws/accounts/{account.account_id}",
        additional_headers=account.headers,
        open_timeout=10,
    )


def test_a_key_holds_at_most_eight_subscriptions(service: Service) -> None:
    account = service.open_account()
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(_open(service, account)) for _ in range(8)]
        with pytest.raises(InvalidStatus) as refused:
            _open(service, account)
        assert refused.value.response.status_code == 429
        body = json.loads(refused.value.response.body or b"{}")
        assert body["error"] == "too_many_subscriptions"
        first = [json.loads(socket.recv(timeout=15)) for socket in sockets]
        assert deposit_and_collect(service, account, sockets, first)
    with _open(service, account) as again:  # closing frees the slots
        assert json.loads(again.recv(timeout=15))["type"] == "margin"


def deposit_and_collect(
    service: Service, account: Account, sockets: list[ClientConnection], first: list[Any]
) -> bool:
    """Every subscriber gets the same margin bytes after a deposit (computed once)."""
    assert service.deposit(account, "5", "fan-out").status_code == 201
    raw = [socket.recv(timeout=15) for socket in sockets]
    messages = [json.loads(text) for text in raw]
    assert all(m["triggers"] == [{"kind": "deposit", "account_sequence": 2}] for m in messages)
    assert len({text for text in raw}) == 1
    return all(
        m["margin"]["equity"] != f["margin"]["equity"] for m, f in zip(messages, first, strict=True)
    )


# -- finding 5: market updates the service could not margin with ----------------------------


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"tick": {"index_usd": {"BTC": "1" + "0" * 19}}}, "tick.index_usd.BTC"),
        ({"tick": {"index_usd": {"BTC": "100000"}}}, "tick.index_usd.BTC"),  # +39 % at once
        (
            {"snapshot": TEST_MARKET | {"valuation_time": "9999-12-31T00:00:00Z"}},
            "snapshot.valuation_time",
        ),
        (
            {"snapshot": TEST_MARKET | {"valuation_time": "2024-03-01T00:00:00Z"}},
            "snapshot.valuation_time",
        ),
        ({"snapshot": TEST_MARKET | {"rate_annual": 1e308}}, "snapshot.rate_annual"),
        ({"snapshot": TEST_MARKET | {"index_usd": {"ETH": 4000.0}}}, "snapshot.index_usd"),
    ],
)
def test_a_market_update_that_would_break_margining_is_refused(
    service: Service, update: dict[str, Any], field: str
) -> None:
    account = service.open_account()
    assert (
        service.client.post(
            f"/accounts/{account.account_id}/trades",
            headers=account.headers,
            json={"instrument": LINEAR_PERP, "size": "1", "price": "72000", "idempotency_key": "t"},
        ).status_code
        == 201
    )
    before = service.client.get("/health").json()["market_version"]
    answer = service.client.post("/market", headers=service.admin, json=update)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field
    assert service.client.get("/health").json()["market_version"] == before
    margin = service.client.get(f"/accounts/{account.account_id}/margin", headers=account.headers)
    assert margin.status_code == 200, margin.text


# -- finding 8: keys never reach the logs ----------------------------------------------------


def test_tokens_in_queries_are_redacted_and_break_nothing(own_service: Service) -> None:
    account = own_service.open_account()
    assert (
        own_service.client.get("/health", params={"token": "plain-secret-value"}).status_code == 200
    )
    url = f"{own_service.ws_url}/ws/accounts/{account.account_id}?tok%65n={account.api_key}"
    with connect(url, open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=15))["type"] == "margin"
    own_service.process.stop()
    log = own_service.process.output()
    assert "Traceback" not in log
    assert "plain-secret-value" not in log and account.api_key not in log
    assert "/health?token=*** HTTP/1.1" in log  # the access line, redacted, not a traceback
    assert f"/ws/accounts/{account.account_id}?token=***" in log


# -- finding 9: the smaller ones ------------------------------------------------------------------


def test_a_new_sqlite_ledger_is_private(tmp_path: Path) -> None:
    """Finding 9: the SQLite file the service creates was world-readable. A service started on a
    new SQLite file leaves it (and SQLite's WAL beside it) readable by its owner only (0600).
    PostgreSQL keeps no file of ours, so this runs on SQLite alone."""
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    with ServiceProcess(url, f"admin-{secrets.token_urlsafe(32)}"):
        for created in (path, *tmp_path.glob("ledger.db-*")):
            assert stat.S_IMODE(created.stat().st_mode) == 0o600, created


def test_answers_number_entries_per_account(service: Service) -> None:
    first, second = service.open_account(deposit=None), service.open_account(deposit=None)
    for n in range(3):
        assert service.deposit(first, "1", f"a{n}").status_code == 201
    answer = service.deposit(second, "1", "b0")
    assert answer.json()["account_sequence"] == 1  # not the venue's event count
    document = service.client.get(f"/accounts/{first.account_id}", headers=first.headers).json()
    assert document["as_of_account_sequence"] == 3 and "as_of_sequence" not in document
