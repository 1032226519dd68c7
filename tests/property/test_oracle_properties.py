"""Invariants of the oracle aggregator that could fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from crossmargin.oracles import OraclePolicy, Quote, aggregate

NOW = datetime(2024, 3, 11, 15, 17, tzinfo=UTC)
POLICY = OraclePolicy(max_age_s=60.0, max_deviation=0.02, min_sources=2)

prices = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)
ages = st.floats(0.0, 120.0)


@st.composite
def quote_batches(draw: st.DrawFn) -> list[Quote]:
    count = draw(st.integers(0, 8))
    return [Quote(f"s{k}", draw(prices), NOW - timedelta(seconds=draw(ages))) for k in range(count)]


@given(quote_batches(), st.randoms(use_true_random=False))
def test_order_of_quotes_never_matters(quotes: list[Quote], shuffler: object) -> None:
    shuffled = list(quotes)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    assert aggregate(quotes, NOW, POLICY) == aggregate(shuffled, NOW, POLICY)


@given(
    st.floats(10.0, 1e5),
    st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=7),
    st.floats(1e-6, 1e9),
)
def test_one_outlier_never_moves_the_price_beyond_the_band(
    centre: float, offsets: list[float], outlier: float
) -> None:
    """Honest sources within ±ε of a centre, ε = max_deviation / 4, plus one arbitrary quote: the
    price stays within the honest band."""
    epsilon = POLICY.max_deviation / 4
    honest = [Quote(f"h{k}", centre * (1 + epsilon * o), NOW) for k, o in enumerate(offsets)]
    result = aggregate([*honest, Quote("x", outlier, NOW)], NOW, POLICY)
    assert result.price_usd is not None
    assert (
        centre * (1 - epsilon) * (1 - 1e-12)
        <= result.price_usd
        <= centre * (1 + epsilon) * (1 + 1e-12)
    )


@given(quote_batches(), prices, st.floats(60.001, 1e6))
def test_a_stale_source_never_counts(quotes: list[Quote], price: float, age_s: float) -> None:
    stale = Quote("stale", price, NOW - timedelta(seconds=age_s))
    result = aggregate([*quotes, stale], NOW, POLICY)
    assert "stale" not in result.sources_used
    assert result == aggregate(quotes, NOW, POLICY) or any(
        e.source == "stale" for e in result.excluded
    )
    fresh_only = aggregate(quotes, NOW, POLICY)
    assert result.price_usd == fresh_only.price_usd


@given(quote_batches())
def test_price_lies_within_the_counted_quotes(quotes: list[Quote]) -> None:
    result = aggregate(quotes, NOW, POLICY)
    if result.price_usd is None:
        assert result.status == "unavailable"
        return
    counted = [q.price_usd for q in quotes if q.source in result.sources_used]
    assert min(counted) <= result.price_usd <= max(counted)
    assert len(result.sources_used) >= POLICY.min_sources
