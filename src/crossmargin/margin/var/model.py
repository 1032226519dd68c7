"""VaR / expected-shortfall margin by filtered historical simulation (model name ``"var"``).

Scenarios come from :mod:`crossmargin.margin.var.history_scenarios` (volatility-scaled h-day moves
of the real BTC/ETH/SOL history, DVOL-based vol moves); every position is fully revalued in each.

Measures on the portfolio P&L vector X (n scenarios, α = 1 − c): VaR_c = −X_(⌈nα⌉), the lower
empirical α-quantile; ES_c = −(1/(nα))·[Σ_{i ≤ ⌊nα⌋} X_(i) + (nα − ⌊nα⌋)·X_(⌊nα⌋+1)] (Acerbi &
Tasche 2002, "On the coherence of expected shortfall"), so ES ≥ VaR. Both are −Σ w_s·X_s for tail
weights w ≥ 0 summing to 1; a position's contribution −Σ w_s·X_{s,j} (Euler allocation) makes the
contributions add up to the measure.

Anti-procyclicality floor (Eurex Prisma stress-period VaR; EMIR RTS 153/2013 Art. 28): the same
measure at ``stress_confidence`` on **unfiltered** h-day scenarios whose end dates fall in the
configured stress windows (and not after the last day used). With M_f the filtered measure and M_s
the stress one, IM = max(M_f, w·M_s, 0), reported as the components ``expected_shortfall`` (or
``value_at_risk``) = max(M_f, 0) and ``stress_floor_addon`` = max(0, w·max(M_s, 0) − max(M_f, 0));
MM = ``maintenance_ratio`` × each component. Shocks are instantaneous (no time decay) and
collateral is valued after haircuts but not shocked.

The model receives its :class:`~crossmargin.market.history.MarketHistory` when it is built and
never reads a file while margining (the entry points load the history once, at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.margin.common import (
    AccountView,
    assemble_result,
    view_account,
)
from crossmargin.margin.common import risk_view as account_risk_view
from crossmargin.margin.result import MarginResult, ScenarioPnl
from crossmargin.margin.var.approximation import approximation_error, delta_gamma_vega_pnl
from crossmargin.margin.var.history_scenarios import (
    HistoricalScenarios,
    HistoryWindow,
    build_scenarios,
    ewma_variance,
    history_end_day,
    horizon_sums,
    scenario_pnl_by_position,
    scenario_shocks,
    seed_variance,
)
from crossmargin.margin.var.parameters import VarMeasure, VarParameters, load_var_parameters
from crossmargin.margin.var.tail import (
    expected_shortfall,
    tail_measure,
    tail_weights,
    value_at_risk,
)
from crossmargin.market import MarketSnapshot
from crossmargin.market.history import MarketHistory
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import InstrumentArrays

__all__ = [
    "HistoricalScenarios",
    "HistoryWindow",
    "VarAnalysis",
    "VarMargin",
    "analyse_var",
    "build_scenarios",
    "ewma_variance",
    "expected_shortfall",
    "history_end_day",
    "horizon_sums",
    "scenario_pnl_by_position",
    "scenario_shocks",
    "seed_variance",
    "tail_measure",
    "tail_weights",
    "value_at_risk",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class VarAnalysis:
    """Everything the VaR model computed for one account.

    Attributes
    ----------
    parameters:
        The parameters used.
    last_day:
        Last daily candle used (its close precedes the valuation time).
    filtered, stress:
        The two scenario sets.
    filtered_pnl_usd, stress_pnl_usd:
        (n, n_positions) full-revaluation P&L of each position in each scenario, USD.
    filtered_risk_usd:
        The measure (ES or VaR) of the filtered portfolio P&L, USD (may be negative).
    stress_risk_usd:
        The measure at ``stress_confidence`` of the stress P&L, USD (0 without stress scenarios).
    contributions_usd:
        Euler allocation of the initial margin to positions (sums to it).
    """

    parameters: VarParameters
    last_day: date
    filtered: HistoricalScenarios
    stress: HistoricalScenarios
    filtered_pnl_usd: FloatArray
    stress_pnl_usd: FloatArray
    filtered_risk_usd: float
    stress_risk_usd: float
    contributions_usd: FloatArray

    @property
    def measure_usd(self) -> float:
        """max(filtered measure, 0), USD."""
        return max(self.filtered_risk_usd, 0.0)

    @property
    def floor_usd(self) -> float:
        """stress_weight × max(stress measure, 0), USD."""
        return self.parameters.stress_weight * max(self.stress_risk_usd, 0.0)

    @property
    def stress_addon_usd(self) -> float:
        """How far the floor lifts the margin above the filtered measure (≥ 0), USD."""
        return max(self.floor_usd - self.measure_usd, 0.0)

    @property
    def floor_binds(self) -> bool:
        """Whether the stress floor sets the margin."""
        return self.stress_addon_usd > 0.0

    @property
    def initial_margin_usd(self) -> float:
        """max(filtered measure, stress floor, 0), USD (before rounding)."""
        return self.measure_usd + self.stress_addon_usd


def analyse_var(
    arrays: InstrumentArrays,
    sizes: FloatArray,
    history: MarketHistory,
    valuation_time: datetime,
    parameters: VarParameters,
) -> VarAnalysis:
    """Run the filtered historical simulation and the stress floor for one set of positions.

    Parameters
    ----------
    arrays:
        One instrument per position (``PortfolioValuation.arrays``), at least one.
    sizes:
        Native position sizes (+ long).
    history:
        Daily closes and DVOL.
    valuation_time:
        The market's valuation time: only candles closed before it are used.
    parameters:
        Model parameters.
    """
    assets = sorted({str(u) for u in arrays.underlying})
    last_day = history_end_day(history, assets, valuation_time)
    filtered, stress = build_scenarios(history, assets, last_day, parameters)
    if filtered.count < parameters.min_scenarios:
        raise InputError(
            "valuation_time",
            valuation_time.isoformat(),
            f"only {filtered.count} filtered scenarios for {', '.join(assets)} up to "
            f"{last_day.isoformat()}; at least {parameters.min_scenarios} are needed",
        )
    filtered_pnl = scenario_pnl_by_position(arrays, sizes, *scenario_shocks(arrays, filtered))
    stress_pnl = scenario_pnl_by_position(arrays, sizes, *scenario_shocks(arrays, stress))
    confidence, measure = parameters.confidence, parameters.measure
    filtered_weights = tail_weights(filtered_pnl.sum(axis=1), confidence, measure)
    filtered_risk = float(-filtered_weights @ filtered_pnl.sum(axis=1))
    stress_risk = 0.0
    stress_weights = np.zeros(stress.count)
    if stress.count:
        stress_weights = tail_weights(stress_pnl.sum(axis=1), parameters.stress_confidence, measure)
        stress_risk = float(-stress_weights @ stress_pnl.sum(axis=1))
    floor = parameters.stress_weight * max(stress_risk, 0.0)
    if floor > max(filtered_risk, 0.0):
        contributions = -parameters.stress_weight * (stress_weights @ stress_pnl)
    elif filtered_risk > 0.0:
        contributions = -(filtered_weights @ filtered_pnl)
    else:
        contributions = np.zeros(sizes.shape[0])
    return VarAnalysis(
        parameters,
        last_day,
        filtered,
        stress,
        filtered_pnl,
        stress_pnl,
        filtered_risk,
        stress_risk,
        np.asarray(contributions, dtype=np.float64),
    )


def _primary_underlying(view: AccountView) -> str:
    """The underlying with the largest gross |delta_usd| (ties: alphabetical)."""
    gross: dict[str, float] = {}
    for row in view.valuation.positions:
        gross[row.underlying] = gross.get(row.underlying, 0.0) + abs(row.delta_usd)
    return min(gross, key=lambda asset: (-gross[asset], asset))


def _scenario_rows(
    scenarios: HistoricalScenarios, pnl_usd: FloatArray, primary: str, suffix: str
) -> list[ScenarioPnl]:
    column = scenarios.column(primary)
    moves = scenarios.price_moves[:, column]
    shocks = scenarios.dvol_changes[:, column]
    totals = pnl_usd.sum(axis=1)
    return [
        ScenarioPnl(
            "*",
            float(moves[s]),
            float(shocks[s]),
            float(totals[s]),
            f"{scenarios.end_dates[s]}{suffix}",
        )
        for s in range(scenarios.count)
    ]


class VarMargin:
    """VaR / expected-shortfall margin by filtered historical simulation (model name ``"var"``).

    IM = max(ES_filtered, stress_weight × ES_stress, 0) (or VaR with ``measure = "var"``), split
    into the components ``expected_shortfall`` and ``stress_floor_addon``; MM = maintenance_ratio ×
    each component. Position contributions are the Euler allocation of the binding measure. The
    scenarios reported are the filtered ones (labelled by end date, ``"2022-11-09"``) followed by
    the stress ones (``"2022-11-09 stress"``); ``underlying`` is ``"*"`` (all assets move together),
    ``price_move`` and ``vol_shock`` those of the primary underlying (largest gross delta), the vol
    shock being its DVOL change in annual vol units.

    Parameters
    ----------
    parameters:
        Model parameters; the shipped ``config/var.toml`` (read here, once) when None.
    haircuts:
        Collateral haircut schedule; :func:`~crossmargin.collateral.default_haircuts` when None.
    history:
        The daily closes and DVOL the scenarios are drawn from (required, keyword-only; e.g.
        :func:`~crossmargin.market.history.load_market_history` of a directory the caller names).
        :meth:`margin` only reads it: no file is opened after construction.
    """

    name = "var"

    def __init__(
        self,
        parameters: VarParameters | None = None,
        haircuts: HaircutSchedule | None = None,
        *,
        history: MarketHistory,
    ) -> None:
        if not isinstance(history, MarketHistory):
            raise InputError("history", history, "must be a MarketHistory")
        self.parameters = parameters if parameters is not None else load_var_parameters()
        self.haircuts = haircuts if haircuts is not None else default_haircuts()
        self.history = history

    def analyse(
        self, portfolio: Portfolio, market: MarketSnapshot
    ) -> tuple[AccountView, VarAnalysis | None]:
        """The account view and the analysis (None for an account without positions or coin
        balances). Coin balances are spot positions in the scenarios
        (:func:`~crossmargin.margin.common.risk_portfolio`); the view's equity is the account's."""
        view = view_account(portfolio, market, self.haircuts)
        risk_view = self.risk_view(view)
        if not any(p.size for p in risk_view.portfolio.positions):
            return view, None
        analysis = analyse_var(
            risk_view.valuation.arrays,
            risk_view.sizes,
            self.history,
            market.valuation_time,
            self.parameters,
        )
        return view, analysis

    def risk_view(self, view: AccountView) -> AccountView:
        """The account as its scenarios see it
        (:func:`crossmargin.margin.common.risk_view`)."""
        return account_risk_view(view, self.haircuts)

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Margin ``portfolio`` at ``market`` (USD, IM ≥ MM ≥ 0)."""
        view, analysis = self.analyse(portfolio, market)
        measure_name = (
            "expected_shortfall"
            if self.parameters.measure is VarMeasure.EXPECTED_SHORTFALL
            else "value_at_risk"
        )
        ratio = self.parameters.maintenance_ratio
        if analysis is None:
            zero = {measure_name: 0.0, "stress_floor_addon": 0.0}
            return assemble_result(
                self.name,
                view,
                zero,
                zero,
                [],
                self.parameters.version,
                notes=("No positions: nothing to margin.",),
            )
        components = {
            measure_name: analysis.measure_usd,
            "stress_floor_addon": analysis.stress_addon_usd,
        }
        risk_view = self.risk_view(view)
        primary = _primary_underlying(risk_view)
        scenarios = [
            *_scenario_rows(analysis.filtered, analysis.filtered_pnl_usd, primary, ""),
            *_scenario_rows(analysis.stress, analysis.stress_pnl_usd, primary, " stress"),
        ]
        worst = min(scenarios, key=lambda row: row.pnl_usd)
        return assemble_result(
            self.name,
            view,
            components,
            {name: ratio * value for name, value in components.items()},
            analysis.contributions_usd,
            self.parameters.version,
            scenarios=scenarios,
            worst_scenario=worst,
            notes=_notes(analysis, risk_view, market, primary),
        )


