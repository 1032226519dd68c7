"""SPAN arithmetic on risk arrays: pure functions, no I/O, no pricing.

A risk array holds, for +1 unit of one contract, its loss in each of CME's 16 scenarios (CME
convention: **loss positive**, gain negative; scenarios 15–16 already multiplied by their cover
fraction). The scenarios, in CME's order (CME "Risk Arrays" report documentation, CME Clearing
"Components of SPAN"; the same table in NSE/LPU course notes "Worst Scenario Loss")::

    1  price unchanged    vol up        9  price down 2/3   vol up
    2  price unchanged    vol down     10  price down 2/3   vol down
    3  price up 1/3       vol up       11  price up 3/3     vol up
    4  price up 1/3       vol down     12  price up 3/3     vol down
    5  price down 1/3     vol up       13  price down 3/3   vol up
    6  price down 1/3     vol down     14  price down 3/3   vol down
    7  price up 2/3       vol up       15  price up 2× range (extreme), vol unchanged, 35 % cover
    8  price up 2/3       vol down     16  price down 2× range (extreme), vol unchanged, 35 % cover

Per combined commodity: scan risk = max(0, max over scenarios of the summed losses); an
intra-commodity (calendar) spread charge per spread formed between opposite net deltas of
different months, by tier pair in priority order; an inter-commodity credit = rate × weighted
price risk × delta used, per leg (CME "Inter Spreads" report, type WPR; CME "Spread calculations"
page); a short option minimum = rate × max(short calls, short puts) (CME Clearing House advisory
99-65). Requirement = max(scan + intra − credit, short option minimum), summed over commodities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError

__all__ = [
    "COMPONENT_NAMES",
    "PAIRED_SCENARIO",
    "SCENARIO_COUNT",
    "VOL_DIRECTIONS",
    "CommodityRequirement",
    "CommodityRisk",
    "FormedSpread",
    "InterLeg",
    "InterSpread",
    "MonthDelta",
    "ScanResult",
    "SpanBreakdown",
    "SpreadMethod",
    "TierSpread",
    "inter_spread_credits",
    "intra_spread_charge",
    "portfolio_losses",
    "price_fractions",
    "price_risk",
    "scan_risk",
    "scanning_spread_losses",
    "scenario_label",
    "scenario_weights",
    "short_option_minimum",
    "span_requirement",
    "time_risk",
    "weighted_price_risk",
]

FloatArray = NDArray[np.float64]

SCENARIO_COUNT = 16
#: Direction of the vol move of each scenario: +1 up the vol scan range, −1 down, 0 unchanged.
VOL_DIRECTIONS: tuple[int, ...] = (1, -1) * 7 + (0, 0)
#: The scenario (1-based) with the same price move and the opposite vol move; 15–16 pair to
#: themselves (CME "Risk Scenarios" report: "With the exception of scenario #'s 15 and 16, each
#: scenario has a paired scenario").
PAIRED_SCENARIO: tuple[int, ...] = (2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 15, 16)
#: Price move of scenarios 1–14 in scan ranges (thirds of the range).
_THIRDS: tuple[float, ...] = tuple(
    step / 3 for step in (0, 0, 1, 1, -1, -1, 2, 2, -2, -2, 3, 3, -3, -3)
)
_THIRD_NAMES = {0: "unchanged", 1: "1/3", 2: "2/3", 3: "3/3"}
_DELTA_EPSILON = 1e-12


def price_fractions(extreme_multiple: float = 2.0) -> FloatArray:
    """Price move of each scenario in units of the price scan range (16,): 0, ±1/3, ±2/3, ±1,
    then ±``extreme_multiple`` for scenarios 15–16."""
    return np.array([*_THIRDS, extreme_multiple, -extreme_multiple], dtype=np.float64)


def scenario_weights(cover_fraction: float = 0.35) -> FloatArray:
    """Fraction of each scenario's loss counted (16,): 1 for 1–14, ``cover_fraction`` for 15–16."""
    return np.array([1.0] * 14 + [cover_fraction] * 2, dtype=np.float64)


