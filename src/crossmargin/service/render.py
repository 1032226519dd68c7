"""Library objects as JSON-ready dicts: exact amounts as canonical decimal strings.

A :class:`~crossmargin.margin.result.MarginResult` is rendered by
:func:`crossmargin.margin.rendering.margin_result_to_json` (the CLI's ``--json``), then made
strict JSON for the wire: float64 USD amounts (keys whose unit is USD, ending in ``_usd`` but
not ``_per_usd``: mark values, USD delta, contributions, scenario P&L) become the shortest
decimal string that round-trips the float, and a non-finite number (a margin ratio of an account
with no equity) becomes ``null``. Numbers in other units (``delta_coin``, ``gamma_coin_per_usd``,
``vega_usd_per_vol``, ``theta_usd_per_year``) and dimensionless ratios stay JSON numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from crossmargin.ledger import AccountHoldings, EntryRecord, canonical_decimal
from crossmargin.margin.rendering import margin_result_to_json
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot

__all__ = [
    "error_value",
    "render_entry",
    "render_holdings",
    "render_margin",
    "render_market",
    "wire_json",
]


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else canonical_decimal(value)


def render_entry(entry: EntryRecord, account_id: int | None = None) -> dict[str, Any]:
    """An entry with its postings and position changes (amounts as decimal strings), numbered
    in the journal of ``account_id`` (default: the entry's own account) — never by the
    venue-wide event sequence, which would show every account the venue's write rate."""
    viewer = entry.account_id if account_id is None else account_id
    return {
        "account_sequence": entry.sequence_of(viewer),
        "kind": entry.kind.value,
        "account_id": entry.account_id,
        "idempotency_key": entry.idempotency_key,
        "request": dict(entry.request),
        "postings": [
            {
                "account_id": p.account_id,
                "currency": p.currency,
                "amount": canonical_decimal(p.amount),
                "kind": p.kind.value,
            }
            for p in entry.postings
        ],
        "position_changes": [
            {
                "account_id": c.account_id,
                "instrument": c.instrument,
                "size_change": canonical_decimal(c.size_change),
                "size_after": canonical_decimal(c.size_after),
                "average_price_after": _optional(c.average_price_after),
            }
            for c in entry.position_changes
        ],
        "recorded_at": entry.recorded_at.isoformat().replace("+00:00", "Z"),
        "idempotent_replay": entry.idempotent_replay,
    }


def render_holdings(holdings: AccountHoldings) -> dict[str, Any]:
    """An account's balances and positions."""
    return {
        "account_id": holdings.account.account_id,
        "name": holdings.account.name,
        "kind": holdings.account.kind.value,
        "balances": {c: canonical_decimal(a) for c, a in holdings.balances.items()},
        "positions": [
            {
                "instrument": p.instrument,
                "size": canonical_decimal(p.size),
                "average_price": _optional(p.average_price),
            }
            for p in holdings.positions
        ],
        "as_of_account_sequence": holdings.account_sequence,
    }


def _is_usd_amount(key: str) -> bool:
    """Whether a key names a USD amount (unit USD), not a rate per USD."""
    return key.endswith("_usd") and not key.endswith("_per_usd")


def wire_json(value: Any, key: str = "") -> Any:
    """``value`` with USD-amount floats as decimal strings and non-finite floats as ``None``.

    A float is a USD amount when its key's unit is USD (README, "Conventions"): the key ends in
    ``_usd`` but not in ``_per_usd`` (``mark_value_usd``, ``delta_usd``; not
    ``gamma_coin_per_usd``, ``vega_usd_per_vol``).
    """
    if isinstance(value, Mapping):
        return {k: wire_json(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire_json(item, key) for item in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return repr(value) if _is_usd_amount(key) else value
    if isinstance(value, Decimal):
        return canonical_decimal(value)
    return value


def render_margin(result: MarginResult) -> dict[str, Any]:
    """The MarginResult as the CLI renders it, made strict JSON (see the module docstring)."""
    rendered: dict[str, Any] = wire_json(margin_result_to_json(result))
    return rendered


def render_market(version: int, market: MarketSnapshot) -> dict[str, Any]:
    """A summary of the current market."""
    return {
        "market_version": version,
        "valuation_time": market.valuation_time.isoformat().replace("+00:00", "Z"),
        "index_usd": {asset: repr(price) for asset, price in market.index_usd.items()},
        "vol_surfaces": sorted(market.vol_surfaces),
    }


#: Longest echoed string, and most items of an echoed list or object.
MAX_ECHO_CHARS = 64
MAX_ECHO_ITEMS = 8


def _short(text: str) -> str:
    """``text`` cut to :data:`MAX_ECHO_CHARS` (saying how long it was), lone surrogates and
    other unencodable code points escaped."""
    if len(text) > MAX_ECHO_CHARS:
        text = f"{text[:MAX_ECHO_CHARS]}… ({len(text)} characters)"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_value(value: object, depth: int = 0) -> Any:
    """A JSON-safe, bounded rendering of an offending input value: echoed as given where JSON
    allows, strings cut to 64 characters, lists and objects to 8 items and 2 levels, huge
    integers as truncated text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**18 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        return _short(value)
    if isinstance(value, Decimal):
        return _short(canonical_decimal(value) if value.is_finite() else str(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= 2:
        return _short(type(value).__name__)
    if isinstance(value, list | tuple):
        return [error_value(item, depth + 1) for item in value[:MAX_ECHO_ITEMS]]
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ECHO_ITEMS]
        return {_short(str(k)): error_value(v, depth + 1) for k, v in items}
    return _short(str(value))
