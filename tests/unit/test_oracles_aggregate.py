"""The oracle aggregator and the last-good-price holder, on hand-derived numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crossmargin.core.errors import InputError
from crossmargin.oracles import (
    ExclusionReason,
    LastGoodPrice,
    OraclePolicy,
    OracleStatus,
    Quote,
    aggregate,
    load_oracle_parameters,
)

NOW = datetime(2024, 3, 11, 15, 17, tzinfo=UTC)
POLICY = OraclePolicy(max_age_s=60.0, max_deviation=0.02, min_sources=2)


def quote(source: str, price: float, age_s: float = 0.0, confidence: float | None = None) -> Quote:
    return Quote(source, price, NOW - timedelta(seconds=age_s), confidence)


def test_median_of_three_fresh_sources_is_ok() -> None:
    """100, 101, 102 → median 101; half spread (102 − 100) / 2 = 1."""
    result = aggregate([quote("a", 100), quote("b", 102), quote("c", 101)], NOW, POLICY)
    assert result.status == "ok"
    assert result.price_usd == 101.0
    assert result.confidence_usd == 1.0
    assert result.sources_used == ("a", "b", "c")


def test_stale_and_outlier_are_excluded_and_degrade() -> None:
    """d is 61 s old (> 60 s): stale. Fresh median of 100, 101, 110 is 101; 110 is 8.9 % away
    (> 2 %): outlier. Left: 100, 101 → 100.5."""
    quotes = [quote("a", 100), quote("b", 101), quote("c", 110), quote("d", 100, age_s=61)]
    result = aggregate(quotes, NOW, POLICY)
    assert result.status == OracleStatus.DEGRADED
    assert result.price_usd == 100.5
    reasons = {e.source: e.reason for e in result.excluded}
    assert reasons == {"c": ExclusionReason.OUTLIER, "d": ExclusionReason.STALE}
    assert "c (outlier)" in result.reason


def test_too_few_sources_is_unavailable_without_price() -> None:
    result = aggregate([quote("a", 100), quote("b", 100, age_s=3600)], NOW, POLICY)
    assert result.status == "unavailable"
    assert result.price_usd is None and result.confidence_usd is None
    assert result.sources_used == ("a",)


def test_future_quote_and_superseded_quote() -> None:
    """A quote dated after now never counts; of two quotes from one source the newer wins and the
    older is not a loss of a source (status stays ok)."""
    future = Quote("a", 100, NOW + timedelta(seconds=5))
    result = aggregate([future, quote("b", 100), quote("c", 101)], NOW, POLICY)
    assert ("a", ExclusionReason.FUTURE) in {(e.source, e.reason) for e in result.excluded}
    again = aggregate([quote("b", 90, age_s=10), quote("b", 100), quote("c", 100)], NOW, POLICY)
    assert again.status == "ok" and again.price_usd == 100.0


def test_reported_confidence_is_used_when_wider() -> None:
    """Half spread 0.5; median of reported confidences (2, 4) = 3 → 3."""
    result = aggregate([quote("a", 100, confidence=2), quote("b", 101, confidence=4)], NOW, POLICY)
    assert result.confidence_usd == 3.0


def test_last_good_price_is_kept_flagged_and_refuses_new_risk() -> None:
    holder = LastGoodPrice("BTC")
    first = holder.update(aggregate([quote("a", 100), quote("b", 102)], NOW, POLICY))
    assert first.price_usd == 101.0 and first.accepts_new_risk and not first.is_last_good
    later = NOW + timedelta(minutes=5)
    down = holder.update(aggregate([Quote("a", 99, later)], later, POLICY))
    assert down.status == "unavailable"
    assert down.price_usd == 101.0 and down.is_last_good and down.priced_at == NOW
    assert not down.accepts_new_risk
    assert "new risk refused" in down.reason and "101" in down.reason


def test_holder_without_history_has_no_price() -> None:
    guarded = LastGoodPrice("ETH").update(aggregate([], NOW, POLICY))
    assert guarded.price_usd is None and not guarded.is_last_good and not guarded.accepts_new_risk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_age_s": 0.0, "max_deviation": 0.02, "min_sources": 1}, "policy.max_age_s"),
        (
            {"max_age_s": 60.0, "max_deviation": float("nan"), "min_sources": 1},
            "policy.max_deviation",
        ),
        ({"max_age_s": 60.0, "max_deviation": 0.02, "min_sources": 0}, "policy.min_sources"),
    ],
)
def test_bad_policy_names_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as caught:
        OraclePolicy(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_bad_quotes_are_rejected() -> None:
    with pytest.raises(InputError, match=r"quote\.price_usd"):
        Quote("a", -1.0, NOW)
    with pytest.raises(InputError, match=r"quote\.published_at"):
        Quote("a", 1.0, datetime(2024, 1, 1))


def test_shipped_parameters_load() -> None:
    parameters = load_oracle_parameters()
    assert parameters.policy == POLICY
    assert parameters.mark.max_basis == 0.10 and parameters.funding.cap == 0.003
