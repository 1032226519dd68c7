"""The venue's order rules: listed instruments, lot and tick sizes, the price band around the
mark, a notional cap per order, and the currencies that may be deposited or withdrawn.

The ledger books whatever it is given exactly; these rules decide what a key may give it. They
load from ``trading_rules.toml`` beside this module (each figure with its source) into frozen
pydantic models, and every refusal is an :class:`~crossmargin.core.errors.InputError` naming the
field and the value (a 422).
"""

from __future__ import annotations

import math
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import STABLECOINS, decimal_to_float
from crossmargin.instruments import Instrument, InstrumentKind, parse_instrument
from crossmargin.ledger.money import LEDGER_CONTEXT, canonical_decimal
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import instrument_arrays, unit_values_usd

__all__ = [
    "DEFAULT_TRADING_RULES",
    "InstrumentRule",
    "TradingRules",
    "check_currency",
    "check_order",
    "load_trading_rules",
    "mark_price",
]

#: The rules shipped with the service.
DEFAULT_TRADING_RULES = Path(__file__).resolve().parent / "trading_rules.toml"

_Positive = Annotated[Decimal, Field(gt=0, max_digits=30, decimal_places=18)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentRule(_Frozen):
    """Lot and tick size of the instruments of one underlying, settlement currency and kinds."""

    underlying: str
    settlement: str
    kinds: tuple[InstrumentKind, ...]
    lot_size: _Positive
    tick_size: _Positive


class TradingRules(_Frozen):
    """The venue's rules (see ``trading_rules.toml`` for each figure's meaning and source)."""

    version: str
    currencies: tuple[str, ...] = Field(min_length=1)
    price_band: float = Field(gt=0.0, lt=1.0)
    option_band_floor: float = Field(ge=0.0, lt=1.0)
    max_order_notional_usd: float = Field(gt=0.0, le=1e12)
    instruments: tuple[InstrumentRule, ...] = Field(min_length=1)

    def rule_for(self, instrument: Instrument) -> InstrumentRule | None:
        """The rule listing ``instrument``, or ``None`` when it is not listed."""
        for rule in self.instruments:
            if (
                rule.underlying == instrument.underlying
                and rule.settlement == instrument.settlement_currency
                and instrument.kind in rule.kinds
            ):
                return rule
        return None


def load_trading_rules(path: Path = DEFAULT_TRADING_RULES) -> TradingRules:
    """Load and validate the rules file at ``path``."""
    with path.open("rb") as handle:
        return TradingRules.model_validate(tomllib.load(handle))


def check_currency(
    rules: TradingRules, market: MarketSnapshot, currency: str, field: str = "currency"
) -> str:
    """``currency`` when it is configured and priced (stablecoins at 1 USD); else a refusal."""
    if currency not in rules.currencies:
        raise InputError(field, currency, f"must be one of {', '.join(rules.currencies)}")
    if currency not in STABLECOINS and currency not in market.index_usd:
        raise InputError(field, currency, "has no index price in the current market")
    return currency


def mark_price(instrument: Instrument, market: MarketSnapshot) -> float:
    """The mark in the trade's price unit: the forward (USD per coin) for delta-one contracts
    and spot, the model premium per unit in the settlement currency for options."""
    if instrument.kind is InstrumentKind.OPTION:
        arrays = instrument_arrays((instrument,), market)
        return float(unit_values_usd(arrays)[0] / arrays.settlement_usd[0])
    return market.forward(instrument.underlying, instrument.expiry)


def _notional_usd(instrument: Instrument, size: float, market: MarketSnapshot) -> float:
    """|size| in USD at the index: inverse futures and perpetuals are sized in USD already."""
    if instrument.is_inverse and instrument.kind is not InstrumentKind.OPTION:
        return abs(size)
    return abs(size) * market.index(instrument.underlying)


def _multiple(value: Decimal, step: Decimal) -> bool:
    return LEDGER_CONTEXT.remainder(value, step) == 0


def check_order(
    rules: TradingRules,
    market: MarketSnapshot,
    instrument_name: str,
    size: Decimal,
    price: Decimal | None,
) -> Instrument:
    """The listed instrument, after checking ``size`` (native amount, non-zero, a multiple of
    the lot, within the notional cap) and ``price`` (a multiple of the tick, within the band
    around the mark); raises :class:`InputError` naming the field otherwise."""
    instrument = parse_instrument(instrument_name)
    rule = rules.rule_for(instrument)
    if rule is None:
        raise InputError("instrument", instrument_name, "is not listed on this venue")
    market.index(instrument.underlying)  # InputError when the underlying has no price
    if size == 0 or not _multiple(size, rule.lot_size):
        raise InputError(
            "size", canonical_decimal(size), f"must be a non-zero multiple of {rule.lot_size}"
        )
    notional = _notional_usd(instrument, decimal_to_float(size), market)
    if not notional <= rules.max_order_notional_usd:
        raise InputError(
            "size",
            canonical_decimal(size),
            f"notional {notional:.6g} USD exceeds {rules.max_order_notional_usd:.6g} USD per order",
        )
    if price is None:
        return instrument
    if price <= 0 or not _multiple(price, rule.tick_size):
        raise InputError(
            "price", canonical_decimal(price), f"must be a positive multiple of {rule.tick_size}"
        )
    mark = mark_price(instrument, market)
    band = rules.price_band * mark
    if instrument.kind is InstrumentKind.OPTION:
        floor = rules.option_band_floor * market.index(instrument.underlying)
        if instrument.is_inverse:
            floor = rules.option_band_floor
        band = max(band, floor)
    given = decimal_to_float(price)
    if not (math.isfinite(mark) and abs(given - mark) <= band):
        raise InputError(
            "price",
            canonical_decimal(price),
            f"must be within {band:.6g} of the mark {mark:.6g} (price band {rules.price_band:.0%})",
        )
    return instrument
