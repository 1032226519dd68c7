"""A real service on loopback for the service tests: one uvicorn process per database backend.

Every test runs against an SQLite file and, when ``CROSSMARGIN_TEST_DATABASE_URL`` names a
PostgreSQL server, against a fresh schema there too (skipped with the reason otherwise).
The market is pinned to ``TEST_MARKET`` at the start so margin numbers do not depend on the
shared data set. The shared service tolerates many failed authentications (the auth matrix makes
hundreds from one address); ``test_service_boundary`` checks the default limits on its own
service.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from support.databases import (
    Backend,
    ScratchDatabases,
    postgresql_test_url,
    require_postgresql,
)
from support.service_client import TEST_MARKET, Account, Service
from support.service_process import ServiceProcess


@pytest.fixture(scope="session", params=[Backend.SQLITE, Backend.POSTGRESQL], ids=str)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param is Backend.POSTGRESQL:
        require_postgresql()
    backend: Backend = request.param
    return backend


@pytest.fixture(scope="session")
def scratch(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScratchDatabases]:
    databases = ScratchDatabases(backend, tmp_path_factory.mktemp("service"), postgresql_test_url())
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def service(scratch: ScratchDatabases) -> Iterator[Service]:
    url = scratch.new_url()
    admin_key = f"admin-{secrets.token_urlsafe(24)}"
    generous = {"CROSSMARGIN_AUTH_FAILURE_LIMITS": "client_burst=100000,key_burst=100000"}
    with (
        ServiceProcess(url, admin_key, generous) as process,
        httpx.Client(base_url=process.base_url, timeout=30.0) as client,
    ):
        running = Service(process, url, admin_key, client)
        pinned = client.post("/market", headers=running.admin, json={"snapshot": TEST_MARKET})
        assert pinned.status_code == 200, pinned.text
        yield running


@pytest.fixture(scope="session")
def alice(service: Service) -> Account:
    """A funded account (1,000,000 USDC)."""
    return service.open_account()


@pytest.fixture(scope="session")
def bob(service: Service) -> Account:
    """Another funded account."""
    return service.open_account()
