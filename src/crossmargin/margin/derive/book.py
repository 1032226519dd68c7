"""What the Derive profile margins: one market's holdings, their feeds and the account's collateral.

A :class:`DeriveBook` is the profile's input, whatever it came from (a Derive case file, or one
underlying of a crossmargin :class:`~crossmargin.portfolio.Portfolio`). Everything the scenarios
revalue sits in one :class:`~crossmargin.portfolio.InstrumentArrays`, so the shared scenario
machinery (:func:`crossmargin.scenarios.scenario_pnl_matrix`) prices it:

* options, each with its own mark vol, its expiry's forward and its expiry's discount rate;
* delta-one contracts (Derive's perpetual; futures when mapping a crossmargin portfolio), whose
  scenario P&L is their full revaluation and whose mark value is carried separately where the
  source gives it (a case's unrealised perp P&L and funding);
* risk-cancelling collateral as spot holdings of the market's base, worth its collateral value.

Amounts are in the quote currency (USDC for Derive, USD for crossmargin portfolios).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument
from crossmargin.pricing import InstrumentArrays

__all__ = [
    "FORWARD_FIXING_SECONDS",
    "SECONDS_PER_YEAR",
    "BookColumns",
    "CollateralHolding",
    "DeriveBook",
    "ExpiryFeed",
    "fixed_forward_fraction",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Derive annualises seconds over a 365-day year.
SECONDS_PER_YEAR = 365.0 * 86_400.0

#: A Derive forward fixes (averages into its settlement price) over the last 30 minutes.
FORWARD_FIXING_SECONDS = 1800.0


def fixed_forward_fraction(seconds_to_expiry: float) -> float:
    """Part of an expiry's forward already fixed with ``seconds_to_expiry`` left (0 before the
    last 30 minutes, rising linearly to 1 at expiry)."""
    return max(FORWARD_FIXING_SECONDS - seconds_to_expiry, 0.0) / FORWARD_FIXING_SECONDS


def _check_fraction(field: str, value: float) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InputError(field, value, "must lie in [0, 1]")


def _check_positive(field: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0.0:
        raise InputError(field, value, "must be finite and > 0")


@dataclass(frozen=True, slots=True)
class ExpiryFeed:
    """Market inputs of one expiry.

    Attributes
    ----------
    sec_to_expiry:
        Seconds to expiry (≥ 0; an expired option is valued at expiry).
    forward:
        Forward price of the expiry (quote currency per coin, > 0).
    rate:
        Continuously compounded annual rate its premiums are discounted at (≥ 0: Derive floors
        its rate feed at zero).
    confidence:
        Lowest oracle confidence among the expiry's forward, rate and vol feeds, in [0, 1].
    fixed_forward_fraction:
        Part of the forward that no longer moves with the spot (Derive's forward feed averages
        into the settlement price over the last 30 minutes), in [0, 1].
    """

    sec_to_expiry: float
    forward: float
    rate: float
    confidence: float = 1.0
    fixed_forward_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.sec_to_expiry) or self.sec_to_expiry < 0.0:
            raise InputError("sec_to_expiry", self.sec_to_expiry, "must be finite and >= 0")
        _check_positive("forward", self.forward)
        if not math.isfinite(self.rate) or self.rate < 0.0:
            raise InputError("rate", self.rate, "must be finite and >= 0")
        _check_fraction("confidence", self.confidence)
        _check_fraction("fixed_forward_fraction", self.fixed_forward_fraction)

    @property
    def tau(self) -> float:
        """Years to expiry (seconds / 365 days)."""
        return self.sec_to_expiry / SECONDS_PER_YEAR

    @property
    def discount(self) -> float:
        """Discount factor e^{−rate·τ} of the expiry's premiums."""
        return math.exp(-self.rate * self.tau)


