"""Health bands as a boundary table (issue 15's bands, used by issue 12's verdicts).

Bands are equity / MM: healthy ≥ 1.5, warning [1.2, 1.5), reduce-only [1.05, 1.2), liquidatable
< 1.05, bankrupt when equity ≤ 0; an edge belongs to the safer state. Each row holds on Decimal
amounts, on floats and on arrays, and the relation to ``is_liquidatable`` (the hard MM breach)
holds everywhere: it implies liquidatable-or-bankrupt.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.margin.health import (
    HEALTH_STATES,
    HealthBands,
    HealthState,
    assess_health,
    health_codes,
    health_state,
    is_liquidatable,
)

ROWS = [
    ("1500", "1000", HealthState.HEALTHY),  # exactly 1.5: the safer state
    ("1499.999999", "1000", HealthState.WARNING),
    ("1200", "1000", HealthState.WARNING),  # exactly 1.2
    ("1199.999999", "1000", HealthState.REDUCE_ONLY),
    ("1050", "1000", HealthState.REDUCE_ONLY),  # exactly 1.05
    ("1049.999999", "1000", HealthState.LIQUIDATABLE),
    ("1000", "1000", HealthState.LIQUIDATABLE),  # at MM: not is_liquidatable, yet in the band
    ("999.999999", "1000", HealthState.LIQUIDATABLE),
    ("0.000001", "1000", HealthState.LIQUIDATABLE),
    ("0", "1000", HealthState.BANKRUPT),
    ("-5", "1000", HealthState.BANKRUPT),
    ("5", "0", HealthState.HEALTHY),  # nothing due
    ("0", "0", HealthState.BANKRUPT),  # no equity, nothing due: bad debt, not liquidatable
    ("-5", "0", HealthState.BANKRUPT),
]


@pytest.mark.parametrize(("equity", "maintenance", "state"), ROWS)
def test_band_table(equity: str, maintenance: str, state: HealthState) -> None:
    assert health_state(Decimal(equity), Decimal(maintenance)) is state
    assert health_state(float(equity), float(maintenance)) is state
    if is_liquidatable(Decimal(equity), Decimal(maintenance)):
        assert state in (HealthState.LIQUIDATABLE, HealthState.BANKRUPT)


def test_arrays_agree_with_scalars() -> None:
    equity = np.array([float(e) for e, _, _ in ROWS])
    maintenance = np.array([float(m) for _, m, _ in ROWS])
    codes = health_codes(equity, maintenance)
    assert [HEALTH_STATES[c] for c in codes] == [state for _, _, state in ROWS]


def test_bands_are_configurable_and_validated() -> None:
    """A venue that liquidates only below MM: with reduce_only_from = 1.0 the liquidatable band
    and is_liquidatable agree on every account with positive equity."""
    strict = HealthBands(healthy_from=2.0, warning_from=1.5, reduce_only_from=1.0)
    assert health_state(Decimal("1000"), Decimal("1000"), strict) is HealthState.REDUCE_ONLY
    assert health_state(Decimal("999"), Decimal("1000"), strict) is HealthState.LIQUIDATABLE
    with pytest.raises(ValueError, match="reduce_only_from >= 1"):
        HealthBands(reduce_only_from=0.9)
    with pytest.raises(ValueError):
        HealthBands(healthy_from=1.1, warning_from=1.2)


def test_a_non_finite_ratio_is_none_and_the_reason_says_why() -> None:
    bankrupt = assess_health(Decimal("-20000"), Decimal("1006.944445"))
    assert bankrupt.state is HealthState.BANKRUPT and bankrupt.margin_ratio is None
    assert "equity ≤ 0" in bankrupt.reason
    nothing_due = assess_health(Decimal("100"), Decimal("0"))
    assert nothing_due.equity_to_maintenance is None and nothing_due.margin_ratio == 0.0
    assert nothing_due.reason == "no maintenance margin due"
