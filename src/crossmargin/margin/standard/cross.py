"""Standard cross margin: Deribit's per-position rates, collateral and P&L pooled.

Every position is charged its standard-margin requirement (:mod:`crossmargin.margin.standard.rates`)
with no offsets between positions, and the requirements are summed. What makes it "cross" is the
other side of the ledger: the account's equity pools the collateral of every currency (after
haircuts) and the unrealised P&L and option values of every position, so one position's profit
supports another's margin. Equity is the valuation's ``equity_usd``.
"""

from __future__ import annotations

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.margin.common import assemble_result, view_account
from crossmargin.margin.result import MarginResult
from crossmargin.margin.standard.parameters import (
    StandardMarginParameters,
    load_standard_parameters,
)
from crossmargin.margin.standard.rates import (
    category_totals,
    rate_arrays,
    standard_requirements_usd,
)
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["CrossMargin"]


class CrossMargin:
    """Standard cross margin (model name ``"cross"``).

    IM = Σ per-position standard IM, MM = Σ per-position standard MM (USD, rounded up);
    equity = collateral after haircuts + Σ positions' mark values. Components: ``futures_im``,
    ``short_option_im``, ``short_spot_im`` (and ``*_mm`` for maintenance); each position's
    contribution is its own IM (0 for long options and long spot, which are paid in full).

    Parameters
    ----------
    parameters:
        Standard-margin rates; the shipped ``config/standard_margin.toml`` when None.
    haircuts:
        Collateral haircut schedule; :func:`~crossmargin.collateral.default_haircuts` when None.
    """

    name = "cross"

    def __init__(
        self,
        parameters: StandardMarginParameters | None = None,
        haircuts: HaircutSchedule | None = None,
    ) -> None:
        self.parameters = parameters if parameters is not None else load_standard_parameters()
        self.haircuts = haircuts if haircuts is not None else default_haircuts()

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Margin ``portfolio`` at ``market`` under standard cross margin (USD, IM ≥ MM ≥ 0)."""
        view = view_account(portfolio, market, self.haircuts)
        arrays = view.valuation.arrays
        requirements = standard_requirements_usd(
            arrays, view.sizes, rate_arrays(self.parameters, list(arrays.underlying))
        )
        return assemble_result(
            self.name,
            view,
            category_totals(requirements.initial_usd, requirements.category, "im"),
            category_totals(requirements.maintenance_usd, requirements.category, "mm"),
            requirements.initial_usd,
            self.parameters.version,
            notes=(
                "Deribit standard margin per position, summed without offsets; collateral "
                "(after haircuts) and unrealised P&L pooled across positions and currencies.",
                "Long options and long spot are paid in full: no requirement beyond their value.",
            ),
        )
