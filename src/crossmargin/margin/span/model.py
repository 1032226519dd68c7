"""SPAN on our portfolios: one combined commodity per underlying, risk arrays from our pricing.

For each underlying: risk arrays of every position from :func:`risk_arrays_usd` (price scan range
as a fraction of the index, vol scan range in additive vol points), scan risk, a calendar spread
charge on the positions' USD deltas netted per expiry (spot and perpetuals form one month), a short
option minimum on max(short calls, short puts) in coin. Delta-based credits between underlyings
(BTC/ETH, …) use USD deltas 1:1. IM = Σ max(scan + intra − credit, short option minimum);
MM = IM / ``initial_to_maintenance_ratio`` (CME: speculators' initial is 110 % of maintenance).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.core.numeric import margin_to_decimal
from crossmargin.instruments import InstrumentKind, format_expiry
from crossmargin.margin.common import (
    AccountView,
    assemble_result,
    view_account,
)
from crossmargin.margin.common import risk_view as account_risk_view
from crossmargin.margin.result import MarginResult, ScenarioPnl
from crossmargin.margin.span.arithmetic import (
    COMPONENT_NAMES,
    SCENARIO_COUNT,
    VOL_DIRECTIONS,
    CommodityRisk,
    InterLeg,
    InterSpread,
    MonthDelta,
    SpanBreakdown,
    TierSpread,
    price_fractions,
    scenario_label,
    span_requirement,
)
from crossmargin.margin.span.parameters import (
    CommodityParameters,
    SpanParameters,
    load_span_parameters,
)
from crossmargin.margin.span.risk_arrays import risk_arrays_usd
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import unit_greeks_usd

__all__ = ["SpanMargin"]

FloatArray = NDArray[np.float64]

_SPOT_MONTH = "spot/perpetual"
_DENOISE_DIGITS = 9


def _rounded(value: float) -> Decimal:
    return margin_to_decimal(value, "USD")


class SpanMargin:
    """CME SPAN applied to a crypto portfolio (model name ``"span"``).

    Parameters
    ----------
    parameters:
        SPAN parameters; the shipped ``config/span.toml`` when None.
    haircuts:
        Collateral haircuts for the equity; :func:`default_haircuts` when None.
    """

    name: str = "span"

    def __init__(
        self, parameters: SpanParameters | None = None, haircuts: HaircutSchedule | None = None
    ) -> None:
        self.parameters = parameters if parameters is not None else load_span_parameters()
        self.haircuts = haircuts if haircuts is not None else default_haircuts()

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """SPAN initial and maintenance margin of ``portfolio`` at ``market`` (USD, rounded up).

        Components: ``scan_risk``, ``intra_spread_charge``, ``inter_spread_credit`` (≤ 0) and
        ``short_option_minimum_addon``. Scenarios: 16 per underlying, P&L = −loss as counted
        (scenarios 15–16 at the cover fraction).
        """
        view = view_account(portfolio, market, self.haircuts)
        risk_view = self.risk_view(view)
        breakdown, position_losses = self.breakdown(risk_view)
        parameters = self.parameters
        ratio = parameters.initial_to_maintenance_ratio
        initial = {
            name: round(value, _DENOISE_DIGITS) for name, value in breakdown.components().items()
        }
        maintenance = {name: value / ratio for name, value in initial.items()}
        scenarios = self._scenarios(breakdown)
        worst_scenario = None
        if breakdown.commodities:
            position = max(
                range(len(breakdown.commodities)), key=lambda i: breakdown.commodities[i].scan_risk
            )
            number = breakdown.commodities[position].worst_scenario
            worst_scenario = scenarios[SCENARIO_COUNT * position + number - 1]
        contributions = self._contributions(risk_view, breakdown, position_losses)
        notes = self._notes(breakdown) + _balance_notes(view, risk_view)
        if sum(map(_rounded, maintenance.values())) > sum(map(_rounded, initial.values())):
            maintenance = initial  # only when rounding tiny amounts up would give MM > IM
        result = assemble_result(
            self.name,
            view,
            initial,
            maintenance,
            contributions,
            parameters.version,
            scenarios=scenarios,
            worst_scenario=worst_scenario,
            notes=notes,
        )
        return result

    def risk_view(self, view: AccountView) -> AccountView:
        """The account as its scenarios see it
        (:func:`crossmargin.margin.common.risk_view`)."""
        return account_risk_view(view, self.haircuts)

    def breakdown(self, view: AccountView) -> tuple[SpanBreakdown, FloatArray]:
        """The SPAN breakdown per underlying and each position's (n, 16) losses in USD."""
        arrays = view.valuation.arrays
        count = len(view.portfolio.positions)
        commodity_of = [self._commodity(str(u)) for u in arrays.underlying]
        price_range = np.array([c.price_scan_range for c in commodity_of], dtype=np.float64)
        vol_range = np.array([c.vol_scan_range for c in commodity_of], dtype=np.float64)
        parameters = self.parameters
        unit_losses = risk_arrays_usd(
            arrays,
            price_range,
            vol_range,
            parameters.extreme_move_multiple,
            parameters.extreme_cover_fraction,
            parameters.look_ahead_days,
        )
        position_losses = unit_losses * view.sizes[:, None]
        delta_usd = unit_greeks_usd(arrays)["delta"] * view.sizes * arrays.index_usd
        commodities = []
        for underlying in view.portfolio.underlyings:
            rows = [i for i in range(count) if arrays.underlying[i] == underlying]
            commodities.append(
                self._commodity_risk(view, underlying, rows, position_losses, delta_usd)
            )
        spreads = tuple(
            InterSpread(
                tuple(InterLeg(leg.underlying, leg.delta_ratio, leg.side) for leg in spread.legs),
                spread.credit_rate,
            )
            for spread in parameters.inter_spreads
        )
        return span_requirement(commodities, spreads), position_losses

    def _commodity(self, underlying: str) -> CommodityParameters:
        try:
            return self.parameters.commodities[underlying]
        except KeyError:
            raise InputError(
                "underlying",
                underlying,
                f"has no SPAN parameters in version {self.parameters.version!r}; add a "
                f"[commodities.{underlying}] table",
            ) from None

    def _commodity_risk(
        self,
        view: AccountView,
        underlying: str,
        rows: list[int],
        position_losses: FloatArray,
        delta_usd: FloatArray,
    ) -> CommodityRisk:
        parameters = self._commodity(underlying)
        arrays = view.valuation.arrays
        months = []
        short_calls = short_puts = 0.0
        for i in sorted(rows, key=lambda r: arrays.t_years[r]):
            instrument = view.portfolio.positions[i].instrument
            month = _SPOT_MONTH if instrument.expiry is None else format_expiry(instrument.expiry)
            tier = parameters.tier_of(float(arrays.t_years[i]) * 365.0)
            months.append(MonthDelta(month, tier, float(delta_usd[i])))
            size = float(view.sizes[i])
            if instrument.kind is InstrumentKind.OPTION and size < 0.0:
                if instrument.is_call:
                    short_calls -= size
                else:
                    short_puts -= size
        index_usd = view.market.index(underlying)
        return CommodityRisk(
            name=underlying,
            losses=position_losses[rows].sum(axis=0),
            month_deltas=tuple(months),
            intra_spreads=tuple(
                TierSpread(row.tier_a, row.tier_b, row.rate) for row in parameters.intra_spreads
            ),
            short_option_minimum_charge=parameters.short_option_minimum_rate * index_usd,
            short_calls=short_calls,
            short_puts=short_puts,
        )

    def _scenarios(self, breakdown: SpanBreakdown) -> list[ScenarioPnl]:
        parameters = self.parameters
        fractions = price_fractions(parameters.extreme_move_multiple)
        scenarios = []
        for commodity in breakdown.commodities:
            ranges = self._commodity(commodity.name)
            for number in range(1, SCENARIO_COUNT + 1):
                label = scenario_label(
                    number, parameters.extreme_move_multiple, parameters.extreme_cover_fraction
                )
                scenarios.append(
                    ScenarioPnl(
                        underlying=commodity.name,
                        price_move=float(fractions[number - 1] * ranges.price_scan_range),
                        vol_shock=float(VOL_DIRECTIONS[number - 1] * ranges.vol_scan_range),
                        pnl_usd=-float(commodity.losses[number - 1]),
                        label=f"{commodity.name} scenario {number}: {label}",
                    )
                )
        return scenarios

    def _contributions(
        self, view: AccountView, breakdown: SpanBreakdown, position_losses: FloatArray
    ) -> FloatArray:
        """Each position's share of the IM: its loss in its commodity's scan scenario (when the
        scan risk is positive), plus the commodity's other charges split by |USD delta|."""
        arrays = view.valuation.arrays
        delta_usd = np.abs(unit_greeks_usd(arrays)["delta"] * view.sizes * arrays.index_usd)
        contributions = np.zeros(len(view.portfolio.positions))  # balances' rows at the end
        for commodity in breakdown.commodities:
            rows = np.flatnonzero(arrays.underlying == commodity.name)
            if commodity.scan_risk > 0.0:
                contributions[rows] = position_losses[rows, commodity.worst_scenario - 1]
            rest = commodity.total - commodity.scan_risk
            weights = delta_usd[rows]
            share = (
                weights / weights.sum()
                if weights.sum() > 0.0
                else np.full(len(rows), 1.0 / len(rows))
            )
            contributions[rows] += rest * share
        return contributions

    def _notes(self, breakdown: SpanBreakdown) -> tuple[str, ...]:
        notes = [
            f"SPAN IM = Σ max(scan + intra − credit, short option minimum); MM = IM / "
            f"{self.parameters.initial_to_maintenance_ratio:g}"
        ]
        for commodity in breakdown.commodities:
            parts = [f"{name} {getattr(commodity, name):,.2f}" for name in COMPONENT_NAMES]
            notes.append(
                f"{commodity.name}: worst scenario {commodity.worst_scenario}; " + ", ".join(parts)
            )
        return tuple(notes)


def _balance_notes(view: AccountView, risk_view: AccountView) -> tuple[str, ...]:
    """A note naming the coin balances the scenarios hold as spot positions, if any."""
    extra = risk_view.portfolio.positions[len(view.portfolio.positions) :]
    if risk_view is view:
        return ()
    held = ", ".join(f"{p.instrument.underlying} {p.size:g}" for p in extra)
    return (f"coin balances inside the scenarios as spot positions: {held or 'merged'}",)
