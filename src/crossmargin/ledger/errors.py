"""Errors the ledger raises on purpose; all derive from :class:`CrossmarginError`.

Bad input (an amount off the currency quantum, an unknown instrument) raises
:class:`~crossmargin.core.errors.InputError` naming the field; the classes here are the refusals a
caller must handle: a missing account, a conflicting retry, not enough money or margin.
"""

from __future__ import annotations

from decimal import Decimal

from crossmargin.core.errors import CrossmarginError
from crossmargin.ledger.money import canonical_decimal

__all__ = [
    "DuplicateAccountError",
    "IdempotencyConflictError",
    "InsufficientBalanceError",
    "InsufficientMarginError",
    "LedgerError",
    "LedgerIntegrityError",
    "UnknownAccountError",
]


class LedgerError(CrossmarginError):
    """Base class of the ledger's refusals."""


class UnknownAccountError(LedgerError, LookupError):
    """No account has this id (a service answers 404)."""

    def __init__(self, account_id: object) -> None:
        self.account_id = account_id
        super().__init__(f"unknown account {account_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateAccountError(LedgerError):
    """An account with this name exists already."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"an account named {name!r} exists already")


class IdempotencyConflictError(LedgerError):
    """The idempotency key was used before for a different request on the same account."""

    def __init__(self, account_id: int, idempotency_key: str, original_kind: str) -> None:
        self.account_id = account_id
        self.idempotency_key = idempotency_key
        self.original_kind = original_kind
        super().__init__(
            f"idempotency_key {idempotency_key!r} of account {account_id} was already used for a "
            f"different {original_kind} request; use a new key for a new request"
        )


class InsufficientBalanceError(LedgerError):
    """A withdrawal, fee, premium or transfer would make a balance negative (or more negative).

    Attributes hold the account, currency, the balance before and the amount required, all exact.
    """

    def __init__(self, account_id: int, currency: str, balance: Decimal, required: Decimal) -> None:
        self.account_id = account_id
        self.currency = currency
        self.balance = balance
        self.required = required
        super().__init__(
            f"account {account_id}: {currency} balance {canonical_decimal(balance)} does not "
            f"cover {canonical_decimal(required)}"
        )


class InsufficientMarginError(LedgerError):
    """The risk check refused an operation: equity after it would be below the initial margin.

    Attributes (``Decimal``, in ``currency``, USD): ``equity_before``, ``equity_after``,
    ``initial_margin_before``, ``initial_margin_after``; ``operation`` is ``"withdrawal"`` or
    ``"trade"``; ``model`` names the margin model that decided.
    """

    def __init__(
        self,
        account_id: int,
        operation: str,
        *,
        equity_before: Decimal,
        equity_after: Decimal,
        initial_margin_before: Decimal,
        initial_margin_after: Decimal,
        currency: str = "USD",
        model: str = "",
    ) -> None:
        self.account_id = account_id
        self.operation = operation
        self.equity_before = equity_before
        self.equity_after = equity_after
        self.initial_margin_before = initial_margin_before
        self.initial_margin_after = initial_margin_after
        self.currency = currency
        self.model = model
        by = f" ({model} margin)" if model else ""
        super().__init__(
            f"{operation} refused for account {account_id}{by}: equity after {equity_after} "
            f"{currency} < initial margin after {initial_margin_after} {currency} "
            f"(before: equity {equity_before}, initial margin {initial_margin_before})"
        )

    @property
    def shortfall(self) -> Decimal:
        """How much equity is missing after the operation (initial margin − equity, > 0)."""
        return self.initial_margin_after - self.equity_after


class LedgerIntegrityError(LedgerError):
    """Stored data contradicts itself (an unbalanced entry, a gap in the event log, a position
    that does not add up). Never raised for user input; it means the store is corrupt."""
