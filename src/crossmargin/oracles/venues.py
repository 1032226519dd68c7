"""Adapters for public venue endpoints: Deribit index and ticker, Binance premium index.

Each adapter turns a JSON response body into a frozen value and a :class:`Quote`. The transport is
injected (``fetch(path, params) -> body``), so the library never opens a socket: the tests pass a
function that reads recorded responses, a live deployment passes an HTTP client.

Formats (public API references):

* Deribit ``GET /api/v2/public/get_index_price?index_name=btc_usd`` — JSON-RPC envelope with
  ``result.index_price`` and ``result.estimated_delivery_price``; the envelope's ``usOut`` (µs since
  the epoch) dates it.
* Deribit ``GET /api/v2/public/ticker?instrument_name=BTC-PERPETUAL`` — ``result`` with
  ``timestamp`` (ms), ``index_price``, ``mark_price``, ``best_bid_price``, ``best_ask_price``,
  ``last_price`` and, for perpetuals, ``current_funding`` and ``funding_8h``.
* Binance USDⓈ-M ``GET /fapi/v1/premiumIndex?symbol=BTCUSDT`` — ``markPrice``, ``indexPrice``,
  ``estimatedSettlePrice``, ``lastFundingRate``, ``interestRate`` (decimal strings),
  ``nextFundingTime`` and ``time`` (ms). Prices are USDT, used as USD.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crossmargin.core.errors import InputError
from crossmargin.oracles.quotes import Quote

__all__ = [
    "BinancePremiumIndex",
    "BinancePremiumIndexSource",
    "DeribitIndexSource",
    "DeribitTicker",
    "Fetch",
    "parse_binance_premium_index",
    "parse_deribit_index",
    "parse_deribit_ticker",
]

#: ``fetch(path, params) -> response body``: the injected transport.
Fetch = Callable[[str, Mapping[str, str]], str]


def _document(body: str, venue: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise InputError(venue, body[:80], f"is not JSON: {error.msg}") from None


def _number(table: Mapping[str, Any], key: str, field: str, positive: bool = True) -> float:
    if key not in table:
        raise InputError(f"{field}.{key}", None, "is missing")
    raw = table[key]
    try:
        number = float(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise InputError(f"{field}.{key}", raw, "is not a number") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise InputError(f"{field}.{key}", raw, "is not a number")
    if not math.isfinite(number) or (positive and number <= 0):
        raise InputError(f"{field}.{key}", raw, "must be finite" + (" and > 0" if positive else ""))
    return float(number)


def _optional(table: Mapping[str, Any], key: str, field: str) -> float | None:
    if table.get(key) in (None, ""):
        return None
    return _number(table, key, field, positive=False)


def _from_ms(raw: float, field: str) -> datetime:
    if raw <= 0:
        raise InputError(field, raw, "must be a positive epoch time")
    return datetime.fromtimestamp(raw / 1000.0, tz=UTC)


def _result(body: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    document = _document(body, "deribit")
    if not isinstance(document, Mapping):
        raise InputError("deribit", type(document).__name__, "must be a JSON-RPC object")
    if "error" in document:
        raise InputError("deribit.error", document["error"], "the venue returned an error")
    result = document.get("result")
    if not isinstance(result, Mapping):
        raise InputError("deribit.result", result, "must be an object")
    return document, result


def parse_deribit_index(body: str, asset: str) -> Quote:
    """Quote from a Deribit ``public/get_index_price`` response.

    Returns
    -------
    Quote
        Source ``"deribit"``, the index in USD per coin, published at the envelope's ``usOut``.
    """
    document, result = _result(body)
    price = _number(result, "index_price", "deribit.result")
    published = _number(document, "usOut", "deribit") / 1000.0
    return Quote("deribit", price, _from_ms(published, f"deribit.usOut ({asset})"))


@dataclass(frozen=True, slots=True)
class DeribitTicker:
    """The fields of a Deribit ``public/ticker`` response the oracle uses (USD per coin;
    funding rates as fractions, ``funding_8h`` per 8 hours)."""

    instrument: str
    timestamp: datetime
    index_price_usd: float
    mark_price_usd: float
    best_bid_usd: float | None
    best_ask_usd: float | None
    last_price_usd: float | None
    current_funding: float | None
    funding_8h: float | None

    def index_quote(self) -> Quote:
        """The ticker's index price as a quote from ``"deribit"``."""
        return Quote("deribit", self.index_price_usd, self.timestamp)