@dataclass(frozen=True, slots=True)
class CollateralHolding:
    """A collateral balance of the account.

    Attributes
    ----------
    name:
        Asset code (``"WEETH"``).
    value:
        Value in the quote currency (amount × price / stablecoin price), ≥ 0.
    confidence:
        Oracle confidence of its price, in [0, 1].
    mm_haircut, im_haircut:
        Fractions of ``value`` taken off the maintenance balance, and additionally off the
        initial balance.
    risk_cancelling:
        Whether it moves with the market's spot shocks (the market's base and its wrappers).
    """

    name: str
    value: float
    confidence: float
    mm_haircut: float
    im_haircut: float
    risk_cancelling: bool

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value < 0.0:
            raise InputError(f"collateral {self.name}.value", self.value, "must be finite, >= 0")
        _check_fraction(f"collateral {self.name}.confidence", self.confidence)
        _check_fraction(f"collateral {self.name}.mm_haircut", self.mm_haircut)
        _check_fraction(f"collateral {self.name}.im_haircut", self.im_haircut)


@dataclass(frozen=True, eq=False)
class DeriveBook:
    """One market's holdings as the profile margins them (n_i instruments in ``arrays``).

    Attributes
    ----------
    underlying:
        The market's base asset; every instrument of ``arrays`` has it as underlying.
    spot_price, spot_confidence:
        The market's spot (quote per coin) and its oracle confidence.
    stable_price:
        Price of the quote stablecoin (1.0 at peg).
    cash:
        Cash balance in the quote currency (negative is a loan).
    arrays, sizes:
        Everything the scenarios revalue and the held amounts (native units).
    expiry_of:
        (n_i,) index into ``expiries`` of each option, −1 for other instruments.
    delta_one_coin:
        (n_i,) coin of underlying per native unit of each delta-one contract (0 for others); the
        perpetual contingency is charged on |coin|·spot.
    collateral_of:
        (n_i,) index into ``collaterals`` of each risk-cancelling collateral column, −1 otherwise.
    expiries:
        Feeds of the expiries held.
    collaterals:
        Every collateral balance (risk-cancelling or not).
    delta_one_confidence:
        Oracle confidence of the perpetual's price (used when a delta-one contract is held).
    delta_one_extra_value:
        Mark value of the delta-one contracts not in ``arrays`` (a case's unrealised perpetual
        P&L plus funding); their value in ``arrays`` is added to it.
    """

    underlying: str
    spot_price: float
    spot_confidence: float
    stable_price: float
    cash: float
    arrays: InstrumentArrays
    sizes: FloatArray
    expiry_of: IntArray
    delta_one_coin: FloatArray
    collateral_of: IntArray
    expiries: tuple[ExpiryFeed, ...]
    collaterals: tuple[CollateralHolding, ...]
    delta_one_confidence: float = 1.0
    delta_one_extra_value: float = 0.0

    def __post_init__(self) -> None:
        _check_positive("spot_price", self.spot_price)
        _check_positive("stable_price", self.stable_price)
        _check_fraction("spot_confidence", self.spot_confidence)
        _check_fraction("delta_one_confidence", self.delta_one_confidence)
        for name in ("cash", "delta_one_extra_value"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(name, getattr(self, name), "must be finite")
        count = self.arrays.kind.shape[0]
        for name in ("sizes", "expiry_of", "delta_one_coin", "collateral_of"):
            values = np.asarray(getattr(self, name))
            if values.shape != (count,):
                raise InputError(name, values.shape, f"must have {count} elements")
        if np.any(self.expiry_of >= len(self.expiries)):
            raise InputError("expiry_of", int(self.expiry_of.max()), "names no expiry")
        if np.any(self.collateral_of >= len(self.collaterals)):
            raise InputError("collateral_of", int(self.collateral_of.max()), "names no collateral")
        own = self.arrays.underlying == self.underlying
        if not np.all(own):
            first = int(np.flatnonzero(~own)[0])
            raise InputError(
                f"arrays.underlying[{first}]", self.arrays.underlying[first], "must be the market"
            )

    @property
    def option_columns(self) -> NDArray[np.intp]:
        """Columns of the options."""
        return np.flatnonzero(self.expiry_of >= 0)

    @property
    def holds_delta_one(self) -> bool:
        """Whether any delta-one contract is held (its oracle confidence then counts)."""
        return bool(np.any((self.delta_one_coin != 0.0) & (self.sizes != 0.0)))

    @property
    def min_confidence(self) -> float:
        """The account's confidence: the spot's, and the perpetual's when one is held."""
        if self.holds_delta_one:
            return min(self.spot_confidence, self.delta_one_confidence)
        return self.spot_confidence


@dataclass
class BookColumns:
    """Accumulates a book's instruments column by column, then builds its arrays.

    Every column is the market's ``underlying``; values are in the quote currency (settlement
    price 1 unless given)."""

    underlying: str
    instruments: list[Instrument] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)
    expiry_of: list[int] = field(default_factory=list)
    delta_one_coin: list[float] = field(default_factory=list)
    collateral_of: list[int] = field(default_factory=list)
    _rows: list[dict[str, float | bool]] = field(default_factory=list)

    def add(
        self,
        instrument: Instrument,
        size: float,
        *,
        index: float,
        forward: float,
        strike: float = math.nan,
        t_years: float = 0.0,
        vol: float = 0.0,
        entry: float = math.nan,
        settlement: float = 1.0,
        expiry: int = -1,
        coin_per_unit: float = 0.0,
        collateral: int = -1,
    ) -> None:
        """Append one column: ``instrument`` held in ``size`` native units, with its inputs."""
        if instrument.underlying != self.underlying:
            raise InputError("instrument", instrument.name, f"is not on {self.underlying}")
        self.instruments.append(instrument)
        self.sizes.append(float(size))
        self.expiry_of.append(expiry)
        self.delta_one_coin.append(coin_per_unit)
        self.collateral_of.append(collateral)
        self._rows.append(
            {
                "index": index,
                "forward": forward,
                "strike": strike,
                "t": t_years,
                "call": instrument.is_call,
                "vol": vol,
                "entry": entry,
                "settlement": settlement,
            }
        )

    def arrays(self) -> InstrumentArrays:
        """The columns as :class:`InstrumentArrays` (rate 0: the book discounts per expiry)."""

        def column(name: str) -> FloatArray:
            return np.array([float(row[name]) for row in self._rows], dtype=np.float64)

        count = len(self.instruments)
        return InstrumentArrays(
            instruments=tuple(self.instruments),
            kind=np.array([i.kind.code for i in self.instruments], dtype=np.int64),
            is_inverse=np.array([i.is_inverse for i in self.instruments], dtype=np.bool_),
            is_call=np.array([bool(row["call"]) for row in self._rows], dtype=np.bool_),
            underlying=np.array([self.underlying] * count, dtype=object).reshape(count),
            index_usd=column("index"),
            forward_usd=column("forward"),
            strike_usd=column("strike"),
            t_years=column("t"),
            vol_annual=column("vol"),
            entry_usd=column("entry"),
            settlement_usd=column("settlement"),
            rate_annual=0.0,
        )

    def book(
        self,
        *,
        spot_price: float,
        stable_price: float,
        cash: float,
        expiries: Sequence[ExpiryFeed],
        collaterals: Sequence[CollateralHolding],
        spot_confidence: float = 1.0,
        delta_one_confidence: float = 1.0,
        delta_one_extra_value: float = 0.0,
    ) -> DeriveBook:
        """The :class:`DeriveBook` of these columns with the account-level inputs (prices in the
        quote currency, confidences in [0, 1])."""
        return DeriveBook(
            underlying=self.underlying,
            spot_price=spot_price,
            spot_confidence=spot_confidence,
            stable_price=stable_price,
            cash=cash,
            arrays=self.arrays(),
            sizes=np.array(self.sizes, dtype=np.float64),
            expiry_of=np.array(self.expiry_of, dtype=np.int64),
            delta_one_coin=np.array(self.delta_one_coin, dtype=np.float64),
            collateral_of=np.array(self.collateral_of, dtype=np.int64),
            expiries=tuple(expiries),
            collaterals=tuple(collaterals),
            delta_one_confidence=delta_one_confidence,
            delta_one_extra_value=delta_one_extra_value,
        )
