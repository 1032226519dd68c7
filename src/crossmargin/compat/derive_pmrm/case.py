"""Derive's case files: parse the ``Scenario`` and ``Parameters`` parts into the profile's inputs.

A case (see ``shared/data/vectors/derive_pmrm/README.md``) describes one PMRM subaccount: cash,
collaterals, a perpetual, options with their mark vols, per-expiry feeds (forward, rate,
confidences, SVI parameters) and every parameter group. Numbers may be JSON numbers or decimal
strings (``"0.13"``, ``".238"``); everything is checked on the way in and a bad field is named.

How the case maps onto the profile (facts of Derive's PMRM_2 manager and its test harness):

* an option's vol is its ``MarkVol`` (the expiry's SVI surface at the strike, see
  :func:`~crossmargin.margin.derive.svi.svi_vol`); its expiry's feed gives the forward, the
  rate (floored at 0) and the confidences (the lowest of forward, rate and vol confidences);
* within 30 minutes of expiry the part (1800 − seconds left)/1800 of a forward is fixed;
* a collateral is worth amount × price / stablecoin price; the perpetual's mark value is its
  unrealised P&L plus funding, and a spot shock moves it by size × perp price × (shock − 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument, InstrumentKind, OptionType
from crossmargin.margin.derive.book import (
    BookColumns,
    CollateralHolding,
    DeriveBook,
    ExpiryFeed,
    fixed_forward_fraction,
)
from crossmargin.margin.derive.parameters import (
    DerivePmrmParameters,
    parameters_from_mapping,
)

__all__ = [
    "DEFAULT_UNDERLYING",
    "REFERENCE_TIME",
    "book_from_case",
    "number",
    "parameters_from_case",
]

#: Asset code given to a case's market (cases do not name it).
DEFAULT_UNDERLYING = "BASE"
#: Valuation time of Derive's case harness (unix seconds) where a case gives no expiry timestamp.
REFERENCE_TIME = 1_630_000_000


def number(container: Mapping[str, Any], key: str, path: str) -> float:
    """``container[key]`` as a finite float (JSON number or decimal string); :class:`InputError`
    naming ``path.key`` otherwise."""
    field = f"{path}.{key}" if path else key
    if not isinstance(container, Mapping) or key not in container:
        raise InputError(field, None, "is missing")
    raw = container[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InputError(field, raw, "must be a number")
    try:
        value = float(raw)
    except ValueError:
        raise InputError(field, raw, "must be a number") from None
    if not math.isfinite(value):
        raise InputError(field, raw, "must be finite")
    return value


def _section(container: Mapping[str, Any], key: str, path: str) -> Any:
    field = f"{path}.{key}" if path else key
    if not isinstance(container, Mapping) or key not in container:
        raise InputError(field, None, "is missing")
    return container[key]


def _items(container: Mapping[str, Any], key: str, path: str) -> Sequence[Mapping[str, Any]]:
    items = _section(container, key, path)
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise InputError(f"{path}.{key}", type(items).__name__, "must be a list of objects")
    return items


def parameters_from_case(case: Mapping[str, Any]) -> DerivePmrmParameters:
    """The case's ``Parameters`` as :class:`DerivePmrmParameters` (an invalid value raises
    :class:`InputError` naming it)."""
    p = _section(case, "Parameters", "")
    path = "Parameters"

    def group(name: str, fields: Mapping[str, str]) -> dict[str, float]:
        section = _section(p, name, path)
        return {ours: number(section, theirs, f"{path}.{name}") for ours, theirs in fields.items()}

    raw: dict[str, Any] = {
        "version": "derive-case",
        "source": "Derive PMRM_2 case file",
        "scenarios": [
            {
                "spot_shock": number(s, "SpotShock", f"{path}.Scenarios[{i}]"),
                "vol_shock": _section(s, "VolShockDirection", f"{path}.Scenarios[{i}]"),
                "dampening": number(s, "DampeningFactor", f"{path}.Scenarios[{i}]"),
            }
            for i, s in enumerate(_items(p, "Scenarios", path))
        ],
        "vol_shock": group(
            "VolShock",
            {
                "vol_range_up": "VOLRANGEUP",
                "vol_range_down": "VOLRANGEDOWN",
                "short_term_power": "SHORTTERMPOWER",
                "long_term_power": "LONGTERMPOWER",
                "dte_floor_days": "DTE_FLOOR",
                "min_vol_up": "MIN_VOL_EVAL_SHOCKED",
            },
        ),
        "skew_shock": group(
            "SkewShock",
            {
                "linear_base_cap": "LINEAR_SCALE_CAP",
                "abs_base_cap": "ABS_SCALE_CAP",
                "linear_c_base": "LINEAR_CBASE",
                "abs_c_base": "ABS_CBASE",
                "min_k_star": "MIN_K_STAR",
                "width_scale": "MIN_WIDTH_SCALE",
                "vol_param_static": "VOL_PARAM_STATIC",
                "vol_param_scale": "VOL_PARAM_SCALE",
            },
        ),
        "margin": group(
            "Margin",
            {
                "im_loss_factor": "IM_LOSS_FACTOR",
                "mm_loss_factor": "MM_LOSS_FACTOR",
                "short_rate_mult_scale": "SHORT_RATE_MULTSCALE",
                "long_rate_mult_scale": "LONG_RATE_MULTSCALE",
                "short_rate_add_scale": "SHORT_RATE_ADDSCALE",
                "long_rate_add_scale": "LONG_RATE_ADDSCALE",
                "base_static_discount": "BASE_STATIC_DISCOUNT",
                "base_static_discount_neg": "BASE_STATIC_DISCOUNT_NEG",
            },
        ),
        "basis_contingency": group(
            "BasisContingency",
            {
                "scenario_spot_up": "SCENARIO_SPOT_UP",
                "scenario_spot_down": "SCENARIO_SPOT_DOWN",
                "add_factor": "BASIS_CONT_ADD_FACTOR",
                "mult_factor": "BASIS_CONT_MULT_FACTOR",
            },
        ),
        "other_contingency": group(
            "OtherContingency",
            {
                "peg_loss_threshold": "PEG_LOSS_THRESHOLD",
                "peg_loss_factor": "PEG_LOSS_FACTOR",
                "conf_threshold": "CONF_THRESHOLD",
                "conf_margin": "CONF_MARGIN",
                "mm_perp_percent": "MM_PERP_PERCENT",
                "im_perp_percent": "IM_PERP_PERCENT",
                "mm_option_percent": "MM_OPTION_PERCENT",
                "im_option_percent": "IM_OPTION_PERCENT",
            },
        ),
    }
    return parameters_from_mapping(raw, "case")


def _reference_time(options: Sequence[Mapping[str, Any]]) -> datetime:
    """Valuation time: an option's expiry timestamp less its seconds to expiry, if given."""
    for i, option in enumerate(options):
        for key in ("ExpiryTs", "ExiryTs"):
            if key in option:
                stamp = number(option, key, f"Scenario.Options[{i}]")
                seconds = number(option, "Expiry", f"Scenario.Options[{i}]")
                return datetime.fromtimestamp(stamp - seconds, UTC)
    return datetime.fromtimestamp(REFERENCE_TIME, UTC)


