"""Helpers of the service tests: a running service, accounts opened through the API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from support.service_process import ServiceProcess

#: The examples' market (the ``[market]`` table of examples/covered_call.toml).
TEST_MARKET: dict[str, Any] = {
    "valuation_time": "2024-03-11T15:17:00Z",
    "rate_annual": 0.0,
    "index_usd": {"BTC": 72000.0, "ETH": 4000.0},
    "vol_annual": {"BTC": 0.60, "ETH": 0.70},
}

LINEAR_PERP = "BTC_USDC-PERPETUAL"


@dataclass
class Account:
    """An account opened through the API, with its key."""

    account_id: int
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Service:
    """A running service and what the tests need to talk to it."""

    process: ServiceProcess
    database_url: str
    admin_key: str
    client: httpx.Client

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    @property
    def ws_url(self) -> str:
        return self.process.ws_url

    def deposit(
        self, account: Account, amount: str, key: str, currency: str = "USDC"
    ) -> httpx.Response:
        """Credit ``account`` through the API with the admin key (deposits are custody
        operations)."""
        return self.client.post(
            f"/accounts/{account.account_id}/deposits",
            headers=self.admin,
            json={"currency": currency, "amount": amount, "idempotency_key": key},
        )

    def open_account(self, deposit: str | None = "1000000") -> Account:
        """Open an account through the API, optionally funded with USDC (by the admin)."""
        answer = self.client.post("/accounts", headers=self.admin, json={})
        assert answer.status_code == 201, answer.text
        account = Account(answer.json()["account_id"], answer.json()["api_key"])
        if deposit is not None:
            funded = self.deposit(account, deposit, "seed")
            assert funded.status_code == 201, funded.text
        return account


@contextmanager
def pinned_service(database_url: str) -> Iterator[Service]:
    """A service process of its own on ``database_url`` with a fresh admin key, its market
    pinned to :data:`TEST_MARKET` (so no tick of another test moves it)."""
    admin_key = f"admin-{secrets.token_urlsafe(24)}"
    with (
        ServiceProcess(database_url, admin_key) as process,
        httpx.Client(base_url=process.base_url, timeout=60.0) as client,
    ):
        running = Service(process, database_url, admin_key, client)
        pinned = client.post("/market", headers=running.admin, json={"snapshot": TEST_MARKET})
        assert pinned.status_code == 200, pinned.text
        yield running
