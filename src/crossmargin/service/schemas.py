"""Request and response bodies (pydantic, ``extra="forbid"``).

Money, sizes and prices travel as decimal strings (``"1000.5"``), never JSON numbers: a number
where a decimal string belongs is refused with a 422 naming the field. The ledger then checks
each amount exactly (currency quantum, sign, range) and its refusals name the field too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "AccountCreate",
    "AccountCreated",
    "AccountOut",
    "CashRequest",
    "CustodyKeyCreated",
    "DecimalText",
    "EntryOut",
    "ErrorOut",
    "HealthOut",
    "LedgerPage",
    "MarketOut",
    "MarketUpdate",
    "OracleQuotes",
    "OrderCheck",
    "OrderCheckOut",
    "PositionChangeOut",
    "PositionOut",
    "PostingOut",
    "QuoteIn",
    "Tick",
    "TradeRequest",
]

_DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _decimal_text(value: object) -> object:
    """Refuse anything but a string before the pattern check (a JSON number is not money)."""
    if not isinstance(value, str):
        raise PydanticCustomError(
            "decimal_string", 'must be a decimal string such as "1000.5", not a JSON number'
        )
    return value


#: A decimal number as text: optional minus, digits, optional fraction; no exponent.
DecimalText = Annotated[
    str,
    StringConstraints(pattern=_DECIMAL_PATTERN, max_length=48),
    BeforeValidator(_decimal_text),
    Field(json_schema_extra={"examples": ["1000.5"]}),
]

_AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,9}$")]
_IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Client-chosen key; a retry with the same key and body posts nothing new.",
    ),
]
_Instrument = Annotated[
    str, Field(min_length=1, max_length=64, examples=["BTC-PERPETUAL", "BTC-29MAR24-70000-C"])
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountCreate(_Strict):
    """``POST /accounts``: an optional unique name (one is generated when absent)."""

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class CustodyKeyCreated(_Strict):
    """A new custody key (deposits to any account, nothing else) — shown this once."""

    api_key: str


class AccountCreated(_Strict):
    """The new account and its API key — shown this once, stored only hashed."""

    account_id: int
    name: str
    api_key: str


class CashRequest(_Strict):
    """A deposit or a withdrawal: ``amount`` > 0 on the currency quantum (1e-6 USDC)."""

    currency: _AssetCode
    amount: DecimalText
    idempotency_key: _IdempotencyKey


class TradeRequest(_Strict):
    """A fill: ``size`` in the instrument's native amount (positive buys), ``price`` USD per coin
    (premium per unit for options), ``fee`` ≥ 0 in the settlement currency."""

    instrument: _Instrument
    size: DecimalText
    price: DecimalText
    fee: DecimalText = "0"
    idempotency_key: _IdempotencyKey


class OrderCheck(_Strict):
    """A pre-trade what-if under any model. Without ``price`` the trade is margined at the mark
    (the forward; the model premium for options); with it, exactly as the ledger would book it
    (premium, fee and realised P&L included)."""

    instrument: _Instrument
    size: DecimalText
    model: str = "pm"
    price: DecimalText | None = None
    fee: DecimalText = "0"


class Tick(_Strict):
    """New index prices in USD per coin."""

    index_usd: Annotated[dict[_AssetCode, DecimalText], Field(min_length=1, max_length=50)]


class MarketUpdate(_Strict):
    """``POST /market``: exactly one of ``snapshot`` (a whole market in the portfolio file's
    ``[market]`` layout; numbers are float64 risk data there) or ``tick`` (index prices)."""

    snapshot: dict[str, Any] | None = None
    tick: Tick | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MarketUpdate:
        if (self.snapshot is None) == (self.tick is None):
            raise PydanticCustomError("one_of", "give exactly one of snapshot and tick")
        return self


class QuoteIn(_Strict):
    """One source's price of one asset (:class:`crossmargin.oracles.Quote`)."""

    source: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    price_usd: DecimalText
    published_at: AwareDatetime
    confidence_usd: DecimalText | None = None


class OracleQuotes(_Strict):
    """``POST /oracle/quotes``: quotes per asset, e.g. ``{"quotes": {"BTC": [{"source":
    "deribit", "price_usd": "72000.5", "published_at": "2026-12-06T10:00:00Z"}]}}``."""

    quotes: Annotated[
        dict[_AssetCode, Annotated[list[QuoteIn], Field(min_length=1, max_length=32)]],
        Field(min_length=1, max_length=50),
    ]


class PostingOut(_Strict):
    """Cash into (> 0) or out of (< 0) one account."""

    account_id: int
    currency: str
    amount: str
    kind: str


class PositionChangeOut(_Strict):
    """A position change of one account."""

    account_id: int
    instrument: str
    size_change: str
    size_after: str
    average_price_after: str | None


class EntryOut(_Strict):
    """A journal entry, numbered in the account's own journal (``account_sequence``: 1, 2, …);
    ``idempotent_replay`` is true when this request was a retry."""

    account_sequence: int | None
    kind: str
    account_id: int
    idempotency_key: str
    request: dict[str, Any]
    postings: list[PostingOut]
    position_changes: list[PositionChangeOut]
    recorded_at: str
    idempotent_replay: bool


class PositionOut(_Strict):
    """An open position: size (native amount) and entry price as decimal strings."""

    instrument: str
    size: str
    average_price: str | None


class AccountOut(_Strict):
    """An account's balances by currency and its positions, as of the account's own entry
    ``as_of_account_sequence``."""

    account_id: int
    name: str
    kind: str
    balances: dict[str, str]
    positions: list[PositionOut]
    as_of_account_sequence: int


class LedgerPage(_Strict):
    """A page of an account's entries, oldest first; ``next_offset`` is null on the last."""

    account_id: int
    limit: int
    offset: int
    next_offset: int | None
    entries: list[EntryOut]


class OrderCheckOut(_Strict):
    """Margin before and after a hypothetical trade under ``model``."""

    account_id: int
    model: str
    instrument: str
    size: str
    price: str | None
    market_version: int
    before: dict[str, Any]
    after: dict[str, Any]
    initial_margin_change: str
    maintenance_margin_change: str
    passes_initial_margin: bool
    uncovered: list[dict[str, str]]
    enforced_model: str
    book_engine: dict[str, Any] | None = None


class MarketOut(_Strict):
    """The market after an update."""

    market_version: int
    valuation_time: str
    index_usd: dict[str, str]
    vol_surfaces: list[str]


class HealthOut(_Strict):
    """Liveness and the database backend."""

    status: str
    database: str
    market_version: int


class ErrorOut(BaseModel):
    """An error: a machine code, a message, and for 422 the fields at fault."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: Any
