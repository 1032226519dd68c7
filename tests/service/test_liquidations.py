"""Liquidations in the live service over real HTTP and WebSocket (SQLite; PostgreSQL twin).

A market tick that puts an account below the liquidatable band liquidates it in CEX rounds
through the ledger; the event goes out on the account's WebSocket and is listed by
``GET /liquidations`` (admin key only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from crossmargin.ledger import AccountKind, Ledger
from support.databases import ScratchDatabases
from support.service_client import LINEAR_PERP, TEST_MARKET, Account, Service, pinned_service

D = Decimal


@pytest.fixture(scope="module")
def own_service(scratch: ScratchDatabases) -> Iterator[Service]:
    """A service of its own: the ticks here move no other test's market."""
    with pinned_service(scratch.new_url()) as running:
        yield running


def _next(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=60))
    return message


def _buy(service: Service, account: Account, size: str, key: str) -> None:
    answer = service.client.post(
        f"/accounts/{account.account_id}/trades",
        headers=account.headers,
        json={"instrument": LINEAR_PERP, "size": size, "price": "72000", "idempotency_key": key},
    )
    assert answer.status_code == 201, answer.text


def test_a_tick_below_the_band_liquidates_posts_streams_and_lists(own_service: Service) -> None:
    """Alice: 15,000 USDC, long 1 BTC_USDC-PERPETUAL at 72,000. A tick to 65,000 leaves her
    equity 15,000 − 7,000 = 8,000 USD against a pm maintenance margin above 8,000 / 1.05:
    liquidatable. Each CEX round trades at most 2,500 USD of notional: ⌊2,500 / 65,000 /
    0.001⌋ × 0.001 = 0.038 BTC, fee 0.5 % of 0.038 × 65,000 = 12.35 USDC to the insurance
    fund, sold below 65,000 by the slippage (half spread 1 bp + 1 % × √(2,470 / depth), depth
    ≥ 7M USD: at most 0.0288 %, so above 64,981.3). Carol (1,000,000 USDC, long 1) is healthy
    and untouched."""
    service = own_service
    alice = service.open_account(deposit=None)
    assert service.deposit(alice, "15000", "seed").status_code == 201
    _buy(service, alice, "1", "buy")
    carol = service.open_account()
    _buy(service, carol, "1", "buy")
    url = f"{service.ws_url}/ws/accounts/{alice.account_id}?model=pm"
    with connect(url, additional_headers=alice.headers, open_timeout=10) as socket:
        assert _next(socket)["triggers"] == [{"kind": "subscribed"}]
        tick = service.client.post(
            "/market", headers=service.admin, json={"tick": {"index_usd": {"BTC": "65000"}}}
        )
        assert tick.status_code == 200, tick.text
        event = _next(socket)
        while event["type"] != "liquidation":
            event = _next(socket)
        after = _next(socket)
        while not any(t["kind"] == "liquidation" for t in after["triggers"]):
            after = _next(socket)

    listed = service.client.get("/liquidations", headers=service.admin)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1 and page["next_offset"] is None
    (stored,) = page["liquidations"]
    assert {"type": "liquidation", **stored} == event
    assert {"kind": "liquidation", "liquidation_id": stored["liquidation_id"]} in after["triggers"]
    assert stored["account_id"] == alice.account_id
    assert stored["health_before"] == "liquidatable" and stored["mode"] == "cex"
    assert stored["health_after"] != "liquidatable" and stored["error"] is None
    assert stored["bad_debt"] == {}
    first = stored["rounds"][0]
    (leg,) = first["closed"]
    assert leg["instrument"] == LINEAR_PERP and D(leg["size"]) == D("-0.038")
    assert D("64981.3") < D(leg["price"]) < D(65000)
    assert first["fee"] == {"USDC": "12.350000"}
    fees = sum((D(r["fee"]["USDC"]) for r in stored["rounds"]), D(0))
    assert stored["insurance_fund_delta"] == {"USDC": str(fees)}
    closed = sum((D(leg["size"]) for r in stored["rounds"] for leg in r["closed"]), D(0))

    with Ledger(service.database_url) as ledger:
        assert ledger.check_invariants().ok
        (position,) = ledger.positions(alice.account_id)
        assert position.size == D(1) + closed and D(0) < position.size < D(1)
        realised = D(0)
        for r in stored["rounds"]:
            (entry,) = [
                e for e in ledger.entries(alice.account_id, 1000) if e.entry_id == r["entry_id"]
            ]
            realised += entry.cash_change(alice.account_id, "USDC") + D(r["fee"]["USDC"])
        assert ledger.balance(alice.account_id, "USDC") == D(15000) + realised - fees
        assert ledger.balance(ledger.system_account_id(AccountKind.INSURANCE), "USDC") == fees
        external = ledger.balance(ledger.system_account_id(AccountKind.EXTERNAL), "USDC")
        assert external == D(-1015000)  # only the two deposits ever touched the outside world
        (carol_position,) = ledger.positions(carol.account_id)
        assert carol_position.size == D(1)

    forbidden = service.client.get("/liquidations", headers=alice.headers)
    assert forbidden.status_code == 403
    assert service.client.get("/liquidations").status_code == 401
    assert service.client.get("/liquidations?limit=0", headers=service.admin).status_code == 422


