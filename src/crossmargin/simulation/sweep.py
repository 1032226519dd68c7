"""Stress scenarios on one book and parameter sweeps (shock × margin model × venue mode), serial
or on Dask with identical numbers.

A :class:`Scenario` names the shock (or replay path), the margin model (``isolated``, ``cross``,
``pm``, ``span``), the venue mode, static or dynamic parameters and the ADL policy.
:func:`run_scenario` builds the model's margin source on the book (each call its own book engine:
the engine is not thread-safe, and a task must not share it) and runs the cascade;
:func:`run_sweep` maps it over scenarios, with ``dask.compute`` when asked. Each scenario's seed
is in its config, so the order and the scheduler change nothing.

Depth: the 1 % depth of each underlying follows from the square-root law on sourced daily
volume and volatility and the venue's share (:class:`~crossmargin.simulation.liquidity.
MarketLiquidity`, :func:`book_depth_usd`): ``(G / venue_share) · (0.01 / (Y · σ_daily))²`` with
``G`` the book's gross |USD delta| on it. Default: :data:`~crossmargin.simulation.liquidity.
LIQUIDITY_2024_03_11` (Binance daily bars before the synthetic book's date), ``Y = 1``,
``venue_share`` = :data:`~crossmargin.simulation.liquidity.DEFAULT_VENUE_SHARE`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument
from crossmargin.market import MarketSnapshot
from crossmargin.simulation.adl import AdlPolicy
from crossmargin.simulation.cascade import (
    CascadeConfig,
    CascadeResult,
    CollateralHoldings,
    DynamicMargin,
    run_cascade,
)
from crossmargin.simulation.depth import DepthParameters
from crossmargin.simulation.impact import ImpactParameters
from crossmargin.simulation.liquidity import LIQUIDITY_2024_03_11, MarketLiquidity
from crossmargin.simulation.margin_sources import (
    EngineMargin,
    MarginSource,
    PositionTable,
    StandardMargin,
    account_exposures,
    isolated_positions,
)
from crossmargin.simulation.venues import VenueMode, VenueParameters

__all__ = [
    "MARGIN_MODELS",
    "BookLike",
    "Scenario",
    "ScenarioOutcome",
    "book_depth_usd",
    "book_gross_delta_usd",
    "grid",
    "leverage_equal_cash",
    "prepare_scenario",
    "run_scenario",
    "run_sweep",
    "with_options",
]

FloatArray = NDArray[np.float64]
#: Margin models a cascade can run: standard per position, standard cross, the engine's.
MARGIN_MODELS = ("isolated", "cross", "pm", "span")


class BookLike(Protocol):
    """What a stress run needs of a book (a :class:`~crossmargin.simulation.SyntheticBook`)."""

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """Instruments."""
        ...

    @property
    def market(self) -> MarketSnapshot:
        """Starting market."""
        ...

    @property
    def account_index(self) -> NDArray[np.int64]:
        """Account of each position."""
        ...

    @property
    def instrument_index(self) -> NDArray[np.int64]:
        """Instrument of each position."""
        ...

    @property
    def size(self) -> FloatArray:
        """Native size of each position."""
        ...

    @property
    def collateral_usd(self) -> FloatArray:
        """USD collateral per account."""
        ...


@dataclass(frozen=True)
class Scenario:
    """One stress run's choices. ``log_moves``/``markets``: the exogenous path (a shock row or a
    replay); ``collateral``: coin collateral (None: cash only); ``equal_health``: give every
    account the same equity / MM at the start as under cross margin (:func:`leverage_equal_cash`)
    so models are compared on leverage-equal books (cash collateral only)."""

    label: str
    markets: tuple[str, ...]
    log_moves: FloatArray
    model: str = "pm"
    mode: VenueMode = VenueMode.CEX
    dynamic: bool = False
    adl_policy: AdlPolicy = AdlPolicy.PROFIT_LEVERAGE
    reacting_depth: bool = True
    bridge_halt_rounds: int = 0
    fund_usd: float = 1_000_000.0
    liquidity: MarketLiquidity = LIQUIDITY_2024_03_11
    max_rounds: int = 200
    seed: int = 0
    equal_health: bool = False
    collateral: tuple[FloatArray, CollateralHoldings] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.model not in MARGIN_MODELS:
            raise InputError("model", self.model, f"must be one of {', '.join(MARGIN_MODELS)}")


@dataclass(frozen=True, eq=False)
class ScenarioOutcome:
    """A scenario, its cascade and, for isolated margin, each pseudo-account's owner."""

    scenario: Scenario
    result: CascadeResult
    owner: NDArray[np.int64] | None

    def summary(self) -> dict[str, float]:
        """:meth:`CascadeResult.summary` with ``accounts_liquidated`` counted on the original
        accounts (an isolated account is liquidated when any of its positions is)."""
        out = self.result.summary()
        if self.owner is not None:
            hit = self.owner[self.result.first_liquidated >= 0]
            out["accounts_liquidated"] = float(np.unique(hit).size)
        return out


