"""The frozen result every margin model returns, and the helpers that build it.

A result explains itself (DESIGN.md §3): ``components`` add up to the initial margin, the scenario
models say which scenario was worst and what every scenario did, and each position carries its
Greeks and its contribution to the requirement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.numeric import margin_to_decimal
from crossmargin.margin.health import AccountHealth, assess_health, is_liquidatable, margin_ratio

__all__ = ["MarginResult", "PositionMargin", "ScenarioPnl", "round_components"]


@dataclass(frozen=True, slots=True)
class ScenarioPnl:
    """One scenario and the portfolio P&L in it.

    Attributes
    ----------
    underlying:
        The underlying moved by the scenario (``"*"`` where a scenario moves several at once, as
        historical VaR scenarios do).
    price_move:
        Relative move: S' = S·(1 + price_move).
    vol_shock:
        Additive vol change applied to every option of the underlying (0.1 = +10 vol points), or a
        map of expiry (``"27DEC24"``) to shock where it differs by expiry.
    pnl_usd:
        Portfolio P&L in the scenario, USD; negative is a loss. For dampened (extended) scenarios
        this is the P&L as counted, after the dampener.
    label:
        Short human name, e.g. ``"BTC -16% vol up"`` or ``"2022-11-09"``.
    """

    underlying: str
    price_move: float
    vol_shock: float | Mapping[str, float]
    pnl_usd: float
    label: str = ""


@dataclass(frozen=True, slots=True)
class PositionMargin:
    """A position as a margin model sees it: mark value, Greeks and its contribution to the
    initial margin. Whole position (not per unit); each name ends in its unit (README,
    "Conventions").

    Attributes
    ----------
    instrument:
        Instrument name, e.g. ``"BTC-27DEC24-60000-C"``.
    size:
        Native amount: positive long, negative short (USD of face for inverse futures and
        perpetuals, coin otherwise).
    mark_value_usd:
        Mark value, USD.
    delta_coin:
        dV/dS against the underlying's index S, coin.
    delta_usd:
        ``delta_coin`` × S, USD.
    gamma_coin_per_usd:
        d²V/dS²: change of ``delta_coin`` per 1 USD move of the index.
    vega_usd_per_vol:
        dV/dσ, USD per 1.00 of implied vol (per vol point: divide by 100).
    theta_usd_per_year:
        dV/dt as calendar time passes, USD per year (negative for a long option).
    contribution_usd:
        The position's share of the initial margin, USD (negative for a hedge).
    """

    instrument: str
    size: float
    mark_value_usd: float
    delta_coin: float
    delta_usd: float
    gamma_coin_per_usd: float
    vega_usd_per_vol: float
    theta_usd_per_year: float
    contribution_usd: float


@dataclass(frozen=True, slots=True)
class MarginResult:
    """What a margin model decided for one account, in ``currency`` (USD).

    ``initial_margin`` and ``maintenance_margin`` are rounded up, ``collateral_value`` (after
    haircuts) rounded down; ``equity`` = collateral value + positions' mark value. ``components``
    (name → amount) add up exactly to ``initial_margin``; ``maintenance_components`` to
    ``maintenance_margin``. ``scenario_pnl`` is the P&L vector in USD of the scenario models (empty
    for the others), in the order of ``scenarios``.
    """

    model: str
    initial_margin: Decimal
    maintenance_margin: Decimal
    equity: Decimal
    collateral_value: Decimal
    components: Mapping[str, Decimal]
    maintenance_components: Mapping[str, Decimal]
    positions: tuple[PositionMargin, ...] = ()
    worst_scenario: ScenarioPnl | None = None
    scenarios: tuple[ScenarioPnl, ...] = ()
    scenario_pnl: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    parameters_version: str = ""
    currency: str = "USD"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))
        object.__setattr__(
            self, "maintenance_components", MappingProxyType(dict(self.maintenance_components))
        )
        pnl = np.array(self.scenario_pnl, dtype=np.float64)
        pnl.setflags(write=False)
        object.__setattr__(self, "scenario_pnl", pnl)
        if sum(self.components.values(), Decimal(0)) != self.initial_margin:
            raise ValueError(f"{self.model}: components do not add up to the initial margin")
        if sum(self.maintenance_components.values(), Decimal(0)) != self.maintenance_margin:
            raise ValueError(f"{self.model}: maintenance components do not add up")

    @property
    def margin_ratio(self) -> float:
        """Maintenance margin / equity, dimensionless, by
        :func:`crossmargin.margin.health.margin_ratio`: 0 when nothing is due, ``inf`` when margin
        is due and equity ≤ 0; above 1.0 the account is liquidatable."""
        return margin_ratio(self.maintenance_margin, self.equity)

    @property
    def liquidatable(self) -> bool:
        """Whether equity is below a positive maintenance margin
        (:func:`~crossmargin.margin.health.is_liquidatable`; equity = MM is still safe)."""
        return is_liquidatable(self.equity, self.maintenance_margin)

    @property
    def health(self) -> AccountHealth:
        """The verdict under the default bands (:func:`~crossmargin.margin.health.assess_health`):
        healthy, warning, reduce-only, liquidatable or bankrupt, the two ratios (``None`` where
        not finite) and the reason."""
        return assess_health(self.equity, self.maintenance_margin)

    @property
    def available_usd(self) -> Decimal:
        """Equity above the initial margin (negative when the account may not add risk)."""
        return self.equity - self.initial_margin


def round_components(components_usd: Mapping[str, float]) -> dict[str, Decimal]:
    """Round each float component **up** to the USD quantum (negative credits round up too,
    towards zero), so their sum is the requirement reported."""
    return {name: margin_to_decimal(value, "USD", name) for name, value in components_usd.items()}
