"""API keys: random bearer tokens, stored only as salted scrypt hashes.

A key is ``cm_<key_id>_<secret>``: ``key_id`` is a public random identifier (16 hex digits) that
finds the row, ``secret`` is :func:`secrets.token_urlsafe` (256 bits). The database keeps
``scrypt(token, salt)`` and the salt, never the token, in the service's own table
``service_api_keys`` (:data:`KEY_METADATA`, created at start-up next to the ledger's tables; the
ledger's Alembic migrations do not know it).

One row per account key (scope ``account``) and one admin row (key id ``admin``, scope
``admin``). The admin key is whatever ``CROSSMARGIN_ADMIN_KEY`` says (any printable string of 16
or more characters), or a generated ``cm_admin_<secret>``; a token that is not of the account-key
form is checked against the admin row.

scrypt costs about 50 ms on purpose, so a stolen table cannot be searched; once a token has been
verified, the process remembers an HMAC-SHA-256 of it under a per-process random pepper, so a
client's later requests cost microseconds. Only successful verifications are remembered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from crossmargin.core.errors import InputError
from crossmargin.ledger.database import WRITE_OPTION

__all__ = [
    "ADMIN_KEY_ID",
    "KEY_METADATA",
    "MIN_ADMIN_KEY_LENGTH",
    "KeyScope",
    "KeyStore",
    "Principal",
    "hash_token",
    "validate_admin_key",
    "verify_token",
]

#: Key id of the admin row.
ADMIN_KEY_ID = "admin"

#: An admin key from the environment must be at least this long.
MIN_ADMIN_KEY_LENGTH = 16

_PREFIX = "cm"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LENGTH = 2**14, 8, 1, 32
_CACHE_LIMIT = 4096

#: The service's own tables (not part of the ledger's migrations).
KEY_METADATA = MetaData()

API_KEYS = Table(
    "service_api_keys",
    KEY_METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("scope", String(16), nullable=False),
    Column("account_id", Integer, nullable=True),
    Column("key_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class KeyScope(StrEnum):
    """What a key may do."""

    ADMIN = "admin"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified key belongs to: the admin, or one account."""

    scope: KeyScope
    account_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """True for the admin key."""
        return self.scope is KeyScope.ADMIN

    def may_access(self, account_id: int) -> bool:
        """True when this key may read and change ``account_id``."""
        return self.is_admin or self.account_id == account_id


def _scrypt(token: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        token.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=2**26
    )


def hash_token(token: str) -> str:
    """``scrypt$n$r$p$<salt hex>$<hash hex>`` of ``token`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(token, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LENGTH)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_token(token: str, stored: str) -> bool:
    """True when ``token`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        expected = bytes.fromhex(digest_hex)
        if scheme != "scrypt":
            return False
        actual = _scrypt(token, bytes.fromhex(salt_hex), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_token("crossmargin-dummy-token")


def _key_id_of(token: str) -> str | None:
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    return key_id if prefix == _PREFIX and key_id and secret else None


def validate_admin_key(raw: str, field: str = "CROSSMARGIN_ADMIN_KEY") -> str:
    """An operator-chosen admin key: printable, no spaces, at least 16 characters, and not of
    the account-key form ``cm_<key id>_…`` (``cm_admin_…`` is fine)."""
    if len(raw) < MIN_ADMIN_KEY_LENGTH or not raw.isprintable() or any(c.isspace() for c in raw):
        raise InputError(
            field,
            "<hidden>",
            f"must be at least {MIN_ADMIN_KEY_LENGTH} printable characters without spaces",
        )
    if _key_id_of(raw) not in (None, ADMIN_KEY_ID):
        raise InputError(field, "<hidden>", "must not look like an account key (cm_<id>_...)")
    return raw


class KeyStore:
    """The key table of one database, with the verification cache described above.

    Parameters
    ----------
    engine:
        An engine from :func:`crossmargin.ledger.create_ledger_engine` (the table is created on
        construction when missing).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        KEY_METADATA.create_all(self._writer)
        self._pepper = secrets.token_bytes(32)
        self._verified: dict[bytes, Principal] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def ping(self) -> None:
        """Run a trivial query (raises when the database is unreachable)."""
        with self._engine.connect() as connection:
            connection.execute(select(API_KEYS.c.key_id).limit(1)).all()

    # -- issuing -------------------------------------------------------------------------------

    def issue_account_key(self, account_id: int) -> str:
        """A new key for ``account_id``; the token is returned once and stored only hashed."""
        key_id = secrets.token_hex(8)
        token = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with self._writer.begin() as connection:
            connection.execute(
                insert(API_KEYS).values(
                    key_id=key_id,
                    scope=KeyScope.ACCOUNT.value,
                    account_id=account_id,
                    key_hash=hash_token(token),
                    created_at=datetime.now(UTC),
                )
            )
        return token

    def set_admin_key(self, token: str) -> None:
        """Make ``token`` the admin key, replacing any stored one."""
        row = self._admin_row(validate_admin_key(token))
        with self._writer.begin() as connection:
            connection.execute(delete(API_KEYS).where(API_KEYS.c.key_id == ADMIN_KEY_ID))
            connection.execute(insert(API_KEYS).values(**row))

    def ensure_admin_key(self) -> str | None:
        """Create an admin key when the database has none; returns the new token (to show
        once), or ``None`` when one was stored already (by this or a concurrent process)."""
        token = f"{_PREFIX}_{ADMIN_KEY_ID}_{secrets.token_urlsafe(32)}"
        row = self._admin_row(token)
        try:
            with self._writer.begin() as connection:
                query = select(API_KEYS.c.key_id).where(API_KEYS.c.key_id == ADMIN_KEY_ID)
                if connection.execute(query).first() is not None:
                    return None
                connection.execute(insert(API_KEYS).values(**row))
        except IntegrityError:
            return None  # another process stored one first
        return token

    @staticmethod
    def _admin_row(token: str) -> dict[str, object]:
        return {
            "key_id": ADMIN_KEY_ID,
            "scope": KeyScope.ADMIN.value,
            "account_id": None,
            "key_hash": hash_token(token),
            "created_at": datetime.now(UTC),
        }

    # -- verifying -----------------------------------------------------------------------------

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before in this process (fast; no database)."""
        with self._lock:
            return self._verified.get(self._fingerprint(token))

    def authenticate(self, token: str) -> Principal | None:
        """The principal ``token`` belongs to, or ``None`` (slow on a cache miss: scrypt)."""
        known = self.cached(token)
        if known is not None:
            return known
        key_id = _key_id_of(token)
        row = self._row(key_id) if key_id is not None else None
        if row is None:
            row = self._row(ADMIN_KEY_ID)
        if row is None:
            verify_token(token, _DUMMY_HASH)  # same cost whether or not a row exists
            return None
        scope, account_id, stored = row
        if not verify_token(token, stored):
            return None
        principal = Principal(KeyScope(scope), account_id)
        with self._lock:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[self._fingerprint(token)] = principal
        return principal

    def _fingerprint(self, token: str) -> bytes:
        return hmac.new(self._pepper, token.encode("utf-8"), hashlib.sha256).digest()

    def _row(self, key_id: str) -> tuple[str, int | None, str] | None:
        query = select(API_KEYS.c.scope, API_KEYS.c.account_id, API_KEYS.c.key_hash).where(
            API_KEYS.c.key_id == key_id
        )
        with self._engine.connect() as connection:
            found = connection.execute(query).first()
        if found is None:
            return None
        return str(found[0]), None if found[1] is None else int(found[1]), str(found[2])
