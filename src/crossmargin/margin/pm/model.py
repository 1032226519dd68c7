"""Deribit-style portfolio margin (model ``pm``): worst scenario loss plus contingencies.

Per underlying U, with the parameters of ``config/pm_deribit.toml``:

* **Scenarios** (:func:`deribit_scenario_set`, full revaluation of every position):
  the standard grid, ``2·buckets + 1`` price moves from −range to +range (±16 % in 9 points) ×
  vol up / unchanged / down (27); the extended table (−66 %, −33 %, +50 % … +500 %, vol up only);
  and the rate shock, each grid price move with the rate shifted by ±Δr (18). Vol shocks are
  scaled by the term structure from each expiry's at-the-money vol σ (DTE floored at one day,
  x = (30/DTE)^p, p = 0.30 below 30 days and 0.13 from 30 days):
  σ_up = max(σ·(1 + 0.5·x), 0.5), σ_down = σ·(1 − 0.25·x); the difference to σ is added to every
  option of that expiry, so the whole smile of an expiry moves in parallel.
* **Extended table**: a move m counts ``factor·(range/|m|)`` of its P&L (a linear position then
  counts exactly its loss at the edge of the grid, as in Deribit's risk vectors), then the
  *extended dampener* shrinks it towards zero by ``(|m|/range − 1)·D`` USD (D = 100,000 for BTC):
  Deribit's ``extended_dampener`` is an amount of money per range-multiple beyond the grid, so
  the tail table only binds for books whose tail loss is of that order (large short wings), which
  is what Deribit says it is for. The parameter is published per settlement currency (btc 100000,
  usd 25000); we margin per underlying and use the coin value, read as USD.
* **Rate shock** (Deribit's ``annualised_move_risk`` 0.075, which sizes its roll shock
  e^{a·T} − 1 per expiry): Δr = ±7.5 points of annual rate, so each dated forward moves by
  e^{±0.075·T} (1.87 % at 90 days) and premiums are discounted at r ± Δr. Perpetuals and spot
  have no rate exposure. Being scenarios, it nets across expiries (a parallel shift); the
  non-parallel part is the basis charge below.
* **Scan risk** = max(0, −min counted P&L).
* **Contingencies**: *delta shock*, a liquidity add-on for a net delta |δ| (coin) beyond
  ``delta_total_liq_shock_threshold`` ($20M): |δ|·S·min(max_delta_shock, m_inc·(|δ| − 20M/S))
  (``max_delta_shock`` 0.1 caps the extra move at 10 %; ``m_inc`` is read as extra move per coin
  of excess delta); *short option*, 0.01 coin × S per coin of net short options per expiry and
  strike (calls and puts net, older published rule); *basis*, 1 % of the offsetting futures
  notional: perpetual and futures are netted per expiry in coin (inverse face / F, linear size)
  and min(Σ long buckets, Σ short buckets) is charged.
* **A long option never needs more than its premium**: its scenario loss is at most its value
  (every scenario, including the rate shock, revalues it at ≥ 0 and the tail table only scales
  and dampens losses down); the contingencies are zero for a book of long options except the
  delta shock, so when every position of U is a long option, U's requirement is capped at their
  mark value (components scaled down pro rata, a note says so).
* IM = Σ_U (scan + delta shock + short option + basis); MM = mm_factor × IM component by
  component. Optional correlation credit (``cross_underlying_offset`` f, off by default, after
  Deribit's ``pnl_offset``): aligned scenarios k of all underlyings are combined as
  Σ_U min(P_Uk, 0) + f·max(P_Uk, 0); the credit Σ_U scan_U − max(0, −min_k combined) ≥ 0 is taken
  off the scan risks in proportion to their size (a note gives it).

The worst scenario reported is the worst of the underlying with the largest scan risk. A
position's contribution is its counted P&L in its underlying's worst scenario, negated, plus its
share of each contingency (delta shock by its delta, short option by its size in the strike's net,
basis by its notional on its side); contributions add up to the initial margin.

Each charge is written once, over an accounts axis, in :mod:`crossmargin.margin.pm.charges`: this
model applies it to one account (:mod:`crossmargin.margin.pm.contingencies` adds the allocation to
positions), the book engine's numpy twin to every account at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.instruments import KindCode
from crossmargin.margin.common import AccountView, assemble_result, view_account
from crossmargin.margin.pm.charges import (
    correlation_credit,
    underlying_requirement,
    worst_underlying,
)
from crossmargin.margin.pm.contingencies import (
    basis_charge,
    delta_one_buckets,
    delta_shock_usd,
    index_of,
    option_strike_groups,
    short_option_charge,
)
from crossmargin.margin.pm.parameters import (
    PmUnderlyingParameters,
    PortfolioMarginParameters,
    load_pm_parameters,
)
from crossmargin.margin.result import MarginResult, ScenarioPnl
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import InstrumentArrays, unit_greeks_usd, unit_values_usd
from crossmargin.scenarios import (
    ScenarioKind,
    ScenarioSet,
    ScenarioSpec,
    VolRegime,
    build_scenario_set,
    counted_pnl,
    expiry_reference_vols,
    format_move,
    grid_price_moves,
    scenario_pnl_matrix,
    scenario_vol_shock,
    term_structure_vol_shocks,
)

__all__ = [
    "CONTINGENCIES",
    "PortfolioMargin",
    "UnderlyingMargin",
    "apply_correlation_credit",
    "basis_charge",
    "delta_one_buckets",
    "delta_shock_usd",
    "deribit_scenario_set",
    "evaluate_underlying",
    "option_strike_groups",
    "short_option_charge",
]

FloatArray = NDArray[np.float64]

#: Component names per underlying, in the order results list them (``scan_risk:BTC``, ...).
CONTINGENCIES: tuple[str, ...] = ("delta_shock", "short_option", "basis")


def deribit_scenario_set(
    underlying: str,
    arrays: InstrumentArrays,
    market: MarketSnapshot,
    parameters: PortfolioMarginParameters,
) -> ScenarioSet:
    """The scenarios of ``underlying``: standard grid (vol up, unchanged, down at each price move,
    moves ascending), extended table (vol up, weighted and dampened), rate shocks (each grid move
    at +Δr then −Δr, vol unchanged); aligned to ``arrays``."""
    p = parameters.for_underlying(underlying)
    up, down = term_structure_vol_shocks(
        expiry_reference_vols(arrays, market, underlying),
        arrays.t_years,
        vol_range_up=p.vol_range_up,
        vol_range_down=p.vol_range_down,
        short_term_power=p.short_term_vega_power,
        long_term_power=p.long_term_vega_power,
        min_vol_for_shock_up=p.min_vol_for_shock_up,
        pivot_days=p.vega_power_pivot_days,
        min_days=p.min_days_for_vol_shock,
    )
    grid = grid_price_moves(p.price_range, parameters.buckets_per_side)
    specs = [
        ScenarioSpec(float(move), regime, f"{underlying} {format_move(move)} vol {regime.value}")
        for move in grid
        for regime in (VolRegime.UP, VolRegime.UNCHANGED, VolRegime.DOWN)
    ]
    specs += [
        ScenarioSpec(
            move,
            VolRegime.UP,
            f"{underlying} {format_move(move)} vol up (extended)",
            kind=ScenarioKind.EXTENDED,
            weight=p.extended_table_factor * p.price_range / abs(move),
            dampener_usd=(abs(move) / p.price_range - 1.0) * p.extended_dampener_usd,
        )
        for move in parameters.extended_moves
    ]
    specs += [
        ScenarioSpec(
            float(move),
            VolRegime.UNCHANGED,
            f"{underlying} {format_move(move)} rate {sign * p.rate_shock_annual * 100:+g} pts",
            kind=ScenarioKind.RATE,
            rate_shift=sign * p.rate_shock_annual,
        )
        for move in grid
        for sign in (1.0, -1.0)
    ]
    return build_scenario_set(underlying, arrays, specs, up, down)


@dataclass(frozen=True, eq=False)
class UnderlyingMargin:
    """Portfolio margin of one underlying's positions.

    Attributes
    ----------
    underlying:
        The asset (``"BTC"``).
    scenario_set:
        Its scenarios.
    counted_pnl_usd:
        (n_s,) P&L of the positions as counted per scenario, USD (after weights and dampeners).
    worst_index:
        Index of the minimum counted P&L (the first on ties).
    components_usd:
        ``scan_risk`` and each of :data:`CONTINGENCIES`, USD ≥ 0; they add up to the requirement.
    scan_contributions_usd, contingency_contributions_usd:
        (n_i,) per position (0 for other underlyings); each adds up to its part of the components.
    premium_cap_usd:
        Mark value the requirement was capped at (a book of long options only), else ``None``.
    correlation_credit_usd:
        Credit taken off the scan risk by :func:`apply_correlation_credit`.
    """

    underlying: str
    scenario_set: ScenarioSet
    counted_pnl_usd: FloatArray
    worst_index: int
    components_usd: Mapping[str, float]
    scan_contributions_usd: FloatArray
    contingency_contributions_usd: FloatArray
    premium_cap_usd: float | None = None
    correlation_credit_usd: float = 0.0

    @property
    def requirement_usd(self) -> float:
        """Initial margin of the underlying, USD."""
        return float(sum(self.components_usd.values()))

    @property
    def contributions_usd(self) -> FloatArray:
        """(n_i,) each position's share of :attr:`requirement_usd`."""
        return self.scan_contributions_usd + self.contingency_contributions_usd