def book_gross_delta_usd(table: PositionTable) -> dict[str, float]:
    """The book's gross |USD delta| per underlying at the start (Σ over accounts, ≥ 0)."""
    accounts = np.arange(table.account_count, dtype=np.int64)
    delta, _ = account_exposures(table, {}, accounts, np.ones(table.account_count))
    gross = np.abs(delta).sum(axis=0)
    return {u: float(g) for u, g in zip(table.underlyings, gross, strict=True)}


def book_depth_usd(
    table: PositionTable, liquidity: MarketLiquidity = LIQUIDITY_2024_03_11
) -> dict[str, float]:
    """1 % depth per underlying in the book's USD (> 0), from the square-root law:
    :meth:`MarketLiquidity.depth_usd` of the book's gross |delta|."""
    return liquidity.depth_usd(book_gross_delta_usd(table))


def _table(book: BookLike) -> PositionTable:
    return PositionTable.build(
        tuple(book.instruments), book.market, book.account_index, book.instrument_index,
        book.size, int(np.asarray(book.collateral_usd).shape[0]),
    )  # fmt: skip


def run_scenario(book: BookLike, scenario: Scenario) -> ScenarioOutcome:
    """Run one scenario on ``book`` (the same inputs give the same numbers).

    Returns
    -------
    ScenarioOutcome: the cascade (USD) and, for ``isolated``, the owner of each position-account.
    """
    source, cash, holdings, owner, config = prepare_scenario(book, scenario)
    return ScenarioOutcome(scenario, run_cascade(source, cash, config, holdings), owner)


def prepare_scenario(
    book: BookLike, scenario: Scenario, venue: VenueParameters | None = None
) -> tuple[
    MarginSource, FloatArray, CollateralHoldings | None, NDArray[np.int64] | None, CascadeConfig
]:
    """The margin source, cash (USD per account), coin collateral, isolated owners and cascade
    config of ``scenario`` on ``book`` (``venue``: mechanics other than the mode's default)."""
    table = _table(book)
    depth = book_depth_usd(table, scenario.liquidity)
    depth = {m: v for m, v in depth.items() if m in scenario.markets}
    cash, holdings = (
        (np.asarray(book.collateral_usd, dtype=np.float64), None)
        if scenario.collateral is None else scenario.collateral
    )  # fmt: skip
    owner = None
    source: MarginSource
    if scenario.model == "isolated":
        account_table, account_cash = table, cash
        table, cash, owner = isolated_positions(table, cash)
        if holdings is not None:
            holdings = _split_holdings(holdings, owner, table.account_count)
        source = StandardMargin(table, name="isolated")
    elif scenario.model == "cross":
        source = StandardMargin(table)
    else:
        source = EngineMargin(table, scenario.model)
    if scenario.equal_health:
        if holdings is not None:
            raise InputError("equal_health", True, "needs cash-only collateral")
        if scenario.model == "isolated":  # each position at its account's cross health
            cash = leverage_equal_cash(StandardMargin(account_table), source, account_cash,
                                       owner)  # fmt: skip
        elif scenario.model != "cross":  # cross is the reference
            cash = leverage_equal_cash(StandardMargin(table), source, cash)
    if venue is None:
        venue = (
            VenueParameters.cex() if scenario.mode is VenueMode.CEX else VenueParameters.onchain()
        )
    config = CascadeConfig(
        scenario.markets, scenario.log_moves, depth, venue=venue, impact=ImpactParameters(),
        depth=DepthParameters(reacting=scenario.reacting_depth),
        dynamic=DynamicMargin() if scenario.dynamic else None, adl_policy=scenario.adl_policy,
        fund_usd=scenario.fund_usd, bridge_halt_rounds=scenario.bridge_halt_rounds,
        max_rounds=scenario.max_rounds, seed=scenario.seed,
    )  # fmt: skip
    return source, cash, holdings, owner, config


