"""Decimal double-entry ledger: accounts, journal, SQL storage, event log and replay.

* :class:`Ledger` — open accounts; deposit, withdraw, trade, pay funding, settle expiries,
  transfer liquidated positions, move insurance-fund money; read balances, positions, the
  account as a :class:`~crossmargin.portfolio.Portfolio`, entries and events; check invariants.
* Money is ``Decimal`` on each currency's quantum (:mod:`crossmargin.ledger.money`); every entry
  sums to zero per currency, and positions sum to zero per instrument.
* Storage: SQLAlchemy 2 on SQLite (default ``./crossmargin.db``) or PostgreSQL
  (``CROSSMARGIN_DATABASE_URL``), schema by Alembic (:func:`upgrade_database`).
* The append-only event log replays to the live state byte for byte (:func:`replay`,
  :func:`state_to_bytes`).
* Withdrawals and trades may be margin-checked by an injected :class:`RiskCheck`.
"""

from crossmargin.ledger.accounts import AccountKind, AccountRecord
from crossmargin.ledger.database import (
    DATABASE_URL_ENV,
    create_ledger_engine,
    database_url,
    head_revision,
    upgrade_database,
)
from crossmargin.ledger.entries import (
    LOSS_POSTING_KINDS,
    EntryKind,
    EntryRecord,
    PositionChange,
    Posting,
    PostingKind,
)
from crossmargin.ledger.errors import (
    DuplicateAccountError,
    IdempotencyConflictError,
    InsufficientBalanceError,
    InsufficientMarginError,
    LedgerError,
    LedgerIntegrityError,
    UnknownAccountError,
)
from crossmargin.ledger.events import LedgerEvent, canonical_json
from crossmargin.ledger.funding import (
    BINANCE_BTCUSDT_FUNDING_8H,
    FundingRate,
    funding_idempotency_key,
    load_binance_funding,
    replay_funding,
)
from crossmargin.ledger.invariants import InvariantReport
from crossmargin.ledger.ledger import Ledger
from crossmargin.ledger.money import DecimalInput, canonical_decimal, round_cash_to_account
from crossmargin.ledger.risk import MarginModelRiskCheck, MarginScreen, RiskCheck, TradePreview
from crossmargin.ledger.state import (
    AccountHoldings,
    LedgerPosition,
    LedgerState,
    replay,
    state_to_bytes,
)

__all__ = [
    "BINANCE_BTCUSDT_FUNDING_8H",
    "DATABASE_URL_ENV",
    "LOSS_POSTING_KINDS",
    "AccountHoldings",
    "AccountKind",
    "AccountRecord",
    "DecimalInput",
    "DuplicateAccountError",
    "EntryKind",
    "EntryRecord",
    "FundingRate",
    "IdempotencyConflictError",
    "InsufficientBalanceError",
    "InsufficientMarginError",
    "InvariantReport",
    "Ledger",
    "LedgerError",
    "LedgerEvent",
    "LedgerIntegrityError",
    "LedgerPosition",
    "LedgerState",
    "MarginModelRiskCheck",
    "MarginScreen",
    "PositionChange",
    "Posting",
    "PostingKind",
    "RiskCheck",
    "TradePreview",
    "UnknownAccountError",
    "canonical_decimal",
    "canonical_json",
    "create_ledger_engine",
    "database_url",
    "funding_idempotency_key",
    "head_revision",
    "load_binance_funding",
    "replay",
    "replay_funding",
    "round_cash_to_account",
    "state_to_bytes",
    "upgrade_database",
]