def _expiry_feeds(
    scenario: Mapping[str, Any], options: Sequence[Mapping[str, Any]]
) -> tuple[list[float], list[ExpiryFeed]]:
    """The expiries held, in order of first appearance among the options, and their feeds."""
    feeds: dict[float, tuple[int, Mapping[str, Any]]] = {}
    for j, feed in enumerate(_items(scenario, "OptionFeeds", "Scenario")):
        feeds[number(feed, "FeedExpiry", f"Scenario.OptionFeeds[{j}]")] = (j, feed)
    held: list[float] = []
    for i, option in enumerate(options):
        seconds = number(option, "Expiry", f"Scenario.Options[{i}]")
        if seconds not in feeds:
            raise InputError(f"Scenario.Options[{i}].Expiry", seconds, "has no OptionFeeds entry")
        if seconds not in held:
            held.append(seconds)
    built = []
    for seconds in held:
        j, feed = feeds[seconds]
        path = f"Scenario.OptionFeeds[{j}]"
        left = max(seconds, 0.0)
        built.append(
            ExpiryFeed(
                sec_to_expiry=left,
                forward=number(feed, "Forward", path),
                rate=max(number(feed, "Rate", path), 0.0),
                confidence=min(
                    number(feed, "ForwardConfidence", path),
                    number(feed, "RateConfidence", path),
                    number(feed, "OptionVolConfidences", path),
                ),
                fixed_forward_fraction=fixed_forward_fraction(left),
            )
        )
    return held, built


