"""Properties of the Deribit-style portfolio margin on random portfolios and markets (issue 4,
"What must hold").

Markets are flat-vol (the scenario revaluation keeps each option's own vol plus the shock —
sticky strike — which is exactly ``MarketSnapshot.shocked`` on a flat surface) with no explicit
forwards, so a rate-shocked scenario is exactly a snapshot with the rate moved. Sizes stay below
Deribit's $20M delta-shock threshold unless a test says otherwise.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from crossmargin.collateral import default_haircuts
from crossmargin.instruments import parse_instrument
from crossmargin.margin import MarginResult
from crossmargin.margin.common import view_account
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position, value_portfolio
from crossmargin.pricing import instrument_arrays, unit_greeks_usd
from crossmargin.scenarios import ScenarioKind
from support.markets import NOW
from support.strategies import flat_markets

PM = PortfolioMargin()
HAIRCUTS = default_haircuts()
ROUNDING = Decimal("0.00001")  # components are rounded up to 1e-6 USD each

BTC_EXPIRIES = ("15MAR24", "29MAR24", "28JUN24", "27DEC24")
BTC_STRIKES = (50000, 65000, 72000, 80000, 100000)
BTC_OPTIONS = tuple(
    f"BTC{quote}-{expiry}-{strike}-{kind}"
    for quote in ("", "_USDC")
    for expiry in BTC_EXPIRIES
    for strike in BTC_STRIKES
    for kind in ("C", "P")
)
ETH_OPTIONS = tuple(
    f"ETH-{expiry}-{strike}-{kind}"
    for expiry in ("29MAR24", "28JUN24")
    for strike in (3000, 4000, 5000)
    for kind in ("C", "P")
)
INVERSE_DELTA_ONE = ("BTC-PERPETUAL", "BTC-29MAR24", "BTC-28JUN24", "ETH-PERPETUAL")
LINEAR_DELTA_ONE = ("BTC_USDC-PERPETUAL", "BTC_USDC-28JUN24", "ETH_USDC-PERPETUAL")
ALL_NAMES = BTC_OPTIONS + ETH_OPTIONS + INVERSE_DELTA_ONE + LINEAR_DELTA_ONE


markets = flat_markets


def _size(draw: st.DrawFn, name: str) -> float:
    magnitude = (
        draw(st.floats(1000.0, 1_000_000.0))
        if name in INVERSE_DELTA_ONE and name[:3] == "BTC"
        else draw(st.floats(100.0, 50_000.0))
        if name in INVERSE_DELTA_ONE
        else draw(st.floats(0.1, 30.0))
        if name[:3] == "BTC"
        else draw(st.floats(1.0, 300.0))
    )
    return magnitude if draw(st.booleans()) else -magnitude


def _position(draw: st.DrawFn, name: str, market: MarketSnapshot) -> Position:
    instrument = parse_instrument(name)
    entry = None
    if instrument.strike is None:
        index = market.index(instrument.underlying)
        entry = index * draw(st.floats(0.9, 1.1))
    return Position(instrument, _size(draw, name), entry)


@st.composite
def books(draw: st.DrawFn, max_positions: int = 5) -> tuple[Portfolio, MarketSnapshot]:
    market = draw(markets())
    names = draw(
        st.lists(st.sampled_from(ALL_NAMES), min_size=1, max_size=max_positions, unique=True)
    )
    return Portfolio.of([_position(draw, n, market) for n in names], {"USDC": 100}), market


def _value_of(portfolio: Portfolio, market: MarketSnapshot, underlying: str) -> float:
    rows = value_portfolio(portfolio, market, HAIRCUTS).positions
    return sum(row.mark_value_usd for row in rows if row.underlying == underlying)


def _scale(portfolio: Portfolio) -> float:
    """A USD size of the book, for absolute tolerances."""
    return 1.0 + sum(
        abs(p.size) * (1.0 if p.instrument.is_inverse and p.instrument.strike is None else 1e5)
        for p in portfolio.positions
    )


@settings(max_examples=40, deadline=None)
@given(books())
def test_each_scenario_pnl_is_a_full_revaluation(book: tuple[Portfolio, MarketSnapshot]) -> None:
    """For every standard scenario whose vol shock is one number: the raw USD P&L of the pair's
    risk vectors adds up to ``value_portfolio`` at ``market.shocked(...)`` minus the base value;
    and the reported P&L is each vector's raw P&L in its currency at the scenario price (over
    S·(1 + m) for the pair's coin, over 1 for USDC), valued at the current price, gains at the
    currency's pnl_offset (the caps are far away here)."""
    portfolio, market = book
    result = PM.margin(portfolio, market)
    risk = PM.risk(view_account(portfolio, market, HAIRCUTS))
    checked = 0
    for underlying in portfolio.underlyings:
        scenario_set = risk.sets[underlying]
        rows = [s for s in result.scenarios if s.underlying == underlying]
        vectors = [v for v in risk.vectors if v.pair == underlying]
        base = _value_of(portfolio, market, underlying)
        for k, row in enumerate(rows):
            if scenario_set.kinds[k] is ScenarioKind.EXTENDED or isinstance(row.vol_shock, dict):
                continue
            shifts = {underlying: row.vol_shock} if row.vol_shock != 0.0 else None
            shocked = market.shocked({underlying: row.price_move}, shifts)
            expected = _value_of(portfolio, shocked, underlying) - base
            raw = sum(float(v.raw_pnl_usd[k]) for v in vectors)
            assert abs(raw - expected) <= 1e-9 * abs(expected) + 1e-9 * _scale(portfolio)
            counted = 0.0
            for v in vectors:
                x = float(v.raw_pnl_usd[k])
                if v.currency == underlying:
                    x /= 1.0 + row.price_move
                offset = PM.parameters.for_currency(v.currency).pnl_offset
                counted += min(x, 0.0) + offset * max(x, 0.0)
            assert abs(row.pnl_usd - counted) <= 1e-9 * abs(counted) + 1e-9 * _scale(portfolio)
            checked += 1
    assert checked >= 9  # at least the unchanged-vol grid


