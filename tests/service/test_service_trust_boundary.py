"""Findings 1, 4, 6 and 7 of issue 13, each reproduced over real HTTP (they all passed, or
crashed with a 500, before the fix): no money from an account key, bounded and checked bodies
before and after authentication, no 500 for any input, no nonsense accepted."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from support.service_client import LINEAR_PERP, Account, Service
from support.service_process import ServiceProcess

D = Decimal


def _post(service: Service, path: str, headers: dict[str, str], body: Any) -> httpx.Response:
    return service.client.post(path, headers=headers, json=body)


def _trade_body(size: str, price: str, key: str, instrument: str = LINEAR_PERP) -> dict[str, str]:
    return {"instrument": instrument, "size": size, "price": price, "idempotency_key": key}


# -- finding 1: an account key cannot create money ----------------------------------------------


def test_an_account_key_cannot_credit_itself(service: Service) -> None:
    account = service.open_account(deposit=None)
    body = {"currency": "USDC", "amount": "99999999999999999999", "idempotency_key": "self"}
    answer = _post(service, f"/accounts/{account.account_id}/deposits", account.headers, body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "forbidden"
    assert (
        service.client.get(f"/accounts/{account.account_id}", headers=account.headers).json()[
            "balances"
        ]
        == {}
    )


def test_a_custody_key_deposits_and_does_nothing_else(service: Service, alice: Account) -> None:
    issued = service.client.post("/custody-keys", headers=service.admin)
    assert issued.status_code == 201, issued.text
    custody = {"Authorization": f"Bearer {issued.json()['api_key']}"}
    account = service.open_account(deposit=None)
    base = f"/accounts/{account.account_id}"
    credit = {"currency": "USDC", "amount": "250.5", "idempotency_key": "custody-1"}
    assert _post(service, f"{base}/deposits", custody, credit).status_code == 201
    assert service.client.get(base, headers=account.headers).json()["balances"] == {"USDC": "250.5"}
    withdraw = {"currency": "USDC", "amount": "1", "idempotency_key": "w"}
    assert _post(service, f"{base}/withdrawals", custody, withdraw).status_code == 403
    assert service.client.get(base, headers=custody).status_code == 403
    assert service.client.post("/accounts", headers=custody, json={}).status_code == 403
    assert service.client.post("/custody-keys", headers=alice.headers).status_code == 403


def test_the_round_trip_at_a_silly_price_is_refused(service: Service) -> None:
    """Buy 10 at 0.000001, sell at 72,000, withdraw the difference: the first fill is refused,
    nothing is posted, and nothing can be withdrawn."""
    account = service.open_account(deposit=None)
    base = f"/accounts/{account.account_id}"
    buy = _post(service, f"{base}/trades", account.headers, _trade_body("10", "0.000001", "b"))
    assert buy.status_code == 422, buy.text
    error = buy.json()["errors"][0]
    assert (error["field"], error["value"]) == ("price", "0.000001")
    sell = _post(service, f"{base}/trades", account.headers, _trade_body("-10", "72000", "s"))
    assert sell.status_code == 409  # no collateral: refused by the margin rule
    withdraw = {"currency": "USDC", "amount": "719999", "idempotency_key": "w"}
    assert _post(service, f"{base}/withdrawals", account.headers, withdraw).status_code == 409
    assert service.client.get(f"{base}/ledger", headers=account.headers).json()["entries"] == []


@pytest.mark.parametrize(
    ("size", "price", "field", "reason"),
    [
        ("1", "75601", "price", "within"),  # 5 % above the mark of 72,000 is 75,600
        ("1", "68399", "price", "within"),
        ("1", "72000.3", "price", "multiple of 0.5"),
        ("0.0001", "72000", "size", "multiple of 0.001"),
        ("0.000000000000000001", "72000", "size", "multiple of 0.001"),
        ("1000", "72000", "size", "notional"),  # 72 M USD > the 50 M cap
    ],
)
def test_fills_obey_band_lot_tick_and_notional(
    service: Service, alice: Account, size: str, price: str, field: str, reason: str
) -> None:
    path = f"/accounts/{alice.account_id}/trades"
    answer = _post(service, path, alice.headers, _trade_body(size, price, f"band-{size}-{price}"))
    assert answer.status_code == 422, answer.text
    error = answer.json()["errors"][0]
    assert (error["field"], error["value"]) == (field, size if field == "size" else price)
    assert reason in error["message"]


def test_a_fill_inside_the_band_is_booked(service: Service, alice: Account) -> None:
    path = f"/accounts/{alice.account_id}/trades"
    answer = _post(service, path, alice.headers, _trade_body("0.001", "75600", "edge"))
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("currency", ["ZZZ", "DOGE", "SOL"])
def test_only_configured_priced_currencies_move(
    service: Service, alice: Account, currency: str
) -> None:
    body = {"currency": currency, "amount": "1", "idempotency_key": f"cur-{currency}"}
    for path, headers in (("deposits", service.admin), ("withdrawals", alice.headers)):
        answer = _post(service, f"/accounts/{alice.account_id}/{path}", headers, body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0] == {
            "field": "currency",
            "value": currency,
            "message": "must be one of USDC, USDT, BTC, ETH",
        }


# -- finding 4: bodies are bounded and checked, after authentication ---------------------------


def test_a_huge_body_is_refused_without_reading_it(service: Service, alice: Account) -> None:
    big = b'{"currency": "USDC", "amount": "' + b"9" * (1024 * 1024) + b'"}'
    path = f"/accounts/{alice.account_id}/withdrawals"
    answer = service.client.post(path, headers=alice.headers, content=big)
    assert answer.status_code == 413 and answer.json()["limit_bytes"] == 65536
    anonymous = service.client.post(path, content=big)
    assert anonymous.status_code == 401


def test_malformed_json_without_a_key_is_a_401(service: Service, alice: Account) -> None:
    path = f"/accounts/{alice.account_id}/withdrawals"
    headers = {"content-type": "application/json"}
    assert service.client.post(path, headers=headers, content=b"{not json").status_code == 401
    answer = service.client.post(
        path, headers=headers | alice.headers, content=b'{"currency": "USDC", "amount": '
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "body"


def test_a_long_bad_field_is_echoed_truncated(service: Service, alice: Account) -> None:
    bad = "x" * 50_000
    body = {"currency": "USDC", "amount": bad, "idempotency_key": "long"}
    answer = _post(service, f"/accounts/{alice.account_id}/withdrawals", alice.headers, body)
    assert answer.status_code == 422
    assert len(answer.content) < 2_000
    value = answer.json()["errors"][0]["value"]
    assert value.startswith("x" * 64) and value.endswith("(50000 characters)")


# -- finding 6: no 500 for any input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("trades", _trade_body("99999999999999999999", "72000", "huge"), "size"),
        ("orders/check", {"instrument": LINEAR_PERP, "size": "99999999999999999999"}, "size"),
        ("trades", _trade_body("1", "72000", "s") | {"instrument": "\ud800"}, "instrument"),
        ("withdrawals", {"currency": "\ud800", "amount": "1", "idempotency_key": "k"}, "currency"),
        ("withdrawals", {"currency": "USDC", "amount": "1", "idempotency_key": "\ud800"}, None),
        ("orders/check", {"instrument": LINEAR_PERP, "size": "1", "model": "\ud800"}, "model"),
    ],
)
def test_hostile_values_get_a_422_not_a_500(
    service: Service, alice: Account, path: str, body: dict[str, str], field: str | None
) -> None:
    raw = json.dumps(body).encode()  # a lone surrogate travels as the escape \\ud800
    answer = service.client.post(
        f"/accounts/{alice.account_id}/{path}",
        headers=alice.headers | {"content-type": "application/json"},
        content=raw,
    )
    assert answer.status_code == 422, answer.text
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field


def test_a_huge_ledger_offset_is_a_422(service: Service, alice: Account) -> None:
    answer = service.client.get(
        f"/accounts/{alice.account_id}/ledger",
        params={"offset": str(10**23)},
        headers=alice.headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "offset"


def test_an_unexpected_error_is_a_json_500_without_internals(
    scratch: Any, service: Service
) -> None:
    with ServiceProcess(
        scratch.new_url(), service.admin_key, factory="support.faulty_service:create_faulty_app"
    ) as process:
        answer = httpx.get(f"{process.base_url}/boom", headers=service.admin, timeout=30)
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal_error", "detail": "internal server error"}
    assert "secret" not in answer.text


# -- finding 7: nonsense is refused ---------------------------------------------------------


def test_duplicate_json_keys_are_refused(service: Service, alice: Account) -> None:
    raw = b'{"currency": "USDC", "amount": "1", "amount": "1000000", "idempotency_key": "dup"}'
    answer = service.client.post(
        f"/accounts/{alice.account_id}/withdrawals",
        headers=alice.headers | {"content-type": "application/json"},
        content=raw,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "amount"
    assert "more than once" in answer.json()["errors"][0]["message"]
