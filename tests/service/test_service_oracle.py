"""Oracles over real HTTP: ``POST /oracle/quotes`` moves the market only on a good aggregate,
and while an asset's oracle is unavailable new risk on it is refused (503, with the reason)
while reducing trades, deposits and margin answers go on — flagged, at the last good price.

The service runs on its own (the oracle state of an asset would otherwise reach every test of
the shared service) with a short ``max_age_s`` so quotes go stale within the test.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.databases import ScratchDatabases
from support.service_client import LINEAR_PERP, TEST_MARKET, Account, Service
from support.service_process import ServiceProcess

MAX_AGE_S = 4.0

ORACLES_TOML = f"""
version = "test-oracles.1"

[policy]
max_age_s = {MAX_AGE_S}
max_deviation = 0.02
min_sources = 2

[mark]
ema_window_s = 30.0
max_basis = 0.10

[funding]
interest_rate = 0.0001
interest_clamp = 0.0005
cap = 0.003

[stable_price]
max_growth_per_s = 0.0001
"""


@pytest.fixture
def oracle_service(scratch: ScratchDatabases, tmp_path: Path) -> Iterator[Service]:
    config = tmp_path / "oracles.toml"
    config.write_text(ORACLES_TOML, encoding="utf-8")
    url = scratch.new_url()
    admin_key = f"admin-{secrets.token_urlsafe(24)}"
    environment = {"CROSSMARGIN_ORACLES_CONFIG": str(config)}
    with (
        ServiceProcess(url, admin_key, environment) as process,
        httpx.Client(base_url=process.base_url, timeout=30.0) as client,
    ):
        running = Service(process, url, admin_key, client)
        pinned = client.post("/market", headers=running.admin, json={"snapshot": TEST_MARKET})
        assert pinned.status_code == 200, pinned.text
        yield running


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _quotes(service: Service, prices: dict[str, str], age_s: float = 0.0) -> httpx.Response:
    published = _stamp(datetime.now(UTC) - timedelta(seconds=age_s))
    body = {
        "quotes": {
            "BTC": [
                {"source": source, "price_usd": price, "published_at": published}
                for source, price in prices.items()
            ]
        }
    }
    return service.client.post("/oracle/quotes", headers=service.admin, json=body)


def _trade(service: Service, account: Account, size: str, key: str) -> httpx.Response:
    body = {"instrument": LINEAR_PERP, "size": size, "price": "72100", "idempotency_key": key}
    return service.client.post(
        f"/accounts/{account.account_id}/trades", headers=account.headers, json=body
    )


def _margin(service: Service, account: Account) -> dict[str, Any]:
    answer = service.client.get(f"/accounts/{account.account_id}/margin", headers=account.headers)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


AGREEING = {"deribit": "72100", "binance": "72080", "coinbase": "72120"}


def _refused(answer: httpx.Response, operation: str, cause: str) -> dict[str, Any]:
    assert answer.status_code == 503, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] == "oracle_unavailable" and body["operation"] == operation
    assert body["assets"] == ["BTC"]
    assert cause in body["detail"] and "new risk refused" in body["detail"]
    btc = body["oracle"]["BTC"]
    assert btc["status"] == "unavailable" and btc["min_sources"] == 2
    assert btc["last_good_price_usd"] == "72100.0"
    assert {e["reason"] for e in btc["excluded"]} == {cause}
    return body


def test_the_oracle_feed_is_admin_only_and_strict(oracle_service: Service) -> None:
    service = oracle_service
    account = service.open_account()
    published = _stamp(datetime.now(UTC))
    good = {"quotes": {"BTC": [{"source": "a", "price_usd": "1", "published_at": published}]}}
    assert service.client.post("/oracle/quotes", json=good).status_code == 401
    assert service.client.post("/oracle/quotes", headers=account.headers, json=good).status_code
    forbidden = service.client.post("/oracle/quotes", headers=account.headers, json=good)
    assert forbidden.status_code == 403
    cases = [
        ({"quotes": {"BTC": [{**good["quotes"]["BTC"][0], "price_usd": 1.0}]}}, "price_usd"),
        ({"quotes": {"BTC": [{**good["quotes"]["BTC"][0], "extra": "x"}]}}, "extra"),
        ({"quotes": {"BTC": [{**good["quotes"]["BTC"][0], "price_usd": "0"}]}}, "price_usd"),
        (
            {"quotes": {"BTC": [{**good["quotes"]["BTC"][0], "published_at": "2026-01-01"}]}},
            "published_at",
        ),
        ({"quotes": {"USDC": good["quotes"]["BTC"]}}, "quotes.USDC"),
        ({"quotes": {}}, "quotes"),
    ]
    for body, field in cases:
        answer = service.client.post("/oracle/quotes", headers=service.admin, json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "validation_error"
        assert field in answer.json()["errors"][0]["field"], answer.text
    # A good aggregate far from the index goes through the market checks of POST /market.
    jump = _quotes(service, {"deribit": "100000", "binance": "100010"})
    assert jump.status_code == 422, jump.text
    assert jump.json()["errors"][0]["field"] == "quotes.index_usd.BTC"
    state = service.client.get("/oracle", headers=service.admin)
    assert state.status_code == 200 and state.json()["oracle"] == {}, state.text
    assert state.json()["policy"]["max_age_s"] == MAX_AGE_S


def test_new_risk_is_refused_while_the_oracle_is_unavailable(oracle_service: Service) -> None:
    service = oracle_service
    alice = service.open_account()
    bob = service.open_account()

    # Fresh, agreeing quotes: the index moves to their median and risk is accepted.
    fed = _quotes(service, AGREEING)
    assert fed.status_code == 200, fed.text
    assert fed.json()["moved"] == {"BTC": "72100.0"}
    assert fed.json()["oracle"]["BTC"]["status"] == "ok"
    assert _trade(service, alice, "0.5", "t1").status_code == 201
    assert _margin(service, alice)["oracle"]["BTC"]["status"] == "ok"
    assert _margin(service, bob)["oracle"] == {}

    # The sources disagree: around their median (76,000) the other two lie more than 2 % away,
    # so one source is left, below min_sources = 2.
    spiked = _quotes(service, {"deribit": "72100", "binance": "76000", "coinbase": "80000"})
    assert spiked.status_code == 200, spiked.text
    assert spiked.json()["moved"] == {}
    assert spiked.json()["market_version"] == fed.json()["market_version"]
    assert spiked.json()["oracle"]["BTC"]["status"] == "unavailable"
    body = _refused(_trade(service, alice, "0.5", "t2"), "trade", "outlier")
    assert "deribit (outlier)" in body["detail"] and "coinbase (outlier)" in body["detail"]
    check = service.client.post(
        f"/accounts/{alice.account_id}/orders/check",
        headers=alice.headers,
        json={"instrument": LINEAR_PERP, "size": "-1"},  # flips the long: new risk
    )
    _refused(check, "order_check", "outlier")
    withdrawal = service.client.post(
        f"/accounts/{alice.account_id}/withdrawals",
        headers=alice.headers,
        json={"currency": "USDC", "amount": "10", "idempotency_key": "w1"},
    )
    _refused(withdrawal, "withdrawal", "outlier")
    # Reducing the position, depositing, and an account without BTC withdrawing all pass.
    assert _trade(service, alice, "-0.25", "t3").status_code == 201
    assert service.deposit(alice, "100", "d1").status_code == 201
    paid = service.client.post(
        f"/accounts/{bob.account_id}/withdrawals",
        headers=bob.headers,
        json={"currency": "USDC", "amount": "10", "idempotency_key": "w2"},
    )
    assert paid.status_code == 201, paid.text
    # Margin is still answered, at the last good price, and flagged.
    margin = _margin(service, alice)
    assert float(margin["initial_margin"]) > 0.0
    flag = margin["oracle"]["BTC"]
    assert flag["status"] == "unavailable" and flag["last_good_price_usd"] == "72100.0"
    assert flag["as_of"] is not None and flag["accepts_new_risk"] is False

    # Agreeing quotes again: new risk is accepted.
    assert _quotes(service, AGREEING).json()["oracle"]["BTC"]["status"] == "ok"
    assert _trade(service, alice, "0.5", "t4").status_code == 201

    # The feed stops: once the quotes are older than max_age_s the oracle is unavailable by
    # itself, the same trade is refused as stale, a reducing one passes.
    time.sleep(MAX_AGE_S + 0.5)
    _refused(_trade(service, alice, "0.5", "t5"), "trade", "stale")
    assert _trade(service, alice, "-0.25", "t6").status_code == 201
    assert _margin(service, alice)["oracle"]["BTC"]["status"] == "unavailable"

    # Fresh quotes again: accepted.
    assert _quotes(service, AGREEING).json()["oracle"]["BTC"]["status"] == "ok"
    assert _trade(service, alice, "0.5", "t7").status_code == 201
    assert _margin(service, alice)["oracle"]["BTC"]["status"] == "ok"