def parse_deribit_ticker(body: str) -> DeribitTicker:
    """Parse a Deribit ``public/ticker`` response; a missing or bad field raises
    :class:`InputError` naming it (``deribit.result.mark_price``)."""
    _, result = _result(body)
    field = "deribit.result"
    instrument = result.get("instrument_name")
    if not isinstance(instrument, str) or not instrument:
        raise InputError(f"{field}.instrument_name", instrument, "must be a name")
    return DeribitTicker(
        instrument=instrument,
        timestamp=_from_ms(_number(result, "timestamp", field), f"{field}.timestamp"),
        index_price_usd=_number(result, "index_price", field),
        mark_price_usd=_number(result, "mark_price", field),
        best_bid_usd=_optional(result, "best_bid_price", field),
        best_ask_usd=_optional(result, "best_ask_price", field),
        last_price_usd=_optional(result, "last_price", field),
        current_funding=_optional(result, "current_funding", field),
        funding_8h=_optional(result, "funding_8h", field),
    )


@dataclass(frozen=True, slots=True)
class BinancePremiumIndex:
    """A Binance USDⓈ-M ``premiumIndex`` entry (prices USDT per coin, rates as fractions per
    funding interval)."""

    symbol: str
    time: datetime
    mark_price_usd: float
    index_price_usd: float
    estimated_settle_price_usd: float | None
    last_funding_rate: float | None
    interest_rate: float | None
    next_funding_time: datetime | None

    def index_quote(self) -> Quote:
        """The index price as a quote from ``"binance"``."""
        return Quote("binance", self.index_price_usd, self.time)


def parse_binance_premium_index(body: str) -> BinancePremiumIndex:
    """Parse a Binance ``/fapi/v1/premiumIndex`` response for one symbol (an object, or a list
    holding exactly one)."""
    document = _document(body, "binance")
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    if not isinstance(document, Mapping):
        raise InputError("binance", type(document).__name__, "must be one premiumIndex object")
    if "code" in document and "msg" in document:
        raise InputError(
            "binance.code", document["code"], f"the venue returned {document['msg']!r}"
        )
    symbol = document.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise InputError("binance.symbol", symbol, "must be a symbol")
    next_funding = _optional(document, "nextFundingTime", "binance")
    return BinancePremiumIndex(
        symbol=symbol,
        time=_from_ms(_number(document, "time", "binance"), "binance.time"),
        mark_price_usd=_number(document, "markPrice", "binance"),
        index_price_usd=_number(document, "indexPrice", "binance"),
        estimated_settle_price_usd=_optional(document, "estimatedSettlePrice", "binance"),
        last_funding_rate=_optional(document, "lastFundingRate", "binance"),
        interest_rate=_optional(document, "interestRate", "binance"),
        next_funding_time=_from_ms(next_funding, "binance.nextFundingTime")
        if next_funding
        else None,
    )


@dataclass(frozen=True)
class DeribitIndexSource:
    """Deribit's index as a :class:`~crossmargin.oracles.sources.PriceSource`."""

    fetch: Fetch
    name: str = "deribit"

    def quotes(self, asset: str, now: datetime) -> Sequence[Quote]:
        """Ask ``public/get_index_price`` for ``<asset>_usd``; the quote is dated by the venue
        (the aggregator judges its age against ``now``)."""
        body = self.fetch("/api/v2/public/get_index_price", {"index_name": f"{asset.lower()}_usd"})
        return (parse_deribit_index(body, asset),)


@dataclass(frozen=True)
class BinancePremiumIndexSource:
    """Binance's USDⓈ-M index price (``<asset>USDT``) as a price source."""

    fetch: Fetch
    name: str = "binance"

    def quotes(self, asset: str, now: datetime) -> Sequence[Quote]:
        """Ask ``/fapi/v1/premiumIndex`` for ``<asset>USDT``; the quote is its index price."""
        body = self.fetch("/fapi/v1/premiumIndex", {"symbol": f"{asset}USDT"})
        return (parse_binance_premium_index(body).index_quote(),)