def book_from_case(case: Mapping[str, Any], underlying: str = DEFAULT_UNDERLYING) -> DeriveBook:
    """The case's ``Scenario`` as a :class:`DeriveBook` of market ``underlying``."""
    s = _section(case, "Scenario", "")
    options = _items(s, "Options", "Scenario")
    now = _reference_time(options)
    held, feeds = _expiry_feeds(s, options)
    spot = number(s, "SpotPrice", "Scenario")
    stable = number(s, "StablePrice", "Scenario")
    columns = BookColumns(underlying)
    for i, option in enumerate(options):
        path = f"Scenario.Options[{i}]"
        e = held.index(number(option, "Expiry", path))
        vol = number(option, "MarkVol", path)
        if vol < 0.0:
            raise InputError(f"{path}.MarkVol", vol, "must be >= 0")
        is_call = number(option, "IsCall", path) != 0.0
        instrument = Instrument(
            underlying,
            "USDC",
            InstrumentKind.OPTION,
            expiry=now + timedelta(seconds=feeds[e].sec_to_expiry),
            strike=number(option, "Strike", path),
            option_type=OptionType.CALL if is_call else OptionType.PUT,
        )
        assert instrument.strike is not None
        columns.add(
            instrument,
            number(option, "Amount", path),
            index=spot,
            forward=feeds[e].forward,
            strike=instrument.strike,
            t_years=feeds[e].tau,
            vol=vol,
            expiry=e,
        )
    perp_size = number(s, "NumPerps", "Scenario")
    if perp_size != 0.0:
        perp_price = number(s, "PerpPrice", "Scenario")
        perpetual = Instrument(underlying, "USDC", InstrumentKind.PERPETUAL)
        columns.add(
            perpetual,
            perp_size,
            index=spot,
            forward=perp_price,
            entry=perp_price,
            coin_per_unit=1.0,
        )
    collaterals = []
    for k, item in enumerate(_items(s, "Collaterals", "Scenario")):
        path = f"Scenario.Collaterals[{k}]"
        amount, price = number(item, "Amount", path), number(item, "Price", path)
        holding = CollateralHolding(
            name=str(item.get("Name", f"collateral {k}")),
            value=amount * price / stable,
            confidence=number(item, "Confidence", path),
            mm_haircut=number(item, "MMHaircut", path),
            im_haircut=number(item, "IMHaircut", path),
            risk_cancelling=bool(_section(item, "IsRiskCancelling", path)),
        )
        collaterals.append(holding)
        if holding.risk_cancelling:
            base = Instrument(underlying, "USDC", InstrumentKind.SPOT)
            columns.add(base, amount, index=price / stable, forward=price / stable, collateral=k)
    return columns.book(
        spot_price=spot,
        spot_confidence=number(s, "SpotConfidence", "Scenario"),
        stable_price=stable,
        cash=number(s, "Cash", "Scenario"),
        expiries=feeds,
        collaterals=collaterals,
        delta_one_confidence=number(s, "PerpConfidence", "Scenario") if perp_size else 1.0,
        delta_one_extra_value=number(s, "UnrealisedPerpPNL", "Scenario")
        + number(s, "UnrealisedFunding", "Scenario"),
    )