def evaluate_underlying(
    arrays: InstrumentArrays,
    sizes: FloatArray,
    scenario_set: ScenarioSet,
    p: PmUnderlyingParameters,
    pnl_matrix: FloatArray | None = None,
) -> UnderlyingMargin:
    """Scan risk, contingencies and per-position contributions of the positions ``sizes`` (native
    units, one per instrument of ``arrays``) on ``scenario_set.underlying``.

    ``pnl_matrix`` (n_s, n_i) may be passed in when already computed by
    :func:`scenario_pnl_matrix`."""
    u = scenario_set.underlying
    matrix = scenario_pnl_matrix(arrays, scenario_set) if pnl_matrix is None else pnl_matrix
    per_position = matrix * sizes
    raw = per_position.sum(axis=1)
    counted = counted_pnl(raw, scenario_set)
    own = arrays.underlying == u
    delta = np.where(own, unit_greeks_usd(arrays)["delta"] * sizes, 0.0)
    net_delta = float(delta.sum())
    shock = delta_shock_usd(net_delta, index_of(arrays, u), p) if np.any(own) else 0.0
    short_total, short_share = short_option_charge(arrays, sizes, u, p)
    basis_total, basis_share = basis_charge(arrays, sizes, u, p)
    premium = _long_option_premium(arrays, sizes, own)
    charges = underlying_requirement(
        counted[None, :],
        [shock],
        [short_total],
        [basis_total],
        [0.0 if premium is None else premium],
        [premium is not None],
    )
    worst = int(charges.worst_index[0])
    factor = float(charges.cap_factor[0])
    scan_share = np.zeros(sizes.shape[0])
    if counted[worst] < 0.0:
        weighted = scenario_set.weights[worst] * raw[worst]
        scan_share = (
            -per_position[worst] * scenario_set.weights[worst] * (counted[worst] / weighted)
        )
    shock_share = shock * delta / net_delta if shock > 0.0 else np.zeros(sizes.shape[0])
    contingency_share = shock_share + short_share + basis_share
    components = {
        "scan_risk": float(charges.scan_risk_usd[0]),
        "delta_shock": float(charges.delta_shock_usd[0]),
        "short_option": float(charges.short_option_usd[0]),
        "basis": float(charges.basis_usd[0]),
    }
    capped = bool(charges.capped[0])
    if capped:
        scan_share = scan_share * factor
        contingency_share = contingency_share * factor
    return UnderlyingMargin(
        u,
        scenario_set,
        counted,
        worst,
        components,
        scan_share,
        contingency_share,
        premium if capped else None,
    )


