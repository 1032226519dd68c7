"""Christoffersen (1998) independence and conditional coverage, Kupiec (1995), Basel type-I error:
values derived by hand from the textbook formulas.

Worked example (a clustering exercise: T = 250 days, α = 4 %, exceptions on days 40–42, 100–101
and 200–204, ten in all). Transitions over the 249 consecutive pairs: three runs start after a
calm day (n01 = 3), each run ends before a calm day (n10 = 3), the runs hold 2 + 1 + 4 = 7
exception→exception steps (n11 = 7), the rest are calm→calm (n00 = 249 − 13 = 236).
π01 = 3/239, π11 = 7/10, π = 10/249 (Christoffersen 1998, International Economic Review 39(4),
841–862, eq. for LR_ind; Jorion, *Value at Risk*, 3rd ed., ch. 6):
ln L(π) = 239·ln(239/249) + 10·ln(10/249) = −41.945131,
ln L(π01, π11) = 236·ln(236/239) + 3·ln(3/239) + 3·ln(0.3) + 7·ln(0.7) = −22.223289,
LR_ind = 2·(−22.223289 + 41.945131) = 39.443685, p = P(χ²₁ ≥ 39.44) = 3.3766e-10.
Kupiec: N/T = 10/250 = α exactly, so LR_pof = 0 and LR_cc = LR_ind,
whose χ²₂ tail is exp(−LR/2) = 2.7e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossmargin.backtest import (
    christoffersen_independence,
    conditional_coverage,
    kupiec_pof,
    traffic_light,
    transition_counts,
)
from crossmargin.core.errors import InputError

LR_IND = 39.443685


def _clustered() -> np.ndarray:
    days = np.zeros(250, dtype=bool)
    days[[39, 40, 41, 99, 100, 199, 200, 201, 202, 203]] = True
    return days


def test_transition_counts_of_the_clustered_example() -> None:
    """n00, n01, n10, n11 = 236, 3, 3, 7 (module docstring); they sum to T − 1 = 249."""
    assert transition_counts(_clustered()) == (236, 3, 3, 7)
    assert transition_counts([0, 1, 1, 0]) == (0, 1, 1, 1)


def test_independence_rejects_the_clustered_example() -> None:
    """LR_ind = 39.443685, p = 3.3766e-10: clustering is rejected at any usual size."""
    result = christoffersen_independence(236, 3, 3, 7)
    assert result.lr == pytest.approx(LR_IND, abs=1e-6)
    assert result.p_value == pytest.approx(3.376580e-10, rel=1e-5)
    assert result.degrees_of_freedom == 1
    assert result.rejected(0.01)


def test_conditional_coverage_adds_kupiec_and_independence() -> None:
    """Kupiec LR = 0 at N/T = p (10/250 = 4 %); LR_cc = 0 + 39.443685 with p = exp(−LR/2)."""
    pof = kupiec_pof(250, 10, 0.96)
    assert pof.lr == pytest.approx(0.0, abs=1e-12)
    assert pof.p_value == pytest.approx(1.0)
    combined = conditional_coverage(250, 10, 0.96, 236, 3, 3, 7)
    assert combined.lr == pytest.approx(LR_IND, abs=1e-6)
    assert combined.degrees_of_freedom == 2
    assert combined.p_value == pytest.approx(math.exp(-LR_IND / 2.0), rel=1e-9)


def test_independent_spacing_is_not_rejected() -> None:
    """Ten exceptions 25 days apart (days 25, 50, …, 250): each follows a calm day (n01 = 10),
    nine are followed by one (n10 = 9; day 250 is last), n11 = 0, n00 = 249 − 19 = 230.
    π01 = 10/240, π11 = 0, π = 10/249: LR_ind = −2[239 ln(239/249) + 10 ln(10/249)]
    + 2[230 ln(230/240) + 10 ln(10/240)] = 0.751764 (p = 0.386), below 3.84."""
    days = np.zeros(250, dtype=bool)
    days[24::25] = True
    counts = transition_counts(days)
    assert counts == (230, 10, 9, 0)
    result = christoffersen_independence(*counts)
    expected = -2 * (239 * math.log(239 / 249) + 10 * math.log(10 / 249)) + 2 * (
        230 * math.log(230 / 240) + 10 * math.log(10 / 240)
    )
    assert result.lr == pytest.approx(expected, abs=1e-9)
    assert result.lr == pytest.approx(0.751764, abs=1e-6)
    assert not result.rejected()


def test_no_exceptions_is_independent_and_type1_is_one() -> None:
    """No exception at all: π = π01 = 0, LR_ind = 0, p = 1; P(X ≥ 0) = 1 and P(X ≤ 0) =
    0.99^250 = 0.0811 (green)."""
    result = christoffersen_independence(249, 0, 0, 0)
    assert result.lr == 0.0
    assert result.p_value == 1.0
    light = traffic_light(250, 0, 0.99)
    assert light.type1 == 1.0
    assert light.probability == pytest.approx(0.99**250, rel=1e-12)
    assert light.zone == "green"


def test_bad_counts_are_rejected() -> None:
    with pytest.raises(InputError, match="n01"):
        christoffersen_independence(1, -1, 0, 0)
    with pytest.raises(InputError, match="n00"):
        christoffersen_independence(0, 0, 0, 0)
    with pytest.raises(InputError, match="failures"):
        transition_counts([0, 2, 1])