def scenario_label(number: int, extreme_multiple: float = 2.0, cover_fraction: float = 0.35) -> str:
    """Human name of scenario ``number`` (1–16), e.g. ``"price down 3/3 range, vol up"``."""
    if not 1 <= number <= SCENARIO_COUNT:
        raise InputError("scenario", number, "must be between 1 and 16")
    if number > 14:
        way = "up" if number == 15 else "down"
        return (
            f"price {way} {extreme_multiple:g}× range (extreme), vol unchanged, "
            f"{cover_fraction:.0%} counted"
        )
    thirds = round(abs(_THIRDS[number - 1]) * 3)
    vol = "vol up" if VOL_DIRECTIONS[number - 1] > 0 else "vol down"
    if thirds == 0:
        return f"price unchanged, {vol}"
    way = "up" if _THIRDS[number - 1] > 0 else "down"
    return f"price {way} {_THIRD_NAMES[thirds]} range, {vol}"


def _losses(values: ArrayLike, field_name: str = "losses") -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape[-1:] != (SCENARIO_COUNT,):
        raise InputError(field_name, array.shape, "must have 16 scenarios on the last axis")
    return array


def portfolio_losses(risk_arrays: ArrayLike, sizes: ArrayLike) -> FloatArray:
    """Summed loss of the positions in each scenario (16,): Σ size_i × risk_array_i.

    ``risk_arrays`` is (n, 16), loss positive per +1 unit; ``sizes`` (n,), negative for shorts.
    """
    arrays = _losses(risk_arrays, "risk_arrays").reshape(-1, SCENARIO_COUNT)
    return np.asarray(np.asarray(sizes, dtype=np.float64) @ arrays, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Scan risk (≥ 0, currency of the arrays) and the scenario (1–16) that sets it: the first
    scenario of largest loss."""

    scan_risk: float
    worst_scenario: int


def scan_risk(losses: ArrayLike) -> ScanResult:
    """Scan risk = max(0, max over the 16 scenarios of ``losses``) (loss positive)."""
    array = _losses(losses)
    worst = int(np.argmax(array))
    return ScanResult(max(0.0, float(array[worst])), worst + 1)


def scanning_spread_losses(leg_losses: ArrayLike, credit_rate: float) -> FloatArray:
    """Scenario charges of a scanning-based spread between combined commodities (16,).

    In each scenario the losing legs count in full and the gaining legs offset them at
    ``credit_rate``: charge = Σ max(L, 0) − rate × Σ max(−L, 0) over the legs' summed losses
    ``leg_losses`` (k, 16). (CME "Spread calculations" page, scanning-based spread of 2 T-Bond vs
    3 T-Note at 70 %: e.g. 1,599 − 0.70 × 2,066 = 152.80.) With rate 1 this is plain joint
    scanning.
    """
    legs = _losses(leg_losses, "leg_losses").reshape(-1, SCENARIO_COUNT)
    if not 0.0 <= credit_rate <= 1.0:
        raise InputError("credit_rate", credit_rate, "must lie in [0, 1]")
    losing = np.maximum(legs, 0.0).sum(axis=0)
    gaining = np.maximum(-legs, 0.0).sum(axis=0)
    return np.asarray(losing - credit_rate * gaining, dtype=np.float64)


def time_risk(losses: ArrayLike) -> float:
    """Time risk = average loss of scenarios 1 and 2 (price unchanged, vol up and down)."""
    array = _losses(losses)
    return float(array[0] + array[1]) / 2.0


def price_risk(losses: ArrayLike, active_scenario: int) -> float:
    """Price risk = (loss of the active scenario + loss of its vol pair) / 2 − time risk, kept in
    [0, scan risk] (CME WPR method; "Price Risk = (Scan Risk Scenario Loss + Paired Scenario Loss)
    / 2 − Time Risk")."""
    array = _losses(losses)
    active = array[active_scenario - 1]
    paired = array[PAIRED_SCENARIO[active_scenario - 1] - 1]
    raw = float(active + paired) / 2.0 - time_risk(array)
    return min(max(raw, 0.0), max(float(active), 0.0))


def weighted_price_risk(losses: ArrayLike, net_delta: float) -> float:
    """Weighted (futures) price risk = price risk at the scan scenario / |net delta|, ≥ 0
    (currency per unit of delta); 0 when the net delta is 0."""
    if abs(net_delta) <= _DELTA_EPSILON:
        return 0.0
    return price_risk(losses, scan_risk(losses).worst_scenario) / abs(net_delta)


def short_option_minimum(short_calls: float, short_puts: float, charge_per_option: float) -> float:
    """Short option minimum = ``charge_per_option`` × max(short calls, short puts) (counts ≥ 0;
    CME Clearing House advisory 99-65: "the greater of the number of short calls or short puts")."""
    return charge_per_option * max(short_calls, short_puts, 0.0)


# ---------------------------------------------------------------- intra-commodity spreads


@dataclass(frozen=True, slots=True)
class MonthDelta:
    """Net delta of one contract month (any unit; the spread charge is per unit of it)."""

    month: str
    tier: int
    delta: float


@dataclass(frozen=True, slots=True)
class TierSpread:
    """One row of a spread table: spreads between a month of ``tier_a`` and a month of
    ``tier_b`` (opposite deltas, 1:1) cost ``charge_per_spread`` per unit of delta spread."""

    tier_a: int
    tier_b: int
    charge_per_spread: float


@dataclass(frozen=True, slots=True)
class FormedSpread:
    """A calendar spread formed: ``spreads`` units of delta between two months, and its charge."""

    month_a: str
    month_b: str
    spreads: float
    charge: float


def intra_spread_charge(
    months: Sequence[MonthDelta], spread_table: Sequence[TierSpread]
) -> tuple[float, tuple[FormedSpread, ...]]:
    """Intra-commodity spread charge and the spreads formed.

    Deltas are first netted per month. Then, row by row of ``spread_table`` (its order is the
    priority), every pair of distinct months in the row's tiers whose remaining deltas have
    opposite signs forms min(|Δa|, |Δb|) spreads (months in input order), each charged
    ``charge_per_spread``; the deltas used are removed. Returns (charge ≥ 0, spreads formed).
    """
    remaining: dict[str, float] = {}
    tiers: dict[str, int] = {}
    for entry in months:
        if tiers.setdefault(entry.month, entry.tier) != entry.tier:
            raise InputError(f"months.{entry.month}.tier", entry.tier, "differs within a month")
        remaining[entry.month] = remaining.get(entry.month, 0.0) + entry.delta
    order = list(remaining)
    total = 0.0
    formed: list[FormedSpread] = []
    for row in spread_table:
        for i, month_a in enumerate(order):
            if tiers[month_a] not in (row.tier_a, row.tier_b):
                continue
            for month_b in order[i + 1 :]:
                pair = {tiers[month_a], tiers[month_b]}
                if pair != {row.tier_a, row.tier_b}:
                    continue
                delta_a, delta_b = remaining[month_a], remaining[month_b]
                if delta_a * delta_b >= 0.0:
                    continue
                count = min(abs(delta_a), abs(delta_b))
                remaining[month_a] = delta_a - np.sign(delta_a) * count
                remaining[month_b] = delta_b - np.sign(delta_b) * count
                charge = count * row.charge_per_spread
                total += charge
                formed.append(FormedSpread(month_a, month_b, count, charge))
    return total, tuple(formed)


# ---------------------------------------------------------------- inter-commodity spreads


class SpreadMethod(StrEnum):
    """How an inter-commodity spread gives its credit."""

    DELTA = "delta"  # rate × weighted price risk × delta used, per leg
    SCANNING = "scanning"  # the legs are scanned together, gains offsetting losses at the rate


@dataclass(frozen=True, slots=True)
class InterLeg:
    """One leg: a combined commodity, its deltas per spread, and its side (legs on the same side
    need deltas of the same sign, legs on opposite sides opposite signs; "A versus B")."""

    combined_commodity: str
    delta_ratio: float = 1.0
    side: str = "A"


@dataclass(frozen=True, slots=True)
class InterSpread:
    """An inter-commodity spread with its credit rate (fraction, 0–1) and method."""

    legs: tuple[InterLeg, ...]
    credit_rate: float
    method: SpreadMethod = SpreadMethod.DELTA


def inter_spread_credits(
    net_deltas: Mapping[str, float],
    weighted_price_risks: Mapping[str, float],
    spreads: Sequence[InterSpread],
) -> dict[str, float]:
    """Delta-based inter-commodity credit per combined commodity (positive amounts).

    Spreads are formed in the order given (the priority): n = min over legs of |Δ| / ratio when
    every leg's remaining delta has the sign its side demands; each leg then gets
    rate × n × ratio × weighted price risk, and its delta is reduced by n × ratio. (CME
    "Spread calculations": corn vs soybeans 2:1 at 55 %: 0.55 × (2 × 1,750 + 2,500) = 3,300.)
    """
    remaining = dict(net_deltas)
    credits = dict.fromkeys(net_deltas, 0.0)
    for spread in spreads:
        if spread.method is not SpreadMethod.DELTA:
            continue
        legs = spread.legs
        if any(leg.combined_commodity not in remaining for leg in legs):
            continue
        first = legs[0]
        orientation = np.sign(remaining[first.combined_commodity]) * (
            1 if first.side == "A" else -1
        )
        wanted = {
            leg.combined_commodity: orientation * (1 if leg.side == "A" else -1) for leg in legs
        }
        if orientation == 0 or any(
            np.sign(remaining[name]) != sign or abs(remaining[name]) <= _DELTA_EPSILON
            for name, sign in wanted.items()
        ):
            continue
        count = min(abs(remaining[leg.combined_commodity]) / leg.delta_ratio for leg in legs)
        for leg in legs:
            used = count * leg.delta_ratio
            name = leg.combined_commodity
            credits[name] += spread.credit_rate * used * weighted_price_risks.get(name, 0.0)
            remaining[name] -= wanted[name] * used
    return credits


# ---------------------------------------------------------------- the whole requirement


@dataclass(frozen=True, slots=True, eq=False)
class CommodityRisk:
    """What SPAN needs of one combined commodity.

    ``losses`` (16,) are the positions' summed losses (loss positive); ``month_deltas`` the net
    delta per month for calendar spreads; ``short_option_minimum_charge`` the charge per short
    option; ``short_calls``/``short_puts`` the counts of short options (≥ 0).
    """

    name: str
    losses: FloatArray
    month_deltas: tuple[MonthDelta, ...] = ()
    intra_spreads: tuple[TierSpread, ...] = ()
    short_option_minimum_charge: float = 0.0
    short_calls: float = 0.0
    short_puts: float = 0.0

    @property
    def net_delta(self) -> float:
        """Sum of the month deltas."""
        return float(sum(entry.delta for entry in self.month_deltas))


@dataclass(frozen=True, slots=True, eq=False)
class CommodityRequirement:
    """SPAN requirement of one combined commodity (or of a scanning-spread group, whose
    ``members`` are several). Amounts in the arrays' currency; ``inter_spread_credit`` ≤ 0;
    ``total`` = scan + intra + credit + short option minimum add-on."""

    name: str
    members: tuple[str, ...]
    losses: FloatArray
    scan_risk: float
    worst_scenario: int
    intra_spread_charge: float
    inter_spread_credit: float
    short_option_minimum: float
    short_option_minimum_addon: float
    intra_spreads: tuple[FormedSpread, ...] = ()
    net_delta: float = 0.0
    weighted_price_risk: float = 0.0

    @property
    def total(self) -> float:
        """max(scan + intra − credit, short option minimum)."""
        return (
            self.scan_risk
            + self.intra_spread_charge
            + self.inter_spread_credit
            + self.short_option_minimum_addon
        )


#: The components of a SPAN requirement, in the order they add up.
COMPONENT_NAMES = (
    "scan_risk",
    "intra_spread_charge",
    "inter_spread_credit",
    "short_option_minimum_addon",
)


@dataclass(frozen=True, slots=True)
class SpanBreakdown:
    """The requirement of every combined commodity; the totals add them up."""

    commodities: tuple[CommodityRequirement, ...] = field(default_factory=tuple)

    def components(self) -> dict[str, float]:
        """Component name → amount, adding up to :attr:`total` (the credit is negative)."""
        return {
            name: float(sum(getattr(c, name) for c in self.commodities)) for name in COMPONENT_NAMES
        }

    @property
    def total(self) -> float:
        """The SPAN requirement: Σ over combined commodities."""
        return float(sum(c.total for c in self.commodities))

    @property
    def scan_risk(self) -> float:
        """Σ scan risk."""
        return float(sum(c.scan_risk for c in self.commodities))

    @property
    def worst(self) -> CommodityRequirement | None:
        """The combined commodity with the largest scan risk (first on ties), None if empty."""
        if not self.commodities:
            return None
        return max(self.commodities, key=lambda c: c.scan_risk)


def span_requirement(
    commodities: Sequence[CommodityRisk], inter_spreads: Sequence[InterSpread] = ()
) -> SpanBreakdown:
    """The SPAN requirement of a portfolio, per combined commodity.

    Scanning-based spreads first merge their legs into one group scanned with
    :func:`scanning_spread_losses`; the other commodities are scanned alone, then delta-based
    spreads give credits (:func:`inter_spread_credits`). Each unit's requirement is
    max(scan + intra − credit, short option minimum).
    """
    by_name = {c.name: c for c in commodities}
    if len(by_name) != len(commodities):
        raise InputError("commodities", [c.name for c in commodities], "names must be unique")
    groups: dict[str, tuple[CommodityRisk, ...]] = {}
    rates: dict[str, float] = {}
    grouped: set[str] = set()
    for spread in inter_spreads:
        if spread.method is SpreadMethod.SCANNING:
            members = tuple(
                by_name[leg.combined_commodity]
                for leg in spread.legs
                if leg.combined_commodity in by_name
            )
            if len(members) >= 2 and not grouped & {m.name for m in members}:
                name = "+".join(m.name for m in members)
                groups[name] = members
                rates[name] = spread.credit_rate
                grouped |= {m.name for m in members}
    units: list[tuple[str, tuple[CommodityRisk, ...]]] = []
    for commodity in commodities:
        if commodity.name not in grouped:
            units.append((commodity.name, (commodity,)))
        else:
            for name, members in groups.items():
                if members[0].name == commodity.name:
                    units.append((name, members))
    scanned = {
        name: (_unit_losses(members, rates.get(name, 1.0)), members) for name, members in units
    }
    deltas = {
        name: members[0].net_delta for name, (_, members) in scanned.items() if len(members) == 1
    }
    wfpr = {name: weighted_price_risk(scanned[name][0], delta) for name, delta in deltas.items()}
    credits = inter_spread_credits(deltas, wfpr, inter_spreads)
    return SpanBreakdown(
        tuple(
            _requirement(name, losses, members, credits.get(name, 0.0), wfpr.get(name, 0.0))
            for name, (losses, members) in scanned.items()
        )
    )


def _unit_losses(members: tuple[CommodityRisk, ...], credit_rate: float) -> FloatArray:
    if len(members) == 1:
        return _losses(members[0].losses).copy()
    return scanning_spread_losses(np.stack([m.losses for m in members]), credit_rate)


def _requirement(
    name: str, losses: FloatArray, members: tuple[CommodityRisk, ...], credit: float, wfpr: float
) -> CommodityRequirement:
    scan = scan_risk(losses)
    intra = 0.0
    formed: list[FormedSpread] = []
    minimum = 0.0
    for member in members:
        charge, spreads = intra_spread_charge(member.month_deltas, member.intra_spreads)
        intra += charge
        formed.extend(spreads)
        minimum += short_option_minimum(
            member.short_calls, member.short_puts, member.short_option_minimum_charge
        )
    credit = min(credit, scan.scan_risk + intra)
    before_minimum = scan.scan_risk + intra - credit
    return CommodityRequirement(
        name=name,
        members=tuple(m.name for m in members),
        losses=losses,
        scan_risk=scan.scan_risk,
        worst_scenario=scan.worst_scenario,
        intra_spread_charge=intra,
        inter_spread_credit=-credit if credit > 0.0 else 0.0,
        short_option_minimum=minimum,
        short_option_minimum_addon=max(0.0, minimum - before_minimum),
        intra_spreads=tuple(formed),
        net_delta=float(sum(m.net_delta for m in members)),
        weighted_price_risk=wfpr,
    )
