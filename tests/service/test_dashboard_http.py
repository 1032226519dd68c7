"""The dashboard's trust boundary and figures over real HTTP, without a browser (SQLite;
PostgreSQL twin): the browser test drives the pages, this one holds what they stand on.

* ``POST /login`` sets a session cookie that is HttpOnly and SameSite=Strict and carries
  nothing of the key; a wrong key is 401, a cross-origin form 403.
* ``GET /api/overview`` (admin only) counts every user account and sums their margin: the total
  IM is the sum of each account's pm IM that ``GET /accounts/{id}/margin`` answers (engine and
  model agree to 1e-9 relative per account, plus the engine's 1e-6 USD rounding).
* An account key's session opens its own account page and gets 404 on another's.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from support.databases import ScratchDatabases
from support.service_client import LINEAR_PERP, Account, Service, pinned_service


@pytest.fixture(scope="module")
def desk_service(scratch: ScratchDatabases) -> Iterator[Service]:
    with pinned_service(scratch.new_url()) as running:
        yield running


def _login(service: Service, key: str, origin: str | None = None) -> httpx.Response:
    headers = {"Origin": origin or service.process.base_url}
    with httpx.Client(base_url=service.process.base_url, timeout=60.0) as fresh:
        return fresh.post("/login", data={"key": key}, headers=headers)


def _trade(service: Service, account: Account, size: str) -> None:
    answer = service.client.post(
        f"/accounts/{account.account_id}/trades",
        headers=account.headers,
        json={"instrument": LINEAR_PERP, "size": size, "price": "72000", "idempotency_key": size},
    )
    assert answer.status_code == 201, answer.text


def test_login_cookie_is_a_session_id_not_the_key(desk_service: Service) -> None:
    service = desk_service
    answer = _login(service, service.admin_key)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    value = answer.cookies["crossmargin_session"]
    assert len(value) >= 32 and value not in service.admin_key
    assert service.admin_key not in cookie
    assert _login(service, "not-a-key").status_code == 401
    assert _login(service, service.admin_key, origin="http://evil.example").status_code == 403


def test_overview_counts_and_sums_what_the_accounts_answer(desk_service: Service) -> None:
    """Two accounts long 1 and short 2 BTC_USDC-PERPETUAL at 72,000 with 1,000,000 USDC each,
    one with no position: three user accounts, all healthy; the overview's IM and MM are the
    sums of their pm margins."""
    service = desk_service
    long_one, short_two, idle = (service.open_account() for _ in range(3))
    _trade(service, long_one, "1")
    _trade(service, short_two, "-2")
    overview = service.client.get("/api/overview", headers=service.admin)
    assert overview.status_code == 200, overview.text
    document = overview.json()
    users = [long_one, short_two, idle]
    assert document["account_count"] == len(users)
    assert document["accounts_by_health"]["healthy"] == len(users)
    assert sum(document["accounts_by_health"].values()) == len(users)
    margins = [
        service.client.get(f"/accounts/{a.account_id}/margin", headers=a.headers).json()
        for a in users
    ]
    initial = sum(Decimal(m["initial_margin"]) for m in margins)
    maintenance = sum(Decimal(m["maintenance_margin"]) for m in margins)
    assert initial > 0 and Decimal(margins[1]["initial_margin"]) > Decimal(
        margins[0]["initial_margin"]
    )
    assert document["total_initial_margin_usd"] == pytest.approx(float(initial), rel=1e-9, abs=1e-5)
    assert document["total_maintenance_margin_usd"] == pytest.approx(
        float(maintenance), rel=1e-9, abs=1e-5
    )
    assert service.client.get("/api/overview").status_code == 401
    assert service.client.get("/api/overview", headers=idle.headers).status_code == 403


def test_an_account_session_sees_only_its_own_account(desk_service: Service) -> None:
    service = desk_service
    mine, other = service.open_account(), service.open_account()
    with httpx.Client(base_url=service.process.base_url, timeout=60.0) as browser:
        login = browser.post(
            "/login", data={"key": mine.api_key}, headers={"Origin": service.process.base_url}
        )
        assert login.status_code == 303
        home = browser.get("/")
        assert home.status_code == 303
        assert home.headers["location"] == f"/dashboard/accounts/{mine.account_id}"
        own = browser.get(f"/dashboard/accounts/{mine.account_id}")
        assert own.status_code == 200 and str(mine.account_id) in own.text
        assert browser.get(f"/dashboard/accounts/{other.account_id}").status_code == 404
        assert browser.get("/api/overview").status_code == 403


def test_enforced_trades_are_shown_by_the_engine_and_refusals_left_to_the_model(
    desk_service: Service,
) -> None:
    """``POST /trades`` through the live desk's margin screen: a trade well inside the account's
    margin is shown to pass by the book engine (``enforced_checks.shown_by_engine`` counts it,
    the model is not run); one far beyond it goes to the model, which refuses it with its own
    numbers (``margined_by_model`` counts it)."""
    service = desk_service
    account = service.open_account()

    def counts() -> tuple[int, int]:
        document = service.client.get("/api/overview", headers=service.admin).json()
        checks = document["enforced_checks"]
        return checks["shown_by_engine"], checks["margined_by_model"]

    shown, margined = counts()
    _trade(service, account, "0.5")
    assert counts() == (shown + 1, margined)
    refused = service.client.post(
        f"/accounts/{account.account_id}/trades",
        headers=account.headers,
        json={"instrument": LINEAR_PERP, "size": "300", "price": "72000", "idempotency_key": "x"},
    )
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "insufficient_margin" and body["model"] == "pm"
    assert Decimal(body["equity_after"]) < Decimal(body["initial_margin_after"])
    assert counts() == (shown + 1, margined + 1)