@st.composite
def long_option_books(draw: st.DrawFn) -> tuple[Portfolio, MarketSnapshot]:
    market = draw(markets())
    names = draw(
        st.lists(st.sampled_from(BTC_OPTIONS + ETH_OPTIONS), min_size=1, max_size=4, unique=True)
    )
    sizes = [draw(st.floats(1.0, 30.0)) for _ in names]
    return Portfolio.of(list(zip(names, sizes, strict=True)), {"USDC": 1}), market


@settings(max_examples=40, deadline=None)
@given(long_option_books())
def test_a_long_option_book_never_needs_more_than_its_premium_at_the_scenario_price(
    book: tuple[Portfolio, MarketSnapshot],
) -> None:
    """A long option loses at most its value V in USD in any scenario; in its settlement coin
    at the scenario price that is V/(S·(1 + m)), valued at S: at most V/(1 − 0.18) with the
    widest range (ETH's). So worst case + correlation contingency ≤ premium/0.82, and a book of
    options has no roll shock (no futures) and, this small, no delta shock."""
    portfolio, market = book
    result = PM.margin(portfolio, market)
    premium = sum(p.mark_value_usd for p in result.positions)
    scenario = result.components["worst_case"] + result.components["correlation_contingency"]
    assert scenario <= Decimal(repr(premium / 0.82)) + ROUNDING
    assert result.maintenance_margin <= result.initial_margin