def _long_option_premium(
    arrays: InstrumentArrays, sizes: FloatArray, own: NDArray[np.bool_]
) -> float | None:
    """Mark value of the positions when all of them are long options, else ``None``."""
    held = own & (sizes != 0.0)
    if not np.any(held) or np.any(arrays.kind[held] != KindCode.OPTION) or np.any(sizes[held] < 0):
        return None
    return float((unit_values_usd(arrays)[held] * sizes[held]).sum())


def apply_correlation_credit(
    books: Sequence[UnderlyingMargin], offset: float
) -> list[UnderlyingMargin]:
    """Take the correlation credit across underlyings off their scan risks (see the module
    docstring); ``offset`` 0 or a single underlying returns ``books`` unchanged."""
    if offset <= 0.0 or len(books) < 2:
        return list(books)
    lengths = {book.counted_pnl_usd.shape[0] for book in books}
    if len(lengths) != 1:
        raise InputError("scenario sets", sorted(lengths), "need one length to align scenarios")
    scans = np.array([[book.components_usd["scan_risk"]] for book in books])
    keep, credit = correlation_credit(
        np.array([[book.counted_pnl_usd] for book in books]),
        scans,
        np.ones(scans.shape, dtype=np.bool_),
        offset,
    )
    if not np.any(credit > 0.0):
        return list(books)
    credited = []
    for u, book in enumerate(books):
        components = dict(book.components_usd)
        components["scan_risk"] = float(scans[u, 0] * keep[u, 0])
        credited.append(
            dataclasses.replace(
                book,
                components_usd=components,
                correlation_credit_usd=float(credit[u, 0]),
                scan_contributions_usd=book.scan_contributions_usd * float(keep[u, 0]),
            )
        )
    return credited


