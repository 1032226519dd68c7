"""Portfolio margin charges over an accounts axis: hand-derived numbers, several accounts at once.

These are the one definition the single-account model and the book engine's numpy twin both call
(``crossmargin.margin.pm.charges``); index 72,000 USD unless said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.margin.pm.charges import (
    basis_charge_usd,
    correlation_credit,
    delta_shock_charge_usd,
    premium_cap_factor,
    scan_risk_usd,
    short_option_charge_usd,
    underlying_requirement,
    worst_underlying,
)

S = 72000.0


def test_scan_risk_is_the_first_worst_counted_loss_per_account() -> None:
    """[5, −3, −7, −7] → 7 at index 2 (first of the tie); [1, 2, 3, 0] → 0 (no loss), never
    −0.0; no scenarios → 0."""
    scan, worst = scan_risk_usd([[5.0, -3.0, -7.0, -7.0], [1.0, 2.0, 3.0, 0.0]])
    assert scan.tolist() == [7.0, 0.0] and not np.signbit(scan[1])
    assert worst.tolist() == [2, 3]
    empty, first = scan_risk_usd(np.zeros((3, 0)))
    assert empty.tolist() == [0.0] * 3 and first.tolist() == [0] * 3


def test_delta_shock_per_account() -> None:
    """Threshold 20M USD at 72,000 = 277.78 BTC, 0.00005 extra move per BTC beyond it, capped at
    10 %: −3,000 BTC → 0.1361 capped to 0.1 → 3,000 × 72,000 × 0.1 = 21.6M; 277 BTC → 0;
    1,000 BTC → 722.22 × 0.00005 = 3.6111 % of 72M = 2.6M."""
    shock = delta_shock_charge_usd([-3000.0, 277.0, 1000.0], S, 20e6, 0.1, 0.00005)
    assert shock == pytest.approx([21_600_000.0, 0.0, 2_600_000.0], rel=1e-12)


def test_short_option_charge_per_account_and_group() -> None:
    """0.01 coin per net short coin: net −10 → 0.01 × 72,000 × 10 = 7,200; −0.5 → 360; net long
    or flat → 0."""
    charges = short_option_charge_usd([[-10.0, 5.0], [0.0, -0.5]], S, 0.01)
    assert charges == pytest.approx(np.array([[7200.0, 0.0], [0.0, 360.0]]), rel=1e-12)


def test_basis_charge_on_the_offsetting_coin() -> None:
    """1 % of the offsetting notional: min(100, 50) = 50 BTC → 36,000; nothing long → 0."""
    basis = basis_charge_usd([100.0, 0.0, 50.0], [50.0, 10.0, 50.0], S, 0.01)
    assert basis == pytest.approx([36_000.0, 0.0, 36_000.0], rel=1e-12)


def test_premium_cap_binds_only_for_long_option_books_above_their_premium() -> None:
    factor, capped = premium_cap_factor(
        [100.0, 100.0, 100.0], [80.0, 120.0, 50.0], [True, True, False]
    )
    assert factor.tolist() == [0.8, 1.0, 1.0]
    assert capped.tolist() == [True, False, False]


def test_underlying_requirement_scales_every_component_by_the_cap() -> None:
    """Scan 100 + delta shock 30 = 130 > premium 90 for a long-option book: both × 90/130; a
    second account (not long options only) keeps 40 + 0 + 5 + 1."""
    charges = underlying_requirement(
        [[-100.0, 20.0], [-40.0, 0.0]], [30.0, 0.0], [0.0, 5.0], [0.0, 1.0], [90.0, 0.0],
        [True, False],
    )  # fmt: skip
    assert charges.scan_risk_usd == pytest.approx([100 * 90 / 130, 40.0], rel=1e-15)
    assert charges.delta_shock_usd == pytest.approx([30 * 90 / 130, 0.0], rel=1e-15)
    assert charges.contingencies_usd == pytest.approx([30 * 90 / 130, 6.0], rel=1e-15)
    assert charges.worst_index.tolist() == [0, 0]
    assert charges.capped.tolist() == [True, False]


def test_correlation_credit_shares_the_offset_in_proportion_to_the_scans() -> None:
    """Offset 0.5. Account 0 holds both: BTC [−100, 50], ETH [40, −60]; combined scenarios
    −100 + 0.5·40 = −80 and 0.5·50 − 60 = −35, so 80 of the scans 100 + 60 = 160 stays: credit
    80, shared 50 / 30, each scan keeps half. Account 1 holds BTC only: no credit."""
    counted = [[[-100.0, 50.0], [-30.0, 10.0]], [[40.0, -60.0], [0.0, 0.0]]]
    scan = [[100.0, 30.0], [60.0, 0.0]]
    held = [[True, True], [True, False]]
    keep, credit = correlation_credit(counted, scan, held, 0.5)
    assert credit == pytest.approx(np.array([[50.0, 0.0], [30.0, 0.0]]), rel=1e-15)
    assert keep == pytest.approx(np.array([[0.5, 1.0], [0.5, 1.0]]), rel=1e-15)
    off_keep, off_credit = correlation_credit(counted, scan, held, 0.0)
    assert off_keep.tolist() == [[1.0, 1.0]] * 2 and off_credit.tolist() == [[0.0, 0.0]] * 2


def test_the_reported_underlying_is_the_held_one_with_the_largest_scan() -> None:
    """Ties go to the first underlying; an account holding nothing reports none (−1)."""
    chosen = worst_underlying([[5.0, 0.0, 2.0, 0.0], [5.0, 3.0, 1.0, 0.0]],
                              [[True, False, True, False], [True, True, False, False]])  # fmt: skip
    assert chosen.tolist() == [0, 1, 0, -1]
