"""The collateral part of every live-desk account's equity, recomputed for a new market at once.

The book engine's equity of an account is ``collateral_usd`` plus its positions' mark value at
the engine's one entry price per future (:mod:`crossmargin.service.book_state`). The
single-account valuation (:func:`~crossmargin.portfolio.portfolio_equity_usd`) that the models
use is, per account a,

    equity = Σ_i s_i·v_i + Σ_c [b_c·p_c − h_c·max(b_c + q_c, 0)·p_c]

with v_i the mark value per unit at the position's own entry, b_c the ledger balance of currency
c, p_c its index (1 for a stablecoin), h_c its haircut and q_c the value of the positions
settled in c, in c. A position's own entry differs from the engine's only by a constant: a
linear future or perpetual by (E_engine − E_own) USD per coin, a coin-settled one by
(1/E_own − 1/E_engine) coin per USD of face (its value in USD moves with the index). So

    collateral_usd = L + Σ_u I_u·S_u + Σ_c [b_c·p_c − h_c·max(b_c + q_c + I_c, 0)·p_c]

where L is the linear offset (USD) and I_u the coin offset of the coin-settled futures on u
(:class:`AccountEntries`, fixed between two reads of the account), and q_c is the positions'
value in c at the engine's entries — recomputed for every account from the engine's positions
(:meth:`~crossmargin.engine.BookEngine.position_arrays`) in a few array passes
(:meth:`CollateralTable.collateral_usd`). The valuation rounds each line to 1e-6 USD; this
does not, and otherwise equals it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule
from crossmargin.core.numeric import STABLECOINS
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.ledger.state import LedgerPosition
from crossmargin.market import MarketSnapshot

__all__ = ["AccountEntries", "CollateralTable", "account_entries"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class AccountEntries:
    """What an account's collateral part needs besides its positions' sizes.

    Attributes
    ----------
    balances:
        Ledger balance per currency, in that currency (float).
    linear_offset_usd:
        Σ size × (E_engine − E_own) × settlement price over its linear futures and perpetuals
        (USD): their value at their own entries less their value at the engine's.
    inverse_offset_coin:
        Underlying → Σ size × (1/E_own − 1/E_engine) over its coin-settled futures and
        perpetuals on it (coin): the same difference, in the coin.
    """

    balances: Mapping[str, float]
    linear_offset_usd: float = 0.0
    inverse_offset_coin: Mapping[str, float] = field(default_factory=dict)


def account_entries(
    balances: Mapping[str, Decimal],
    positions: Sequence[tuple[Instrument, LedgerPosition]],
    engine_entries_usd: Mapping[str, float],
    market: MarketSnapshot,
) -> AccountEntries:
    """The :class:`AccountEntries` of an account holding ``balances`` and ``positions``
    (instrument, ledger position), the engine entering futures at ``engine_entries_usd`` (USD
    per coin, by instrument name); ``market`` prices a linear contract's settlement currency."""
    linear = 0.0
    inverse: dict[str, float] = {}
    for instrument, held in positions:
        if instrument.kind not in (InstrumentKind.FUTURE, InstrumentKind.PERPETUAL):
            continue
        if held.average_price is None:
            continue
        own = float(held.average_price)
        engine = engine_entries_usd[held.instrument]
        size = float(held.size)
        if instrument.is_inverse:
            coin = inverse.get(instrument.underlying, 0.0)
            inverse[instrument.underlying] = coin + size * (1.0 / own - 1.0 / engine)
        else:
            linear += size * (engine - own) * market.index(instrument.settlement_currency)
    return AccountEntries(
        {currency: float(amount) for currency, amount in balances.items()}, linear, inverse
    )


