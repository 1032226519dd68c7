"""Positions and portfolios: what an account holds.

Sizes are in each instrument's native amount (DESIGN.md §2): USD of face value for inverse futures
and perpetuals, coin for everything else. Positive is long, negative short. Collateral balances are
ledger money and stay :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import parse_decimal
from crossmargin.instruments import Instrument, parse_instrument

__all__ = ["Portfolio", "Position"]


@dataclass(frozen=True, slots=True)
class Position:
    """A holding of one instrument.

    Attributes
    ----------
    instrument:
        The contract held.
    size:
        Native amount, positive long and negative short (USD face for inverse futures/perpetuals,
        coin otherwise).
    average_price:
        Entry price. Futures, perpetuals and spot: USD per coin, used for the unrealised P&L
        (``None`` means entered at the current mark, so unrealised P&L is zero). Options: premium
        per unit in the settlement currency, reported only (an option's value is its mark,
        whatever was paid).
    """

    instrument: Instrument
    size: float
    average_price: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not math.isfinite(float(self.size)):
            raise InputError(f"{self.instrument.name}.size", self.size, "must be a finite number")
        object.__setattr__(self, "size", float(self.size))
        if self.average_price is not None:
            price = float(self.average_price)
            if not math.isfinite(price) or price <= 0.0:
                raise InputError(
                    f"{self.instrument.name}.average_price",
                    self.average_price,
                    "must be a finite price > 0",
                )
            object.__setattr__(self, "average_price", price)

    @classmethod
    def of(cls, name: str, size: float, average_price: float | None = None) -> Position:
        """Build a position from a Deribit-style instrument name, e.g.
        ``Position.of("BTC-PERPETUAL", -10_000)``."""
        return cls(parse_instrument(name), size, average_price)


def _frozen_balances(raw: Mapping[str, object]) -> Mapping[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for currency, amount in raw.items():
        if not isinstance(currency, str) or not currency.isalnum() or not currency.isupper():
            raise InputError("collateral", currency, "currency must be an upper-case asset code")
        balances[currency] = parse_decimal(amount, f"collateral.{currency}")
    return MappingProxyType(balances)


@dataclass(frozen=True, slots=True)
class Portfolio:
    """Positions and collateral balances of one account.

    Attributes
    ----------
    positions:
        Tuple of :class:`Position`; the same instrument may appear only once (net it first).
    collateral:
        Balance per currency as ``Decimal`` in that currency's units
        (``{"USDC": Decimal("1000")}``). A negative balance is a liability.
    """

    positions: tuple[Position, ...] = ()
    collateral: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        positions = tuple(self.positions)
        seen: set[str] = set()
        for index, position in enumerate(positions):
            if not isinstance(position, Position):
                raise InputError(f"positions[{index}]", position, "must be a Position")
            name = position.instrument.name
            if name in seen:
                raise InputError(f"positions[{index}].instrument", name, "appears twice; net it")
            seen.add(name)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "collateral", _frozen_balances(dict(self.collateral)))

    @classmethod
    def of(
        cls,
        positions: Iterable[Position | tuple[str, float]] = (),
        collateral: Mapping[str, object] | None = None,
    ) -> Portfolio:
        """Build a portfolio from positions or ``(name, size)`` pairs and a balance mapping whose
        amounts may be ``Decimal``, ``int``, ``str`` or ``float`` (floats pass through ``repr``)."""
        built = tuple(p if isinstance(p, Position) else Position.of(p[0], p[1]) for p in positions)
        return cls(built, _frozen_balances(collateral or {}))

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The instruments held, in position order."""
        return tuple(position.instrument for position in self.positions)

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Distinct underlyings of the positions, sorted."""
        return tuple(sorted({position.instrument.underlying for position in self.positions}))
