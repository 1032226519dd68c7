"""Properties of the standard-margin models (isolated and cross) on random accounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crossmargin.instruments import InstrumentKind
from crossmargin.margin.standard.cross import CrossMargin
from crossmargin.margin.standard.isolated import IsolatedMargin, liquidation_prices
from crossmargin.margin.standard.parameters import load_standard_parameters
from crossmargin.margin.standard.rates import rate_arrays, standard_requirements_usd
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position
from crossmargin.pricing import instrument_arrays
from support.strategies import flat_markets

PARAMETERS = load_standard_parameters()
ISOLATED = IsolatedMargin(PARAMETERS)
CROSS = CrossMargin(PARAMETERS)
#: Instrument → (size bound in native units, entry price range or None for options/spot).
INSTRUMENTS: dict[str, tuple[float, tuple[float, float] | None]] = {
    "BTC-PERPETUAL": (2e6, (30_000.0, 120_000.0)),
    "BTC-27DEC24": (2e6, (30_000.0, 120_000.0)),
    "BTC_USDC-PERPETUAL": (300.0, (30_000.0, 120_000.0)),
    "ETH-PERPETUAL": (5e5, (1_500.0, 8_000.0)),
    "ETH_USDC-PERPETUAL": (3_000.0, (1_500.0, 8_000.0)),
    "BTC-28JUN24-80000-C": (50.0, None),
    "BTC-28JUN24-60000-P": (50.0, None),
    "BTC_USDC-27DEC24-70000-P": (50.0, None),
    "BTC_USDC-27DEC24-100000-C": (50.0, None),
    "ETH-28JUN24-3500-P": (500.0, None),
    "BTC_USDC": (20.0, None),
}
SLOW = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Account:
    portfolio: Portfolio
    market: MarketSnapshot


#: Markets from deep bear to deep bull, rates up to 10 %, vols 20–150 %.
markets = partial(
    flat_markets,
    btc_usd=(20_000.0, 200_000.0),
    eth_usd=(500.0, 10_000.0),
    rate_annual=(0.0, 0.1),
    vol_annual=(0.2, 1.5),
)


@st.composite
def positions(draw: st.DrawFn, name: str) -> Position:
    bound, entry_range = INSTRUMENTS[name]
    size = draw(st.floats(-bound, bound).filter(lambda s: abs(s) > bound * 1e-4))
    entry = None
    if entry_range is not None and draw(st.booleans()):
        entry = draw(st.floats(*entry_range))
    return Position.of(name, size, entry)


@st.composite
def accounts(draw: st.DrawFn, max_positions: int = 4) -> Account:
    names = draw(
        st.lists(
            st.sampled_from(sorted(INSTRUMENTS)), min_size=1, max_size=max_positions, unique=True
        )
    )
    collateral = {
        "USDC": Decimal(draw(st.integers(0, 5_000_000))),
        "BTC": Decimal(draw(st.integers(0, 50_000))) / 1000,
        "ETH": Decimal(draw(st.integers(-100, 500))),
    }
    return Account(Portfolio(tuple(draw(positions(n)) for n in names), collateral), draw(markets()))


@SLOW
@given(accounts(), st.floats(-0.6, 2.0))
def test_im_at_least_mm_at_least_zero_for_every_position_and_move(
    account: Account, move: float
) -> None:
    """Per position, in any scenario: IM ≥ MM ≥ 0; and in both models' results."""
    portfolio = account.portfolio
    arrays = instrument_arrays(
        portfolio.instruments, account.market, [p.average_price for p in portfolio.positions]
    )
    sizes = np.array([p.size for p in portfolio.positions])
    req = standard_requirements_usd(
        arrays, sizes, rate_arrays(PARAMETERS, list(arrays.underlying)), move
    )
    assert np.all(req.maintenance_usd >= 0.0)
    assert np.all(req.initial_usd >= req.maintenance_usd)
    for model in (ISOLATED, CROSS):
        result = model.margin(portfolio, account.market)
        assert result.initial_margin >= result.maintenance_margin >= 0


@SLOW
@given(accounts(max_positions=1), st.floats(1.0, 20.0))
def test_margin_is_monotone_in_position_size(account: Account, scale: float) -> None:
    """Scaling a position's |size| up never lowers IM or MM, under either model."""
    position = account.portfolio.positions[0]
    bigger = Portfolio(
        (Position(position.instrument, position.size * scale, position.average_price),),
        account.portfolio.collateral,
    )
    for model in (ISOLATED, CROSS):
        small = model.margin(account.portfolio, account.market)
        large = model.margin(bigger, account.market)
        assert large.initial_margin >= small.initial_margin
        assert large.maintenance_margin >= small.maintenance_margin


@SLOW
@given(accounts())
def test_isolated_requirement_is_the_sum_of_single_position_requirements(
    account: Account,
) -> None:
    """Isolated IM, MM and (equity − collateral) of an account equal the sums over accounts
    holding one position each (same collateral), within the rounding of the components."""
    whole = ISOLATED.margin(account.portfolio, account.market)
    singles = [
        ISOLATED.margin(Portfolio((p,), account.portfolio.collateral), account.market)
        for p in account.portfolio.positions
    ]
    tolerance = Decimal("0.000001") * 3 * len(singles)
    assert abs(whole.initial_margin - sum(s.initial_margin for s in singles)) <= tolerance
    assert abs(whole.maintenance_margin - sum(s.maintenance_margin for s in singles)) <= tolerance
    own_losses = sum(s.equity - s.collateral_value for s in singles)
    assert abs(whole.equity - whole.collateral_value - own_losses) <= tolerance


@SLOW
@given(accounts())
def test_isolated_never_leaves_more_room_than_cross(account: Account) -> None:
    """equity − IM and equity − MM under isolated ≤ the same under cross (rounding aside)."""
    isolated = ISOLATED.margin(account.portfolio, account.market)
    cross = CROSS.margin(account.portfolio, account.market)
    slack = Decimal("0.00001")
    assert isolated.available_usd <= cross.available_usd + slack
    assert (
        isolated.equity - isolated.maintenance_margin
        <= cross.equity - cross.maintenance_margin + slack
    )


@SLOW
@given(accounts(max_positions=1))
def test_liquidation_price_is_where_isolated_equity_meets_maintenance(account: Account) -> None:
    """For a one-position account, revaluing at its liquidation price (when it has one, and is
    not liquidatable already) gives isolated equity = MM, within rounding, when the collateral
    pool is not a net liability there (a liability has no isolated home). (A future without an
    entry price is given its current forward as entry, so that the revalued market does not
    re-enter it at the new mark.)"""
    position = account.portfolio.positions[0]
    instrument = position.instrument
    if position.average_price is None and instrument.kind in (
        InstrumentKind.FUTURE,
        InstrumentKind.PERPETUAL,
    ):
        entry = account.market.forward(instrument.underlying, instrument.expiry)
        position = Position(instrument, position.size, entry)
        account = Account(Portfolio((position,), account.portfolio.collateral), account.market)
    price = liquidation_prices(account.portfolio, account.market, PARAMETERS)[
        position.instrument.name
    ]
    index = account.market.index(position.instrument.underlying)
    assume(price is not None and price != index)
    assert price is not None
    moved = account.market.shocked({position.instrument.underlying: price / index - 1.0})
    result = ISOLATED.margin(account.portfolio, moved)
    assume(result.collateral_value >= 0)
    gap = abs(float(result.equity - result.maintenance_margin))
    assert gap <= 4e-6 + 1e-9 * float(result.maintenance_margin)
