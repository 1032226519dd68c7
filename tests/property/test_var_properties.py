"""Properties of the VaR / ES model: tail-measure axioms, full revaluation through the market
snapshot, Euler contributions, IM ≥ MM and monotonicity in size, on random portfolios."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.collateral import default_haircuts
from crossmargin.instruments import parse_instrument
from crossmargin.margin.var.model import VarMargin, expected_shortfall, value_at_risk
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position, value_portfolio
from support.markets import NOW
from support.shared_data import shared_market_history

VOLS = {"BTC": 0.6, "ETH": 0.7}
MARKET = MarketSnapshot(
    valuation_time=NOW,
    index_usd={"BTC": 72_000.0, "ETH": 4_000.0},
    vol_surfaces={asset: VolSurface.flat(vol) for asset, vol in VOLS.items()},
)
# (name, size range, entry price for delta-one contracts)
POOL = [
    ("BTC-29MAR24-70000-P", 5.0, None),
    ("BTC-28JUN24-80000-C", 5.0, None),
    ("BTC_USDC-26APR24-72000-C", 5.0, None),
    ("ETH-28JUN24-3500-P", 50.0, None),
    ("ETH_USDC-29MAR24-4200-C", 50.0, None),
    ("BTC-PERPETUAL", 200_000.0, 70_000.0),
    ("BTC-28JUN24", 200_000.0, 74_000.0),
    ("BTC_USDC-PERPETUAL", 5.0, 71_000.0),
    ("ETH_USDC-PERPETUAL", 50.0, 3_900.0),
]

pnl_vectors = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300).map(
    np.array
)
confidences = st.floats(0.5, 0.999)


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    chosen = draw(st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=5, unique=True))
    positions = []
    for index in chosen:
        name, scale, entry = POOL[index]
        size = draw(st.floats(-1.0, 1.0).filter(lambda x: abs(x) > 0.01)) * scale
        positions.append(Position(parse_instrument(name), size, entry))
    return Portfolio(tuple(positions), {})


@pytest.fixture(scope="module")
def model() -> VarMargin:
    return VarMargin(history=shared_market_history())


@given(pnl_vectors, confidences)
def test_var_never_exceeds_es_and_es_bounds_the_mean_loss(pnl: np.ndarray, c: float) -> None:
    es = expected_shortfall(pnl, c)
    assert value_at_risk(pnl, c) <= es + 1e-9 * (1 + abs(es))
    assert es >= -float(np.mean(pnl)) - 1e-9 * (1 + abs(es))
    assert es <= -float(np.min(pnl)) + 1e-9 * (1 + abs(es))


@given(pnl_vectors, confidences, st.floats(0.01, 100), st.floats(-1e5, 1e5))
def test_es_is_homogeneous_and_translation_equivariant(
    pnl: np.ndarray, c: float, scale: float, shift: float
) -> None:
    """ES(a·X + b) = a·ES(X) − b for a > 0."""
    expected = scale * expected_shortfall(pnl, c) - shift
    assert expected_shortfall(scale * pnl + shift, c) == pytest.approx(
        expected, rel=1e-9, abs=1e-6 * (1 + scale * float(np.max(np.abs(pnl))) + abs(shift))
    )


@given(pnl_vectors, st.floats(0.5, 0.99), st.floats(0.0, 0.009))
def test_es_grows_with_confidence(pnl: np.ndarray, c: float, step: float) -> None:
    es = expected_shortfall(pnl, c)
    assert expected_shortfall(pnl, c + step) >= es - 1e-9 * (1 + abs(es))


@settings(max_examples=25, deadline=None)
@given(portfolios(), st.lists(st.integers(0, 10_000), min_size=3, max_size=3))
def test_scenario_pnl_is_a_full_revaluation_of_the_shocked_market(
    model: VarMargin, portfolio: Portfolio, picks: list[int]
) -> None:
    """For sampled scenarios, Σ positions' mark value in MarketSnapshot.shocked(moves, vol
    shifts) − mark value at the base market equals the reported scenario P&L. With flat vols the
    relative DVOL move σ·(ratio − 1) is one additive shift per underlying."""
    result = model.margin(portfolio, MARKET)
    _, analysis = model.analyse(portfolio, MARKET)
    assert analysis is not None
    haircuts = default_haircuts()
    base = sum(r.mark_value_usd for r in value_portfolio(portfolio, MARKET, haircuts).positions)
    sets = [(analysis.filtered, 0), (analysis.stress, analysis.filtered.count)]
    for pick in picks:
        scenarios, offset = sets[pick % 2]
        row = pick % scenarios.count
        moves = dict(zip(scenarios.assets, scenarios.price_moves[row], strict=True))
        shifts = {
            asset: VOLS[asset] * (ratio - 1.0)
            for asset, ratio in zip(scenarios.assets, scenarios.vol_ratios[row], strict=True)
        }
        shocked = MARKET.shocked(moves, shifts)
        value = sum(
            r.mark_value_usd for r in value_portfolio(portfolio, shocked, haircuts).positions
        )
        assert result.scenarios[offset + row].pnl_usd == pytest.approx(
            value - base, rel=1e-9, abs=1e-6
        )


@settings(max_examples=25, deadline=None)
@given(portfolios(), st.floats(1.0, 3.0))
def test_margin_invariants(model: VarMargin, portfolio: Portfolio, factor: float) -> None:
    """IM ≥ MM ≥ 0; contributions add up to IM; IM is monotone (and homogeneous) in size."""
    result = model.margin(portfolio, MARKET)
    _, analysis = model.analyse(portfolio, MARKET)
    assert analysis is not None
    assert result.initial_margin >= result.maintenance_margin >= 0
    total = sum(p.contribution_usd for p in result.positions)
    assert total == pytest.approx(analysis.initial_margin_usd, rel=1e-9, abs=1e-6)
    bigger = Portfolio(
        tuple(
            Position(p.instrument, p.size * factor, p.average_price) for p in portfolio.positions
        ),
        {},
    )
    scaled = model.margin(bigger, MARKET)
    assert scaled.initial_margin >= result.initial_margin
    assert float(scaled.initial_margin) == pytest.approx(
        factor * float(result.initial_margin), rel=1e-9, abs=1e-5
    )
