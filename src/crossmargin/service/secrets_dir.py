"""The service's secrets on disk: the key-hashing secret and a generated admin key.

Both live in one directory (``CROSSMARGIN_SECRETS_DIR``, default ``./crossmargin-secrets``),
created with mode 0700; each file is written with mode 0600 and never printed:

* ``key-secret`` — 32 random bytes (hex) that key the HMAC-SHA-256 of every API key
  (:mod:`crossmargin.service.keys`). Created on first start. The database alone (a dump, a
  backup) is then not enough to test guesses of a key against its stored hash. Lose it and every
  stored key stops verifying (set a new admin key and reissue account keys).
* ``admin-key`` — the admin key the service generated on first start when none was configured;
  the service prints only this file's path.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from crossmargin.core.errors import InputError

__all__ = [
    "ADMIN_KEY_FILE",
    "KEY_SECRET_FILE",
    "SECRETS_DIR_ENV",
    "load_or_create_key_secret",
    "secrets_dir",
    "write_private_file",
]

#: Environment variable naming the secrets directory.
SECRETS_DIR_ENV = "CROSSMARGIN_SECRETS_DIR"

#: File names inside the directory.
KEY_SECRET_FILE = "key-secret"
ADMIN_KEY_FILE = "admin-key"

_DEFAULT_DIR = "crossmargin-secrets"
_SECRET_BYTES = 32


def secrets_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The secrets directory (created with mode 0700 when missing), as an absolute path."""
    variables = os.environ if environ is None else environ
    directory = Path(variables.get(SECRETS_DIR_ENV, "").strip() or _DEFAULT_DIR).resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (mode 0600, also when it existed)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, text.encode("ascii"))
    finally:
        os.close(descriptor)


def load_or_create_key_secret(directory: Path) -> bytes:
    """The HMAC secret in ``directory/key-secret``, created (0600) on first use."""
    path = directory / KEY_SECRET_FILE
    if not path.exists():
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile
        else:
            try:
                os.write(descriptor, secrets.token_hex(_SECRET_BYTES).encode("ascii"))
            finally:
                os.close(descriptor)
    text = path.read_text(encoding="ascii").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < _SECRET_BYTES:
        raise InputError(
            SECRETS_DIR_ENV, str(path), f"must hold {_SECRET_BYTES} random bytes as hex"
        )
    return secret
