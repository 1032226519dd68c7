"""Walk real history: each book's margin under each model at every moment, and what it then lost.

At every moment t of the window the book is carried to t (:func:`restrike_portfolio`), margined
by every model at the market of t (:meth:`MarketPath.snapshot`), and revalued — the same
contracts, entry prices and sizes — at the market h days later. The realised P&L over the horizon
is V(book_t, market_{t+h}) − V(book_t, market_t) in USD (negative is a loss), with coin collateral
moving as spot (:func:`~crossmargin.margin.common.risk_portfolio`), stablecoins flat, no funding,
fees or intermediate rebalancing. An *exception* is a window whose loss exceeded the initial
margin held at its start: P&L < −IM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from crossmargin.backtest.market_path import MarketPath
from crossmargin.backtest.restrike import reference_carry, restrike_portfolio, with_carry
from crossmargin.core.errors import CrossmarginError, InputError
from crossmargin.core.numeric import decimal_to_float
from crossmargin.margin.base import MarginModel, requirement_run
from crossmargin.margin.common import STABLE_CURRENCIES, risk_portfolio
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import delta_one_coin_per_unit, instrument_arrays, unit_values_usd
from crossmargin.pricing.instrument_arrays import FUTURE, PERPETUAL

__all__ = ["BacktestBook", "BacktestRun", "BookPath", "gross_notional_usd", "run_backtest"]

FloatArray = NDArray[np.float64]

#: Most distinct error messages kept per (book, model).
_KEPT_ERRORS = 3


@dataclass(frozen=True)
class BacktestBook:
    """A book to backtest: its name, its positions and collateral, and the market it was written
    at (the reference of :func:`~crossmargin.backtest.restrike.restrike_portfolio`)."""

    name: str
    portfolio: Portfolio
    market: MarketSnapshot

    @property
    def assets(self) -> tuple[str, ...]:
        """Underlyings and coin collateral currencies, sorted: the indexes the book needs."""
        coins = {
            currency
            for currency, amount in self.portfolio.collateral.items()
            if currency not in STABLE_CURRENCIES and amount != 0
        }
        return tuple(sorted(set(self.portfolio.underlyings) | coins))


@dataclass(frozen=True)
class BookPath:
    """One book through the window.

    Attributes
    ----------
    name, assets:
        The book and the assets it needs.
    moments:
        Indices into :attr:`BacktestRun.path` of the window's moments.
    gross_notional_usd:
        Σ |size| × coin per unit × index of the positions at each moment, USD (inverse futures
        and perpetuals: their USD face).
    pnl_usd:
        Realised P&L over the horizon from each moment, USD, negative a loss; NaN where the path
        has no state h days later or the book could not be revalued.
    initial_margin_usd:
        Model → initial margin at each moment, USD (≥ 0); NaN where the model failed.
    errors:
        Model (or ``"realised"``) → the first distinct error messages, and how many moments
        failed in ``failures``.
    """

    name: str
    assets: tuple[str, ...]
    moments: NDArray[np.int64]
    gross_notional_usd: FloatArray
    pnl_usd: FloatArray
    initial_margin_usd: Mapping[str, FloatArray]
    errors: Mapping[str, tuple[str, ...]]
    failures: Mapping[str, int]

    def valid(self, model: str) -> NDArray[np.bool_]:
        """Moments with both a margin and a realised P&L."""
        return np.isfinite(self.pnl_usd) & np.isfinite(self.initial_margin_usd[model])

    def exceptions(self, model: str) -> NDArray[np.bool_]:
        """Valid moments whose loss over the horizon exceeded the margin: P&L < −IM."""
        with np.errstate(invalid="ignore"):
            return self.valid(model) & (self.pnl_usd < -self.initial_margin_usd[model])


@dataclass(frozen=True)
class BacktestRun:
    """Every book's margin and realised P&L over one window of a path.

    ``horizon_days`` is the loss horizon in calendar days; ``models`` the model names in order.
    """

    path: MarketPath
    horizon_days: int
    models: tuple[str, ...]
    books: tuple[BookPath, ...]


def gross_notional_usd(portfolio: Portfolio, market: MarketSnapshot) -> float:
    """Gross notional of ``portfolio``'s positions at ``market``, USD (≥ 0): Σ |size| × coin of
    underlying per native unit × index (options, spot and linear contracts: 1 coin per unit;
    inverse futures and perpetuals: 1 / forward per USD of face, so about their face)."""
    if not portfolio.positions:
        return 0.0
    arrays = instrument_arrays(portfolio.instruments, market)
    sizes = np.array([p.size for p in portfolio.positions], dtype=np.float64)
    delta_one = (arrays.kind == FUTURE) | (arrays.kind == PERPETUAL)
    coin = np.where(delta_one, delta_one_coin_per_unit(arrays), 1.0)
    return float(np.sum(np.abs(sizes) * coin * arrays.index_usd))


def _realised_pnl_usd(portfolio: Portfolio, now: MarketSnapshot, later: MarketSnapshot) -> float:
    risk = risk_portfolio(portfolio)
    if not risk.positions:
        return 0.0
    sizes = np.array([p.size for p in risk.positions], dtype=np.float64)
    arrays_now = instrument_arrays(risk.instruments, now, [p.average_price for p in risk.positions])
    arrays_later = instrument_arrays(risk.instruments, later, arrays_now.entry_usd)
    return float(sizes @ (unit_values_usd(arrays_later) - unit_values_usd(arrays_now)))


class _Errors:
    """Distinct error messages and failure counts per key."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}
        self.counts: dict[str, int] = {}

    def add(self, key: str, moment: str, error: CrossmarginError) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        kept = self.messages.setdefault(key, [])
        if len(kept) < _KEPT_ERRORS:
            kept.append(f"{moment}: {error}")