def leverage_equal_cash(
    reference: MarginSource,
    source: MarginSource,
    cash_usd: FloatArray,
    owner: NDArray[np.int64] | None = None,
) -> FloatArray:
    """Cash per ``source`` account (USD ≥ 0) giving it the same health at the start as its
    account has under ``reference``: ``h = (cash + value_ref) / MM_ref`` per reference account,
    new cash ``h · MM_src − value_src`` (mark values and MM in USD, at the start market).
    ``owner`` maps ``source``'s accounts to ``reference``'s (isolated margin: each position's
    account; None: the same accounts). Accounts with ``MM_ref = 0`` keep their cash (with an
    ``owner``: split evenly); the result is clipped at 0. Unclipped, the cash adds up per
    reference account when ``Σ MM_src = MM_ref`` and ``Σ value_src = value_ref`` (isolated vs
    cross standard margin).

    Example: cash 1,000, value 0, MM 500 under cross and 125 under pm → h = 2, pm cash 250.
    """
    ref = reference.margin({}, np.ones(reference.table.account_count))
    mine = source.margin({}, np.ones(source.table.account_count))
    cash = np.asarray(cash_usd, dtype=np.float64)
    link = np.arange(cash.size) if owner is None else np.asarray(owner, dtype=np.int64)
    positive = ref.maintenance > 0
    health = np.where(positive, (cash + ref.value) / np.where(positive, ref.maintenance, 1.0), 0.0)
    counts = np.bincount(link, minlength=cash.size).astype(np.float64)
    kept = cash[link] / np.maximum(counts[link], 1.0)
    target = np.where(positive[link], health[link] * mine.maintenance - mine.value, kept)
    return np.asarray(np.maximum(target, 0.0), dtype=np.float64)


def _split_holdings(
    holdings: CollateralHoldings, owner: NDArray[np.int64], count: int
) -> CollateralHoldings:
    """Coin collateral of an account spread evenly over its position-accounts."""
    per = np.bincount(owner, minlength=int(owner.max(initial=-1)) + 1).astype(np.float64)
    weight = (1.0 / per[owner])[:, None]
    return CollateralHoldings(
        holdings.assets, holdings.units[owner] * weight, holdings.haircut,
        holdings.bridged[owner] * weight,
    )  # fmt: skip


def run_sweep(
    book: BookLike,
    scenarios: Sequence[Scenario],
    *,
    scheduler: str | None = None,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
) -> list[ScenarioOutcome]:
    """Run every scenario on ``book``: serially (``scheduler=None``, ``progress`` called after
    each), with ``dask.compute`` on a local scheduler (``"sync"``, ``"threads"``,
    ``"processes"``) or on a ``dask.distributed`` ``client``. The outcomes are identical
    whichever way (each scenario carries its seed), in the order of ``scenarios``."""
    if scheduler is None and client is None:
        out = []
        for k, scenario in enumerate(scenarios):
            out.append(run_scenario(book, scenario))
            if progress is not None:
                progress(k)
        return out
    from dask.base import compute  # imported on use: dask is heavy to import
    from dask.delayed import delayed

    tasks = [delayed(run_scenario)(book, scenario) for scenario in scenarios]
    if client is not None:
        return list(client.gather(client.compute(tasks)))
    return list(compute(*tasks, scheduler=scheduler))  # type: ignore[no-untyped-call]


def grid(
    markets: tuple[str, ...],
    shocks: Sequence[Mapping[str, float]],
    models: Sequence[str],
    modes: Sequence[VenueMode],
    **options: Any,
) -> list[Scenario]:
    """The product shock × model × mode as scenarios (``options`` go to each :class:`Scenario`)."""
    out = []
    for shock in shocks:
        row = np.array([[float(np.log1p(shock.get(m, 0.0))) for m in markets]])
        name = ",".join(f"{k}{v:+.0%}" for k, v in shock.items())
        for model in models:
            for mode in modes:
                out.append(Scenario(f"{name} {model} {mode.value}", markets, row, model=model,
                                    mode=mode, **options))  # fmt: skip
    return out


def with_options(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy of ``scenario`` with ``changes`` (a new label should come with them)."""
    return replace(scenario, **changes)