class CollateralTable:
    """Every account's :class:`AccountEntries` as dense arrays, updated one account at a time,
    and the collateral part of every account's equity at a market (see the module docstring)."""

    def __init__(self) -> None:
        self._count = 0
        self._capacity = 0
        self._balances: dict[str, FloatArray] = {}
        self._linear = np.zeros(0)
        self._inverse: dict[str, FloatArray] = {}

    def _column(self, table: dict[str, FloatArray], key: str) -> FloatArray:
        column = table.get(key)
        if column is None:
            column = table[key] = np.zeros(self._capacity)
        return column

    def resize(self, count: int) -> None:
        """Hold ``count`` accounts (new ones hold nothing); the arrays grow by doubling, so
        adding accounts one at a time costs amortised O(1) each."""
        if count <= self._count:
            return
        if count > self._capacity:
            capacity = max(count, 2 * self._capacity, 1024)
            grow = capacity - self._capacity
            self._linear = np.concatenate([self._linear, np.zeros(grow)])
            for table in (self._balances, self._inverse):
                for key, column in table.items():
                    table[key] = np.concatenate([column, np.zeros(grow)])
            self._capacity = capacity
        self._count = count

    def set(self, account: int, entries: AccountEntries) -> None:
        """Account ``account`` (0 .. count − 1) now holds ``entries``."""
        for table, values in ((self._balances, entries.balances),
                              (self._inverse, entries.inverse_offset_coin)):  # fmt: skip
            for column in table.values():
                column[account] = 0.0
            for key, value in values.items():
                self._column(table, key)[account] = value
        self._linear[account] = entries.linear_offset_usd

    def margined_as_held(self, underlyings: Sequence[str]) -> NDArray[np.bool_]:
        """Per account: whether the engine margins it exactly as the single-account model
        margins its ledger holdings — it holds no balance of a coin outside ``underlyings``
        (the engine's, which its scenarios move)."""
        exact = np.ones(self._count, dtype=np.bool_)
        for currency, column in self._balances.items():
            if currency not in STABLECOINS and currency not in underlyings:
                exact &= column[: self._count] == 0.0
        return exact

    def collateral_usd(
        self,
        market: MarketSnapshot,
        haircuts: HaircutSchedule,
        positions: tuple[IntArray, IntArray, FloatArray],
        unit_values_usd: FloatArray,
        settlement: tuple[Sequence[str], FloatArray],
    ) -> FloatArray:
        """The collateral part of every account's equity at ``market`` (USD, either sign).

        Parameters
        ----------
        market, haircuts:
            The market and the valuation's haircut schedule.
        positions:
            (account, instrument, size) of every position the engine holds.
        unit_values_usd:
            Mark value per native unit of each instrument at ``market``, futures at the
            engine's entry (USD).
        settlement:
            Each instrument's settlement currency, and its price in USD at ``market``.
        """
        accounts, instruments, sizes = positions
        currencies, settlement_usd = settlement
        in_settlement = sizes * unit_values_usd[instruments] / settlement_usd[instruments]
        names = sorted(set(currencies))
        code_of = {name: code for code, name in enumerate(names)}
        settles_in = np.array([code_of[c] for c in currencies], dtype=np.int64)[instruments]
        per_code = np.bincount(settles_in, minlength=len(names))
        n = self._count
        total = self._linear[:n].copy()
        inverse = {underlying: coins[:n] for underlying, coins in self._inverse.items()}
        for underlying, coins in inverse.items():
            total += coins * market.index(underlying)
        held_in = {names[code] for code in np.flatnonzero(per_code)}
        for currency in sorted(set(self._balances) | held_in):
            held: FloatArray = np.zeros(n)
            if currency in held_in:
                chosen = settles_in == code_of[currency]
                held = np.bincount(accounts[chosen], in_settlement[chosen], minlength=n).astype(
                    np.float64
                )
            balance = self._balances.get(currency)
            coin = np.zeros(n) if balance is None else balance[:n]
            net = coin + held + inverse.get(currency, 0.0)
            price = market.index(currency)
            total += coin * price - haircuts.haircut_for(currency) * np.maximum(net, 0.0) * price
        return total
