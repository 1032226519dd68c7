"""Deribit's cross-collateral portfolio margin (model ``pm``), as its risk engine runs today.

With the parameters of ``config/pm_deribit.toml`` (docs/margin-models.md gives every formula
and says which Deribit publishes and which are our reading):

* **Scenarios** per pair (underlying): the standard grid and the extended table
  (:func:`~crossmargin.margin.pm.vectors.deribit_scenario_set`), full revaluation, per-strike
  vol shocks.
* **Risk vectors** per (pair, settlement currency): the positions on the pair settling in that
  currency, a spot holding and the currency's own collateral balance (``equity_side_impact``)
  in the coin's own vector; the raw USD P&L is counted (extended weights and dampeners) and
  expressed in the settlement currency at the scenario price.
* **Worst case**: the aligned scenarios of all vectors summed at the current index, gains and
  losses in full; **correlation contingency**: the extra loss when each vector's gains count only
  at ``pnl_offset`` up to ``max_offsetable_pnl``.
* **Roll shock** per futures bucket and **delta shock** per vector
  (:mod:`crossmargin.margin.pm.contingencies`).
* IM = worst case + correlation contingency + Σ roll shocks + Σ delta shocks (USD);
  MM = mm_factor × IM, component by component. Each currency's own requirement in its coin is
  given in the notes.

A position's contribution is its share of the worst case in the aggregate's worst scenario, of
the correlation contingency in the offset aggregate's (a collateral balance's offset there is
spread over the positions in proportion), and of its bucket's roll and its vector's delta shock;
contributions add up to the IM.

Each charge is written once, over an accounts axis, in :mod:`crossmargin.margin.pm.charges`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.margin.common import (
    AccountView,
    assemble_requirement,
    assemble_result,
    view_account,
)
from crossmargin.margin.pm.charges import AggregateRisk, aggregate_risk, offset_gains
from crossmargin.margin.pm.contingencies import delta_shock, roll_shock
from crossmargin.margin.pm.parameters import (
    PortfolioMarginParameters,
    load_pm_parameters,
    parameters_with,
)
from crossmargin.margin.pm.scenario_cache import PairScenarios, ScenarioCache
from crossmargin.margin.pm.vectors import RiskVector, account_risk_vectors, deribit_scenario_set
from crossmargin.margin.result import MarginResult, ScenarioPnl
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import InstrumentArrays
from crossmargin.riskparams import RiskParameterSet
from crossmargin.scenarios import ScenarioSet, scenario_pnl_matrix, scenario_vol_shocks

__all__ = ["AccountRisk", "CurrencyRequirement", "PortfolioMargin", "deribit_scenario_set"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CurrencyRequirement:
    """One currency's requirement on its own, in that currency (Deribit's per-currency view).

    ``worst_case`` and ``correlation_contingency`` aggregate only this currency's vectors;
    ``initial_margin`` = their sum + ``roll_shock`` + ``delta_shock``; ``maintenance_margin`` =
    mm_factor × ``initial_margin``; ``price_usd`` converts to USD."""

    currency: str
    worst_case: float
    roll_shock: float
    delta_shock: float
    correlation_contingency: float
    initial_margin: float
    maintenance_margin: float
    price_usd: float


@dataclass(frozen=True, eq=False)
class AccountRisk:
    """Everything :meth:`PortfolioMargin.margin` computes for one account.

    Attributes
    ----------
    sets:
        Scenarios per pair.
    matrices:
        Per pair, the (n_s, n_i) USD P&L of +1 unit of each instrument
        (:func:`~crossmargin.scenarios.scenario_pnl_matrix`).
    vectors:
        The risk vectors, sorted by (pair, currency).
    aggregate:
        Worst case, correlation contingency and worst scenario (one account).
    roll_usd, delta_usd:
        Per vector, USD.
    roll_shares, delta_shares:
        Per vector, (n_i,) allocation to positions, USD.
    """

    sets: dict[str, ScenarioSet]
    matrices: dict[str, FloatArray]
    vectors: list[RiskVector]
    aggregate: AggregateRisk
    roll_usd: list[float]
    delta_usd: list[float]
    roll_shares: list[FloatArray]
    delta_shares: list[FloatArray]

    def currencies(self) -> list[str]:
        """The vectors' currencies, sorted."""
        return sorted({v.currency for v in self.vectors})


def _aggregate(
    vectors: Sequence[RiskVector], parameters: PortfolioMarginParameters
) -> AggregateRisk:
    n_s = vectors[0].coin.shape[0] if vectors else 0
    currencies = [parameters.for_currency(v.currency) for v in vectors]
    return aggregate_risk(
        np.array([v.coin for v in vectors]).reshape(len(vectors), 1, n_s),
        [v.price_usd for v in vectors],
        [c.pnl_offset for c in currencies],
        [c.max_offsetable_pnl_usd for c in currencies],
    )