@settings(max_examples=40, deadline=None)
@given(books(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_margin_is_monotone_in_position_size(
    book: tuple[Portfolio, MarketSnapshot], low: float, high: float
) -> None:
    """PM(a·P) ≤ PM(b·P) for 0 ≤ a ≤ b: every counted scenario loss and every contingency grows
    with the size of the whole book."""
    portfolio, market = book
    a, b = sorted((low, high))
    scaled = [PM.margin(_scaled(portfolio, factor), market) for factor in (a, b, 1.0)]
    assert scaled[0].initial_margin <= scaled[1].initial_margin + ROUNDING
    assert scaled[1].initial_margin <= scaled[2].initial_margin + ROUNDING


def _scaled(portfolio: Portfolio, factor: float) -> Portfolio:
    return Portfolio(
        tuple(
            Position(p.instrument, p.size * factor, p.average_price) for p in portfolio.positions
        ),
        portfolio.collateral,
    )


def _pnls(result: MarginResult) -> dict[str, float]:
    """Counted P&L per scenario label (a pair the account does not hold counts 0)."""
    return {s.label: s.pnl_usd for s in result.scenarios}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(books(max_positions=3), st.data())
def test_adding_a_position_that_reduces_every_scenario_loss_never_raises_pm(
    book: tuple[Portfolio, MarketSnapshot], data: st.DataObject
) -> None:
    """Q is a partial close of one position or a new position. If P + Q counts no less P&L than
    P in any pair's scenario (grid and extended; a gain that offsets another pair's loss counts
    too, a pair not held counts 0), worst case + correlation contingency does not rise (their
    sum is the loss of the pairs' aligned sum); if Q also adds nothing to the roll and delta
    shocks, the whole PM does not rise."""
    portfolio, market = book
    positions = list(portfolio.positions)
    close = data.draw(st.booleans(), label="close")
    if close:
        index = data.draw(st.integers(0, len(positions) - 1), label="which")
        kept = positions[index]
        fraction = data.draw(st.floats(0.05, 1.0), label="fraction")
        positions[index] = Position(kept.instrument, kept.size * (1 - fraction), kept.average_price)
    else:
        names = [n for n in ALL_NAMES if n not in {p.instrument.name for p in positions}]
        name = data.draw(st.sampled_from(names), label="new")
        positions.append(_new_position(data, name, market))
    before = PM.margin(portfolio, market)
    after = PM.margin(Portfolio(tuple(positions), portfolio.collateral), market)
    pnl_before, pnl_after = _pnls(before), _pnls(after)
    tolerance = 1e-9 * _scale(portfolio)
    assume(
        all(
            pnl_after.get(label, 0.0) >= pnl_before.get(label, 0.0) - tolerance
            for label in pnl_before.keys() | pnl_after.keys()
        )
    )
    scenario_risk = ("worst_case", "correlation_contingency")
    scan_before = sum(before.components[name] for name in scenario_risk)
    scan_after = sum(after.components[name] for name in scenario_risk)
    # Each scenario may lose up to `tolerance` more (float noise accepted by the assumption).
    slack = ROUNDING + Decimal(repr(tolerance))
    assert scan_after <= scan_before + slack
    grows = any(
        value > before.components.get(name, Decimal(0))
        for name, value in after.components.items()
        if name not in scenario_risk
    )
    event(
        f"{'partial close' if close else 'new position'}; "
        f"{'a contingency base grew' if grows else 'whole PM checked'}"
    )
    if not grows:
        assert after.initial_margin <= before.initial_margin + slack


def _new_position(data: st.DataObject, name: str, market: MarketSnapshot) -> Position:
    return data.draw(st.composite(lambda draw: _position(draw, name, market))(), label="position")


@settings(max_examples=40, deadline=None)
@given(books())
def test_initial_at_least_maintenance_and_positive_when_risky(
    book: tuple[Portfolio, MarketSnapshot],
) -> None:
    """IM ≥ MM ≥ 0 always; a book that loses in some scenario needs IM ≥ MM > 0."""
    portfolio, market = book
    result = PM.margin(portfolio, market)
    assert result.initial_margin >= result.maintenance_margin >= 0
    if np.any(result.scenario_pnl < -1e-6):
        assert result.maintenance_margin > 0


def _pm(positions: list[tuple[str, float]], market: MarketSnapshot) -> float:
    return float(PM.margin(Portfolio.of(positions), market).initial_margin)


def _hedge_ratio(legs: list[tuple[str, float]], market: MarketSnapshot) -> float:
    return _pm(legs, market) / sum(_pm([leg], market) for leg in legs)


HEDGE_STRIKES = st.sampled_from((60000, 65000, 72000, 80000, 90000))
COINS = st.floats(0.5, 20.0)


@st.composite
def at_72000(draw: st.DrawFn) -> MarketSnapshot:
    return MarketSnapshot(
        NOW,
        {"BTC": 72000.0},
        draw(st.floats(0.0, 0.06)),
        {"BTC": VolSurface.flat(draw(st.floats(0.35, 1.0)))},
    )


@settings(max_examples=25, deadline=None)
@given(at_72000(), HEDGE_STRIKES, COINS)
def test_hedges_need_materially_less_than_their_legs(
    market: MarketSnapshot, strike: int, coins: float
) -> None:
    """A delta-hedged long call, a covered call (an inverse perpetual: one currency), a calendar
    call spread and a box each need at most 80 % of the sum of their legs' standalone PM."""
    call = f"BTC-28JUN24-{strike}-C"
    delta = float(unit_greeks_usd(instrument_arrays([parse_instrument(call)], market))["delta"][0])
    hedged = [(call, coins), ("BTC-PERPETUAL", -delta * coins * 72000.0)]
    covered = [("BTC-PERPETUAL", coins * 72000.0), (call, -coins)]
    calendar = [(f"BTC-29MAR24-{strike}-C", -coins), (call, coins)]
    box = [
        ("BTC-28JUN24-60000-C", coins),
        ("BTC-28JUN24-90000-C", -coins),
        ("BTC-28JUN24-60000-P", -coins),
        ("BTC-28JUN24-90000-P", coins),
    ]
    for legs in (hedged, covered, calendar, box):
        assert _hedge_ratio(legs, market) < 0.8, legs
