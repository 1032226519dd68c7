"""API keys: random bearer tokens, stored only as keyed hashes (HMAC-SHA-256).

A key is ``cm_<key_id>_<secret>``: ``key_id`` a public random identifier (16 hex digits),
``secret`` :func:`secrets.token_urlsafe` (256 bits). The database keeps
``hmac-sha256$<HMAC-SHA-256(server secret, token) hex>``, never the token, in the service's own
table ``service_api_keys`` (:data:`KEY_METADATA`, created at start-up next to the ledger's
tables). The server secret is not in the database (:mod:`crossmargin.service.secrets_dir`).

Keys are random 256-bit secrets, so a slow password hash buys nothing: guessing is hopeless
either way, and scrypt's 50 ms per failed guess let a flood of wrong keys stall everyone. An HMAC
costs about a microsecond; the process keeps every key's hash in memory (loaded at start-up,
added when issued), so verifying never touches the database or a worker thread.

Scopes: ``admin`` (everything), ``account`` (one account: read it, withdraw, trade),
``custody`` (credit deposits to any account; nothing else). The admin key is
``CROSSMARGIN_ADMIN_KEY`` (at least 128 bits by estimate, :func:`validate_admin_key`) or a
generated ``cm_admin_<secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, delete, insert
from sqlalchemy import select as sql_select

from crossmargin.core.errors import InputError
from crossmargin.ledger.database import WRITE_OPTION

__all__ = [
    "ADMIN_KEY_ID",
    "API_KEYS",
    "KEY_METADATA",
    "MIN_ADMIN_KEY_BITS",
    "KeyScope",
    "KeyStore",
    "Principal",
    "estimated_entropy_bits",
    "key_id_of",
    "validate_admin_key",
]

#: Key id of the admin row.
ADMIN_KEY_ID = "admin"

#: An operator-chosen admin key must carry at least this many bits (estimated).
MIN_ADMIN_KEY_BITS = 128

_PREFIX = "cm"
_SCHEME = "hmac-sha256"
_MAX_TOKEN_LENGTH = 256

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
    CUSTODY = "custody"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified key belongs to: the admin, one account, or a custodian; ``key_id`` names
    the key (for per-key limits)."""

    scope: KeyScope
    account_id: int | None = None
    key_id: str = ""

    @property
    def is_admin(self) -> bool:
        """True for the admin key."""
        return self.scope is KeyScope.ADMIN

    def may_access(self, account_id: int) -> bool:
        """True when this key may read ``account_id`` and withdraw or trade on it."""
        return self.is_admin or (self.scope is KeyScope.ACCOUNT and self.account_id == account_id)

    @property
    def may_deposit(self) -> bool:
        """True for the keys that may credit any account from outside: admin and custody."""
        return self.scope in (KeyScope.ADMIN, KeyScope.CUSTODY)


def estimated_entropy_bits(token: str) -> float:
    """Length × the empirical Shannon entropy per character: an upper estimate of a string's
    randomness (``"a" * 64`` → 0; 43 characters of :func:`secrets.token_urlsafe` → about 215)."""
    if not token:
        return 0.0
    counts = Counter(token)
    per_char = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return len(token) * per_char