class PortfolioMargin:
    """Deribit's cross-collateral portfolio margin (``pm``); see the module docstring.

    Parameters
    ----------
    parameters:
        Defaults to the shipped ``config/pm_deribit.toml``.
    haircuts:
        Collateral haircuts for equity; defaults to :func:`default_haircuts`.
    risk_parameters:
        A dynamic risk parameter set (or sets by asset) valid now: each replaces its pair's
        ``price_range``, ``vol_range_up`` and ``vol_range_down``
        (:func:`~crossmargin.margin.pm.parameters.parameters_with`); results then record the
        set's version in ``parameters_version``. None: the parameters as given.
    """

    name = "pm"

    def __init__(
        self,
        parameters: PortfolioMarginParameters | None = None,
        haircuts: HaircutSchedule | None = None,
        risk_parameters: RiskParameterSet | Mapping[str, RiskParameterSet] | None = None,
    ) -> None:
        base = parameters if parameters is not None else load_pm_parameters()
        if risk_parameters is not None:
            base = parameters_with(base, risk_parameters)
        self.parameters = base
        self.haircuts = haircuts if haircuts is not None else default_haircuts()
        self.scenario_cache = ScenarioCache()

    def scenario_set(
        self, underlying: str, arrays: InstrumentArrays, market: MarketSnapshot
    ) -> ScenarioSet:
        """The scenarios of ``underlying`` aligned to ``arrays`` (:func:`deribit_scenario_set`)."""
        return deribit_scenario_set(underlying, arrays, market, self.parameters)

    def balances_in_scenarios(self, portfolio: Portfolio) -> dict[str, float]:
        """Coin balances that enter their own pair's scenarios, after the pm haircut."""
        out: dict[str, float] = {}
        for currency, amount in portfolio.collateral.items():
            balance = float(amount)
            weight = self.parameters.balance_weight(currency, balance)
            if weight and balance:
                out[currency] = balance * weight
        return out

    def risk(self, view: AccountView) -> AccountRisk:
        """Risk vectors and charges of an account valued by :func:`view_account`."""
        arrays, sizes = view.valuation.arrays, view.sizes
        balances = self.balances_in_scenarios(view.portfolio)
        pairs = sorted(set(view.portfolio.underlyings) | set(balances))

        def build(pair: str) -> PairScenarios:
            scenario_set = deribit_scenario_set(pair, arrays, view.market, self.parameters)
            return PairScenarios(scenario_set, scenario_pnl_matrix(arrays, scenario_set))

        cached = {
            p: self.scenario_cache.get(view.market, arrays, p, partial(build, p)) for p in pairs
        }
        sets = {p: c.scenario_set for p, c in cached.items()}
        matrices = {p: c.pnl_usd for p, c in cached.items()}
        vectors = account_risk_vectors(
            arrays, sizes, matrices, sets, balances, view.market, self.parameters
        )
        rolls = [roll_shock(arrays, sizes, v, self.parameters) for v in vectors]
        deltas = [delta_shock(arrays, sizes, v, self.parameters) for v in vectors]
        return AccountRisk(
            sets,
            matrices,
            vectors,
            _aggregate(vectors, self.parameters),
            [r[0] for r in rolls],
            [d[0] for d in deltas],
            [r[1] for r in rolls],
            [d[1] for d in deltas],
        )

    def currency_requirements(self, risk: AccountRisk) -> list[CurrencyRequirement]:
        """Each currency's requirement on its own vectors, in that currency."""
        out = []
        for currency in risk.currencies():
            chosen = [j for j, v in enumerate(risk.vectors) if v.currency == currency]
            own = _aggregate([risk.vectors[j] for j in chosen], self.parameters)
            price = risk.vectors[chosen[0]].price_usd
            worst = float(own.worst_case_usd[0]) / price
            correlation = float(own.correlation_usd[0]) / price
            roll = sum(risk.roll_usd[j] for j in chosen) / price
            delta = sum(risk.delta_usd[j] for j in chosen) / price
            initial = worst + correlation + roll + delta
            out.append(
                CurrencyRequirement(
                    currency=currency,
                    worst_case=worst,
                    roll_shock=roll,
                    delta_shock=delta,
                    correlation_contingency=correlation,
                    initial_margin=initial,
                    maintenance_margin=self.parameters.mm_factor * initial,
                    price_usd=price,
                )
            )
        return out

    def _components(self, risk: AccountRisk) -> tuple[dict[str, float], dict[str, float]]:
        """Initial and maintenance components of ``risk`` (USD, before rounding)."""
        components: dict[str, float] = {
            "worst_case": float(risk.aggregate.worst_case_usd[0]),
            "correlation_contingency": float(risk.aggregate.correlation_usd[0]),
        }
        for name, amounts in (("roll_shock", risk.roll_usd), ("delta_shock", risk.delta_usd)):
            for currency in risk.currencies():
                components[f"{name}:{currency}"] = sum(
                    a for a, v in zip(amounts, risk.vectors, strict=True) if v.currency == currency
                )
        factor = self.parameters.mm_factor
        return components, {name: factor * value for name, value in components.items()}

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Initial and maintenance margin of ``portfolio`` at ``market`` (USD, rounded up)."""
        view = view_account(portfolio, market, self.haircuts)
        risk = self.risk(view)
        components, maintenance = self._components(risk)
        scenarios, worst = self._scenarios(view, risk)
        return assemble_result(
            self.name,
            view,
            components,
            maintenance,
            self._contributions(view, risk),
            self.parameters.version,
            scenarios=scenarios,
            worst_scenario=worst,
            notes=self._notes(risk),
        )

    def requirement(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """The figures of :meth:`margin` a margin check reads — initial and maintenance margin
        with their components, equity and collateral value (USD, rounded as there) — without
        the explanation (no positions, scenarios or notes): a pre-trade check's cheaper run."""
        view = view_account(portfolio, market, self.haircuts)
        components, maintenance = self._components(self.risk(view))
        return assemble_requirement(
            self.name, view, components, maintenance, self.parameters.version
        )

    def _contributions(self, view: AccountView, risk: AccountRisk) -> FloatArray:
        """Each position's share of the IM, USD; they add up to the IM (a balance's offset is
        spread over the positions in proportion to their own shares)."""
        sizes = view.sizes
        total = sum(risk.roll_shares, np.zeros(sizes.shape[0]))
        total = total + sum(risk.delta_shares, np.zeros(sizes.shape[0]))
        if not risk.vectors:
            return total
        full = sum(v.price_usd * v.coin for v in risk.vectors)
        aggregate = risk.aggregate
        for amount, k in (
            (float(aggregate.worst_case_usd[0]), int(np.argmin(full))),
            (float(aggregate.correlation_usd[0]), int(aggregate.worst_index[0])),
        ):
            if amount <= 0.0:
                continue
            shares = np.zeros(sizes.shape[0])
            for v in risk.vectors:
                row = risk.matrices[v.pair][k]
                shares += np.where(v.members, -v.usd_per_raw[k] * row * sizes, 0.0)
            scale = float(shares.sum())
            if scale > 0.0:
                total = total + amount * shares / scale
        return total

    def _scenarios(
        self, view: AccountView, risk: AccountRisk
    ) -> tuple[list[ScenarioPnl], ScenarioPnl | None]:
        arrays = view.valuation.arrays
        held = view.sizes != 0.0
        rows: list[ScenarioPnl] = []
        by_pair: dict[str, list[ScenarioPnl]] = {}
        for pair, scenario_set in risk.sets.items():
            counted = np.zeros(scenario_set.count)
            for v in risk.vectors:
                if v.pair == pair:
                    c = self.parameters.for_currency(v.currency)
                    cap = c.max_offsetable_pnl_usd / v.price_usd
                    counted += v.price_usd * offset_gains(v.coin, c.pnl_offset, cap)
            vol_shocks = scenario_vol_shocks(scenario_set, arrays, held)
            by_pair[pair] = [
                ScenarioPnl(
                    underlying=pair,
                    price_move=float(scenario_set.price_moves[k]),
                    vol_shock=vol_shocks[k],
                    pnl_usd=float(counted[k]),
                    label=scenario_set.labels[k],
                )
                for k in range(scenario_set.count)
            ]
            rows += by_pair[pair]
        k = int(risk.aggregate.worst_index[0])
        if k < 0 or not by_pair:
            return rows, None
        return rows, min((r[k] for r in by_pair.values()), key=lambda row: row.pnl_usd)

    def _notes(self, risk: AccountRisk) -> list[str]:
        p = self.parameters
        notes = [
            f"grid: {2 * p.buckets_per_side + 1} price moves × vol up/unchanged/down and "
            f"{len(p.extended_moves)} extended moves per pair; risk vectors per (pair, currency) "
            f"in the currency at the scenario price; MM = {p.mm_factor:g} × IM"
        ]
        for v in risk.vectors:
            if v.balance_coin:
                notes.append(
                    f"{v.currency} balance {v.balance_coin:.8g} inside the {v.pair} scenarios"
                )
        for r in self.currency_requirements(risk):
            notes.append(
                f"{r.currency} on its own: IM {r.initial_margin:.9f} {r.currency} (worst_case "
                f"{r.worst_case:.9f} + roll_shock {r.roll_shock:.9f} + delta_shock "
                f"{r.delta_shock:.9f} + correlation_contingency {r.correlation_contingency:.9f}), "
                f"MM {r.maintenance_margin:.9f} {r.currency}, at {r.price_usd:g} USD"
            )
        return notes
