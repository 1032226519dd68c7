"""Unit tests of VolSmile / VolSurface interpolation, with hand-derived numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.market import MIN_SHIFTED_VOL_ANNUAL, VolSmile, VolSurface

VALUATION = datetime(2024, 1, 1, tzinfo=UTC)
#: T = 0.25 y (91.25 days) and T = 1.0 y (365 days) from VALUATION, ACT/365.
EXPIRY_QUARTER = VALUATION + timedelta(days=91.25)
EXPIRY_YEAR = VALUATION + timedelta(days=365)


def _two_expiry_surface(vol_quarter: float, vol_year: float) -> VolSurface:
    return VolSurface.from_smiles(
        [
            VolSmile(EXPIRY_YEAR, np.array([0.0]), np.array([vol_year])),
            VolSmile(EXPIRY_QUARTER, np.array([0.0]), np.array([vol_quarter])),
        ]
    )


def test_flat_surface_returns_flat_vol_everywhere() -> None:
    """A flat 60 % surface gives 0.6 at every strike, expiry and forward, in the broadcast shape."""
    surface = VolSurface.flat(0.6)
    vols = surface.vol(np.array([[50_000.0], [90_000.0]]), np.array([0.0, 0.5, 2.0]), 72_000.0)
    assert vols.shape == (2, 3)
    assert np.all(vols == 0.6)


def test_two_strike_smile_midpoint_is_average() -> None:
    """F = 100, K = 80 and 125 sit at k = ln 0.8 = -0.22314 and ln 1.25 = +0.22314; their midpoint
    is k = 0, i.e. K = F = 100, where the vol is (0.5 + 0.7) / 2 = 0.6."""
    smile = VolSmile.from_strikes(EXPIRY_QUARTER, [125.0, 80.0], [0.7, 0.5], forward_usd=100.0)
    np.testing.assert_allclose(smile.log_moneyness, [math.log(0.8), math.log(1.25)], rtol=1e-15)
    surface = VolSurface.from_smiles([smile])
    vol = surface.vol(100.0, 0.25, 100.0, VALUATION)
    assert vol == pytest.approx(0.6, abs=1e-15)


def test_smile_is_flat_beyond_wings() -> None:
    """Beyond the 80 / 125 wings the end vols hold: K = 40 -> 0.5, K = 400 -> 0.7."""
    smile = VolSmile.from_strikes(EXPIRY_QUARTER, [80.0, 125.0], [0.5, 0.7], forward_usd=100.0)
    surface = VolSurface.from_smiles([smile])
    vols = surface.vol(np.array([40.0, 80.0, 125.0, 400.0]), 0.25, 100.0, VALUATION)
    np.testing.assert_array_equal(vols, [0.5, 0.5, 0.7, 0.7])


def test_total_variance_interpolation_between_expiries() -> None:
    """sigma(0.25 y) = 0.6 -> w = 0.36 * 0.25 = 0.09; sigma(1 y) = 0.5 -> w = 0.25.
    At T = 0.625 (halfway) w = 0.17, so sigma = sqrt(0.17 / 0.625) = sqrt(0.272) = 0.5215362."""
    surface = _two_expiry_surface(0.6, 0.5)
    vol = float(surface.vol(100.0, 0.625, 100.0, VALUATION))
    assert vol == pytest.approx(math.sqrt(0.272), rel=1e-12)
    assert vol == pytest.approx(0.5215362, abs=1e-7)


def test_node_times_reproduce_node_vols_exactly() -> None:
    """At T = 0.25 and T = 1.0 the surface returns the smiles' own vols bit for bit."""
    surface = _two_expiry_surface(0.6, 0.5)
    vols = surface.vol(100.0, np.array([0.25, 1.0]), 100.0, VALUATION)
    assert vols.tolist() == [0.6, 0.5]


def test_flat_vol_extrapolation_in_time() -> None:
    """Before the first expiry the first smile's vol holds (0.6 at T = 0 and 0.1); after the last
    expiry the last smile's vol holds (0.5 at T = 3)."""
    surface = _two_expiry_surface(0.6, 0.5)
    vols = surface.vol(100.0, np.array([0.0, 0.1, 3.0]), 100.0, VALUATION)
    np.testing.assert_array_equal(vols, [0.6, 0.6, 0.5])


def test_interpolation_in_moneyness_and_time_together() -> None:
    """Each expiry has nodes at k = -0.2 / +0.2. At k = 0: sigma(0.25) = (0.7 + 0.5) / 2 = 0.6 and
    sigma(1) = (0.6 + 0.4) / 2 = 0.5, so halfway (T = 0.625) it is sqrt(0.272) as above."""
    grid = np.array([-0.2, 0.2])
    surface = VolSurface.from_smiles(
        [
            VolSmile(EXPIRY_QUARTER, grid, np.array([0.7, 0.5])),
            VolSmile(EXPIRY_YEAR, grid, np.array([0.6, 0.4])),
        ]
    )
    assert float(surface.vol(72_000.0, 0.625, 72_000.0, VALUATION)) == pytest.approx(
        math.sqrt(0.272), rel=1e-12
    )


