"""Liquidation parameters: frozen, validated values loaded from ``config/liquidation.toml``.

Every value is checked at construction (a parameters object that exists is valid); the shipped
file names the source of each default. A run records :attr:`LiquidationParameters.version`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from crossmargin.core.checks import (
    build_from_table,
    check_fraction,
    check_non_negative,
    check_positive,
    check_positive_int,
    read_config_toml,
)
from crossmargin.core.errors import InputError
from crossmargin.margin.health import HealthBands

__all__ = [
    "AdlRanking",
    "AuctionParameters",
    "CexParameters",
    "InsuranceParameters",
    "LiquidationParameters",
    "PlannerParameters",
    "Requirement",
    "ScenarioParameters",
    "ShortfallPolicy",
    "SlippageParameters",
    "load_liquidation_parameters",
]


class Requirement(StrEnum):
    """Which requirement the planner brings equity back above."""

    INITIAL = "initial"
    MAINTENANCE = "maintenance"


class ShortfallPolicy(StrEnum):
    """What happens to a loss the insurance fund cannot cover."""

    ADL = "adl"
    SOCIALISE = "socialise"


class AdlRanking(StrEnum):
    """How auto-deleveraging ranks the opposing profitable accounts (venues.md)."""

    BINANCE = "binance"
    BYBIT = "bybit"


@dataclass(frozen=True, slots=True)
class PlannerParameters:
    """Partial-liquidation planner: target ``equity ≥ target_multiple × requirement``; groups
    are closed in steps of ``step_fraction`` of their size; two legs whose scenario P&L
    correlation is ≤ ``hedge_correlation`` are one hedge, closed together."""

    requirement: Requirement = Requirement.INITIAL
    target_multiple: float = 1.0
    step_fraction: float = 0.1
    hedge_correlation: float = -0.5

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "requirement", Requirement(self.requirement))
        except ValueError:
            raise InputError(
                "requirement", self.requirement, "must be initial or maintenance"
            ) from None
        check_fraction(self.target_multiple, "target_multiple", 0.0, 10.0)
        check_fraction(self.step_fraction, "step_fraction", 1e-6, 1.0)
        check_fraction(self.hedge_correlation, "hedge_correlation", -1.0, 0.0)


@dataclass(frozen=True, slots=True)
class ScenarioParameters:
    """The scenarios :func:`~crossmargin.liquidation.build.account_risk` revalues positions in:
    ``price_points`` moves evenly over ±``price_range`` (0.16 = 16 %), each with the vol
    unchanged, up ``vol_up_shift`` and down ``vol_down_shift`` (annual vol, 0.25 = 25 points);
    MM = ``maintenance_fraction`` × IM."""

    price_range: float = 0.16
    price_points: int = 9
    vol_up_shift: float = 0.25
    vol_down_shift: float = 0.10
    maintenance_fraction: float = 0.8

    def __post_init__(self) -> None:
        check_fraction(self.price_range, "price_range", 0.0, 0.99)
        check_positive_int(self.price_points, "price_points")
        check_fraction(self.vol_up_shift, "vol_up_shift", 0.0, 5.0)
        check_fraction(self.vol_down_shift, "vol_down_shift", 0.0, 5.0)
        check_fraction(self.maintenance_fraction, "maintenance_fraction", 1e-6, 1.0)


@dataclass(frozen=True, slots=True)
class SlippageParameters:
    """Square-root impact from book depth: a market order of notional N on a book whose 1 %
    depth is D fills ``half_spread + impact_at_depth·√(N / D)`` worse than mark (fractions)."""

    half_spread: float = 0.0001
    impact_at_depth: float = 0.01
    future_depth_usd: float = 14_000_000.0
    option_depth_usd: float = 500_000.0
    stress_depth_factor: float = 0.5

    def __post_init__(self) -> None:
        check_fraction(self.half_spread, "half_spread", 0.0, 0.5)
        check_fraction(self.impact_at_depth, "impact_at_depth", 0.0, 1.0)
        check_positive(self.future_depth_usd, "future_depth_usd")
        check_positive(self.option_depth_usd, "option_depth_usd")
        check_fraction(self.stress_depth_factor, "stress_depth_factor", 1e-6, 1.0)


@dataclass(frozen=True, slots=True)
class CexParameters:
    """Incremental CEX liquidation: one round per ``round_interval_s`` trading at most
    ``round_notional_usd``; fees (fractions of notional) go to the insurance fund."""

    round_interval_s: float = 1.0
    round_notional_usd: float = 2500.0
    max_rounds: int = 100_000
    future_fee_rate: float = 0.009
    btc_future_fee_rate: float = 0.005
    option_fee_rate: float = 0.002
    hedge_with_perpetual: bool = False

    def __post_init__(self) -> None:
        check_positive(self.round_interval_s, "round_interval_s")
        check_positive(self.round_notional_usd, "round_notional_usd")
        check_positive_int(self.max_rounds, "max_rounds")
        for name in ("future_fee_rate", "btc_future_fee_rate", "option_fee_rate"):
            check_fraction(getattr(self, name), name, 0.0, 0.1)
        if not isinstance(self.hedge_with_perpetual, bool):
            raise InputError("hedge_with_perpetual", self.hedge_with_perpetual, "must be a bool")


@dataclass(frozen=True, slots=True)
class AuctionParameters:
    """Derive's Dutch auction: the price factor (× MtM) falls from ``start_factor`` to
    ``fast_end_factor`` over ``fast_phase_s``, then to 0 over ``slow_phase_s``."""

    start_factor: float = 0.95
    fast_end_factor: float = 0.70
    fast_phase_s: float = 900.0
    slow_phase_s: float = 43_200.0
    insolvent_phase_s: float = 3600.0
    fee_rate: float = 0.10
    buffer_rate: float = 0.15
    gas_cost_usd: float = 2.0
    keeper_min_profit_usd: float = 1.0

    def __post_init__(self) -> None:
        check_fraction(self.start_factor, "start_factor")
        check_fraction(self.fast_end_factor, "fast_end_factor", 0.0, self.start_factor)
        for name in ("fast_phase_s", "slow_phase_s", "insolvent_phase_s"):
            check_positive(getattr(self, name), name)
        check_fraction(self.fee_rate, "fee_rate")
        check_fraction(self.buffer_rate, "buffer_rate")
        check_non_negative(self.gas_cost_usd, "gas_cost_usd")
        check_non_negative(self.keeper_min_profit_usd, "keeper_min_profit_usd")


@dataclass(frozen=True, slots=True)
class InsuranceParameters:
    """What to do with a shortfall the fund cannot cover, and how ADL ranks accounts."""

    shortfall_policy: ShortfallPolicy = ShortfallPolicy.ADL
    adl_ranking: AdlRanking = AdlRanking.BINANCE

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "shortfall_policy", ShortfallPolicy(self.shortfall_policy))
            object.__setattr__(self, "adl_ranking", AdlRanking(self.adl_ranking))
        except ValueError as error:
            raise InputError("insurance", str(error), "unknown policy or ranking") from None


@dataclass(frozen=True, slots=True)
class LiquidationParameters:
    """Every liquidation parameter of one version (see ``config/liquidation.toml``)."""

    version: str
    health: HealthBands
    planner: PlannerParameters
    scenarios: ScenarioParameters
    slippage: SlippageParameters
    cex: CexParameters
    auction: AuctionParameters
    insurance: InsuranceParameters


_SECTIONS = {
    "health": HealthBands,
    "planner": PlannerParameters,
    "scenarios": ScenarioParameters,
    "slippage": SlippageParameters,
    "cex": CexParameters,
    "auction": AuctionParameters,
    "insurance": InsuranceParameters,
}


def load_liquidation_parameters(path: str | Path | None = None) -> LiquidationParameters:
    """Load ``path`` (TOML) or the shipped ``config/liquidation.toml``.

    A missing section takes its defaults; an unknown section or key, or a bad value, raises
    :class:`InputError` naming the file and the field.
    """
    document, source = read_config_toml("liquidation.toml", path)
    for key in document:
        if key != "version" and key not in _SECTIONS:
            raise InputError(f"{source}: {key}", document[key], "unknown section")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise InputError(f"{source}: version", version, "must be a non-empty string")
    built: dict[str, object] = {}
    for name, kind in _SECTIONS.items():
        try:
            built[name] = build_from_table(kind, document.get(name, {}), f"{source}: {name}")
        except ValueError as error:  # HealthBands raises a plain ValueError
            if isinstance(error, InputError):
                raise
            raise InputError(f"{source}: {name}", document.get(name), str(error)) from None
    return LiquidationParameters(version=version, **built)  # type: ignore[arg-type]
