"""The admin key across restarts: generated and printed once on first start (stored only as a
salted hash), kept by a restart, replaced by ``CROSSMARGIN_ADMIN_KEY``; and the app factory's
own checks."""

from __future__ import annotations

import re

import httpx
import pytest

from crossmargin.core.errors import InputError
from crossmargin.service import create_app
from support.databases import ScratchDatabases
from support.service_process import ServiceProcess

_ANNOUNCEMENT = re.compile(r"generated admin key \(shown once; it is stored only hashed\): (\S+)")


def _can_open_accounts(process: ServiceProcess, key: str) -> bool:
    answer = httpx.post(
        f"{process.base_url}/accounts",
        headers={"Authorization": f"Bearer {key}"},
        json={},
        timeout=30,
    )
    return answer.status_code == 201


def test_a_generated_admin_key_is_printed_once_and_survives_restarts(
    scratch: ScratchDatabases,
) -> None:
    url = scratch.new_url()
    with ServiceProcess(url, admin_key=None) as first:
        printed = _ANNOUNCEMENT.findall(first.output())
        assert len(printed) == 1
        generated = printed[0]
        assert _can_open_accounts(first, generated)
    with ServiceProcess(url, admin_key=None) as second:
        assert "admin key" not in second.output()
        assert _can_open_accounts(second, generated)
    replacement = "operator-chosen-admin-key-42"
    with ServiceProcess(url, admin_key=replacement) as third:
        assert _can_open_accounts(third, replacement)
        assert not _can_open_accounts(third, generated)
        assert "admin key" not in third.output()


def test_the_factory_refuses_a_weak_admin_key_and_an_unknown_risk_model(
    scratch: ScratchDatabases,
) -> None:
    with pytest.raises(InputError) as weak:
        create_app(scratch.new_url(), admin_key="short")
    assert weak.value.field == "CROSSMARGIN_ADMIN_KEY" and "short" not in str(weak.value)
    with pytest.raises(InputError) as unknown:
        create_app(scratch.new_url(), admin_key="long-enough-admin-key", risk_model="nope")
    assert unknown.value.field == "CROSSMARGIN_RISK_MODEL"
