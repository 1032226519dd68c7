"""The service over real HTTP: accounts, cash, trades, idempotent retries, validation, margin
refusals, the pre-trade check, margin under every model, the journal, the market, and the
database afterwards (invariants and replay).

The market is ``TEST_MARKET`` (BTC 72,000 USD, 60 % vol): a linear perpetual's margin under
``pm`` is its worst loss over the ±16 % price grid, so 1 BTC long needs about 11,520 USD.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import httpx
import pytest

from crossmargin.ledger import EntryKind, Ledger, replay, state_to_bytes
from crossmargin.margin.registry import MODEL_NAMES
from support.service_client import LINEAR_PERP, TEST_MARKET, Account, Service

D = Decimal


def _deposit(
    service: Service, account: Account, amount: Any, key: str, currency: str = "USDC"
) -> httpx.Response:
    """A deposit by the admin key (deposits are custody operations)."""
    return service.client.post(
        f"/accounts/{account.account_id}/deposits",
        headers=service.admin,
        json={"currency": currency, "amount": amount, "idempotency_key": key},
    )


def _trade(service: Service, account: Account, size: str, key: str, **extra: str) -> httpx.Response:
    body = {"instrument": LINEAR_PERP, "size": size, "price": "72000", "idempotency_key": key}
    return service.client.post(
        f"/accounts/{account.account_id}/trades", headers=account.headers, json=body | extra
    )


def _account(service: Service, account: Account) -> dict[str, Any]:
    answer = service.client.get(f"/accounts/{account.account_id}", headers=account.headers)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def test_health_needs_no_key(service: Service) -> None:
    answer = service.client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["database"] in ("sqlite", "postgresql")


def test_openapi_lists_every_endpoint(service: Service) -> None:
    assert service.client.get("/docs").status_code == 200
    paths = service.client.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/accounts",
        "/accounts/{account_id}",
        "/accounts/{account_id}/deposits",
        "/accounts/{account_id}/withdrawals",
        "/accounts/{account_id}/trades",
        "/accounts/{account_id}/orders/check",
        "/accounts/{account_id}/margin",
        "/accounts/{account_id}/ledger",
        "/custody-keys",
        "/market",
        "/oracle",
        "/oracle/quotes",
        "/health",
        "/liquidations",
    }
    schema = service.client.get("/openapi.json").json()["components"]["schemas"]["CashRequest"]
    assert schema["properties"]["amount"]["type"] == "string"
    assert schema["additionalProperties"] is False


def test_a_new_account_gets_a_key_once(service: Service) -> None:
    answer = service.client.post("/accounts", headers=service.admin, json={"name": "desk-7"})
    assert answer.status_code == 201
    created = answer.json()
    assert set(created) == {"account_id", "name", "api_key"} and created["name"] == "desk-7"
    account = Account(created["account_id"], created["api_key"])
    document = _account(service, account)
    assert document == {
        "account_id": account.account_id,
        "name": "desk-7",
        "kind": "user",
        "balances": {},
        "positions": [],
        "as_of_account_sequence": 0,
    }
    assert account.api_key not in str(document)
    again = service.client.post("/accounts", headers=service.admin, json={"name": "desk-7"})
    assert again.status_code == 409 and again.json()["error"] == "duplicate_account"


def test_account_creation_without_a_body_and_with_a_bad_name(service: Service) -> None:
    bare = service.client.post("/accounts", headers=service.admin)
    assert bare.status_code == 201 and bare.json()["name"].startswith("account-")
    for name in ("", "system:fees", " padded"):
        answer = service.client.post("/accounts", headers=service.admin, json={"name": name})
        assert answer.status_code == 422, name
        assert (answer.json()["errors"][0]["field"], answer.json()["errors"][0]["value"]) == (
            "name",
            name,
        )


def test_deposits_are_exact_decimal_strings(service: Service) -> None:
    account = service.open_account(deposit=None)
    assert _deposit(service, account, "1000.5", "a").status_code == 201
    assert _deposit(service, account, "0.000001", "b").status_code == 201
    assert _deposit(service, account, "0.12345678", "c", currency="BTC").status_code == 201
    assert _account(service, account)["balances"] == {"BTC": "0.12345678", "USDC": "1000.500001"}


def test_an_idempotent_retry_posts_once(service: Service) -> None:
    account = service.open_account(deposit=None)
    first = _deposit(service, account, "250", "retry-me")
    second = _deposit(service, account, "250", "retry-me")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["account_sequence"] == second.json()["account_sequence"] == 1
    assert (first.json()["idempotent_replay"], second.json()["idempotent_replay"]) == (False, True)
    assert _account(service, account)["balances"] == {"USDC": "250"}
    conflict = _deposit(service, account, "251", "retry-me")
    assert conflict.status_code == 409 and conflict.json()["error"] == "idempotency_conflict"


def test_concurrent_retries_over_http_post_once(service: Service) -> None:
    account = service.open_account(deposit=None)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with httpx.Client(base_url=service.process.base_url, timeout=30) as client:
            answer = client.post(
                f"/accounts/{account.account_id}/trades",
                headers=account.headers,
                json={
                    "instrument": LINEAR_PERP,
                    "size": "0.5",
                    "price": "72000",
                    "fee": "3.5",
                    "idempotency_key": "same-fill",
                },
            )
        with lock:
            answers.append(answer)

    assert _deposit(service, account, "100000", "fund").status_code == 201
    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert {a.json()["account_sequence"] for a in answers} == {2}  # after the deposit
    document = _account(service, account)
    assert document["balances"] == {"USDC": "99996.5"}
    assert document["positions"] == [
        {"instrument": LINEAR_PERP, "size": "0.5", "average_price": "72000"}
    ]
    page = service.client.get(f"/accounts/{account.account_id}/ledger", headers=account.headers)
    assert [e["kind"] for e in page.json()["entries"]] == ["deposit", "trade"]


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({"currency": "USDC", "amount": 1000.5, "idempotency_key": "k"}, "amount", 1000.5),
        ({"currency": "USDC", "amount": 1000, "idempotency_key": "k"}, "amount", 1000),
        ({"currency": "USDC", "amount": "1e3", "idempotency_key": "k"}, "amount", "1e3"),
        (
            {"currency": "USDC", "amount": "1.0000001", "idempotency_key": "k"},
            "amount",
            "1.0000001",
        ),
        ({"currency": "USDC", "amount": "-5", "idempotency_key": "k"}, "amount", "-5"),
        ({"currency": "usdc", "amount": "5", "idempotency_key": "k"}, "currency", "usdc"),
        ({"currency": "USDC", "amount": "5", "idempotency_key": ""}, "idempotency_key", ""),
        ({"currency": "USDC", "amount": "5"}, "idempotency_key", None),
        ({"currency": "USDC", "amount": "5", "idempotency_key": "k", "memo": "x"}, "memo", "x"),
    ],
)
def test_a_bad_deposit_is_a_422_naming_field_and_value(
    service: Service, alice: Account, body: dict[str, Any], field: str, value: Any
) -> None:
    answer = service.client.post(
        f"/accounts/{alice.account_id}/deposits", headers=service.admin, json=body
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"] == "validation_error"
    assert {"field": field, "value": value} == {
        "field": error["errors"][0]["field"],
        "value": error["errors"][0]["value"],
    }
    assert field in error["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field", "value"),
    [
        (
            "trades",
            {"instrument": "BTC-NOPE", "size": "1", "price": "1", "idempotency_key": "k"},
            "instrument",
            "BTC-NOPE",
        ),
        (
            "trades",
            {"instrument": LINEAR_PERP, "size": "0", "price": "1", "idempotency_key": "k"},
            "size",
            "0",
        ),
        (
            "trades",
            {"instrument": LINEAR_PERP, "size": "1", "price": 72000.0, "idempotency_key": "k"},
            "price",
            72000.0,
        ),
        (
            "orders/check",
            {"instrument": LINEAR_PERP, "size": "1", "model": "nope"},
            "model",
            "nope",
        ),
        ("orders/check", {"instrument": LINEAR_PERP, "size": 1, "model": "pm"}, "size", 1),
    ],
)
def test_bad_trades_and_checks_name_field_and_value(
    service: Service, alice: Account, path: str, body: dict[str, Any], field: str, value: Any
) -> None:
    answer = service.client.post(
        f"/accounts/{alice.account_id}/{path}", headers=alice.headers, json=body
    )
    assert answer.status_code == 422, answer.text
    first = answer.json()["errors"][0]
    assert (first["field"], first["value"]) == (field, value)


def test_bad_query_parameters_are_422(service: Service, alice: Account) -> None:
    base = f"/accounts/{alice.account_id}"
    for path, field, value in [
        (f"{base}/margin?model=nope", "model", "nope"),
        (f"{base}/ledger?limit=0", "limit", "0"),
        (f"{base}/ledger?offset=-1", "offset", "-1"),
    ]:
        answer = service.client.get(path, headers=alice.headers)
        assert answer.status_code == 422, answer.text
        first = answer.json()["errors"][0]
        assert (first["field"], first["value"]) == (field, value)


def test_a_refused_withdrawal_shows_the_margin_numbers(service: Service) -> None:
    account = service.open_account(deposit="20000")
    assert _trade(service, account, "1", "long-1").status_code == 201
    answer = service.client.post(
        f"/accounts/{account.account_id}/withdrawals",
        headers=account.headers,
        json={"currency": "USDC", "amount": "15000", "idempotency_key": "too-much"},
    )
    assert answer.status_code == 409, answer.text
    refusal = answer.json()
    assert refusal["error"] == "insufficient_margin"
    assert (refusal["operation"], refusal["model"], refusal["currency"]) == (
        "withdrawal",
        "pm",
        "USD",
    )
    equity_before, equity_after = D(refusal["equity_before"]), D(refusal["equity_after"])
    im_before, im_after = D(refusal["initial_margin_before"]), D(refusal["initial_margin_after"])
    assert equity_before - equity_after == D(15000)
    assert im_before == im_after > equity_after
    assert D(refusal["shortfall"]) == im_after - equity_after
    # 1 BTC linear perpetual under Deribit's pm: worst case 16 % of 72,000 = 11,520 plus the roll
    # shock, min_annualised_move 0.01 × 72,000 = 720 (a perpetual has no time to roll): 12,240.
    assert im_after == D("12240")
    assert _account(service, account)["balances"] == {"USDC": "20000"}
    ok = service.client.post(
        f"/accounts/{account.account_id}/withdrawals",
        headers=account.headers,
        json={"currency": "USDC", "amount": "5000", "idempotency_key": "fine"},
    )
    assert ok.status_code == 201


def test_a_trade_beyond_the_margin_is_refused_and_a_reducing_one_is_not(
    service: Service,
) -> None:
    account = service.open_account(deposit="20000")
    assert _trade(service, account, "1", "first").status_code == 201
    refused = _trade(service, account, "1", "second")
    assert refused.status_code == 409
    assert refused.json()["operation"] == "trade"
    assert D(refused.json()["initial_margin_after"]) > D(refused.json()["equity_after"])
    assert _trade(service, account, "-0.5", "reduce").status_code == 201


def test_an_uncovered_withdrawal_is_an_insufficient_balance(service: Service) -> None:
    account = service.open_account(deposit="10")
    answer = service.client.post(
        f"/accounts/{account.account_id}/withdrawals",
        headers=account.headers,
        json={"currency": "USDC", "amount": "10.000001", "idempotency_key": "w"},
    )
    assert answer.status_code == 409
    assert answer.json() | {"detail": ""} == {
        "error": "insufficient_balance",
        "detail": "",
        "account_id": account.account_id,
        "currency": "USDC",
        "balance": "10",
        "required": "10.000001",
    }


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_margin_and_pre_trade_check_under_every_model(service: Service, model: str) -> None:
    account = service.open_account(deposit="500000")
    assert _trade(service, account, "2", "position").status_code == 201
    margin = service.client.get(
        f"/accounts/{account.account_id}/margin", params={"model": model}, headers=account.headers
    )
    assert margin.status_code == 200, margin.text
    result = margin.json()
    assert result["model"] == model and result["currency"] == "USD"
    for field in ("initial_margin", "maintenance_margin", "equity", "available"):
        assert isinstance(result[field], str)
    assert sum(D(v) for v in result["components"].values()) == D(result["initial_margin"])
    assert [p["instrument"] for p in result["positions"]] == [LINEAR_PERP]
    position = result["positions"][0]
    assert isinstance(position["mark_value_usd"], str)  # USD amounts: decimal strings
    assert isinstance(position["delta_usd"], str)
    for greek in ("delta_coin", "gamma_coin_per_usd", "vega_usd_per_vol", "theta_usd_per_year"):
        assert isinstance(position[greek], float), greek  # other units: JSON numbers
    check = service.client.post(
        f"/accounts/{account.account_id}/orders/check",
        headers=account.headers,
        json={"instrument": LINEAR_PERP, "size": "2", "model": model},
    )
    assert check.status_code == 200, check.text
    what_if = check.json()
    assert result.pop("oracle") == {}  # no oracle-driven asset on the shared service
    assert what_if["before"] == result
    assert D(what_if["after"]["initial_margin"]) > D(what_if["before"]["initial_margin"])
    assert D(what_if["initial_margin_change"]) == D(what_if["after"]["initial_margin"]) - D(
        result["initial_margin"]
    )
    assert what_if["passes_initial_margin"] is True and what_if["enforced_model"] == "pm"
    assert _account(service, account)["positions"][0]["size"] == "2"  # nothing posted


def test_a_pre_trade_check_at_a_price_books_like_the_ledger(service: Service) -> None:
    account = service.open_account(deposit="1000")
    check = service.client.post(
        f"/accounts/{account.account_id}/orders/check",
        headers=account.headers,
        json={
            "instrument": "BTC_USDC-29MAR24-70000-C",
            "size": "1",
            "price": "4825",  # the mark is 4,823.96 USDC (Black-76, 60 % vol, 18 days)
            "model": "span",
        },
    )
    assert check.status_code == 200, check.text
    what_if = check.json()
    assert what_if["uncovered"] == [{"currency": "USDC", "balance": "1000", "required": "4825"}]
    assert what_if["price"] == "4825"
    assert [p["instrument"] for p in what_if["after"]["positions"]] == ["BTC_USDC-29MAR24-70000-C"]


def test_the_ledger_endpoint_pages_through_entries(service: Service) -> None:
    account = service.open_account(deposit=None)
    for number in range(5):
        assert _deposit(service, account, str(number + 1), f"page-{number}").status_code == 201
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = service.client.get(
            f"/accounts/{account.account_id}/ledger",
            params={"limit": 2, "offset": offset},
            headers=account.headers,
        ).json()
        seen += [entry["request"]["amount"] for entry in page["entries"]]
        offset = page["next_offset"]
    assert seen == ["1", "2", "3", "4", "5"]
    entry = service.client.get(
        f"/accounts/{account.account_id}/ledger", headers=account.headers
    ).json()["entries"][0]
    assert entry["kind"] == "deposit" and entry["idempotency_key"] == "page-0"
    assert entry["account_sequence"] == 1 and "entry_id" not in entry
    assert sorted(p["amount"] for p in entry["postings"]) == ["-1", "1"]


def test_market_ticks_and_snapshots_move_the_margin(service: Service) -> None:
    account = service.open_account(deposit="500000")
    assert _trade(service, account, "1", "long").status_code == 201

    def equity() -> Decimal:
        answer = service.client.get(
            f"/accounts/{account.account_id}/margin", headers=account.headers
        )
        return D(answer.json()["equity"])

    before = equity()
    tick = service.client.post(
        "/market", headers=service.admin, json={"tick": {"index_usd": {"BTC": "73000"}}}
    )
    try:
        assert tick.status_code == 200, tick.text
        assert tick.json()["index_usd"]["BTC"] == "73000.0"
        assert equity() - before == D(1000)
    finally:
        restored = service.client.post(
            "/market", headers=service.admin, json={"snapshot": TEST_MARKET}
        )
        assert restored.status_code == 200
    assert equity() == before
    for body, field in [
        ({"tick": {"index_usd": {"BTC": 73000}}}, "tick.index_usd.BTC"),
        ({"tick": {"index_usd": {"BTC": "0"}}}, "tick.index_usd.BTC"),
        ({"snapshot": TEST_MARKET | {"index_usd": {"BTC": -1}}}, "snapshot.index_usd.BTC"),
        ({"snapshot": TEST_MARKET, "tick": {"index_usd": {"BTC": "1"}}}, "body"),
    ]:
        answer = service.client.post("/market", headers=service.admin, json=body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"] == field


def test_the_database_behind_the_service_is_sound(service: Service, alice: Account) -> None:
    """Whatever the tests above posted: invariants hold and the event log replays exactly."""
    with Ledger(service.database_url) as ledger:
        report = ledger.check_invariants()
        assert report.ok, report.violations
        assert state_to_bytes(replay(ledger.events())) == state_to_bytes(ledger.state())
        kinds = {event.kind for event in ledger.events()}
    assert {EntryKind.DEPOSIT.value, EntryKind.TRADE.value} <= kinds
