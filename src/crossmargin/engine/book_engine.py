"""The book engine: every account's portfolio margin or SPAN at once, incremental pre-trade checks.

State (positions, collateral, the market and the tables derived from it) lives here; what is
particular to a model lives in its registered spec (:mod:`crossmargin.engine.specs`: block builder,
parameter columns, numba kernel, numpy twin), looked up once; the arithmetic lives in the kernels
(:mod:`crossmargin.engine.kernels_pm`, :mod:`crossmargin.engine.kernels_span`), which give, for
any account, the numbers of the single-account model
(:class:`~crossmargin.margin.pm.model.PortfolioMargin`,
:class:`~crossmargin.margin.span.model.SpanMargin`) on that account's positions.

Conventions:

* positions are in each instrument's native units; the engine nets duplicate (account,
  instrument) rows and drops zero positions;
* ``collateral_usd`` is each account's collateral value in USD (after haircuts);
  equity = collateral + the positions' mark value;
* futures, perpetuals and spot share one entry price per instrument (default: the forward at the
  engine's first market, i.e. P&L settled into collateral at that mark); their mark value is the
  P&L since then;
* a trade (:meth:`BookEngine.apply_trade`) executes at the mark: its mark value is paid from
  collateral, so it changes margin, not equity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel

from crossmargin.core.errors import InputError
from crossmargin.engine.check_pool import (
    CHECK_SECOND_COLUMN,
    DEFAULT_CHECK_SLOTS,
    TWO_LEG_REQUEST_COLUMNS,
    CheckPool,
)
from crossmargin.engine.columns import (
    CHECK_OUTPUT_COLUMNS,
    F_VALUE,
    I_UNDERLYING,
    O_EQUITY,
    O_INITIAL,
    O_MAINTENANCE,
)
from crossmargin.engine.execution import (
    CheckBuffers,
    available_cpus,
    balanced_bounds,
    check_account,
    held_underlyings,
    margin_accounts,
    margin_partition,
)
from crossmargin.engine.layout import build_layout, coerce_instruments, engine_order
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.positions import PackedRows, PositionBook
from crossmargin.engine.results import AccountMargin, BookMarginResult, PreTradeCheck
from crossmargin.engine.specs import model_spec
from crossmargin.engine.tables import KernelTables, UnderlyingBlock, same_inputs
from crossmargin.engine.validation import (
    checked_float_vector,
    checked_index,
    checked_index_vector,
    checked_size,
    same_lengths,
)
from crossmargin.instruments import Instrument
from crossmargin.margin.pm.parameters import STABLE_CURRENCIES
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import instrument_arrays

__all__ = ["BookEngine"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class BookEngine:
    """Margin of all accounts of a venue for one scenario model.

    Parameters
    ----------
    instruments:
        The tradable instruments (:class:`Instrument` values or Deribit names); positions refer to
        them by position in this sequence.
    market:
        The market to margin at.
    model:
        A registered model (:data:`crossmargin.engine.specs.MODEL_SPECS`): ``"pm"``
        (Deribit-style portfolio margin) or ``"span"``.
    parameters:
        The model's parameters (:class:`PortfolioMarginParameters`, :class:`SpanParameters`);
        the shipped ones when None.
    entry_prices_usd:
        Optional (n_instruments,) entry price per future, perpetual and spot (NaN or None: the
        forward at ``market``).
    threads:
        Threads for :meth:`margin_all` (default: one per available CPU).
    check_slots:
        Accounts whose scenario vectors the pre-trade pool keeps (default
        :data:`~crossmargin.engine.check_pool.DEFAULT_CHECK_SLOTS`, at most the number of
        accounts). The pool is allocated when positions are loaded and never grows; past it, the
        account checked longest ago gives up its slot and is rebuilt at its next check.
    """

    def __init__(
        self,
        instruments: Sequence[Instrument | str],
        market: MarketSnapshot,
        model: str = "pm",
        parameters: BaseModel | None = None,
        *,
        entry_prices_usd: ArrayLike | None = None,
        threads: int | None = None,
        check_slots: int | None = None,
    ) -> None:
        if not isinstance(market, MarketSnapshot):
            raise InputError("market", type(market).__name__, "must be a MarketSnapshot")
        self._spec = model_spec(model)
        self._parameters: BaseModel = self._spec.checked_parameters(parameters)
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise InputError("threads", threads, "must be None or an int >= 1")
        self._threads = threads
        if check_slots is not None and (
            isinstance(check_slots, bool) or not isinstance(check_slots, int) or check_slots < 1
        ):
            raise InputError("check_slots", check_slots, "must be None or an int >= 1")
        self._check_slots = DEFAULT_CHECK_SLOTS if check_slots is None else check_slots
        items = coerce_instruments(instruments)
        self._instruments = items
        self._order = engine_order(items, self._spec.instrument_key)
        self._rank = np.empty(len(items), dtype=np.int64)
        self._rank[self._order] = np.arange(len(items))
        internal = tuple(items[position] for position in self._order)
        self._layout = build_layout(
            internal,
            with_rate_factors=self._spec.rate_factors,
            balance_columns=self._spec.balance_columns,
        )
        # the entry-offset column of each instrument's underlying (engine order), when the
        # model has them and a check that adds it as a second leg
        self._offset_column: list[int] | None = None
        if self._layout.balance_columns and self._spec.fast_check is not None:
            offset_columns = self._layout.entry_offset_start + self._layout.underlying_id
            self._offset_column = [int(c) for c in offset_columns]
        given = np.full(len(items), np.nan)
        if entry_prices_usd is not None:
            prices = np.asarray(entry_prices_usd, dtype=np.float64)
            same_lengths(instruments=given, entry_prices_usd=prices.reshape(-1))
            bad = np.flatnonzero(~np.isnan(prices) & ~(np.isfinite(prices) & (prices > 0.0)))
            if bad.size:
                raise InputError(
                    f"entry_prices_usd[{bad[0]}]", float(prices[bad[0]]), "must be > 0 or NaN"
                )
            given = prices.reshape(-1)
        self._entry_prices = instrument_arrays(internal, market, given[self._order]).entry_usd
        self._market = market
        self._blocks = [self._block(u, market) for u in range(len(self._layout.underlyings))]
        self._tables = self._spec.tables(self._layout, self._blocks, self._parameters)
        self._labels = tuple(label for block in self._blocks for label in block.labels)
        self._load(PositionBook.empty(), np.zeros(0))

    # ------------------------------------------------------------------ state

    def _block(self, u: int, market: MarketSnapshot) -> UnderlyingBlock:
        arrays, reference = self._spec.inputs(self._layout, u, market, self._entry_prices)
        return self._spec.block(self._layout, u, market, arrays, reference, self._parameters)

    def _load(self, book: PositionBook, collateral: FloatArray) -> None:
        accounts = book.account_count
        self._book = book
        self._collateral = collateral
        self._held = held_underlyings(self._tables, book.row_start, book.row_len, book.cols)
        tables = self._tables
        fast = self._spec.fast_check
        if fast is not None:  # the model's own state per slot (pm: lanes, held counts, nets)
            shape = fast.pool_shape(tables)
        else:  # the stored scenario vectors the model's kernel reads as its state
            shape = (tables.underlying_count, tables.pnl.shape[1], 0)
        self._pool = CheckPool(accounts, self._check_slots, *shape)
        self._epoch = 0
        self._buffers = CheckBuffers()
        self._request = np.zeros(TWO_LEG_REQUEST_COLUMNS, dtype=np.int64)
        self._request[CHECK_SECOND_COLUMN] = -1  # the second leg (pm): none until one is asked
        self._trade_size = np.zeros(2)  # the trade, then the second leg's size
        self._check_float = np.zeros((2, CHECK_OUTPUT_COLUMNS))
        self._check_int = np.zeros(2, dtype=np.int64)
        self._request_view: Any = self._request.data
        self._trade_size_view: Any = self._trade_size.data
        self._check_int_view: Any = self._check_int.data
        self._bind_check()
        self._cache: MarginArrays | None = None
        self._stale = np.zeros(accounts, dtype=np.bool_)
        self._moved = np.uint64(0)

    # ------------------------------------------------------------------ properties

    @property
    def model(self) -> str:
        """The model's name (``"pm"``, ``"span"``)."""
        return self._spec.name

    @property
    def parameters(self) -> BaseModel:
        """The model parameters in use."""
        return self._parameters

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The instruments, in ``instrument_index`` order."""
        return self._instruments

    @property
    def underlyings(self) -> tuple[str, ...]:
        """The underlyings, sorted."""
        return self._layout.underlyings

    @property
    def market(self) -> MarketSnapshot:
        """The current market."""
        return self._market

    @property
    def entry_prices_usd(self) -> FloatArray:
        """Entry price per future, perpetual and spot (NaN for options), USD, in
        ``instrument_index`` order."""
        return self._entry_prices[self._rank]

    @property
    def scenario_labels(self) -> tuple[str, ...]:
        """Scenario names on the global axis ``worst_scenario_index`` refers to."""
        return self._labels

    @property
    def account_count(self) -> int:
        """Number of accounts loaded."""
        return self._book.account_count

    @property
    def position_count(self) -> int:
        """Number of non-zero positions."""
        return self._book.position_count

    @property
    def collateral_usd(self) -> FloatArray:
        """Collateral value per account, USD (a copy)."""
        return self._collateral.copy()

    @property
    def check_slots(self) -> int:
        """Accounts whose stored scenario vectors the pre-trade pool holds (its fixed size)."""
        return self._pool.capacity

    @property
    def tables(self) -> KernelTables:
        """The kernel tables at the current market (read-only use)."""
        return self._tables

    @property
    def linear_factor_instruments(self) -> int:
        """How many instruments the kernels handle through linear factors instead of rows."""
        real = self._layout.instrument_count  # balance columns follow the instruments
        return int(np.count_nonzero(self._tables.instrument_int[:real, 1] >= 0))

    @property
    def memory_bytes(self) -> int:
        """Bytes of the arrays the engine holds: position rows, collateral, kernel tables,
        the pool of stored scenario vectors and the cached results."""
        book = self._book
        arrays: list[NDArray[Any]] = [
            book.row_start, book.row_len, book.row_capacity, book.cols, book.sizes,
            self._collateral, self._held, self._stale, self._order, self._rank,
            self._entry_prices,
        ]  # fmt: skip
        tables = self._tables
        arrays += [value for value in vars(tables).values() if isinstance(value, np.ndarray)]
        if self._spec.fast_check is not None:
            packed = tables.packed
            arrays += [value for value in vars(packed).values() if isinstance(value, np.ndarray)]
        if self._cache is not None:
            cache = self._cache
            arrays += [cache.initial_margin, cache.maintenance_margin, cache.equity,
                       cache.worst_scenario_index, cache.margin_ratio]  # fmt: skip
        return int(sum(array.nbytes for array in arrays)) + self._pool.nbytes

    def positions(self, account: int) -> tuple[IntArray, FloatArray]:
        """(instrument indices, sizes) held by ``account``, ascending by instrument."""
        a = checked_index(account, "account", self.account_count)
        cols, sizes = self._book.row(a)
        instruments = cols < self._layout.instrument_count  # balance columns follow
        cols, sizes = cols[instruments], sizes[instruments]
        external = self._order[cols].astype(np.int64)
        ascending = np.argsort(external)
        return external[ascending], sizes[ascending]

    # ------------------------------------------------------------------ positions

    def load_positions(
        self,
        account_index: ArrayLike,
        instrument_index: ArrayLike,
        size: ArrayLike,
        collateral_usd: ArrayLike,
        *,
        balance_coin: Mapping[str, ArrayLike] | None = None,
        entry_offset_coin: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        """Replace every account's positions and collateral.

        Parameters
        ----------
        account_index, instrument_index, size:
            One element per position: account (0 .. n_accounts − 1), instrument (index into
            ``instruments``), size in native units (finite; repeated pairs are added up).
        collateral_usd:
            (n_accounts,) collateral value per account, USD, finite, either sign (the equity's
            collateral part, after haircuts).
        balance_coin:
            Optional coin balances that are positions in the scenarios (``pm``): currency →
            (n_accounts,) balance in coin (either sign). A currency must be one of the engine's
            underlyings; a stablecoin balance moves in no scenario and is left out.
        entry_offset_coin:
            Optional (``pm``): accounts whose coin-settled futures were entered away from the
            engine's entry prices — underlying → (n_accounts,) Σ size × (1/E_own − 1/E_engine)
            over their futures and perpetuals settled in that coin (coin, either sign). Their
            scenario P&L and delta are then those at their own entries (a future's USD P&L
            scales with 1/entry; its roll-shock coin and the rest do not depend on it).

        Raises :class:`InputError` naming the argument and its first bad element; the engine is
        unchanged after a rejected call.
        """
        collateral = checked_float_vector(collateral_usd, "collateral_usd", None)
        accounts = checked_index_vector(account_index, "account_index", collateral.shape[0])
        instruments = checked_index_vector(
            instrument_index, "instrument_index", self._layout.instrument_count
        )
        sizes = checked_float_vector(size, "size", None)
        same_lengths(account_index=accounts, instrument_index=instruments, size=sizes)
        columns = self._rank[instruments]
        count = collateral.shape[0]
        for extra in (
            self._coin_entries(balance_coin, count, "balance_coin", self._layout.instrument_count),
            self._coin_entries(
                entry_offset_coin, count, "entry_offset_coin", self._layout.entry_offset_start
            ),
        ):
            if extra is not None:
                accounts = np.concatenate([accounts, extra[0]])
                columns = np.concatenate([columns, extra[1]])
                sizes = np.concatenate([sizes, extra[2]])
        book = PositionBook.from_arrays(
            accounts, columns, sizes, collateral.shape[0], self._layout.column_count,
        )  # fmt: skip
        self._load(book, collateral.copy())

    def _coin_entries(
        self, coins: Mapping[str, ArrayLike] | None, accounts: int, name: str, first_column: int
    ) -> tuple[IntArray, IntArray, FloatArray] | None:
        """(account, column, coin) rows of the non-zero amounts of ``coins`` (the argument
        ``name``: currency → one amount per account), checked; currency u goes to column
        ``first_column + u`` (the balance or the entry-offset columns)."""
        if coins is None:
            return None
        if not self._layout.balance_columns:
            raise InputError(name, list(coins), f"not used by {self.model!r}")
        parts: list[tuple[IntArray, IntArray, FloatArray]] = []
        for currency, values in coins.items():
            amounts = checked_float_vector(values, f"{name}[{currency}]", None)
            if amounts.shape[0] != accounts:
                raise InputError(
                    f"{name}[{currency}]", amounts.shape[0], f"must have {accounts} elements"
                )
            if currency not in self._layout.underlyings:
                if currency in STABLE_CURRENCIES:
                    continue
                raise InputError(
                    name, currency, "must be an underlying of the engine's instruments"
                )
            held = np.flatnonzero(amounts != 0.0).astype(np.int64)
            column = first_column + self._layout.underlyings.index(currency)
            parts.append((held, np.full(held.shape[0], column, dtype=np.int64), amounts[held]))
        if not parts:
            return None
        accounts_of = np.concatenate([part[0] for part in parts])
        columns_of = np.concatenate([part[1] for part in parts])
        return accounts_of, columns_of, np.concatenate([part[2] for part in parts])

    def set_account(
        self,
        account: int,
        instrument_index: ArrayLike,
        size: ArrayLike,
        collateral_usd: float,
        *,
        balance_coin: Mapping[str, float] | None = None,
        entry_offset_coin: Mapping[str, float] | None = None,
    ) -> None:
        """Replace one account's positions, coin balances and collateral; the others keep theirs.

        The engine then margins as one freshly loaded (:meth:`load_positions`) with this account's
        rows and collateral replaced, at the current market: the account is recomputed by the
        next :meth:`margin_all` and its pre-trade state is rebuilt at its next check. Cost: the
        account's row, never the book.

        Parameters
        ----------
        account:
            The account (0 .. n_accounts − 1).
        instrument_index, size:
            The account's whole set of positions, one element each: instrument (index into
            ``instruments``) and size in native units (finite, positive long, negative short;
            repeated instruments are added up, zeros dropped). Positions not listed are closed.
        collateral_usd:
            The account's collateral value, USD, finite, either sign (after haircuts, negative
            for a debt; equity =
            collateral + the positions' mark value).
        balance_coin:
            Optional (``pm``) coin balances that are positions in the scenarios: currency →
            balance in coin (either sign), as in :meth:`load_positions`. Balances not listed are
            zero; a stablecoin is left out.
        entry_offset_coin:
            Optional (``pm``): underlying → the account's entry offset in coin, as in
            :meth:`load_positions` (offsets not listed are zero).

        Raises :class:`InputError` naming the argument and its first bad element; the engine is
        unchanged after a rejected call.
        """
        a = checked_index(account, "account", self.account_count)
        unique, net = self._account_row(instrument_index, size, balance_coin, entry_offset_coin)
        collateral = checked_size(collateral_usd, "collateral_usd")
        book = self._book
        cols = book.cols
        start, length = int(book.row_start[a]), int(book.row_len[a])
        book.cols[start : start + length] = 0
        book.sizes[start : start + length] = 0.0
        book.row_len[a] = 0
        for column, value in zip(unique.tolist(), net.tolist(), strict=True):
            if value != 0.0:  # ascending: each one is appended to the row
                book.set_size(a, int(column), float(value))
        if book.cols is not cols:  # the row buffers grew: rebind the check's arguments
            self._bind_check()
        self._collateral[a] = collateral
        self._held[a] = held_underlyings(
            self._tables, book.row_start[a : a + 1], book.row_len[a : a + 1], book.cols
        )[0]
        self._stale[a] = True
        if self._pool.has_slot(a):  # its stored scenario state no longer matches its positions
            self._pool.epochs[self._pool.slot(a)] = -1

    def _account_row(
        self,
        instrument_index: ArrayLike,
        size: ArrayLike,
        balance_coin: Mapping[str, float] | None,
        entry_offset_coin: Mapping[str, float] | None = None,
    ) -> tuple[IntArray, FloatArray]:
        """One account's row, checked: its columns ascending and their net sizes (repeated
        columns added up in input order, as a load does; zeros kept). Plain Python on the few
        entries of one account: numpy's per-call cost would dominate."""
        instruments = checked_index_vector(
            instrument_index, "instrument_index", self._layout.instrument_count
        )
        sizes = checked_float_vector(size, "size", None)
        same_lengths(instrument_index=instruments, size=sizes)
        net: dict[int, float] = {}
        for column, value in zip(self._rank[instruments].tolist(), sizes.tolist(), strict=True):
            net[column] = net.get(column, 0.0) + value
        for given, name, first in (
            (balance_coin, "balance_coin", self._layout.instrument_count),
            (entry_offset_coin, "entry_offset_coin", self._layout.entry_offset_start),
        ):
            if given is None:
                continue
            if not self._layout.balance_columns:
                raise InputError(name, list(given), f"not used by {self.model!r}")
            for currency, amount in given.items():
                value = checked_size(amount, f"{name}[{currency}]")
                if currency not in self._layout.underlyings:
                    if currency in STABLE_CURRENCIES:
                        continue
                    raise InputError(
                        name, currency, "must be an underlying of the engine's instruments"
                    )
                if value != 0.0:
                    column = first + self._layout.underlyings.index(currency)
                    net[column] = net.get(column, 0.0) + value
        columns = sorted(net)
        return np.array(columns, dtype=np.int64), np.array([net[c] for c in columns])

    # ------------------------------------------------------------------ margin

    def margin_all(self, *, incremental: bool = True) -> BookMarginResult:
        """Margin of every account.

        With ``incremental`` (the default) only accounts whose positions changed or that hold an
        underlying whose market moved since the last call are recomputed; the others keep their
        numbers, which are exactly what a full recompute would give.
        """
        count = self.account_count
        if not incremental or self._cache is None:
            cache = MarginArrays.for_kernel(count)
            todo: IntArray = np.arange(count, dtype=np.int64)
        else:
            cache = self._cache.copy()  # the last result's arrays are read-only and stay so
            redo = self._stale | ((self._held & self._moved) != 0)
            todo = np.flatnonzero(redo).astype(np.int64)
        if todo.size == count:
            margin_accounts(
                self._spec.kernel,
                self._tables,
                todo,
                self._rows(),
                self._collateral,
                cache,
                self._threads,
            )
        elif todo.size:
            fresh = MarginArrays.for_kernel(todo.size)
            margin_accounts(
                self._spec.kernel,
                self._tables,
                todo,
                self._rows(),
                self._collateral,
                fresh,
                self._threads,
            )
            cache.initial_margin[todo] = fresh.initial_margin
            cache.maintenance_margin[todo] = fresh.maintenance_margin
            cache.equity[todo] = fresh.equity
            cache.worst_scenario_index[todo] = fresh.worst_scenario_index
            cache.margin_ratio[todo] = fresh.margin_ratio
        self._cache = cache
        self._stale[:] = False
        self._moved = np.uint64(0)
        return self._result(cache)

    def _result(self, arrays: MarginArrays) -> BookMarginResult:
        """The result over ``arrays`` themselves (no copies: they become read-only, and the
        engine copies its cache before changing it)."""
        return BookMarginResult(
            model=self.model,
            initial_margin=arrays.initial_margin,
            maintenance_margin=arrays.maintenance_margin,
            equity=arrays.equity,
            margin_ratio=arrays.margin_ratio,
            worst_scenario_index=arrays.worst_scenario_index,
            scenario_labels=self._labels,
        )

    def margin_all_reference(self) -> BookMarginResult:
        """:meth:`margin_all` through the numpy/scipy twin (for tests and baselines)."""
        return self._result(
            self._spec.twin(self._tables, self.underlyings, self._book.packed(), self._collateral)
        )

    def margin_all_dask(
        self, client: Any = None, partitions: int | None = None
    ) -> BookMarginResult:
        """:meth:`margin_all` split into account partitions on Dask, identical results.

        Parameters
        ----------
        client:
            A ``dask.distributed.Client`` (local or a multi-machine cluster; workers need
            ``crossmargin`` installed). None runs on the local threads scheduler.
        partitions:
            Number of account partitions (default: twice the workers or CPUs). Each task gets its
            accounts' positions as a CSR slice and the shared tables (scattered once to every
            worker with a client).
        """
        from dask.base import compute  # imported on use: dask is heavy to import
        from dask.delayed import delayed

        workers = available_cpus() if client is None else max(1, len(client.ncores()))
        parts = (
            2 * workers if partitions is None else checked_index(partitions, "partitions", 1 << 20)
        )
        parts = max(1, parts)
        book = self._book
        bounds = balanced_bounds(book.row_len, parts)
        pieces = [(book.packed(lo, hi), self._collateral[lo:hi]) for lo, hi in bounds]
        if client is None:
            tasks = [delayed(margin_partition)(self._tables, r, c) for r, c in pieces]
            outputs = list(compute(*tasks, scheduler="threads"))  # type: ignore[no-untyped-call]
        else:
            tables = client.scatter(self._tables, broadcast=True)
            data = client.scatter(pieces)
            futures = [client.submit(_partition_task, tables, piece) for piece in data]
            outputs = client.gather(futures)
        empty = MarginArrays.empty(0)
        joined = MarginArrays(
            *(
                np.concatenate([getattr(o, name) for o in outputs] or [getattr(empty, name)])
                for name in ("initial_margin", "maintenance_margin", "equity",
                             "worst_scenario_index", "margin_ratio")
            )
        )  # fmt: skip
        return self._result(joined)

    # ------------------------------------------------------------------ market

    def update_market(self, market: MarketSnapshot) -> tuple[str, ...]:
        """Move to ``market``, recomputing the P&L rows of the underlyings whose inputs changed.

        Returns the underlyings that moved. Raises :class:`InputError` (engine unchanged) when
        the market cannot value an instrument (missing price or surface, expired instrument).
        """
        if not isinstance(market, MarketSnapshot):
            raise InputError("market", type(market).__name__, "must be a MarketSnapshot")
        blocks = list(self._blocks)
        moved: list[int] = []
        for u in range(len(blocks)):
            arrays, reference = self._spec.inputs(self._layout, u, market, self._entry_prices)
            if not same_inputs(blocks[u], arrays, reference):
                blocks[u] = self._spec.block(
                    self._layout, u, market, arrays, reference, self._parameters
                )
                moved.append(u)
        tables = (
            self._spec.tables(self._layout, blocks, self._parameters) if moved else self._tables
        )
        self._market = market
        if moved:
            self._blocks = blocks
            self._tables = tables
            self._labels = tuple(label for block in blocks for label in block.labels)
            self._epoch += 1
            self._bind_check()
            bits = sum(1 << u for u in moved) if len(blocks) <= 64 else (1 << 64) - 1
            self._moved = np.uint64(int(self._moved) | bits)
        return tuple(self._layout.underlyings[u] for u in moved)

    # ------------------------------------------------------------------ trades

    def _trade_args(
        self, account: object, instrument_index: object, size: object
    ) -> tuple[int, int, float]:
        a = checked_index(account, "account", self.account_count)
        i = checked_index(instrument_index, "instrument_index", self._layout.instrument_count)
        return a, int(self._rank[i]), checked_size(size, "size")

    def _offset_arg(self, entry_offset_coin: object) -> float:
        """``entry_offset_coin`` checked (finite coin); a non-zero one needs the model's
        entry-offset columns and its fast check. The callers skip this for a float 0 (the
        default: a one-leg check pays nothing for the option)."""
        offset = checked_size(entry_offset_coin, "entry_offset_coin")
        if offset != 0.0 and self._offset_column is None:
            raise InputError("entry_offset_coin", offset, f"not used by {self.model!r}")
        return offset

    def _rows(self) -> tuple[IntArray, IntArray, NDArray[np.int32], FloatArray]:
        book = self._book
        return book.row_start, book.row_len, book.cols, book.sizes

    def _check(
        self, a: int, i: int, size: float, commit: int = 0, offset: float = 0.0
    ) -> PreTradeCheck:
        """The check of ``size`` of column ``i`` (engine order) for account ``a`` and, when
        ``offset`` (coin) is not 0, ``offset`` of the entry-offset column of i's underlying in
        the same check (fast check only: :meth:`_offset_arg` refuses it otherwise); with
        ``commit`` = 1 the stored state takes both legs."""
        slot = self._pool.slot(a)
        if self._check_call is not None:
            request = self._request_view  # memoryviews: item writes without numpy scalars
            request[0] = a
            request[1] = i
            request[2] = slot
            request[3] = self._epoch
            request[4] = commit
            sizes = self._trade_size_view
            sizes[0] = size
            sizes[1] = offset  # a second leg of 0 adds nothing (the kernel skips it)
            if offset != 0.0 and self._offset_column is not None:
                request[CHECK_SECOND_COLUMN] = self._offset_column[i]
            self._check_call()
            before, after = self._check_float.tolist()
            return PreTradeCheck(
                a, int(self._order[i]), size, before[O_INITIAL], before[O_MAINTENANCE],
                after[O_INITIAL], after[O_MAINTENANCE], after[O_EQUITY],
                self._check_int_view[1],
            )  # fmt: skip
        pool = self._pool
        state = (slot, pool.vectors, pool.epochs, self._epoch)
        out = check_account(
            self._spec.kernel,
            self._tables,
            a,
            i,
            size,
            self._rows(),
            self._collateral,
            state,
            self._buffers,
        )
        return PreTradeCheck(
            account=a,
            instrument_index=int(self._order[i]),
            size=size,
            initial_margin_before=float(out.initial_margin[0]),
            maintenance_margin_before=float(out.maintenance_margin[0]),
            initial_margin=float(out.initial_margin[1]),
            maintenance_margin=float(out.maintenance_margin[1]),
            equity=float(out.equity[1]),
            worst_scenario_index=int(out.worst_scenario_index[1]),
        )

    def _bind_check(self) -> None:
        """Bind the model's fast check (:class:`~crossmargin.engine.model_spec.FastCheck`, if it
        has one) to this engine's current arrays, once per load, market move or grown row buffer
        (never inside a check): a check then pays neither numba's type dispatch nor argument
        packing, and the first check after a move does not load the kernel."""
        fast = self._spec.fast_check
        self._check_call: Callable[[], None] | None = None
        if fast is not None:
            arrays = (
                self._request, self._trade_size, self._rows(), self._collateral, self._pool,
                self._check_float, self._check_int,
            )  # fmt: skip
            self._check_call = fast.bind(self._tables, arrays)

    def pre_trade(
        self, account: int, instrument_index: int, size: float, *, entry_offset_coin: float = 0.0
    ) -> PreTradeCheck:
        """Margin of ``account`` after buying ``size`` (native units, negative sells) of
        instrument ``instrument_index`` at the mark, without committing it.

        Reads the account's stored scenario P&L vector (rebuilt from its positions once after a
        market move) and one instrument's P&L row: the cost does not grow with the number of
        accounts.

        ``entry_offset_coin`` (coin of the instrument's underlying, either sign; default 0):
        how much the trade moves the account's entry offset on that underlying (see
        :meth:`load_positions`) — for a coin-settled future or perpetual traded at a mark M
        away from the engine's entry E, size × (1/M − 1/E) per USD of face. It is added in the
        same check as a second row (``pm``: the underlying's entry-offset column), so the
        result is the margin of the account with both the trade and the offset moved, as
        :meth:`margin_of` or :meth:`set_account` give it; 0 is exactly the one-leg check.
        A model without entry-offset columns (``span``) refuses a non-zero value.

        Raises :class:`InputError` naming the argument (``account``, ``instrument_index``,
        ``size``, ``entry_offset_coin``: finite); the engine is unchanged after a rejected call.
        """
        a, i, ds = self._trade_args(account, instrument_index, size)
        if entry_offset_coin == 0.0 and type(entry_offset_coin) is float:
            return self._check(a, i, ds)
        return self._check(a, i, ds, offset=self._offset_arg(entry_offset_coin))

    def apply_trade(
        self, account: int, instrument_index: int, size: float, *, entry_offset_coin: float = 0.0
    ) -> PreTradeCheck:
        """Commit the trade of :meth:`pre_trade` (whatever the check says) and return the check.

        The position changes by ``size``, collateral pays the trade's mark value, the account's
        entry offset on the instrument's underlying by ``entry_offset_coin`` (coin; it has no
        mark value, so collateral pays nothing for it), the account's stored scenario vector
        moves by both rows, and the account is recomputed by the next :meth:`margin_all`.
        """
        a, i, ds = self._trade_args(account, instrument_index, size)
        offset = 0.0
        if entry_offset_coin != 0.0 or type(entry_offset_coin) is not float:
            offset = self._offset_arg(entry_offset_coin)
        check = self._check(a, i, ds, commit=1, offset=offset)  # pm: the state takes both legs
        book = self._book
        cols = book.cols
        book.set_size(a, i, book.size_of(a, i) + ds)
        if offset != 0.0 and self._offset_column is not None:
            column = self._offset_column[i]
            book.set_size(a, column, book.size_of(a, column) + offset)
        if book.cols is not cols:  # the row buffers grew: rebind the check's arguments
            self._bind_check()
        self._collateral[a] -= ds * self._tables.instrument_float[i, F_VALUE]
        if self._spec.fast_check is None:  # the fast check committed the trade itself
            row = int(self._tables.instrument_int[i, I_UNDERLYING])
            self._pool.vectors[self._pool.slot(a), row] += ds * self._tables.pnl[i]
        self._held[a] = held_underlyings(
            self._tables, book.row_start[a : a + 1], book.row_len[a : a + 1], book.cols
        )[0]
        self._stale[a] = True
        return check

    def margin_of(
        self,
        instrument_index: ArrayLike,
        size: ArrayLike,
        *,
        balance_coin: Mapping[str, float] | None = None,
        entry_offset_coin: Mapping[str, float] | None = None,
    ) -> AccountMargin:
        """Initial and maintenance margin (USD, ≥ 0) and worst scenario of an account holding
        exactly these positions and coin balances at the engine's current market, computed from
        them alone:
        nothing is stored and no account of the book is read, so the answer is the same
        whatever the book holds (a what-if of any shape: several legs, coin balances moved by a
        premium or a fee, a withdrawal).

        Parameters are those of :meth:`set_account` (instrument indices into ``instruments``,
        sizes in native units, positive long; ``balance_coin``: currency → coin and
        ``entry_offset_coin``: underlying → coin, ``pm``).
        Raises :class:`InputError` naming the argument and its first bad element.
        """
        columns, net = self._account_row(instrument_index, size, balance_coin, entry_offset_coin)
        held = net != 0.0
        count = int(np.count_nonzero(held))
        rows = PackedRows(
            np.array([0, count], dtype=np.int64),
            columns[held].astype(np.int32),
            net[held],
        )
        out = margin_partition(self._tables, rows, np.zeros(1))
        return AccountMargin(
            float(out.initial_margin[0]),
            float(out.maintenance_margin[0]),
            int(out.worst_scenario_index[0]),
        )

    def position_arrays(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Every position the engine holds, coin balances left out: (account, instrument index
        into ``instruments``, size in native units), ordered by account (one array each)."""
        book = self._book
        count = self.account_count
        lengths = book.row_len[:count]
        accounts = np.repeat(np.arange(count, dtype=np.int64), lengths)
        slots = np.repeat(book.row_start[:count] - np.cumsum(lengths) + lengths, lengths)
        slots = slots + np.arange(accounts.shape[0], dtype=np.int64)
        cols = book.cols[slots].astype(np.int64)
        held = cols < self._layout.instrument_count  # balance columns follow the instruments
        return accounts[held], self._order[cols[held]].astype(np.int64), book.sizes[slots][held]

    def set_collateral(self, collateral_usd: ArrayLike) -> None:
        """Replace every account's collateral (``(n_accounts,)`` USD, finite, either sign: the
        equity's collateral part after haircuts, as in :meth:`load_positions`); the accounts
        whose collateral changed are recomputed by the next :meth:`margin_all`, the others keep
        their numbers. Raises :class:`InputError` naming the first bad element."""
        collateral = checked_float_vector(collateral_usd, "collateral_usd", None)
        if collateral.shape[0] != self.account_count:
            raise InputError(
                "collateral_usd", collateral.shape[0], f"must have {self.account_count} elements"
            )
        self._stale |= collateral != self._collateral
        self._collateral[:] = collateral  # in place: the bound pre-trade check reads it


def _partition_task(tables: KernelTables, piece: tuple[Any, FloatArray]) -> MarginArrays:
    rows, collateral = piece
    return margin_partition(tables, rows, collateral)
