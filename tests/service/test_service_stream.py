"""The WebSocket over real loopback: a margin message on connect, after every trade, deposit
or withdrawal, and after every market tick; other accounts' writes do not reach it; a refused
handshake gets the HTTP status a request would."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from crossmargin.service.log_redaction import TokenRedactingFilter
from crossmargin.service.stream import MarginStream
from support.service_client import LINEAR_PERP, TEST_MARKET, Account, Service

D = Decimal


def _next(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=15))
    return message


def _collect_until(socket: ClientConnection, kind: str) -> tuple[list[dict[str, Any]], Any]:
    """Messages until one whose triggers include ``kind`` (updates may be coalesced)."""
    seen: list[dict[str, Any]] = []
    while True:
        message = _next(socket)
        seen.append(message)
        if any(trigger["kind"] == kind for trigger in message["triggers"]):
            return seen, message


def _stream(service: Service, account: Account, model: str = "pm") -> ClientConnection:
    return connect(
        f"{service.ws_url}/ws/accounts/{account.account_id}?model={model}",
        additional_headers=account.headers,
        open_timeout=10,
    )


def test_margin_streams_after_trades_cash_and_ticks(service: Service, bob: Account) -> None:
    account = service.open_account(deposit="100000")
    with _stream(service, account) as socket:
        first = _next(socket)
        assert first["type"] == "margin" and first["triggers"] == [{"kind": "subscribed"}]
        assert first["account_id"] == account.account_id and first["model"] == "pm"
        assert first["margin"]["initial_margin"] == "0.000000"

        trade = service.client.post(
            f"/accounts/{account.account_id}/trades",
            headers=account.headers,
            json={"instrument": LINEAR_PERP, "size": "1", "price": "72000", "idempotency_key": "t"},
        )
        assert trade.status_code == 201
        _, after_trade = _collect_until(socket, "trade")
        sequence = trade.json()["account_sequence"]
        assert {"kind": "trade", "account_sequence": sequence} in after_trade["triggers"]
        assert after_trade["as_of_account_sequence"] >= sequence
        assert D(after_trade["margin"]["initial_margin"]) > D(11000)

        service.deposit(bob, "1", "not-yours")  # another account's write is not this stream's
        deposit = service.deposit(account, "1", "d")
        assert deposit.status_code == 201
        seen, _ = _collect_until(socket, "deposit")
        assert all(t["kind"] == "deposit" for m in seen for t in m["triggers"])

        tick = service.client.post(
            "/market", headers=service.admin, json={"tick": {"index_usd": {"BTC": "60000"}}}
        )
        try:
            assert tick.status_code == 200
            _, after_tick = _collect_until(socket, "market")
            version = tick.json()["market_version"]
            assert {"kind": "market", "market_version": version} in after_tick["triggers"]
            assert D(after_tick["margin"]["equity"]) == D(after_trade["margin"]["equity"]) - D(
                12000
            ) + D(1)
        finally:
            service.client.post("/market", headers=service.admin, json={"snapshot": TEST_MARKET})


def test_two_subscribers_with_different_models(service: Service) -> None:
    account = service.open_account(deposit="100000")
    with _stream(service, account, "span") as span, _stream(service, account, "isolated") as iso:
        assert _next(span)["model"] == "span" and _next(iso)["model"] == "isolated"
        service.client.post(
            f"/accounts/{account.account_id}/trades",
            headers=account.headers,
            json={"instrument": LINEAR_PERP, "size": "1", "price": "72000", "idempotency_key": "t"},
        )
        _, from_span = _collect_until(span, "trade")
        _, from_iso = _collect_until(iso, "trade")
    assert from_span["margin"]["model"] == "span" and from_iso["margin"]["model"] == "isolated"
    assert D(from_span["margin"]["initial_margin"]) > D(from_iso["margin"]["initial_margin"])


def test_an_idempotent_retry_triggers_nothing(service: Service) -> None:
    account = service.open_account(deposit=None)
    assert service.deposit(account, "5", "once").status_code == 201
    with _stream(service, account) as socket:
        _next(socket)
        assert service.deposit(account, "5", "once").status_code == 200
        assert service.deposit(account, "6", "twice").status_code == 201
        message = _next(socket)
    assert [t["kind"] for t in message["triggers"]] == ["deposit"]
    assert message["margin"]["equity"].startswith("11")


@pytest.mark.parametrize(("query", "status"), [("?model=nope", 422), ("", 101)])
def test_the_model_is_validated_at_the_handshake(
    service: Service, alice: Account, query: str, status: int
) -> None:
    url = f"{service.ws_url}/ws/accounts/{alice.account_id}{query}"
    if status == 101:
        with connect(url, additional_headers=alice.headers, open_timeout=10) as socket:
            assert _next(socket)["model"] == "pm"
        return
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=alice.headers, open_timeout=10)
    assert refused.value.response.status_code == status
    assert json.loads(refused.value.response.body or b"{}")["errors"][0]["field"] == "model"


def test_tokens_in_websocket_urls_are_redacted_from_logs() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/accounts/3?token=cm_abc_secret&model=pm"),
        None,
    )
    assert TokenRedactingFilter().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "WebSocket /ws/accounts/3?token=***&model=pm" [accepted]'
    )


def test_holdings_are_kept_until_the_accounts_next_write() -> None:
    """A market update re-margins the holdings read last; every write the service tells the
    stream of (trade, deposit, withdrawal: ``publish_account``; a liquidation: ``publish_event``)
    makes them stale, and so does a write told of while they were being read."""
    stream = MarginStream()
    subscription = stream.subscribe(7, "pm")
    assert subscription is not None
    assert stream.holdings(7) is None
    revision = stream.account_revision(7)
    stream.keep_holdings(7, revision, "read-1")
    assert stream.holdings(7) == "read-1"
    stream.publish_market([7], {"kind": "market", "market_version": 2})
    stream.publish_all({"kind": "market", "market_version": 3})
    assert stream.holdings(7) == "read-1"
    stream.publish_account(7, {"kind": "deposit", "account_sequence": 2})
    assert stream.holdings(7) is None
    stale = stream.account_revision(7)
    stream.publish_account(7, {"kind": "trade", "account_sequence": 3})  # during the read
    stream.keep_holdings(7, stale, "read-2")
    assert stream.holdings(7) is None
    stream.keep_holdings(7, stream.account_revision(7), "read-3")
    stream.publish_event(7, "{}", {"kind": "liquidation", "liquidation_id": 1})
    assert stream.holdings(7) is None
    stream.keep_holdings(7, stream.account_revision(7), "read-4")
    stream.keep_holdings(8, stream.account_revision(8), "nobody-listens")
    assert stream.holdings(8) is None
    stream.unsubscribe(subscription)
    assert stream.holdings(7) is None
