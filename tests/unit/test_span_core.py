"""SPAN core arithmetic on risk arrays: scenarios, scan, price risk, spreads, minimum, totals."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.span.arithmetic import (
    PAIRED_SCENARIO,
    VOL_DIRECTIONS,
    CommodityRisk,
    InterLeg,
    InterSpread,
    MonthDelta,
    SpreadMethod,
    TierSpread,
    inter_spread_credits,
    intra_spread_charge,
    portfolio_losses,
    price_fractions,
    price_risk,
    scan_risk,
    scanning_spread_losses,
    scenario_label,
    scenario_weights,
    short_option_minimum,
    span_requirement,
    time_risk,
    weighted_price_risk,
)


def future_array(scan_range: float) -> np.ndarray:
    """Loss per long future whose price moves ``scan_range`` per 3/3: −fraction × range, the
    extremes ±2 × range × 0.35."""
    return -price_fractions() * scan_range * scenario_weights()


def test_scenarios_follow_cme_order() -> None:
    """CME order: 1–2 unchanged, 3–4 up 1/3, 5–6 down 1/3, … 11–12 up 3/3, 13–14 down 3/3, each
    vol up then vol down; 15/16 up/down 2× range, vol unchanged, at 35 %."""
    assert price_fractions().tolist() == pytest.approx(
        [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 2, -2]
    )
    assert VOL_DIRECTIONS == (1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 0, 0)
    assert scenario_weights().tolist() == [1.0] * 14 + [0.35, 0.35]
    assert PAIRED_SCENARIO[6] == 8 and PAIRED_SCENARIO[14] == 15
    assert scenario_label(1) == "price unchanged, vol up"
    assert scenario_label(10) == "price down 2/3 range, vol down"
    assert scenario_label(16) == "price down 2× range (extreme), vol unchanged, 35% counted"
    with pytest.raises(InputError, match="scenario = 17"):
        scenario_label(17)


def test_scan_risk_of_a_single_future() -> None:
    """Long 1 future, range 900: losses −300, −600, −900 up; +300 … +900 down; extremes
    ∓0.35 × 1,800 = ∓630. Scan = 900 at scenario 13 (first of 13/14)."""
    result = scan_risk(future_array(900.0))
    assert result.scan_risk == pytest.approx(900.0)
    assert result.worst_scenario == 13
    assert future_array(900.0)[15] == pytest.approx(630.0)


def test_scan_risk_is_never_negative() -> None:
    """All scenarios gain → scan risk 0 (worst scenario is the smallest gain)."""
    losses = -np.arange(1.0, 17.0)
    result = scan_risk(losses)
    assert result.scan_risk == 0.0
    assert result.worst_scenario == 1


def test_portfolio_losses_scale_by_signed_size() -> None:
    """+2 of array a, −3 of array b: Σ size × array."""
    a, b = future_array(100.0), future_array(50.0)
    assert portfolio_losses(np.stack([a, b]), [2.0, -3.0]) == pytest.approx(2 * a - 3 * b)
    with pytest.raises(InputError, match="risk_arrays"):
        portfolio_losses(np.zeros((2, 15)), [1.0, 1.0])


def test_time_price_and_weighted_price_risk() -> None:
    """A short option's losses with L1 = 40, L2 = −20 (time risk 10); active scenario 11
    (L11 = 500) paired with 12 (L12 = 300): price risk = (500 + 300)/2 − 10 = 390; with net delta
    −0.5, WPR = 780."""
    losses = np.zeros(16)
    losses[0], losses[1], losses[10], losses[11] = 40.0, -20.0, 500.0, 300.0
    assert time_risk(losses) == pytest.approx(10.0)
    assert price_risk(losses, 11) == pytest.approx(390.0)
    assert weighted_price_risk(losses, -0.5) == pytest.approx(780.0)
    assert weighted_price_risk(losses, 0.0) == 0.0


def test_price_risk_is_capped_by_the_scan_risk() -> None:
    """Time risk −100 (time gains) would lift price risk above the scan loss 50; it is capped."""
    losses = np.zeros(16)
    losses[0] = losses[1] = -100.0
    losses[12] = losses[13] = 50.0
    assert price_risk(losses, 13) == pytest.approx(50.0)


def test_intra_spread_tiers_in_priority_order() -> None:
    """+3 in M1 (tier 1), −1 in M2 (tier 2), −2 in M3 (tier 3); table 1v2 at 10, 1v3 at 25:
    1v2 forms 1 spread (10), then 1v3 forms 2 (50) → 60."""
    months = [MonthDelta("M1", 1, 3.0), MonthDelta("M2", 2, -1.0), MonthDelta("M3", 3, -2.0)]
    table = [TierSpread(1, 2, 10.0), TierSpread(1, 3, 25.0)]
    charge, formed = intra_spread_charge(months, table)
    assert charge == pytest.approx(60.0)
    assert [(f.month_a, f.month_b, f.spreads) for f in formed] == [
        ("M1", "M2", 1.0),
        ("M1", "M3", 2.0),
    ]


def test_intra_spread_nets_each_month_and_spreads_within_a_tier() -> None:
    """Two lines in month A (+2, −0.5 → +1.5) vs −1 in month B of the same tier at 4 per spread:
    1 spread → 4. Months on the same side form nothing."""
    months = [MonthDelta("A", 1, 2.0), MonthDelta("A", 1, -0.5), MonthDelta("B", 1, -1.0)]
    assert intra_spread_charge(months, [TierSpread(1, 1, 4.0)])[0] == pytest.approx(4.0)
    same_side = [MonthDelta("A", 1, 1.0), MonthDelta("B", 1, 1.0)]
    assert intra_spread_charge(same_side, [TierSpread(1, 1, 4.0)])[0] == 0.0
    with pytest.raises(InputError, match=r"months\.A\.tier"):
        intra_spread_charge([MonthDelta("A", 1, 1.0), MonthDelta("A", 2, 1.0)], [])


def test_inter_spread_credit_needs_opposite_sides_and_uses_ratios() -> None:
    """Corn +2, soybeans −1, 2:1 at 55 %, WPR 1,750 and 2,500: credit 1,925 and 1,375. Both long:
    no spread. Legs on the same side need the same sign."""
    spread = InterSpread((InterLeg("C", 2.0, "A"), InterLeg("S", 1.0, "B")), 0.55)
    wpr = {"C": 1750.0, "S": 2500.0}
    credits = inter_spread_credits({"C": 2.0, "S": -1.0}, wpr, [spread])
    assert credits == pytest.approx({"C": 1925.0, "S": 1375.0})
    assert inter_spread_credits({"C": 2.0, "S": 1.0}, wpr, [spread]) == {"C": 0.0, "S": 0.0}
    same_side = InterSpread((InterLeg("C", 1.0, "A"), InterLeg("S", 1.0, "A")), 0.5)
    assert inter_spread_credits({"C": -1.0, "S": -1.0}, wpr, [same_side]) == pytest.approx(
        {"C": 875.0, "S": 1250.0}
    )


def test_inter_spreads_consume_delta_in_priority_order() -> None:
    """A +1 against B −1 (first, 50 %) and C −1 (second): only the first forms."""
    first = InterSpread((InterLeg("A"), InterLeg("B", side="B")), 0.5)
    second = InterSpread((InterLeg("A"), InterLeg("C", side="B")), 0.5)
    credits = inter_spread_credits(
        {"A": 1.0, "B": -1.0, "C": -1.0}, {"A": 10.0, "B": 10.0, "C": 10.0}, [first, second]
    )
    assert credits == pytest.approx({"A": 5.0, "B": 5.0, "C": 0.0})


def test_scanning_spread_counts_gains_at_the_rate() -> None:
    """Legs −2,066 (gain) and +1,599 (loss) at 70 %: 1,599 − 1,446.2 = 152.8; at rate 1 the
    charge is the plain net loss."""
    legs = np.zeros((2, 16))
    legs[0, 2], legs[1, 2] = -2066.0, 1599.0
    assert scanning_spread_losses(legs, 0.7)[2] == pytest.approx(152.8)
    assert scanning_spread_losses(legs, 1.0) == pytest.approx(legs.sum(axis=0))
    with pytest.raises(InputError, match="credit_rate"):
        scanning_spread_losses(legs, 1.5)


def test_short_option_minimum_takes_the_larger_side() -> None:
    """3 short calls, 5 short puts at 40 each → 200 (CME advisory 99-65)."""
    assert short_option_minimum(3.0, 5.0, 40.0) == 200.0


def test_requirement_adds_the_minimum_only_when_it_is_larger() -> None:
    """Scan 100 (a short far-OTM option), 10 short calls at 30 → SOM 300 → add-on 200, total
    300; components add up."""
    losses = np.full(16, 10.0)
    losses[10] = 100.0
    breakdown = span_requirement(
        [CommodityRisk("X", losses, short_option_minimum_charge=30.0, short_calls=10.0)]
    )
    commodity = breakdown.commodities[0]
    assert commodity.short_option_minimum == pytest.approx(300.0)
    assert commodity.short_option_minimum_addon == pytest.approx(200.0)
    assert breakdown.total == pytest.approx(300.0)
    assert sum(breakdown.components().values()) == pytest.approx(breakdown.total)


def test_requirement_of_several_commodities_and_a_scanning_group() -> None:
    """X and Y scanned together at rate 0.5, Z alone: group losses in scenario 13 are
    (X +100, Y −60) → 100 − 30 = 70; Z scan 40; total 110; worst is the group."""
    x, y, z = np.zeros(16), np.zeros(16), np.zeros(16)
    x[12], y[12], z[3] = 100.0, -60.0, 40.0
    spread = InterSpread((InterLeg("X"), InterLeg("Y")), 0.5, SpreadMethod.SCANNING)
    breakdown = span_requirement(
        [CommodityRisk("X", x), CommodityRisk("Z", z), CommodityRisk("Y", y)], [spread]
    )
    assert [c.name for c in breakdown.commodities] == ["X+Y", "Z"]
    assert breakdown.total == pytest.approx(110.0)
    assert breakdown.worst is not None and breakdown.worst.name == "X+Y"
    assert breakdown.worst.worst_scenario == 13
    assert span_requirement([]).total == 0.0 and span_requirement([]).worst is None
