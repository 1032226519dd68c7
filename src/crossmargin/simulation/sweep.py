"""Stress scenarios on one book and parameter sweeps (shock × margin model × venue mode), serial
or on Dask with identical numbers.

A :class:`Scenario` names the shock (or replay path), the margin model (``isolated``, ``cross``,
``pm``, ``span``), the venue mode, static or dynamic parameters and the ADL policy.
:func:`run_scenario` builds the model's margin source on the book (each call its own book engine:
the engine is not thread-safe, and a task must not share it) and runs the cascade;
:func:`run_sweep` maps it over scenarios, with ``dask.compute`` when asked. Each scenario's seed
is in its config, so the order and the scheduler change nothing.

Depth: the 1 % depth of each underlying is ``depth_share`` × the book's gross |USD delta| on it
(:func:`book_depth_usd`); the default 0.003 puts 16 venues × $14M of BTC 1 % depth
(venues.md: CoinDesk Research, Nov 2025) against about $35B of BTC open interest on both sides
(crossmargin assumption), 224M / 70B ≈ 0.0032.
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
    "DEFAULT_DEPTH_SHARE",
    "MARGIN_MODELS",
    "BookLike",
    "Scenario",
    "ScenarioOutcome",
    "book_depth_usd",
    "grid",
    "run_scenario",
    "run_sweep",
    "with_options",
]

FloatArray = NDArray[np.float64]
#: Margin models a cascade can run: standard per position, standard cross, the engine's.
MARGIN_MODELS = ("isolated", "cross", "pm", "span")
#: 1 % depth as a share of the book's gross |delta| per underlying (see the module docstring).
DEFAULT_DEPTH_SHARE = 0.003


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
    replay); ``collateral``: coin collateral (None: cash only)."""

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
    depth_share: float = DEFAULT_DEPTH_SHARE
    max_rounds: int = 200
    seed: int = 0
    collateral: tuple[FloatArray, CollateralHoldings] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.model not in MARGIN_MODELS:
            raise InputError("model", self.model, f"must be one of {', '.join(MARGIN_MODELS)}")
        if not (np.isfinite(self.depth_share) and self.depth_share > 0):
            raise InputError("depth_share", self.depth_share, "must be > 0")


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


def book_depth_usd(table: PositionTable, share: float = DEFAULT_DEPTH_SHARE) -> dict[str, float]:
    """1 % depth per underlying, USD: ``share`` × the book's gross |USD delta| on it (> 0)."""
    accounts = np.arange(table.account_count, dtype=np.int64)
    delta, _ = account_exposures(table, {}, accounts, np.ones(table.account_count))
    gross = np.abs(delta).sum(axis=0)
    return {u: max(float(share * g), 1.0) for u, g in zip(table.underlyings, gross, strict=True)}


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
    table = _table(book)
    depth = book_depth_usd(table, scenario.depth_share)
    depth = {m: v for m, v in depth.items() if m in scenario.markets}
    cash, holdings = (
        (np.asarray(book.collateral_usd, dtype=np.float64), None)
        if scenario.collateral is None else scenario.collateral
    )  # fmt: skip
    owner = None
    source: MarginSource
    if scenario.model == "isolated":
        table, cash, owner = isolated_positions(table, cash)
        if holdings is not None:
            holdings = _split_holdings(holdings, owner, table.account_count)
        source = StandardMargin(table, name="isolated")
    elif scenario.model == "cross":
        source = StandardMargin(table)
    else:
        source = EngineMargin(table, scenario.model)
    venue = VenueParameters.cex() if scenario.mode is VenueMode.CEX else VenueParameters.onchain()
    config = CascadeConfig(
        scenario.markets, scenario.log_moves, depth, venue=venue, impact=ImpactParameters(),
        depth=DepthParameters(reacting=scenario.reacting_depth),
        dynamic=DynamicMargin() if scenario.dynamic else None, adl_policy=scenario.adl_policy,
        fund_usd=scenario.fund_usd, bridge_halt_rounds=scenario.bridge_halt_rounds,
        max_rounds=scenario.max_rounds, seed=scenario.seed,
    )  # fmt: skip
    return ScenarioOutcome(scenario, run_cascade(source, cash, config, holdings), owner)


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
