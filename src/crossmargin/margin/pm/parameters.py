"""Parameters of the Deribit-style portfolio margin model (``pm``).

They load from ``config/pm_deribit.toml`` (each default cites its public source there) into frozen
pydantic models. A parameter set that exists is valid: every fraction lies in its range, every
extended move lies beyond every underlying's price range (so a tail scenario's weight
``factor·range/|move|`` is at most the factor and its dampener is positive), and a shocked-down
vol can never turn negative.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crossmargin.margin.parameters import load_parameters

__all__ = [
    "DEFAULT_FILE",
    "PmUnderlyingParameters",
    "PortfolioMarginParameters",
    "load_pm_parameters",
]

DEFAULT_FILE = "pm_deribit.toml"

AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+$")]


class PmUnderlyingParameters(BaseModel):
    """Scenario and contingency parameters of one underlying.

    Attributes
    ----------
    price_range:
        Largest relative price move of the standard grid (0.16 = ±16 %).
    vol_range_up, vol_range_down:
        Vol shock sizes at 30 days: σ_up = max(σ·(1 + up·x), min_vol_for_shock_up),
        σ_down = σ·(1 − down·x), x = (30/DTE)^power.
    short_term_vega_power, long_term_vega_power:
        ``power`` below / from ``vega_power_pivot_days`` days to expiry.
    vega_power_pivot_days:
        The pivot of the term structure (30 days).
    min_vol_for_shock_up:
        Floor of a shocked-up vol (annual).
    min_days_for_vol_shock:
        Days to expiry are floored here before scaling, so a shock stays finite at expiry.
    extended_table_factor:
        Fraction of an extended scenario's loss that counts, before the range/|move| scaling.
    extended_dampener_usd:
        USD per unit of (|move|/range − 1) by which an extended scenario's P&L shrinks to zero.
    rate_shock_annual:
        Size Δr of the rate shock applied to dated instruments (0.075 = 7.5 points a year).
    max_delta_shock, delta_shock_threshold_usd, delta_shock_increment_per_coin:
        Liquidity delta shock: a net delta δ (coin) beyond the threshold costs
        |δ|·S·min(max_delta_shock, increment·(|δ| − threshold/S)).
    short_option_charge_per_coin:
        Charge per coin of net short options per expiry and strike, in coin (0.01 = 1 % of S).
    basis_charge_rate:
        Charge on offsetting futures across expiries as a fraction of their notional.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    price_range: float = Field(gt=0.0, lt=1.0)
    vol_range_up: float = Field(ge=0.0, le=10.0)
    vol_range_down: float = Field(ge=0.0, lt=1.0)
    short_term_vega_power: float = Field(ge=0.0, le=2.0)
    long_term_vega_power: float = Field(ge=0.0, le=2.0)
    vega_power_pivot_days: float = Field(gt=0.0, le=3650.0)
    min_vol_for_shock_up: float = Field(ge=0.0, le=10.0)
    min_days_for_vol_shock: float = Field(gt=0.0, le=365.0)
    extended_table_factor: float = Field(ge=0.0, le=1.0)
    extended_dampener_usd: float = Field(ge=0.0, le=1e12)
    rate_shock_annual: float = Field(ge=0.0, le=1.0)
    max_delta_shock: float = Field(ge=0.0, le=1.0)
    delta_shock_threshold_usd: float = Field(ge=0.0, le=1e15)
    delta_shock_increment_per_coin: float = Field(ge=0.0, le=1.0)
    short_option_charge_per_coin: float = Field(ge=0.0, le=1.0)
    basis_charge_rate: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _down_shock_keeps_vol_positive(self) -> Self:
        days = min(self.min_days_for_vol_shock, self.vega_power_pivot_days)
        power = max(self.short_term_vega_power, self.long_term_vega_power)
        scale = (self.vega_power_pivot_days / days) ** power
        if self.vol_range_down * scale >= 1.0:
            raise ValueError(
                f"vol_range_down × (pivot/min_days)^power = {self.vol_range_down * scale:.4g} "
                "must be < 1 so a shocked-down vol stays positive"
            )
        return self


class PortfolioMarginParameters(BaseModel):
    """Versioned portfolio-margin parameters: the grid shape, IM → MM, per-underlying values.

    Attributes
    ----------
    version:
        Recorded in every result.
    buckets_per_side:
        Price points on each side of zero (4 → 9 points from −range to +range).
    extended_moves:
        Relative moves of the extended (tail) table, run with vol up only.
    mm_factor:
        Maintenance margin = mm_factor × initial margin, component by component.
    cross_underlying_offset:
        Fraction of one underlying's scenario profit that may offset another's loss in the same
        aligned scenario (the correlation credit); 0 (off) by default.
    underlyings:
        Parameters per underlying; any other underlying uses ``fallback``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    buckets_per_side: int = Field(ge=1, le=50)
    extended_moves: tuple[float, ...] = Field(max_length=64)
    mm_factor: float = Field(gt=0.0, le=1.0)
    cross_underlying_offset: float = Field(default=0.0, ge=0.0, le=1.0)
    underlyings: dict[AssetCode, PmUnderlyingParameters] = Field(default_factory=dict)
    fallback: PmUnderlyingParameters

    @model_validator(mode="after")
    def _extended_moves_beyond_every_range(self) -> Self:
        widest = max(
            [self.fallback.price_range] + [p.price_range for p in self.underlyings.values()]
        )
        for index, move in enumerate(self.extended_moves):
            if move <= -1.0:
                raise ValueError(f"extended_moves[{index}] = {move} must be > -1")
            if abs(move) <= widest:
                raise ValueError(
                    f"extended_moves[{index}] = {move} must lie beyond every price_range "
                    f"(widest {widest})"
                )
        if len(set(self.extended_moves)) != len(self.extended_moves):
            raise ValueError("extended_moves must be distinct")
        return self

    def for_underlying(self, underlying: str) -> PmUnderlyingParameters:
        """Parameters of ``underlying`` (``"BTC"``), or the fallback when it has none."""
        return self.underlyings.get(underlying, self.fallback)


def load_pm_parameters(path: str | Path | None = None) -> PortfolioMarginParameters:
    """Load portfolio-margin parameters from ``path``, or the shipped ``config/pm_deribit.toml``
    when ``path`` is None (:class:`InputError` naming the field on any problem)."""
    return load_parameters(PortfolioMarginParameters, DEFAULT_FILE, path)
