"""VaR kernels: tail measures, EWMA recursion, horizon sums — numbers derived by hand."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.var.model import (
    ewma_variance,
    expected_shortfall,
    horizon_sums,
    seed_variance,
    tail_measure,
    tail_weights,
    value_at_risk,
)
from crossmargin.margin.var.parameters import VarMeasure

LOSSES_1_TO_100 = -np.random.default_rng(7).permutation(np.arange(1.0, 101.0))


def test_es_and_var_of_losses_one_to_hundred() -> None:
    """P&L = −1 … −100 (shuffled), n = 100.
    99 %: nα = 1 → ES = VaR = the worst loss = 100.
    97.5 %: nα = 2.5 → ES = (100 + 99 + 0.5·98)/2.5 = 248/2.5 = 99.2; VaR = 3rd worst = 98.
    95 %: nα = 5 → ES = (100 + 99 + 98 + 97 + 96)/5 = 98; VaR = 5th worst = 96."""
    assert expected_shortfall(LOSSES_1_TO_100, 0.99) == pytest.approx(100.0, abs=1e-12)
    assert value_at_risk(LOSSES_1_TO_100, 0.99) == 100.0
    assert expected_shortfall(LOSSES_1_TO_100, 0.975) == pytest.approx(99.2, abs=1e-12)
    assert value_at_risk(LOSSES_1_TO_100, 0.975) == 98.0
    assert expected_shortfall(LOSSES_1_TO_100, 0.95) == pytest.approx(98.0, abs=1e-12)
    assert value_at_risk(LOSSES_1_TO_100, 0.95) == 96.0


def test_es_of_all_profits_is_negative() -> None:
    """P&L = +1 … +100: the 5 % tail is {1, 2, 3, 4, 5}, ES 95 % = −3 (a profit)."""
    assert expected_shortfall(np.arange(1.0, 101.0), 0.95) == pytest.approx(-3.0, abs=1e-12)


def test_tail_weights_split_the_fractional_scenario() -> None:
    """n = 10, c = 0.85 → nα = 1.5: weight 1/1.5 on the worst, 0.5/1.5 on the second worst.
    P&L = [5, −7, 0, −3, 1, 2, 3, 4, 6, 8]: ES = (7 + 0.5·3)/1.5 = 5.6667; VaR = 2nd worst = 3."""
    pnl = np.array([5.0, -7.0, 0.0, -3.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0])
    weights = tail_weights(pnl, 0.85, VarMeasure.EXPECTED_SHORTFALL)
    assert weights[1] == pytest.approx(2 / 3)
    assert weights[3] == pytest.approx(1 / 3)
    assert weights.sum() == pytest.approx(1.0)
    assert expected_shortfall(pnl, 0.85) == pytest.approx(8.5 / 1.5)
    assert value_at_risk(pnl, 0.85) == 3.0
    var_weights = tail_weights(pnl, 0.85, VarMeasure.VALUE_AT_RISK)
    assert var_weights.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


def test_tail_with_fewer_than_one_scenario_uses_the_worst() -> None:
    """n = 50, c = 0.99 → nα = 0.5 < 1: ES = VaR = the worst loss."""
    pnl = -np.arange(1.0, 51.0)
    assert expected_shortfall(pnl, 0.99) == pytest.approx(50.0)
    assert value_at_risk(pnl, 0.99) == 50.0


def test_tail_measure_rejects_empty_and_bad_confidence() -> None:
    with pytest.raises(InputError, match="at least one scenario"):
        tail_measure(np.zeros(0), 0.99, VarMeasure.EXPECTED_SHORTFALL)
    with pytest.raises(InputError, match="confidence"):
        tail_measure(np.zeros(3), 1.0, VarMeasure.EXPECTED_SHORTFALL)


def test_ewma_recursion_on_a_short_series() -> None:
    """r = [0.01, −0.02, NaN, 0.03], λ = 0.94, seed v0 = 1e-4:
    v1 = 0.94·1e-4 + 0.06·1e-4 = 1e-4; v2 = 0.94·1e-4 + 0.06·4e-4 = 1.18e-4;
    v3 = v2 (NaN day carries); v4 = 0.94·1.18e-4 + 0.06·9e-4 = 1.1092e-4 + 0.54e-4 = 1.6492e-4."""
    variance = ewma_variance(np.array([0.01, -0.02, np.nan, 0.03]), 0.94, 1e-4)
    np.testing.assert_allclose(variance, [1e-4, 1e-4, 1.18e-4, 1.18e-4, 1.6492e-4], rtol=1e-12)


def test_seed_variance_is_the_mean_square_of_the_first_finite_returns() -> None:
    """First two finite of [NaN, 0.01, 0.03, 0.5]: (1e-4 + 9e-4)/2 = 5e-4."""
    assert seed_variance(np.array([np.nan, 0.01, 0.03, 0.5]), 2) == pytest.approx(5e-4)
    with pytest.raises(InputError):
        seed_variance(np.array([np.nan]), 2)


def test_horizon_sums_align_on_the_last_day() -> None:
    """[1, 2, 3, 4] with h = 2 → [NaN, 3, 5, 7]; a NaN poisons the windows holding it; 2-D
    columns are summed independently."""
    np.testing.assert_array_equal(horizon_sums(np.array([1.0, 2, 3, 4]), 2), [np.nan, 3, 5, 7])
    np.testing.assert_array_equal(
        horizon_sums(np.array([1.0, np.nan, 3, 4, 5]), 2), [np.nan, np.nan, np.nan, 7, 9]
    )
    two_d = horizon_sums(np.array([[1.0, 10], [2, 20], [3, 30]]), 3)
    np.testing.assert_array_equal(two_d[2], [6.0, 60.0])
    assert np.isnan(two_d[:2]).all()
    assert np.isnan(horizon_sums(np.array([1.0]), 2)).all()
