"""The two netting rules agree: :func:`crossmargin.portfolio.apply_trade` (float, what-ifs and
risk) and :func:`crossmargin.ledger.netting.net_trade` (``Decimal``, the books).

They live on two sides of the numeric policy (DESIGN.md §2: floats in risk, ``Decimal`` in the
ledger), so the rule is written twice on purpose; this property holds the two to the same
answer for every delta-one contract type, direction, reduction, close and flip: the size after
the trade to float precision, the average entry to 1e-9 relative, and the realised P&L to one
quantum of the settlement currency (the float side rounds it to the nearest quantum).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from crossmargin.core.numeric import quantum_for
from crossmargin.instruments import Instrument, parse_instrument
from crossmargin.ledger.netting import net_trade
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position, apply_trade
from support.markets import NOW

MARKET = MarketSnapshot(
    valuation_time=NOW,
    index_usd={"BTC": 72_000.0},
    vol_surfaces={"BTC": VolSurface.flat(0.6)},
)
DELTA_ONE = [
    parse_instrument(name)
    for name in ("BTC-PERPETUAL", "BTC_USDC-PERPETUAL", "BTC-27DEC24", "BTC_USDC-27DEC24")
]

#: Sizes on a 0.01 grid (exact in binary-to-decimal round trips at this magnitude), both signs.
sizes = st.integers(min_value=-2_000_000, max_value=2_000_000).filter(bool).map(lambda n: n / 100)
prices = st.integers(min_value=1_000_000, max_value=20_000_000).map(lambda n: n / 100)


@given(
    instrument=st.sampled_from(DELTA_ONE),
    old_size=sizes,
    old_entry=prices,
    trade_size=sizes,
    trade_price=prices,
)
def test_float_and_decimal_netting_agree(
    instrument: Instrument, old_size: float, old_entry: float, trade_size: float, trade_price: float
) -> None:
    """Same size, average entry and realised P&L from both implementations."""
    contract = instrument
    before = Portfolio.of([Position(contract, old_size, old_entry)])
    after = apply_trade(before, contract, trade_size, MARKET, price=trade_price)
    netted = net_trade(
        contract,
        Decimal(repr(old_size)),
        Decimal(repr(old_entry)),
        Decimal(repr(trade_size)),
        Decimal(repr(trade_price)),
    )

    positions = {position.instrument: position for position in after.positions}
    size_after = positions[contract].size if contract in positions else 0.0
    assert abs(size_after - float(netted.size_after)) <= 1e-9 * max(1.0, abs(size_after))
    if netted.average_price_after is None:
        assert contract not in positions
    else:
        average = positions[contract].average_price
        assert average is not None
        expected = float(netted.average_price_after)
        assert abs(average - expected) <= 1e-9 * expected

    currency = contract.settlement_currency
    realised_float = after.collateral.get(currency, Decimal(0))
    quantum = quantum_for(currency)
    tolerance = quantum + abs(netted.realised_pnl) * Decimal("1e-12")
    assert abs(realised_float - netted.realised_pnl) <= tolerance