def _notes(
    analysis: VarAnalysis, view: AccountView, market: MarketSnapshot, primary: str
) -> tuple[str, ...]:

    p = analysis.parameters
    filtered, stress = analysis.filtered, analysis.stress
    label = "ES" if p.measure is VarMeasure.EXPECTED_SHORTFALL else "VaR"
    vols = ", ".join(
        f"{asset} {vol * 100:.2f} %"
        for asset, vol in zip(filtered.assets, filtered.daily_vol_now, strict=True)
    )
    notes = [
        f"Filtered historical simulation: {filtered.count} joint {p.horizon_days}-day scenarios "
        f"ending {filtered.end_dates[0]}..{filtered.end_dates[-1]} (Binance daily closes), "
        f"returns scaled by EWMA vol (λ = {p.ewma_decay}); daily σ_now: {vols}.",
        f"{label} {p.confidence:.1%} on filtered scenarios = "
        f"{analysis.filtered_risk_usd:,.2f} USD; "
        f"stress {label} {p.stress_confidence:.1%} on {stress.count} unfiltered scenarios in "
        f"{', '.join(w.label for w in p.stress_windows)} = {analysis.stress_risk_usd:,.2f} USD, "
        f"× {p.stress_weight} = floor {analysis.floor_usd:,.2f} USD "
        f"({'binds' if analysis.floor_binds else 'does not bind'}).",
        "Vol moves: each option's vol × DVOL_t/DVOL_{t−h} (Deribit DVOL; "
        + ", ".join(f"{a} uses {b}'s" for a, b in sorted(p.dvol_proxy.items()))
        + "); windows before DVOL exists (2021-03-24) keep vols unchanged. Scenario price_move "
        f"and vol_shock are {primary}'s (largest gross delta); every asset moves in each scenario.",
        "Instantaneous full revaluation (no time decay); coin balances are spot positions in "
        "the scenarios, stablecoins are not shocked.",
    ]
    if filtered.count:
        shocks = scenario_shocks(view.valuation.arrays, filtered)
        approx = delta_gamma_vega_pnl(view.valuation.arrays, view.sizes, *shocks)
        error = approximation_error(analysis.filtered_pnl_usd, approx, p.confidence, p.measure)
        notes.append(
            f"Delta-gamma-vega approximation: {label} {error.approx_risk_usd:,.2f} USD vs full "
            f"revaluation {error.full_risk_usd:,.2f} USD (error {error.risk_rel_error:.2%}; "
            f"largest scenario P&L error {error.max_abs_pnl_error_usd:,.2f} USD)."
        )
    stale = (market.valuation_time.date() - analysis.last_day).days - 1
    if stale > 0:
        notes.append(
            f"Last daily close used: {analysis.last_day.isoformat()}, {stale} day(s) before the "
            "last completed day (the data ends or has a gap there)."
        )
    return tuple(notes)