def run_backtest(
    books: Sequence[BacktestBook],
    models: Sequence[MarginModel],
    path: MarketPath,
    *,
    horizon_days: int,
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestRun:
    """Margin every book under every model at each moment of ``path`` within ``start..end`` and
    record its realised P&L over ``horizon_days`` (module docstring).

    Parameters
    ----------
    books:
        The books (distinct names).
    models:
        Built margin models (``crossmargin.margin.registry.build_model``), distinct names.
    path:
        Daily or 4-hour market states; states after ``end`` still serve as the horizon's end.
    horizon_days:
        Loss horizon in calendar days (≥ 1).
    start, end:
        First and last UTC date of the window's moments (inclusive; None = the path's ends).
    progress:
        Called as ``progress(done, total)`` after each moment.

    Returns
    -------
    BacktestRun
        Per book: gross notional and realised P&L (USD, negative a loss) per moment, and each
        model's initial margin (USD, NaN where it failed, the errors kept).
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise InputError("horizon_days", horizon_days, "must be an integer ≥ 1")
    names = [book.name for book in books]
    if len(set(names)) != len(names) or not names:
        raise InputError("books", names, "need at least one book, with distinct names")
    model_names = tuple(model.name for model in models)
    runs = [requirement_run(model) for model in models]
    if len(set(model_names)) != len(model_names) or not model_names:
        raise InputError("models", list(model_names), "need at least one model, distinct names")
    window = path.positions_between(start, end)
    if window.size == 0:
        raise InputError("start..end", f"{start}..{end}", "holds no moment of the history")
    count = window.size
    notional = {name: np.full(count, np.nan) for name in names}
    pnl = {name: np.full(count, np.nan) for name in names}
    margins = {name: {m: np.full(count, np.nan) for m in model_names} for name in names}
    errors = {name: _Errors() for name in names}
    snapshots: dict[tuple[int, tuple[str, ...]], MarketSnapshot] = {}

    def snapshot(k: int, assets: tuple[str, ...]) -> MarketSnapshot:
        key = (k, assets)
        if key not in snapshots:
            snapshots[key] = path.snapshot(k, assets)
        return snapshots[key]

    carries = {book.name: reference_carry(book.portfolio, book.market) for book in books}
    for row, k in enumerate(window):
        label = str(path.moments[k])
        later = path.ahead(int(k), horizon_days)
        for book in books:
            assets = book.assets
            if not path.complete(int(k), assets):
                continue
            shift = path.moment(int(k)) - book.market.valuation_time
            rate = book.market.rate_annual
            now = with_carry(snapshot(int(k), assets), carries[book.name], shift, rate)
            held = restrike_portfolio(
                book.portfolio, book.market, now.valuation_time, now.index_usd
            )
            notional[book.name][row] = gross_notional_usd(held, now)
            if later >= 0 and path.complete(later, assets):
                try:
                    then = with_carry(snapshot(later, assets), carries[book.name], shift, rate)
                    pnl[book.name][row] = _realised_pnl_usd(held, now, then)
                except CrossmarginError as error:
                    errors[book.name].add("realised", label, error)
            for model, run in zip(models, runs, strict=True):
                try:
                    result = run(held, now)
                except CrossmarginError as error:
                    errors[book.name].add(model.name, label, error)
                    continue
                margins[book.name][model.name][row] = decimal_to_float(result.initial_margin)
        snapshots = {key: value for key, value in snapshots.items() if key[0] > k}
        if progress is not None:
            progress(row + 1, count)
    return BacktestRun(
        path=path,
        horizon_days=horizon_days,
        models=model_names,
        books=tuple(
            BookPath(
                name=book.name,
                assets=book.assets,
                moments=window,
                gross_notional_usd=notional[book.name],
                pnl_usd=pnl[book.name],
                initial_margin_usd=MappingProxyType(margins[book.name]),
                errors=MappingProxyType(
                    {key: tuple(v) for key, v in errors[book.name].messages.items()}
                ),
                failures=MappingProxyType(dict(errors[book.name].counts)),
            )
            for book in books
        ),
    )