def test_liquidations_page_newest_first(own_service: Service) -> None:
    """Two more accounts pushed under the band by one tick are liquidated most underwater
    first (Dave, less collateral, before Erin); the list shows the newest first and pages."""
    service = own_service
    back = service.client.post("/market", headers=service.admin, json={"snapshot": TEST_MARKET})
    assert back.status_code == 200
    dave = service.open_account(deposit=None)
    erin = service.open_account(deposit=None)
    assert service.deposit(dave, "14000", "seed").status_code == 201
    assert service.deposit(erin, "14500", "seed").status_code == 201
    _buy(service, dave, "1", "buy")
    _buy(service, erin, "1", "buy")
    tick = service.client.post(
        "/market", headers=service.admin, json={"tick": {"index_usd": {"BTC": "65000"}}}
    )
    assert tick.status_code == 200
    page = service.client.get("/liquidations?limit=2", headers=service.admin).json()
    assert [e["account_id"] for e in page["liquidations"]] == [erin.account_id, dave.account_id]
    ids = [e["liquidation_id"] for e in page["liquidations"]]
    assert ids == sorted(ids, reverse=True) and page["total"] >= 3
    rest = service.client.get("/liquidations?limit=2&offset=2", headers=service.admin).json()
    assert rest["liquidations"][0]["liquidation_id"] == ids[-1] - 1


def test_oracle_quotes_that_move_the_index_liquidate_too(own_service: Service) -> None:
    """The oracle path moves the market as ``POST /market`` does, so it liquidates the same way:
    Frank (14,000 USDC, long 1 at 72,000) is pushed under the band when two fresh sources quote
    BTC at 65,000 and 65,010 (median 65,005: equity 14,000 − 6,995 = 7,005 USD, under 1.05 ×
    the pm maintenance margin of a 1-BTC perpetual at that price); a tick back to 72,000 first
    makes every earlier account's test independent of this one."""
    service = own_service
    back = service.client.post("/market", headers=service.admin, json={"snapshot": TEST_MARKET})
    assert back.status_code == 200
    before = service.client.get("/liquidations", headers=service.admin).json()["total"]
    frank = service.open_account(deposit=None)
    assert service.deposit(frank, "14000", "seed").status_code == 201
    _buy(service, frank, "1", "buy")
    published = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    quotes = {
        "quotes": {
            "BTC": [
                {"source": source, "price_usd": price, "published_at": published}
                for source, price in (("deribit", "65000"), ("binance", "65010"))
            ]
        }
    }
    moved = service.client.post("/oracle/quotes", headers=service.admin, json=quotes)
    assert moved.status_code == 200, moved.text
    assert moved.json()["moved"] == {"BTC": "65005.0"}
    page = service.client.get("/liquidations", headers=service.admin).json()
    assert page["total"] == before + 1
    newest = page["liquidations"][0]
    assert newest["account_id"] == frank.account_id
    assert newest["health_before"] == "liquidatable" and newest["error"] is None
    assert newest["market_version"] == moved.json()["market_version"]
    with Ledger(service.database_url) as ledger:
        assert ledger.check_invariants().ok
        (position,) = ledger.positions(frank.account_id)
        assert D(0) < position.size < D(1)
