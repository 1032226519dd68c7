"""The admin key across restarts: generated on first start into a 0600 file whose path (never
the key) is printed, stored only as a keyed hash, kept by a restart, replaced by
``CROSSMARGIN_ADMIN_KEY``; and the app factory's own checks (a weak admin key is refused)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest

from crossmargin.core.errors import InputError
from crossmargin.service import create_app
from support.databases import ScratchDatabases
from support.service_process import ServiceProcess

_ANNOUNCEMENT = re.compile(r"generated an admin key; it is in (\S+) \(mode 0600")


def _can_open_accounts(process: ServiceProcess, key: str) -> bool:
    answer = httpx.post(
        f"{process.base_url}/accounts",
        headers={"Authorization": f"Bearer {key}"},
        json={},
        timeout=30,
    )
    return answer.status_code == 201


def test_a_generated_admin_key_goes_to_a_private_file_and_survives_restarts(
    scratch: ScratchDatabases, tmp_path: Path
) -> None:
    url = scratch.new_url()
    secrets_dir = tmp_path / "secrets"
    with ServiceProcess(url, admin_key=None, secrets_dir=secrets_dir) as first:
        printed = _ANNOUNCEMENT.findall(first.output())
        assert printed == [str(secrets_dir / "admin-key")]
        key_file = Path(printed[0])
        assert key_file.stat().st_mode & 0o777 == 0o600
        generated = key_file.read_text().strip()
        assert generated.startswith("cm_admin_") and generated not in first.output()
        assert _can_open_accounts(first, generated)
    with ServiceProcess(url, admin_key=None, secrets_dir=secrets_dir) as second:
        assert "admin key" not in second.output()
        assert _can_open_accounts(second, generated)
    replacement = "operator-chosen-" + secrets.token_urlsafe(32)
    with ServiceProcess(url, admin_key=replacement, secrets_dir=secrets_dir) as third:
        assert _can_open_accounts(third, replacement)
        assert not _can_open_accounts(third, generated)
        assert "admin key" not in third.output()


def test_the_factory_refuses_a_weak_admin_key_and_an_unknown_risk_model(
    scratch: ScratchDatabases,
) -> None:
    for weak_key in ("short", "operator-chosen-admin-key-42", "a" * 200, "ab" * 60):
        with pytest.raises(InputError) as weak:
            create_app(scratch.new_url(), admin_key=weak_key)
        assert weak.value.field == "CROSSMARGIN_ADMIN_KEY" and weak_key not in str(weak.value)
    with pytest.raises(InputError) as unknown:
        create_app(scratch.new_url(), admin_key=secrets.token_urlsafe(32), risk_model="nope")
    assert unknown.value.field == "CROSSMARGIN_RISK_MODEL"
