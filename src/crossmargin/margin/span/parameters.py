"""Parameters of the SPAN model, per combined commodity (one per underlying: BTC, ETH, SOL).

They load from ``config/span.toml`` (each default cites its source or is labelled an assumption
there) into frozen pydantic models. A parameter set that exists is valid: scan ranges are in range,
an extreme move keeps prices positive, spread tiers exist and inter-commodity legs name
configured commodities.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossmargin.margin.parameters import load_parameters

__all__ = [
    "CommodityParameters",
    "InterLegParameters",
    "InterSpreadParameters",
    "IntraSpreadParameters",
    "SpanParameters",
    "load_span_parameters",
]

DEFAULT_FILE = "span.toml"


class IntraSpreadParameters(BaseModel):
    """One row of the calendar spread table: a spread between a month of ``tier_a`` and a month
    of ``tier_b`` costs ``rate`` × the USD delta spread (0.01 = 1 % of the notional of one leg)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tier_a: int = Field(ge=1)
    tier_b: int = Field(ge=1)
    rate: float = Field(ge=0.0, le=1.0)


class CommodityParameters(BaseModel):
    """SPAN parameters of one combined commodity (all contracts on one underlying).

    Attributes
    ----------
    price_scan_range:
        Price move of scenarios 11–14 as a fraction of the underlying (0.17 = ±17 %).
    vol_scan_range:
        Additive implied-vol move of the vol-up / vol-down scenarios (0.18 = 18 vol points).
    tier_max_days:
        Upper bounds (days to expiry, inclusive) of tiers 1, 2, …; the last tier is open-ended.
        Spot and perpetuals sit in tier 1 as their own month.
    intra_spreads:
        Calendar spread table in priority order.
    short_option_minimum_rate:
        Short option minimum per coin of short option, as a fraction of the index price.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    price_scan_range: float = Field(gt=0.0, lt=1.0)
    vol_scan_range: float = Field(ge=0.0, le=2.0)
    tier_max_days: tuple[float, ...] = ()
    intra_spreads: tuple[IntraSpreadParameters, ...] = ()
    short_option_minimum_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _tiers_exist(self) -> Self:
        bounds = self.tier_max_days
        if any(b <= 0.0 for b in bounds) or any(b <= a for a, b in pairwise(bounds)):
            raise ValueError("tier_max_days must be positive and strictly increasing")
        tiers = len(bounds) + 1
        for row in self.intra_spreads:
            if max(row.tier_a, row.tier_b) > tiers:
                raise ValueError(
                    f"intra spread tier {max(row.tier_a, row.tier_b)} does not "
                    f"exist; there are {tiers} tiers"
                )
        return self

    def tier_of(self, days_to_expiry: float) -> int:
        """Tier (1-based) of a contract ``days_to_expiry`` days from expiry (0 for perpetuals)."""
        return 1 + sum(1 for bound in self.tier_max_days if days_to_expiry > bound)


class InterLegParameters(BaseModel):
    """One leg of an inter-commodity spread: the underlying, USD delta per spread, side."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    underlying: str = Field(min_length=1)
    delta_ratio: float = Field(default=1.0, gt=0.0)
    side: Literal["A", "B"] = "A"


class InterSpreadParameters(BaseModel):
    """A delta-based inter-commodity spread and its credit rate (fraction of the legs' weighted
    price risk)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    legs: tuple[InterLegParameters, ...] = Field(min_length=2)
    credit_rate: float = Field(gt=0.0, le=1.0)


class SpanParameters(BaseModel):
    """The whole SPAN parameter set.

    ``initial_to_maintenance_ratio``: IM = SPAN requirement, MM = IM / ratio.
    ``look_ahead_days``: calendar time that passes in every scenario (0 keeps each scenario a
    pure price × vol move).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    extreme_move_multiple: float = Field(default=2.0, ge=1.0, le=10.0)
    extreme_cover_fraction: float = Field(default=0.35, gt=0.0, le=1.0)
    look_ahead_days: float = Field(default=0.0, ge=0.0, le=30.0)
    initial_to_maintenance_ratio: float = Field(default=1.1, ge=1.0, le=10.0)
    commodities: Mapping[str, CommodityParameters]
    inter_spreads: tuple[InterSpreadParameters, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name, commodity in self.commodities.items():
            if commodity.price_scan_range * self.extreme_move_multiple >= 1.0:
                raise ValueError(
                    f"commodities.{name}: price_scan_range × extreme_move_multiple "
                    "must be < 1 so extreme prices stay positive"
                )
        for index, spread in enumerate(self.inter_spreads):
            for leg in spread.legs:
                if leg.underlying not in self.commodities:
                    raise ValueError(
                        f"inter_spreads[{index}]: leg {leg.underlying!r} has no [commodities] entry"
                    )
        return self


def load_span_parameters(path: str | Path | None = None) -> SpanParameters:
    """Load the SPAN parameters from ``path`` or the shipped ``config/span.toml``.

    Raises :class:`~crossmargin.core.errors.InputError` naming the field and value on bad input.
    """
    return load_parameters(SpanParameters, DEFAULT_FILE, path)
