"""Accounts: user accounts and the venue's system accounts.

Every posting has a counterparty, so the venue keeps one account per role:

===================  =================================================================
``system:external``  the outside world: deposits come from it, withdrawals go to it
``system:fees``      trading fees collected
``system:insurance`` the insurance fund (penalties in, bankruptcy cover out)
``system:funding``   counterparty of perpetual funding payments
``system:settlement`` central counterparty of every trade and every expiry settlement: it
                     holds the mirror of all positions, so open interest nets to zero
``system:liquidation`` the venue's liquidator, which takes over liquidated positions
===================  =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crossmargin.core.errors import InputError

__all__ = [
    "SYSTEM_ACCOUNT_PREFIX",
    "AccountKind",
    "AccountRecord",
    "parse_account_id",
    "validate_account_name",
]

#: Names of system accounts start with this prefix; user accounts may not use it.
SYSTEM_ACCOUNT_PREFIX = "system:"

_MAX_NAME_LENGTH = 100


class AccountKind(StrEnum):
    """The role of an account; every kind except ``USER`` has exactly one system account."""

    USER = "user"
    EXTERNAL = "external"
    FEES = "fees"
    INSURANCE = "insurance"
    FUNDING = "funding"
    SETTLEMENT = "settlement"
    LIQUIDATION = "liquidation"

    @property
    def is_system(self) -> bool:
        """True for the venue's own accounts."""
        return self is not AccountKind.USER

    @property
    def system_name(self) -> str:
        """The fixed name of the system account of this kind (``"system:fees"``)."""
        if self is AccountKind.USER:
            raise ValueError("user accounts have no system name")
        return f"{SYSTEM_ACCOUNT_PREFIX}{self.value}"

    @property
    def may_go_negative(self) -> bool:
        """True where a negative balance is normal: the outside world, and the counterparties of
        funding, trades, settlements and liquidations. Users, fees and the insurance fund may only
        go negative through a recorded loss."""
        return self in (
            AccountKind.EXTERNAL,
            AccountKind.FUNDING,
            AccountKind.SETTLEMENT,
            AccountKind.LIQUIDATION,
        )

    @property
    def may_trade(self) -> bool:
        """True for accounts that hold positions with entry prices (netted like a user)."""
        return self in (AccountKind.USER, AccountKind.LIQUIDATION, AccountKind.INSURANCE)


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account: its id, unique name and kind."""

    account_id: int
    name: str
    kind: AccountKind


def validate_account_name(raw: object, field: str = "name") -> str:
    """A user account name: 1 to 100 printable characters, not starting with ``system:``."""
    if not isinstance(raw, str) or not raw.strip() or raw != raw.strip():
        raise InputError(field, raw, "must be a non-empty string without surrounding spaces")
    if len(raw) > _MAX_NAME_LENGTH or not raw.isprintable():
        raise InputError(field, raw, f"must be at most {_MAX_NAME_LENGTH} printable characters")
    if raw.startswith(SYSTEM_ACCOUNT_PREFIX):
        raise InputError(field, raw, f"the prefix {SYSTEM_ACCOUNT_PREFIX!r} is reserved")
    return raw


def parse_account_id(raw: object, field: str = "account_id") -> int:
    """An account id: a positive integer (booleans and strings are refused)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise InputError(field, raw, "must be a positive integer account id")
    return raw
