"""Portfolio margin charges over an accounts axis: hand-derived numbers, several accounts at once.

These are the one definition the single-account model and the book engine's numpy twin both call
(``crossmargin.margin.pm.charges``); index 72,000 USD unless said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.margin.pm.charges import (
    VectorCounting,
    aggregate_risk,
    delta_shock_charge_usd,
    offset_gains,
    risk_vector_coin,
    roll_shock_rate,
)

S = 72000.0


def test_a_risk_vector_is_counted_in_usd_then_expressed_at_the_scenario_price() -> None:
    """Raw USD P&L [−11,520, 0, 11,520] of a 1-BTC long at −16 %, 0, +16 % (weights 1, no
    dampener), BTC at S·(1 + m): −11,520/60,480 = −0.190476 BTC, 0, 11,520/83,520 = 0.137931
    BTC; an extended row of −40,000 USD at weight 0.32 and dampener 5,000: −12,800 + 5,000 =
    −7,800 USD at the edge price 60,480: −0.128968 BTC."""
    counting = VectorCounting(np.array([1.0, 1.0, 1.0, 0.32]), np.array([0, 0, 0, 5000.0]))
    price = S * np.array([0.84, 1.0, 1.16, 0.84])
    coin = risk_vector_coin([[-11520.0, 0.0, 11520.0, -40000.0]], counting, price)
    assert coin[0] == pytest.approx([-0.19047619, 0.0, 0.13793103, -0.12896825], rel=1e-7)


def test_gains_offset_at_pnl_offset_up_to_the_cap() -> None:
    """[−2, 0, 3, 10] with offset 0.6 and cap 4: −2, 0, 1.8, min(6, 4) = 4."""
    assert offset_gains([-2.0, 0.0, 3.0, 10.0], 0.6, 4.0) == pytest.approx([-2.0, 0.0, 1.8, 4.0])


def test_worst_case_nets_in_full_and_the_correlation_contingency_adds_the_gains_not_offset() -> (
    None
):
    """Two vectors, two accounts, three aligned scenarios, prices 1 (USDC) and 72,000 (BTC).
    Account 0: USDC [−1000, 0, 500], BTC [0.02, 0, −0.01] → full [440, 0, −220]: worst case 220;
    offset (USDC 0.4, BTC 0.5 of gains): [−1000 + 720, 0, 200 − 720] = [−280, 0, −520]: 520,
    so the correlation contingency is 300 and the worst scenario index 2. Account 1 holds only
    BTC [−0.01, 0.01, 0]: worst case 720, contingency 0, worst index 0."""
    vectors = np.array(
        [
            [[-1000.0, 0.0, 500.0], [0.0, 0.0, 0.0]],
            [[0.02, 0.0, -0.01], [-0.01, 0.01, 0.0]],
        ]
    )
    risk = aggregate_risk(vectors, [1.0, S], [0.4, 0.5], [1e9, 1e9])
    assert risk.worst_case_usd == pytest.approx([220.0, 720.0])
    assert risk.correlation_usd == pytest.approx([300.0, 0.0])
    assert risk.worst_index.tolist() == [2, 0]
    empty = aggregate_risk(np.zeros((0, 3, 5)), [], [], [])
    assert empty.worst_case_usd.tolist() == [0.0] * 3 and empty.worst_index.tolist() == [-1] * 3


def test_roll_shock_rate_is_the_annualised_move_floored() -> None:
    """ETH: max(0.05·T, 0.005): a perpetual (T = 0) 0.005, a quarter 0.0125; BTC max(0.075·T,
    0.01) at T = 0.1: 0.01."""
    assert roll_shock_rate([0.0, 0.25], 0.05, 0.005).tolist() == pytest.approx([0.005, 0.0125])
    assert float(roll_shock_rate(0.1, 0.075, 0.01)) == pytest.approx(0.01)


def test_delta_shock_per_account() -> None:
    """Threshold 20M USD at 72,000 = 277.78 BTC, 0.00005 extra move per BTC beyond it, capped at
    10 %: −3,000 BTC → 0.1361 capped to 0.1 → 3,000 × 72,000 × 0.1 = 21.6M; 277 BTC → 0;
    1,000 BTC → 722.22 × 0.00005 = 3.6111 % of 72M = 2.6M."""
    shock = delta_shock_charge_usd([-3000.0, 277.0, 1000.0], S, 20e6, 0.1, 0.00005)
    assert shock == pytest.approx([21.6e6, 0.0, 2.6e6])
