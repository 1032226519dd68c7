"""The live desk's risk state: every user account of the ledger in one :class:`BookEngine`.

The ledger stays the record; this is its risk view, kept in step after every commit:

* **Loading.** :meth:`BookState.load` reads every user account's balances and positions from
  the ledger and puts them in a portfolio-margin book engine (``pm``, the shipped parameters).
* **Per account.** An account enters the engine as its positions (native sizes), its coin
  balances (``balance_coin``: they are positions in their pair's scenarios, as in
  :class:`~crossmargin.margin.pm.model.PortfolioMargin`) and ``collateral_usd`` chosen so that the
  engine's equity equals the single-account valuation's (collateral after haircuts plus the
  positions' mark value, :func:`~crossmargin.portfolio.portfolio_equity_usd`) at the moment it was
  read. Futures and perpetuals share one entry price per instrument in the engine (the mark
  when the instrument first entered it): an account's P&L against its own average price is
  carried in ``collateral_usd``, and the coin-settled ones, whose USD scenario P&L and delta
  scale with 1/entry, carry their difference as ``entry_offset_coin`` (Σ size ×
  (1/E_own − 1/E_engine) per coin, :meth:`BookEngine.load_positions`). The engine's initial and
  maintenance margin of every account is therefore the single-account model's on its ledger
  holdings.
* **After a commit.** :meth:`BookState.refresh` re-reads the accounts an entry touched; before
  the engine's next use (:meth:`BookState.sync`) each re-read account is written into it in
  place (:meth:`BookEngine.set_account`: its row and collateral only, recomputed by the next
  margin). A new account reloads the engine's positions once; an instrument the engine does not
  list yet makes it rebuild with the larger universe.
* **Ticks.** :meth:`BookState.move_market` moves the engine to a new market
  (:meth:`BookEngine.update_market`: only the moved underlyings' rows are rebuilt), values
  every account's collateral part there in a few array passes
  (:mod:`crossmargin.service.book_collateral`: coin balances at the new index, each
  currency's haircut on its net holding), and margins every account
  (:meth:`BookEngine.margin_all`: only accounts holding a moved underlying or whose collateral
  moved are recomputed). Every account's engine equity is the single-account valuation's at
  every market, to its rounding of each line to 1e-6 USD.
* **Checks.** :meth:`BookState.pre_trade` answers a what-if from the engine's stored scenario
  vectors (:meth:`BookEngine.pre_trade`) in microseconds.

Thread safety: one lock around the engine (it is not thread-safe).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.numeric import STABLECOINS
from crossmargin.engine import BookEngine
from crossmargin.engine.results import AccountMargin, BookMarginResult, PreTradeCheck
from crossmargin.instruments import Instrument, InstrumentKind, parse_instrument
from crossmargin.ledger import AccountKind, Ledger
from crossmargin.ledger.money import round_cash_to_account
from crossmargin.ledger.netting import net_trade
from crossmargin.ledger.risk import portfolio_from_holdings
from crossmargin.ledger.state import LedgerPosition
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import portfolio_equity_usd
from crossmargin.pricing import instrument_arrays, unit_values_usd
from crossmargin.service.book_collateral import CollateralTable, account_entries

__all__ = ["AccountRow", "BookState"]

FloatArray = NDArray[np.float64]
T = TypeVar("T")


@dataclass(frozen=True)
class AccountRow:
    """One account as the engine holds it.

    Attributes
    ----------
    positions:
        Instrument name → size (native units, positive long).
    balances:
        The ledger balances (currency → ``Decimal``, that currency's units).
    equity_usd:
        The single-account valuation's equity when the account was read (USD).
    collateral_usd:
        The account's collateral part when it was read (USD, either sign): ``equity_usd`` less
        the positions' mark value at the engine's entry prices, both at the market it was read
        at. Each market move values it again (:meth:`BookState.move_market`).
    entry_offset_coin:
        Underlying → Σ size × (1/E_own − 1/E_engine) over its coin-settled futures and
        perpetuals on it (coin; :class:`~crossmargin.service.book_collateral.AccountEntries`).
    held:
        The ledger positions (exact sizes and average prices) by instrument.
    """

    positions: Mapping[str, float]
    balances: Mapping[str, Decimal]
    equity_usd: float
    collateral_usd: float = 0.0
    entry_offset_coin: Mapping[str, float] = field(default_factory=dict)
    held: Mapping[str, LedgerPosition] = field(default_factory=dict)


def _has_entry(instrument: Instrument) -> bool:
    return instrument.kind is not InstrumentKind.OPTION


class BookState:
    """Every user account of a ledger in one book engine (see the module docstring).

    Parameters
    ----------
    market:
        The market to start at.
    haircuts:
        The collateral haircuts of the service's valuation (default: the shipped schedule).
    """

    def __init__(self, market: MarketSnapshot, haircuts: HaircutSchedule | None = None) -> None:
        self._lock = threading.RLock()
        self._market = market
        self._haircuts = haircuts if haircuts is not None else default_haircuts()
        self._ids: list[int] = []
        self._index: dict[int, int] = {}
        self._rows: list[AccountRow] = []
        self._instruments: list[Instrument] = []
        self._instrument_index: dict[str, int] = {}
        self._entries: dict[str, float] = {}
        self._collateral: FloatArray = np.zeros(0)
        self._table = CollateralTable()
        self._settlement: tuple[MarketSnapshot, int, tuple[list[str], FloatArray]] | None = None
        self._revalue_due = False
        self._engine: BookEngine | None = None
        self._rebuild = True
        self._reload = True
        self._dirty: set[int] = set()
        self._values: tuple[MarketSnapshot, int, FloatArray] | None = None
        self._result: BookMarginResult | None = None
        self._moved: tuple[str, ...] = ()

    # ------------------------------------------------------------------ reading the ledger

    def load(self, ledger: Ledger) -> int:
        """Read every user account of ``ledger``; returns how many. The engine is built at the
        next :meth:`sync`."""
        state = ledger.state()
        balances: dict[int, dict[str, Decimal]] = {}
        positions: dict[int, list[LedgerPosition]] = {}
        for (account_id, currency), amount in state.balances.items():
            balances.setdefault(account_id, {})[currency] = amount
        for (account_id, _), position in sorted(state.positions.items()):
            positions.setdefault(account_id, []).append(position)
        users = sorted(a for a, r in state.accounts.items() if r.kind is AccountKind.USER)
        with self._lock:
            for account_id in users:
                self._store(account_id, balances.get(account_id, {}), positions.get(account_id, []))
        return len(users)

    def refresh(self, ledger: Ledger, account_ids: Iterable[int]) -> None:
        """Re-read the user accounts ``account_ids`` (after a commit touched them)."""
        for account_id, holdings in ledger.holdings_many(account_ids).items():
            if holdings.account.kind is not AccountKind.USER:
                continue
            with self._lock:
                self._store(account_id, dict(holdings.balances), list(holdings.positions))

    def _store(
        self, account_id: int, balances: Mapping[str, Decimal], positions: Sequence[LedgerPosition]
    ) -> None:
        for held in positions:
            if held.instrument not in self._instrument_index:
                self._add_instrument(parse_instrument(held.instrument))
        equity = float(
            portfolio_equity_usd(
                portfolio_from_holdings(balances, positions), self._market, self._haircuts
            )
        )
        sizes = {p.instrument: float(p.size) for p in positions}
        values = self._unit_values()
        mark = math.fsum(size * values[self._instrument_index[n]] for n, size in sizes.items())
        listed = [(self._instruments[self._instrument_index[p.instrument]], p) for p in positions]
        entries = account_entries(balances, listed, self._entries, self._market)
        row = AccountRow(
            sizes,
            dict(balances),
            equity,
            equity - mark,
            dict(entries.inverse_offset_coin),
            {p.instrument: p for p in positions},
        )
        a = self._index.get(account_id)
        if a is None:
            a = self._index[account_id] = len(self._ids)
            self._ids.append(account_id)
            self._rows.append(row)
            self._reload = True  # the engine's account count grows: one reload
            self._table.resize(len(self._ids))
        else:
            self._rows[a] = row
            self._dirty.add(a)
        self._table.set(a, entries)

    def _add_instrument(self, instrument: Instrument) -> None:
        self._instrument_index[instrument.name] = len(self._instruments)
        self._instruments.append(instrument)
        if _has_entry(instrument):
            arrays = instrument_arrays([instrument], self._market)
            self._entries[instrument.name] = float(arrays.entry_usd[0])
        self._rebuild = True

    # ------------------------------------------------------------------ the engine

    def _engine_inputs(self) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
        accounts: list[int] = []
        instruments: list[int] = []
        sizes: list[float] = []
        for a, row in enumerate(self._rows):
            for name, size in row.positions.items():
                accounts.append(a)
                instruments.append(self._instrument_index[name])
                sizes.append(size)
        return (
            np.array(accounts, dtype=np.int64),
            np.array(instruments, dtype=np.int64),
            np.array(sizes, dtype=np.float64),
        )

    def _unit_values(self) -> FloatArray:
        """Mark value of one unit of each instrument at the state's market (USD per native
        unit; futures, perpetuals and spot: the P&L since the engine's entry price), computed
        once per market and instrument universe."""
        cached = self._values
        if cached is not None and cached[0] is self._market and cached[1] == len(self._instruments):
            return cached[2]
        entries = [self._entries.get(i.name, math.nan) for i in self._instruments]
        values = unit_values_usd(instrument_arrays(self._instruments, self._market, entries))
        self._values = (self._market, len(self._instruments), values)
        return values

    def _coins(self, row: AccountRow) -> dict[str, float]:
        """The row's coin balances the engine puts in its scenarios (coin units)."""
        assert self._engine is not None
        underlyings = self._engine.underlyings
        return {
            currency: float(amount)
            for currency, amount in row.balances.items()
            if currency not in STABLECOINS and currency in underlyings
        }

    def sync(self) -> BookEngine | None:
        """Bring the engine up to date with the accounts read (rebuilt when the instrument
        universe grew, reloaded when an account changed); ``None`` while no account holds a
        position or a balance."""
        with self._lock:
            if not self._ids or not self._instruments:
                return None
            if self._rebuild or self._engine is None:
                entries = [self._entries.get(i.name, math.nan) for i in self._instruments]
                self._engine = BookEngine(
                    self._instruments, self._market, "pm", entry_prices_usd=entries
                )
                self._rebuild = False
                self._reload = True
            if self._reload:
                accounts, instruments, sizes = self._engine_inputs()
                self._collateral = np.array([row.collateral_usd for row in self._rows])
                coins: dict[str, FloatArray] = {}
                offsets: dict[str, FloatArray] = {}
                for a, row in enumerate(self._rows):
                    for currency, amount in self._coins(row).items():
                        coins.setdefault(currency, np.zeros(len(self._ids)))[a] = amount
                    for underlying, coin in row.entry_offset_coin.items():
                        offsets.setdefault(underlying, np.zeros(len(self._ids)))[a] = coin
                self._engine.load_positions(
                    accounts,
                    instruments,
                    sizes,
                    self._collateral,
                    balance_coin=coins or None,
                    entry_offset_coin=offsets or None,
                )
                self._revalue_due = True  # rows read at earlier markets: value them all now
                self._reload = False
                self._dirty.clear()
                self._result = None
            elif self._dirty:  # re-read accounts: their rows and collateral, in place
                for a in sorted(self._dirty):
                    row = self._rows[a]
                    names = list(row.positions)
                    self._engine.set_account(
                        a,
                        np.array([self._instrument_index[n] for n in names], dtype=np.int64),
                        np.array([row.positions[n] for n in names], dtype=np.float64),
                        row.collateral_usd,
                        balance_coin=self._coins(row) or None,
                        entry_offset_coin=dict(row.entry_offset_coin) or None,
                    )
                    self._collateral[a] = row.collateral_usd
                self._dirty.clear()
                self._result = None
            return self._engine

    def _current(self) -> BookEngine | None:
        """The engine, in step with the accounts read and at the state's market, every
        account's collateral valued there."""
        engine = self.sync()
        if engine is None:
            return None
        if engine.market is not self._market:
            engine.update_market(self._market)
            self._revalue_due = True
        if self._revalue_due:
            self._revalue(engine)
        return engine

    def _revalue(self, engine: BookEngine) -> None:
        """Every account's collateral part at the state's market
        (:class:`~crossmargin.service.book_collateral.CollateralTable`): the engine's equity is
        then the single-account valuation's for every account, coin balances and haircuts
        included."""
        cached = self._settlement
        if cached is None or cached[0] is not self._market or cached[1] != len(self._instruments):
            arrays = instrument_arrays(self._instruments, self._market)
            currencies = [i.settlement_currency for i in self._instruments]
            cached = (self._market, len(self._instruments), (currencies, arrays.settlement_usd))
            self._settlement = cached
        collateral = self._table.collateral_usd(
            self._market,
            self._haircuts,
            engine.position_arrays(),
            self._unit_values(),
            cached[2],
        )
        engine.set_collateral(collateral)
        self._collateral = collateral
        self._revalue_due = False
        self._result = None

    def move_market(self, market: MarketSnapshot) -> BookMarginResult | None:
        """Move to ``market`` and margin every account (USD arrays indexed like
        :attr:`account_ids`); ``None`` while the engine holds nothing."""
        with self._lock:
            engine = self.sync()  # accounts read so far, at the market they were read at
            self._market = market
            if engine is None:
                self._moved = tuple(market.index_usd)
                return None
            self._moved = engine.update_market(market)
            self._revalue(engine)
            self._result = engine.margin_all()
            return self._result

    def moved_accounts(self) -> set[int]:
        """Ledger ids of the accounts the last :meth:`move_market` re-margined: those holding a
        position on, or a balance of, an underlying whose market moved."""
        with self._lock:
            moved = set(self._moved)
            held = {i.name for i in self._instruments if i.underlying in moved}
            return {
                account_id
                for account_id, row in zip(self._ids, self._rows, strict=True)
                if any(name in held for name in row.positions)
                or any(currency in moved for currency in row.balances)
            }

    def margins(self) -> BookMarginResult | None:
        """Every account's margin at the current market (computed only where something
        changed since the last call)."""
        with self._lock:
            engine = self._current()
            if engine is None:
                return None
            self._result = engine.margin_all()
            return self._result

    def with_engine(
        self, work: Callable[[BookEngine, BookMarginResult, tuple[int, ...]], T]
    ) -> T | None:
        """Run ``work(engine, margins, account_ids)`` under the state's lock, the engine at the
        current market and ``margins`` its :meth:`BookEngine.margin_all` there (USD arrays
        indexed like ``account_ids``); ``None`` while the engine holds nothing. ``work`` must
        only read the engine."""
        with self._lock:
            engine = self._current()
            if engine is None:
                return None
            self._result = engine.margin_all()
            return work(engine, self._result, tuple(self._ids))

    def pre_trade(self, account_id: int, instrument: str, size: float) -> PreTradeCheck | None:
        """The engine's what-if: ``account_id`` buys ``size`` (native units, negative sells) of
        ``instrument`` at the mark. ``None`` when the engine does not hold the account or the
        instrument yet (the caller falls back to the single-account model).

        A coin-settled future or perpetual traded at a mark away from the engine's entry also
        moves the account's entry offset (:meth:`BookEngine.load_positions`): a trade that opens
        or adds to the position carries it as the check's second leg
        (``pre_trade(..., entry_offset_coin=...)``, microseconds); one that reduces the position
        also realises P&L into the coin balance, so that what-if nets the trade as the ledger
        does (:func:`~crossmargin.ledger.netting.net_trade`) and margins the holdings after it
        (:meth:`BookEngine.margin_of`, tens of microseconds). Either way it is the model's."""
        with self._lock:
            a = self._index.get(account_id)
            i = self._instrument_index.get(instrument)
            if a is None or i is None:
                return None
            engine = self._current()
            if engine is None:
                return None
            traded = self._instruments[i]
            if not (traded.is_inverse and traded.kind is not InstrumentKind.OPTION):
                return engine.pre_trade(a, i, size)
            mark = self._market.forward(traded.underlying, traded.expiry)
            row = self._rows[a]
            held = row.held.get(instrument)
            if held is None or (held.size > 0) == (size > 0):  # opens or adds: no P&L realised
                offset = size * (1.0 / mark - 1.0 / self._entries[instrument])
                return engine.pre_trade(a, i, size, entry_offset_coin=offset)
            if self._result is None:
                self._result = engine.margin_all()
            result = self._result  # the account as the engine holds it: the margin before
            netted = net_trade(
                traded,
                Decimal(0) if held is None else held.size,
                None if held is None else held.average_price,
                Decimal(repr(size)),
                Decimal(repr(mark)),
            )
            positions = dict(row.held)
            positions.pop(instrument, None)
            if netted.size_after != 0:
                positions[instrument] = LedgerPosition(
                    instrument, netted.size_after, netted.average_price_after
                )
            balances = dict(row.balances)
            coin = traded.settlement_currency
            realised = round_cash_to_account(netted.realised_pnl, coin)  # as the ledger posts it
            balances[coin] = balances.get(coin, Decimal(0)) + realised
            after = self._margin_of_holdings(engine, positions, balances)
            return PreTradeCheck(
                a, i, size, float(result.initial_margin[a]), float(result.maintenance_margin[a]),
                after.initial_margin, after.maintenance_margin, float(result.equity[a]),
                after.worst_scenario_index,
            )  # fmt: skip

    def _margin_of_holdings(
        self,
        engine: BookEngine,
        positions: Mapping[str, LedgerPosition],
        balances: Mapping[str, Decimal],
    ) -> AccountMargin:
        """:meth:`BookEngine.margin_of` of listed positions and engine-coin balances, each
        coin-settled future at its own entry (its entry offset)."""
        listed = [(self._instruments[self._instrument_index[n]], p) for n, p in positions.items()]
        offsets = account_entries({}, listed, self._entries, self._market).inverse_offset_coin
        coins = {
            currency: float(amount)
            for currency, amount in balances.items()
            if currency not in STABLECOINS and currency in engine.underlyings and amount != 0
        }
        return engine.margin_of(
            [self._instrument_index[n] for n in positions],
            [float(p.size) for p in positions.values()],
            balance_coin=coins or None,
            entry_offset_coin=dict(offsets) or None,
        )

    def initial_margin_of(
        self,
        positions: Sequence[LedgerPosition],
        balances: Mapping[str, Decimal],
        market: MarketSnapshot,
    ) -> float | None:
        """The engine's initial margin (USD) of an account holding exactly ``positions`` and
        ``balances`` at ``market`` (:meth:`BookEngine.margin_of`: from them alone, whatever the
        engine holds for any account; coin-settled futures at their own entries through their
        entry offset) — the single-account ``pm`` model's, to the engine's 1e-9. ``None`` when
        the engine cannot give exactly that number: it is not at ``market`` (the state moves to
        each tick after the service's market has), an instrument or a coin balance is one it
        does not list, or it waits for a rebuild with a larger universe. It never loads or
        rebuilds the engine itself (the ledger's writer calls it: a reload after a new account
        is left to the next tick or check), and reads none of its accounts."""
        with self._lock:
            engine = self._engine
            if (
                market is not self._market
                or engine is None
                or self._rebuild
                or engine.market is not market
            ):
                return None
            if any(held.instrument not in self._instrument_index for held in positions) or any(
                currency not in STABLECOINS and amount != 0 and currency not in engine.underlyings
                for currency, amount in balances.items()
            ):
                return None
            held = {position.instrument: position for position in positions}
            return self._margin_of_holdings(engine, held, balances).initial_margin

    def accounts_to_confirm(
        self, market: MarketSnapshot, liquidatable_below: float
    ) -> set[int] | None:
        """Ledger ids of the accounts a liquidation pass at ``market`` must still margin with
        the single-account model: all but those the engine shows healthy enough — margined
        exactly as held (:meth:`CollateralTable.margined_as_held`: no coin balance outside its
        underlyings) with equity ≥
        ``liquidatable_below`` × MM × (1 + 1e-6) + 0.01 USD (equity / MM below
        ``liquidatable_below`` is liquidatable; the engine equals the model to 1e-9). ``None``
        when the state is not at ``market``."""
        with self._lock:
            if market is not self._market:
                return None
            engine = self._current()
            if engine is None:
                return set(self._ids)
            result = engine.margin_all()
            clear = self._table.margined_as_held(engine.underlyings) & (
                result.equity
                >= liquidatable_below * result.maintenance_margin * (1.0 + 1e-6) + 0.01
            )
            return {account_id for account_id, ok in zip(self._ids, clear, strict=True) if not ok}

    # ------------------------------------------------------------------ views

    @property
    def account_ids(self) -> tuple[int, ...]:
        """Ledger account ids, in the engine's account order."""
        with self._lock:
            return tuple(self._ids)

    @property
    def market(self) -> MarketSnapshot:
        """The market the state is at."""
        return self._market

    def entry_prices_usd(self) -> dict[str, float]:
        """The engine's entry price per future, perpetual and spot (USD per coin)."""
        with self._lock:
            return dict(self._entries)

    def row(self, account_id: int) -> AccountRow | None:
        """The account as last read, or ``None`` when it is not held."""
        with self._lock:
            a = self._index.get(account_id)
            return None if a is None else self._rows[a]
