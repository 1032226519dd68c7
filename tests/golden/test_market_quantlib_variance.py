"""Golden: the term-structure interpolation agrees with QuantLib's BlackVarianceCurve.

QuantLib (ql/termstructures/volatility/equityfx/blackvariancecurve.cpp) interpolates total
variance linearly in time between pillar dates, starts from zero variance at the reference date
(flat vol before the first pillar) and extrapolates with flat vol after the last pillar — the same
rule as VolSurface at fixed moneyness. Dates at 08:00 UTC make ACT/365 year fractions whole days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813  (a test dependency: a missing oracle must fail, not skip)

from crossmargin.market import VolSmile, VolSurface

VALUATION = datetime(2024, 3, 11, 8, tzinfo=UTC)
PILLAR_DAYS = [3, 17, 80, 290]
PILLAR_VOLS = [0.95, 0.62, 0.71, 0.68]


def _quantlib_curve() -> object:
    today = ql.Date(11, 3, 2024)
    ql.Settings.instance().evaluationDate = today
    dates = [today + days for days in PILLAR_DAYS]
    curve = ql.BlackVarianceCurve(today, dates, PILLAR_VOLS, ql.Actual365Fixed(), False)
    curve.enableExtrapolation()
    return curve


@pytest.mark.parametrize("days", [1, 3, 5, 10, 17, 40, 80, 200, 290, 400])
def test_atm_term_structure_matches_quantlib_black_variance_curve(days: int) -> None:
    curve = _quantlib_curve()
    surface = VolSurface.from_smiles(
        [
            VolSmile(VALUATION + timedelta(days=pillar), np.zeros(1), np.array([vol]))
            for pillar, vol in zip(PILLAR_DAYS, PILLAR_VOLS, strict=True)
        ]
    )
    t_years = days / 365.0
    expected = curve.blackVol(t_years, 70_000.0)  # type: ignore[attr-defined]
    assert float(surface.vol(70_000.0, t_years, 70_000.0, VALUATION)) == pytest.approx(
        expected, rel=1e-13
    )