class PortfolioMargin:
    """Deribit-style portfolio margin (``pm``); see the module docstring for the method.

    Parameters
    ----------
    parameters:
        Defaults to the shipped ``config/pm_deribit.toml``.
    haircuts:
        Collateral haircuts for equity; defaults to :func:`default_haircuts`.
    """

    name = "pm"

    def __init__(
        self,
        parameters: PortfolioMarginParameters | None = None,
        haircuts: HaircutSchedule | None = None,
    ) -> None:
        self.parameters = parameters if parameters is not None else load_pm_parameters()
        self.haircuts = haircuts if haircuts is not None else default_haircuts()

    def scenario_set(
        self, underlying: str, arrays: InstrumentArrays, market: MarketSnapshot
    ) -> ScenarioSet:
        """The scenarios of ``underlying`` aligned to ``arrays`` (:func:`deribit_scenario_set`)."""
        return deribit_scenario_set(underlying, arrays, market, self.parameters)

    def books(self, view: AccountView) -> list[UnderlyingMargin]:
        """Each underlying's margin for an account valued by :func:`view_account`, after the
        correlation credit."""
        arrays = view.valuation.arrays
        books = [
            evaluate_underlying(
                arrays,
                view.sizes,
                self.scenario_set(u, arrays, view.market),
                self.parameters.for_underlying(u),
            )
            for u in view.portfolio.underlyings
        ]
        return apply_correlation_credit(books, self.parameters.cross_underlying_offset)

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Initial and maintenance margin of ``portfolio`` at ``market`` (USD, rounded up)."""
        view = view_account(portfolio, market, self.haircuts)
        books = self.books(view)
        components: dict[str, float] = {}
        for book in books:
            for name, value in book.components_usd.items():
                components[f"{name}:{book.underlying}"] = value
        factor = self.parameters.mm_factor
        maintenance = {name: factor * value for name, value in components.items()}
        contributions = sum((book.contributions_usd for book in books), np.zeros(len(view.sizes)))
        scenarios, worst = self._scenarios(view, books)
        return assemble_result(
            self.name,
            view,
            components,
            maintenance,
            contributions,
            self.parameters.version,
            scenarios=scenarios,
            worst_scenario=worst,
            notes=self._notes(books),
        )

    def _scenarios(
        self, view: AccountView, books: Sequence[UnderlyingMargin]
    ) -> tuple[list[ScenarioPnl], ScenarioPnl | None]:
        arrays = view.valuation.arrays
        held = view.sizes != 0.0
        scenarios: list[ScenarioPnl] = []
        worsts: list[ScenarioPnl] = []
        for book in books:
            scenario_set = book.scenario_set
            rows = [
                ScenarioPnl(
                    underlying=book.underlying,
                    price_move=float(scenario_set.price_moves[k]),
                    vol_shock=scenario_vol_shock(scenario_set, arrays, k, held),
                    pnl_usd=float(book.counted_pnl_usd[k]),
                    label=scenario_set.labels[k],
                )
                for k in range(scenario_set.count)
            ]
            scenarios += rows
            worsts.append(rows[book.worst_index])
        before_credit = [
            [book.components_usd["scan_risk"] + book.correlation_credit_usd] for book in books
        ]
        u = int(
            worst_underlying(np.array(before_credit).reshape(-1, 1), np.ones((len(books), 1)))[0]
        )
        return scenarios, worsts[u] if u >= 0 else None

    def _notes(self, books: Sequence[UnderlyingMargin]) -> list[str]:
        parameters = self.parameters
        notes = [
            f"grid: {2 * parameters.buckets_per_side + 1} price moves × vol up/unchanged/down, "
            f"{len(parameters.extended_moves)} extended moves (vol up, weighted range/|move| and "
            "dampened), rate shock at each grid move; MM = "
            f"{parameters.mm_factor:g} × IM",
        ]
        for book in books:
            if book.premium_cap_usd is not None:
                notes.append(
                    f"{book.underlying}: long options only, requirement capped at their mark "
                    f"value {book.premium_cap_usd:.2f} USD"
                )
            if book.correlation_credit_usd > 0.0:
                notes.append(
                    f"{book.underlying}: correlation credit {book.correlation_credit_usd:.2f} USD "
                    f"taken off the scan risk (offset {parameters.cross_underlying_offset:g})"
                )
        return notes
