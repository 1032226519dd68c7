"""The portfolio file: market, collateral and positions in one TOML (or JSON) document.

```toml
[market]
valuation_time = "2024-03-11T15:17:00Z"
rate_annual = 0.0
index_usd = { BTC = 72000.0, ETH = 4000.0 }
vol_annual = { BTC = 0.60, ETH = 0.70 }

[collateral]
USDC = 100000
BTC = 1.5

[[positions]]
instrument = "BTC-27DEC24-80000-C"
size = -10
average_price = 0.05   # optional
```
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.core.textfiles import read_text_file
from crossmargin.instruments import InstrumentKind, OptionType, parse_instrument
from crossmargin.market import MarketSnapshot, market_from_dict
from crossmargin.portfolio.model import Portfolio, Position

__all__ = ["PortfolioFile", "load_portfolio_file", "portfolio_from_dict"]

_TOP_KEYS = frozenset({"market", "collateral", "positions", "name", "description"})
_POSITION_KEYS = frozenset({"instrument", "size", "average_price"})


@dataclass(frozen=True, slots=True)
class PortfolioFile:
    """A loaded portfolio file: the account's portfolio and the market to value it at."""

    name: str
    portfolio: Portfolio
    market: MarketSnapshot


def _number(raw: object, field: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InputError(field, raw, "must be a number")
    try:
        return float(raw)
    except ValueError:
        raise InputError(field, raw, "must be a number") from None


def _position(raw: object, index: int) -> Position:
    field = f"positions[{index}]"
    if not isinstance(raw, Mapping):
        raise InputError(field, raw, "must be a table with 'instrument' and 'size'")
    unknown = sorted(set(raw) - _POSITION_KEYS)
    if unknown:
        raise InputError(f"{field}.{unknown[0]}", raw[unknown[0]], "is not a known field")
    for key in ("instrument", "size"):
        if key not in raw:
            raise InputError(f"{field}.{key}", None, "is required")
    name = raw["instrument"]
    if not isinstance(name, str):
        raise InputError(f"{field}.instrument", name, "must be a Deribit-style name")
    try:
        instrument = parse_instrument(name)
    except InputError as error:
        raise InputError(f"{field}.instrument", name, error.reason) from None
    average = raw.get("average_price")
    try:
        return Position(
            instrument,
            _number(raw["size"], f"{field}.size"),
            None if average is None else _number(average, f"{field}.average_price"),
        )
    except InputError as error:
        if error.field.startswith(field):
            raise
        suffix = error.field.rsplit(".", 1)[-1]
        raise InputError(f"{field}.{suffix}", error.value, error.reason) from None


def portfolio_from_dict(raw: Mapping[str, Any]) -> tuple[Portfolio, MarketSnapshot]:
    """Build the portfolio and market of a parsed portfolio document (see the module docstring).

    Raises :class:`InputError` naming the field (``positions[2].size``) and the value.
    """
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise InputError(unknown[0], raw[unknown[0]], "is not a known section")
    if "market" not in raw:
        raise InputError("market", None, "section is required")
    market = market_from_dict(raw["market"])
    collateral = raw.get("collateral", {})
    if not isinstance(collateral, Mapping):
        raise InputError("collateral", collateral, "must be a table of currency = amount")
    positions_raw = raw.get("positions", [])
    if not isinstance(positions_raw, list):
        raise InputError("positions", positions_raw, "must be an array of tables")
    positions = tuple(_position(item, index) for index, item in enumerate(positions_raw))
    portfolio = Portfolio.of(positions, collateral)
    for currency in portfolio.collateral:
        _require_index(market, currency, f"collateral.{currency}")
    for index, position in enumerate(portfolio.positions):
        _check_position_market(position, index, positions_raw[index]["instrument"], market)
    return portfolio, market


def _require_index(market: MarketSnapshot, asset: str, needed_by: str) -> float:
    """The index of ``asset``; an error naming ``market.index_usd.<asset>`` and who needs it."""
    try:
        return market.index(asset)
    except InputError:
        raise InputError(
            f"market.index_usd.{asset}", None, f"is missing: {needed_by} needs a USD index price"
        ) from None


def _check_position_market(
    position: Position, index: int, raw_name: str, market: MarketSnapshot
) -> None:
    """The market covers the position (index, vols), it has not expired, and an option's entry
    premium is one an option could have cost."""
    instrument = position.instrument
    field = f"positions[{index}]"
    who = f"{field} ({raw_name})"
    expiry = instrument.expiry
    if expiry is not None and expiry <= market.valuation_time:
        raise InputError(
            f"{field}.instrument",
            raw_name,
            f"expired at {expiry.isoformat()}, before market.valuation_time "
            f"{market.valuation_time.isoformat()}",
        )
    _require_index(market, instrument.underlying, who)
    settlement_usd = _require_index(market, instrument.settlement_currency, who)
    if instrument.kind is not InstrumentKind.OPTION:
        return
    if instrument.underlying not in market.vol_surfaces:
        raise InputError(
            f"market.vol_annual.{instrument.underlying}",
            None,
            f"is missing: {who} is an option on {instrument.underlying}; give a flat vol "
            "(vol_annual) or smiles ([[market.smile]])",
        )
    if position.average_price is None or instrument.strike is None:
        return
    forward = market.forward(instrument.underlying, expiry)
    bound_usd = forward if instrument.option_type is OptionType.CALL else instrument.strike
    bound = bound_usd / settlement_usd
    if position.average_price > bound:
        currency = instrument.settlement_currency
        raise InputError(
            f"{field}.average_price",
            position.average_price,
            f"is above what a {instrument.option_type} can be worth ({bound:,.6g} {currency}): "
            f"an option's average_price is the premium per unit in {currency}"
            + (
                ""
                if currency in ("USD", "USDC", "USDT")
                else f" (0.05 = 0.05 {currency} of premium per 1 {currency} of underlying)"
            ),
        )


def load_portfolio_file(path: str | Path) -> PortfolioFile:
    """Load a portfolio file (``.toml``, or ``.json``).

    Raises :class:`FileInputError` whose message names the file, the field and the value.
    """
    file_path = Path(path)
    text = read_text_file(file_path)
    try:
        raw = json.loads(text) if file_path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise FileInputError(
            str(file_path), "file", file_path.name, f"is not valid: {error}"
        ) from None
    if not isinstance(raw, dict):
        raise FileInputError(str(file_path), "file", type(raw).__name__, "must hold a table")
    try:
        portfolio, market = portfolio_from_dict(raw)
    except InputError as error:
        raise FileInputError(str(file_path), error.field, error.value, error.reason) from None
    name = raw.get("name", file_path.stem)
    return PortfolioFile(str(name), portfolio, market)