def test_calendar_arbitrage_still_gives_finite_non_negative_vol() -> None:
    """w falls from 0.81 * 0.25 = 0.2025 to 0.09 * 1 = 0.09. Halfway w = 0.14625, so the vol is
    sqrt(0.14625 / 0.625) = sqrt(0.234) = 0.4837355 — finite and positive."""
    surface = _two_expiry_surface(0.9, 0.3)
    vols = surface.vol(100.0, np.linspace(0.0, 2.0, 41), 100.0, VALUATION)
    assert np.all(np.isfinite(vols)) and np.all(vols >= 0.0)
    assert float(surface.vol(100.0, 0.625, 100.0, VALUATION)) == pytest.approx(
        math.sqrt(0.234), rel=1e-12
    )


def test_zero_vols_never_give_nan() -> None:
    """Zero vols everywhere give w = 0 and a vol of exactly 0, not 0/0."""
    surface = _two_expiry_surface(0.0, 0.0)
    vols = surface.vol(100.0, np.array([0.0, 0.5, 2.0]), 100.0, VALUATION)
    assert vols.tolist() == [0.0, 0.0, 0.0]


def test_smile_surface_requires_valuation_time() -> None:
    surface = _two_expiry_surface(0.6, 0.5)
    with pytest.raises(InputError, match="valuation_time"):
        surface.vol(100.0, 0.5, 100.0)


def test_expired_smiles_are_ignored_after_their_expiry() -> None:
    """Valued 0.5 y after VALUATION, the 0.25 y smile has expired; only the 1 y smile (0.5) is
    left, so the vol is 0.5 at any T."""
    surface = _two_expiry_surface(0.6, 0.5)
    later = VALUATION + timedelta(days=182.5)
    assert float(surface.vol(100.0, 0.1, 100.0, later)) == 0.5


def test_shifted_surface_adds_and_floors() -> None:
    """+0.05 on (0.5, 0.7) gives (0.55, 0.75); -0.8 floors both at 1e-4."""
    smile = VolSmile.from_strikes(EXPIRY_QUARTER, [80.0, 125.0], [0.5, 0.7], forward_usd=100.0)
    surface = VolSurface.from_smiles([smile])
    np.testing.assert_allclose(surface.shifted(0.05).smiles[0].vols_annual, [0.55, 0.75])
    assert surface.shifted(-0.8).smiles[0].vols_annual.tolist() == [MIN_SHIFTED_VOL_ANNUAL] * 2
    assert VolSurface.flat(0.6).shifted(-1.0).flat_vol_annual == MIN_SHIFTED_VOL_ANNUAL


def test_smile_arrays_are_read_only() -> None:
    smile = VolSmile.from_strikes(EXPIRY_QUARTER, [80.0, 125.0], [0.5, 0.7], forward_usd=100.0)
    with pytest.raises(ValueError):
        smile.vols_annual[0] = 1.0


@pytest.mark.parametrize(
    ("strikes", "vols", "field", "value"),
    [
        ([80.0, 125.0], [0.5, -0.1], "vols_annual[1]", "-0.1"),
        ([80.0, 125.0], [0.5, float("nan")], "vols_annual[1]", "nan"),
        ([80.0, -5.0], [0.5, 0.7], "strikes[1]", "-5.0"),
        ([80.0, 80.0], [0.5, 0.7], "strikes[1]", "80.0"),
        ([80.0, 125.0], [0.5], "vols_annual", "[0.5]"),
    ],
)
def test_bad_smile_inputs_name_field_and_value(
    strikes: list[float], vols: list[float], field: str, value: str
) -> None:
    with pytest.raises(InputError) as caught:
        VolSmile.from_strikes(EXPIRY_QUARTER, strikes, vols, forward_usd=100.0)
    assert caught.value.field == field
    assert field in str(caught.value) and value in str(caught.value)


def test_surface_rejects_duplicate_expiries_and_both_kinds() -> None:
    smile = VolSmile(EXPIRY_QUARTER, np.array([0.0]), np.array([0.5]))
    with pytest.raises(InputError, match=r"smiles\[1\]\.expiry"):
        VolSurface.from_smiles([smile, smile])
    with pytest.raises(InputError, match="exactly one"):
        VolSurface(flat_vol_annual=0.5, smiles=(smile,))
    with pytest.raises(InputError, match=r"flat_vol_annual = -0\.2"):
        VolSurface.flat(-0.2)


def test_surface_rejects_bad_query_inputs() -> None:
    with pytest.raises(InputError, match=r"strike = -1\.0"):
        VolSurface.flat(0.5).vol(-1.0, 0.5, 100.0)
    with pytest.raises(InputError, match=r"t_years = -0\.5"):
        VolSurface.flat(0.5).vol(100.0, -0.5, 100.0)
    with pytest.raises(InputError, match="forward = nan"):
        VolSurface.flat(0.5).vol(100.0, 0.5, float("nan"))


def test_naive_smile_expiry_is_rejected() -> None:
    with pytest.raises(InputError, match="expiry"):
        VolSmile(datetime(2024, 12, 27, 8), np.array([0.0]), np.array([0.5]))


def test_smile_nodes_closer_than_the_minimum_spacing_are_rejected() -> None:
    """Found by hypothesis: nodes 2.2e-313 and 2.2e-309 apart made the smile's slope overflow and
    the surface answer an infinite vol. Such a grid is a data error and is named."""
    with pytest.raises(InputError, match=r"log_moneyness\[2\].*at least 1e-09"):
        VolSmile(
            datetime(2024, 1, 2, 8, tzinfo=UTC),
            np.array([-1.0, -2.22507386e-313, 2.22507386e-309]),
            np.array([0.0, 0.0, 1.0]),
        )
