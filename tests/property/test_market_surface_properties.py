"""Property tests of the vol surface (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.market import VolSmile, VolSurface

VALUATION = datetime(2024, 1, 1, 8, tzinfo=UTC)

vols = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)
strikes = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)
times = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)


@st.composite
def smiles_by_strike(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    # Whole-dollar strikes keep distinct strikes at distinct log-moneyness.
    grid = [
        float(k) for k in draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=8, unique=True))
    ]
    return grid, draw(st.lists(vols, min_size=len(grid), max_size=len(grid)))


@settings(max_examples=200, deadline=None)
@given(
    smile=smiles_by_strike(),
    forward=strikes,
    days=st.integers(min_value=1, max_value=1000),
    query_strikes=st.lists(strikes, min_size=1, max_size=20),
    query_t=times,
    query_forward=strikes,
)
def test_single_expiry_vols_stay_within_smile_range(
    smile: tuple[list[float], list[float]],
    forward: float,
    days: int,
    query_strikes: list[float],
    query_t: float,
    query_forward: float,
) -> None:
    """With one expiry, linear interpolation and flat extrapolation (in k and in T) cannot leave
    [min, max] of the smile's vols, whatever the strike, time or forward asked for."""
    grid, smile_vols = smile
    expiry = VALUATION + timedelta(days=days)
    surface = VolSurface.from_smiles([VolSmile.from_strikes(expiry, grid, smile_vols, forward)])
    out = surface.vol(np.array(query_strikes), query_t, query_forward, VALUATION)
    assert np.all(out >= min(smile_vols)) and np.all(out <= max(smile_vols))


@st.composite
def arbitrage_free_surfaces(draw: st.DrawFn) -> VolSurface:
    """Smiles on one shared moneyness grid whose total variance grows with T at every node:
    sigma_{i+1} >= sigma_i * sqrt(T_i / T_{i+1})."""
    # Nodes on a 1e-4 grid: distinct nodes closer than MIN_NODE_SPACING are rejected as bad data.
    steps = draw(st.lists(st.integers(-20_000, 20_000), min_size=1, max_size=6, unique=True))
    grid = sorted(step / 10_000 for step in steps)
    days = sorted(draw(st.lists(st.integers(1, 1500), min_size=2, max_size=5, unique=True)))
    current = np.array(draw(st.lists(vols, min_size=len(grid), max_size=len(grid))))
    smiles = [VolSmile(VALUATION + timedelta(days=days[0]), np.array(grid), current)]
    for earlier, later in itertools.pairwise(days):
        bumps = np.array(draw(st.lists(vols, min_size=len(grid), max_size=len(grid))))
        current = current * np.sqrt(earlier / later) + bumps
        smiles.append(VolSmile(VALUATION + timedelta(days=later), np.array(grid), current))
    return VolSurface.from_smiles(smiles)


@settings(max_examples=200, deadline=None)
@given(
    surface=arbitrage_free_surfaces(),
    log_moneyness=st.floats(-3.0, 3.0),
    query_times=st.lists(times, min_size=2, max_size=30),
)
def test_total_variance_monotone_in_time_without_calendar_arbitrage(
    surface: VolSurface, log_moneyness: float, query_times: list[float]
) -> None:
    """If every node's sigma^2 T grows with T, then sigma(k, T)^2 T is non-decreasing in T at any
    fixed k: linear-in-k vols preserve the node ordering of sqrt(w), linear-in-T variance keeps it
    between expiries, and flat-vol extrapolation gives w = sigma^2 T outside."""
    t = np.sort(np.array(query_times))
    forward = 70_000.0
    strike = forward * np.exp(log_moneyness)
    total_variance = surface.vol(strike, t, forward, VALUATION) ** 2 * t
    steps = np.diff(total_variance)
    assert np.all(steps >= -1e-12 * np.maximum(total_variance[1:], 1.0))


@settings(max_examples=100, deadline=None)
@given(
    vol_quarter=vols,
    vol_year=vols,
    query_t=st.lists(times, min_size=1, max_size=20),
)
def test_vols_are_finite_and_non_negative_even_with_calendar_arbitrage(
    vol_quarter: float, vol_year: float, query_t: list[float]
) -> None:
    """Whatever the two expiries' vols (total variance may fall), the vol is finite and >= 0."""
    surface = VolSurface.from_smiles(
        [
            VolSmile(VALUATION + timedelta(days=91), np.zeros(1), np.array([vol_quarter])),
            VolSmile(VALUATION + timedelta(days=365), np.zeros(1), np.array([vol_year])),
        ]
    )
    out = surface.vol(100.0, np.array(query_t), 100.0, VALUATION)
    assert np.all(np.isfinite(out)) and np.all(out >= 0.0)