def key_id_of(token: str) -> str | None:
    """The key id of a token of the form ``cm_<key id>_<secret>`` (else ``None``)."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    return key_id if prefix == _PREFIX and key_id and secret else None


def validate_admin_key(raw: str, field: str = "CROSSMARGIN_ADMIN_KEY") -> str:
    """An operator-chosen admin key: printable, no spaces, at least 128 bits by
    :func:`estimated_entropy_bits` (e.g. ``secrets.token_urlsafe(32)``), and not of the
    account-key form ``cm_<key id>_…`` (``cm_admin_…`` is fine). The key is never echoed."""
    if not raw.isprintable() or any(c.isspace() for c in raw) or len(raw) > _MAX_TOKEN_LENGTH:
        raise InputError(field, "<hidden>", "must be printable characters without spaces")
    if estimated_entropy_bits(raw) < MIN_ADMIN_KEY_BITS:
        raise InputError(
            field,
            "<hidden>",
            f"must carry at least {MIN_ADMIN_KEY_BITS} bits of entropy (e.g. python -c 'import "
            "secrets; print(secrets.token_urlsafe(32))')",
        )
    if key_id_of(raw) not in (None, ADMIN_KEY_ID):
        raise InputError(field, "<hidden>", "must not look like an account key (cm_<id>_...)")
    return raw


class KeyStore:
    """The key table of one database and the in-memory index of its hashes.

    Parameters
    ----------
    engine:
        An engine from :func:`crossmargin.ledger.create_ledger_engine` (the table is created on
        construction when missing).
    secret:
        The server secret keying the HMAC (32 bytes or more).
    """

    def __init__(self, engine: Engine, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the key secret must be at least 32 bytes")
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._secret = secret
        self._lock = threading.Lock()
        KEY_METADATA.create_all(self._writer)
        self._by_hash: dict[str, Principal] = {}
        self._load()

    def _load(self) -> None:
        query = sql_select(
            API_KEYS.c.key_id, API_KEYS.c.scope, API_KEYS.c.account_id, API_KEYS.c.key_hash
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        index = {
            str(digest): Principal(
                KeyScope(scope), None if account is None else int(account), key_id
            )
            for key_id, scope, account, digest in rows
        }
        with self._lock:
            self._by_hash = index

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def ping(self) -> None:
        """Run a trivial query (raises when the database is unreachable)."""
        with self._engine.connect() as connection:
            connection.execute(sql_select(API_KEYS.c.key_id).limit(1)).all()

    def hash_token(self, token: str) -> str:
        """``hmac-sha256$<hex>`` of ``token`` under the server secret."""
        digest = hmac.new(self._secret, token.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"{_SCHEME}${digest.hexdigest()}"

    # -- issuing -------------------------------------------------------------------------------

    def _store(self, key_id: str, scope: KeyScope, account_id: int | None, token: str) -> None:
        digest = self.hash_token(token)
        row = {
            "key_id": key_id,
            "scope": scope.value,
            "account_id": account_id,
            "key_hash": digest,
            "created_at": datetime.now(UTC),
        }
        with self._writer.begin() as connection:
            if key_id == ADMIN_KEY_ID:
                connection.execute(delete(API_KEYS).where(API_KEYS.c.key_id == ADMIN_KEY_ID))
            connection.execute(insert(API_KEYS).values(**row))
        with self._lock:
            if key_id == ADMIN_KEY_ID:
                self._by_hash = {h: p for h, p in self._by_hash.items() if not p.is_admin}
            self._by_hash[digest] = Principal(scope, account_id, key_id)

    def _issue(self, scope: KeyScope, account_id: int | None) -> str:
        key_id = secrets.token_hex(8)
        token = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        self._store(key_id, scope, account_id, token)
        return token

    def issue_account_key(self, account_id: int) -> str:
        """A new key for ``account_id``; the token is returned once and stored only hashed."""
        return self._issue(KeyScope.ACCOUNT, account_id)

    def issue_custody_key(self) -> str:
        """A new custody key (deposits to any account); returned once, stored only hashed."""
        return self._issue(KeyScope.CUSTODY, None)

    def set_admin_key(self, token: str) -> None:
        """Make ``token`` the admin key, replacing any stored one."""
        self._store(ADMIN_KEY_ID, KeyScope.ADMIN, None, validate_admin_key(token))

    def has_admin_key(self) -> bool:
        """True when an admin key is stored."""
        with self._lock:
            return any(p.is_admin for p in self._by_hash.values())

    def create_admin_key(self) -> str:
        """Generate and store a new admin key; returns the token (to hand over once)."""
        token = f"{_PREFIX}_{ADMIN_KEY_ID}_{secrets.token_urlsafe(32)}"
        self._store(ADMIN_KEY_ID, KeyScope.ADMIN, None, token)
        return token

    # -- verifying -----------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal | None:
        """The principal ``token`` belongs to, or ``None`` (an HMAC and a dict look-up)."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        digest = self.hash_token(token)
        with self._lock:
            return self._by_hash.get(digest)
