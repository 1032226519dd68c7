"""Parameters of Derive's portfolio margin risk manager (PMRM, version 2), as frozen models.

Names follow Derive's parameter groups (``VolShock``, ``SkewShock``, ``Margin``,
``BasisContingency``, ``OtherContingency``); ranges are the ones Derive's contract accepts when its
owner sets them (``PMRMLib_2`` setters in derivexyz/v2-core), so a parameter set that exists could
have been set on chain. The shipped set is ``config/derive_pmrm.toml`` (Derive's mainnet script);
a case file carries its own set (:func:`crossmargin.compat.derive_pmrm.parse_case`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from crossmargin.core.errors import InputError
from crossmargin.margin.parameters import load_parameters

__all__ = [
    "DEFAULT_FILE",
    "BasisContingencyParameters",
    "CollateralRule",
    "DerivePmrmParameters",
    "DeriveScenario",
    "MarginParameters",
    "OtherContingencyParameters",
    "ScenarioClass",
    "SkewShockParameters",
    "VolShock",
    "VolShockParameters",
    "load_derive_parameters",
    "parameters_from_mapping",
    "scenario_classes",
]

DEFAULT_FILE = "derive_pmrm.toml"

AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VolShock(StrEnum):
    """Vol shock of a scenario, spelled as Derive's cases spell it."""

    NONE = "None"
    UP = "Up"
    DOWN = "Down"
    LINEAR = "LINEAR"
    ABS = "ABS"


class ScenarioClass(StrEnum):
    """Which block of Derive's results a scenario's loss is reported in."""

    REGULAR = "regular"
    TAIL = "tail"
    SKEW = "skew"


class DeriveScenario(_Frozen):
    """One scenario: the spot is multiplied by ``spot_shock`` (1.18 = +18 %), vols are shocked as
    ``vol_shock`` says, and the scenario's P&L is multiplied by ``dampening``."""

    spot_shock: float = Field(gt=0.0, le=100.0)
    vol_shock: VolShock
    dampening: float = Field(ge=0.0, le=100.0)

    @property
    def is_skew(self) -> bool:
        """Whether it is a skew scenario (``LINEAR`` or ``ABS``)."""
        return self.vol_shock in (VolShock.LINEAR, VolShock.ABS)


def scenario_classes(scenarios: tuple[DeriveScenario, ...]) -> tuple[ScenarioClass, ...]:
    """The block each scenario's loss is reported in.

    Derive lists its regular grid first (dampening 1), then its dampened tail scenarios, and the
    skew scenarios: a ``LINEAR``/``ABS`` scenario is skew; any other is tail from the first one
    whose dampening is not 1 onwards (a tail scenario may itself carry dampening 1), regular
    before it."""
    classes = []
    in_tail = False
    for scenario in scenarios:
        if scenario.is_skew:
            classes.append(ScenarioClass.SKEW)
            continue
        in_tail = in_tail or scenario.dampening != 1.0
        classes.append(ScenarioClass.TAIL if in_tail else ScenarioClass.REGULAR)
    return tuple(classes)


class VolShockParameters(_Frozen):
    """Term-structure vol shocks: with x = (30 days / max(DTE, dte_floor))^p (p = short-term power
    up to 30 days, long-term beyond), vol up = max(σ·(1 + vol_range_up·x), min_vol_up) and vol
    down = σ·max(1 − vol_range_down·x, 0)."""

    vol_range_up: float = Field(ge=0.0, le=10.0)
    vol_range_down: float = Field(ge=0.0, le=10.0)
    short_term_power: float = Field(ge=-10.0, le=10.0)
    long_term_power: float = Field(ge=-10.0, le=10.0)
    dte_floor_days: float = Field(ge=0.0, le=400.0)
    min_vol_up: float = Field(ge=0.0, le=20.0)


class SkewShockParameters(_Frozen):
    """Skew scenarios: per expiry, cap = base_cap + c_base·√τ and
    k* = max(min_k_star, √τ·width_scale·(vol_param_static + vol_param_scale·√τ)); an option's
    vol is multiplied by 1 + clip(k·cap/k*, ±cap) with k = ln(K/F) (linear) or |ln(K/F)| (abs)."""

    linear_base_cap: float = Field(ge=0.0, le=10.0)
    abs_base_cap: float = Field(ge=0.0, le=10.0)
    linear_c_base: float = Field(ge=-10.0, le=10.0)
    abs_c_base: float = Field(ge=-10.0, le=10.0)
    min_k_star: float = Field(ge=0.0, le=10.0)
    width_scale: float = Field(ge=0.0, le=10.0)
    vol_param_static: float = Field(ge=0.0, le=10.0)
    vol_param_scale: float = Field(ge=-20.0, le=20.0)


