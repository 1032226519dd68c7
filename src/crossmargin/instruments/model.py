"""Instruments as frozen values: spot, linear/inverse futures and perpetuals, European options.

An instrument is pure contract data; pricing lives in :mod:`crossmargin.pricing`. Sizes of positions
follow Deribit (DESIGN.md §2): inverse futures and perpetuals are sized in USD of face value and
settle in coin; linear contracts, spot and options are sized in coin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc
from crossmargin.instruments.formatting import format_name
from crossmargin.instruments.kinds import InstrumentKind, OptionType

__all__ = ["Instrument", "InstrumentKind", "OptionType"]


_LINEAR_QUOTES = frozenset({"USDC", "USDT", "USD"})


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable contract.

    Attributes
    ----------
    underlying:
        The asset whose price drives the contract (``"BTC"``).
    settlement_currency:
        Currency P&L and premium settle in: the underlying coin for inverse contracts, the
        stablecoin (``"USDC"``) for linear ones. For spot pairs this is the quote currency.
    kind:
        :class:`InstrumentKind`.
    expiry:
        Timezone-aware UTC expiry (08:00 UTC on the named date), ``None`` for spot and perpetuals.
    strike:
        Strike in USD per coin for options, ``None`` otherwise.
    option_type:
        :class:`OptionType` for options, ``None`` otherwise.
    contract_size:
        Minimum tradable amount in the instrument's native unit (10 USD for BTC inverse futures,
        1 coin for inverse options, ...). Sizes are in native amounts, not in contracts.
    """

    underlying: str
    settlement_currency: str
    kind: InstrumentKind
    expiry: datetime | None = None
    strike: float | None = None
    option_type: OptionType | None = None
    contract_size: float = 1.0

    def __post_init__(self) -> None:
        if not self.underlying.isalnum() or not self.underlying.isupper():
            raise InputError("underlying", self.underlying, "must be an upper-case asset code")
        if not self.settlement_currency.isalnum() or not self.settlement_currency.isupper():
            raise InputError(
                "settlement_currency", self.settlement_currency, "must be an upper-case asset code"
            )
        if self.settlement_currency not in _LINEAR_QUOTES | {self.underlying}:
            raise InputError(
                "settlement_currency",
                self.settlement_currency,
                f"must be {self.underlying} (inverse) or a stablecoin (linear)",
            )
        if self.kind is InstrumentKind.SPOT and self.settlement_currency == self.underlying:
            raise InputError("settlement_currency", self.settlement_currency, "spot needs a quote")
        dated = self.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)
        if dated and self.expiry is None:
            raise InputError("expiry", None, f"a {self.kind.value} needs an expiry")
        if not dated and self.expiry is not None:
            raise InputError("expiry", self.expiry, f"a {self.kind.value} has no expiry")
        if self.expiry is not None:
            object.__setattr__(self, "expiry", ensure_utc(self.expiry, "expiry"))
        if self.kind is InstrumentKind.OPTION:
            if self.strike is None or not math.isfinite(self.strike) or self.strike <= 0.0:
                raise InputError("strike", self.strike, "an option needs a finite strike > 0")
            if self.option_type is None:
                raise InputError("option_type", None, "an option needs 'call' or 'put'")
            object.__setattr__(self, "strike", float(self.strike))
            object.__setattr__(self, "option_type", OptionType(self.option_type))
        elif self.strike is not None or self.option_type is not None:
            raise InputError("strike", self.strike, f"a {self.kind.value} has no strike")
        if not math.isfinite(self.contract_size) or self.contract_size <= 0.0:
            raise InputError("contract_size", self.contract_size, "must be finite and > 0")

    @property
    def is_inverse(self) -> bool:
        """True for coin-settled contracts (settlement currency is the underlying)."""
        return self.settlement_currency == self.underlying

    @property
    def is_call(self) -> bool:
        """True for call options."""
        return self.option_type is OptionType.CALL

    @property
    def name(self) -> str:
        """Deribit-style name, e.g. ``BTC-27DEC24-60000-C`` (inverse) or ``BTC_USDC-PERPETUAL``."""
        return format_name(
            self.underlying,
            self.settlement_currency,
            self.kind,
            self.expiry,
            self.strike,
            self.option_type,
        )

    def __str__(self) -> str:
        return self.name