class MarginParameters(_Frozen):
    """Loss factors and the static discount of an expiry's shocked mark-to-market.

    IM = MtM + im_factor·maxLoss − contingencies, MM likewise with mm_factor. A shocked expiry
    value V counts as V·pos if V ≥ 0, pos = base_static_discount·e^{−τ·(r·long_rate_mult_scale +
    long_rate_add_scale)}, else V·neg, neg = min(1/D, base_static_discount_neg ·
    e^{τ·(r·short_rate_mult_scale + short_rate_add_scale)}) with D = e^{−r·τ}.
    """

    im_loss_factor: float = Field(ge=0.5, le=10.0)
    mm_loss_factor: float = Field(ge=0.1, le=10.0)
    short_rate_mult_scale: float = Field(ge=0.0, le=10.0)
    long_rate_mult_scale: float = Field(ge=0.0, le=10.0)
    short_rate_add_scale: float = Field(ge=0.0, le=10.0)
    long_rate_add_scale: float = Field(ge=0.0, le=10.0)
    base_static_discount: float = Field(ge=0.0, le=4.0)
    base_static_discount_neg: float = Field(ge=0.0, le=4.0)


class BasisContingencyParameters(_Frozen):
    """Forward (basis) contingency: per expiry, the worse of its P&L at spot × ``scenario_spot_up``
    and × ``scenario_spot_down`` (vols unchanged, only if a loss), times add + mult·τ."""

    scenario_spot_up: float = Field(gt=1.0, lt=3.0)
    scenario_spot_down: float = Field(gt=0.0, lt=1.0)
    add_factor: float = Field(ge=0.0, le=20.0)
    mult_factor: float = Field(ge=0.0, le=20.0)


class OtherContingencyParameters(_Frozen):
    """Stablecoin de-peg, oracle confidence, perpetual and naked short option contingencies.

    IM's loss factor grows by (peg_loss_threshold − P)·peg_loss_factor while the stablecoin's price
    P is below the threshold; a notional whose oracle confidence c is below ``conf_threshold``
    costs (1 − c)·conf_margin of it in IM; a perpetual costs ``mm_perp_percent`` (MM) and
    ``im_perp_percent`` more (IM) of |size|·spot; each naked short option (per expiry and strike)
    costs ``mm_option_percent`` / ``im_option_percent`` of spot."""

    peg_loss_threshold: float = Field(ge=0.0, le=100.0)
    peg_loss_factor: float = Field(ge=0.0, le=10.0)
    conf_threshold: float = Field(ge=0.0, le=1.0)
    conf_margin: float = Field(ge=0.0, le=20.0)
    mm_perp_percent: float = Field(ge=0.0, le=3.0)
    im_perp_percent: float = Field(ge=0.0, le=3.0)
    mm_option_percent: float = Field(ge=0.0, le=2.0)
    im_option_percent: float = Field(ge=0.0, le=2.0)


class CollateralRule(_Frozen):
    """Haircuts of one collateral asset (fractions of its value taken off MM; IM takes both).

    ``base_*`` apply where the asset is the base of the market being margined (then it is
    risk-cancelling: it moves with that market's spot shocks); ``None`` means it cannot be."""

    mm_haircut: float = Field(ge=0.0, le=1.0)
    im_haircut: float = Field(ge=0.0, le=1.0)
    base_mm_haircut: float | None = Field(default=None, ge=0.0, le=1.0)
    base_im_haircut: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sums_within_one(self) -> Self:
        if self.mm_haircut + self.im_haircut > 1.0:
            raise ValueError("mm_haircut + im_haircut must be <= 1")
        if (self.base_mm_haircut is None) != (self.base_im_haircut is None):
            raise ValueError("base_mm_haircut and base_im_haircut go together")
        return self


class DerivePmrmParameters(_Frozen):
    """Every parameter of the profile.

    ``scenarios`` is Derive's margin scenario list (at most 40; at most one ``LINEAR`` and one
    ``ABS``). ``collateral`` (for :class:`crossmargin.margin.derive.model.DerivePmrmMargin` only;
    a case names its own) maps an asset code to its haircuts; USD and USDC are cash.
    """

    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    scenarios: tuple[DeriveScenario, ...] = Field(min_length=1, max_length=40)
    vol_shock: VolShockParameters
    skew_shock: SkewShockParameters
    margin: MarginParameters
    basis_contingency: BasisContingencyParameters
    other_contingency: OtherContingencyParameters
    collateral: Mapping[AssetCode, CollateralRule] = Field(default_factory=dict)

    @property
    def scenario_classes(self) -> tuple[ScenarioClass, ...]:
        """:func:`scenario_classes` of ``scenarios``."""
        return scenario_classes(self.scenarios)

    @model_validator(mode="after")
    def _one_skew_scenario_each(self) -> Self:
        for shock in (VolShock.LINEAR, VolShock.ABS):
            if sum(1 for s in self.scenarios if s.vol_shock is shock) > 1:
                raise ValueError(f"at most one {shock.value} scenario")
        return self


def load_derive_parameters(path: str | Path | None = None) -> DerivePmrmParameters:
    """Load the profile's parameters from ``path`` (TOML) or the shipped ``derive_pmrm.toml``."""
    return load_parameters(DerivePmrmParameters, DEFAULT_FILE, path)


def parameters_from_mapping(raw: Mapping[str, object], source: str) -> DerivePmrmParameters:
    """Validate ``raw`` into :class:`DerivePmrmParameters`; :class:`InputError` names ``source``,
    the field path and the value of the first problem."""
    try:
        return DerivePmrmParameters.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{source}: {location}", first.get("input"), first["msg"]) from None
