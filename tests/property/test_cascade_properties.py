"""Cascade invariants (hypothesis) on books of long BTC_USDC perpetuals under a linear margin:

* pure liquidation selling with permanent impact (φ = 1) moves the price down only;
* a bigger shock never liquidates fewer accounts on the same book. This holds here because every
  account is long: equity − 1.05·MM = cash + q·S0·m − 0.105·q·S0·(1 + m) falls with the price,
  so at every round the bigger shock's price is at or below the smaller one's (more selling) and
  each account breaches no later. It does *not* hold for books with shorts or options in
  general: a crash makes shorts and long puts richer, and a convex account can leave the
  liquidation band as the price falls further.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.simulation import (
    CascadeConfig,
    DepthParameters,
    ImpactParameters,
    VenueParameters,
    run_cascade,
    shock_moves,
)
from support.cascades import S0, LinearMargin, perps
from support.markets import flat_market

MARKET = flat_market({"BTC": S0})


def _run(sizes: list[float], cash: list[float], shock: float, reacting: bool):  # type: ignore[no-untyped-def]
    table = perps(MARKET, sizes)
    config = CascadeConfig(
        ("BTC",), shock_moves(("BTC",), {"BTC": shock}), {"BTC": 2.0 * S0},
        venue=VenueParameters(), impact=ImpactParameters(permanent_fraction=1.0),
        depth=DepthParameters(reacting=reacting), max_rounds=60,
    )  # fmt: skip
    return run_cascade(LinearMargin(table), np.array(cash) * S0, config)


accounts = st.lists(st.tuples(st.floats(0.1, 5.0), st.floats(0.11, 1.0)), min_size=3, max_size=8)


@settings(max_examples=40, deadline=None)
@given(accounts, st.floats(-0.4, -0.01), st.booleans())
def test_price_falls_monotonically_under_liquidation_selling(
    book: list[tuple[float, float]], shock: float, reacting: bool
) -> None:
    sizes = [s for s, _ in book]
    cash = [c * s for s, c in book]
    result = _run(sizes, cash, shock, reacting)
    assert np.all(np.diff(result.prices[1:, 0]) <= 1e-9 * S0)


@settings(max_examples=40, deadline=None)
@given(accounts, st.floats(-0.3, -0.01), st.floats(0.0, 0.2))
def test_bigger_shock_never_liquidates_fewer_accounts(
    book: list[tuple[float, float]], shock: float, extra: float
) -> None:
    sizes = [s for s, _ in book]
    cash = [c * s for s, c in book]
    small = _run(sizes, cash, shock, False)
    big = _run(sizes, cash, shock - extra, False)
    assert big.accounts_liquidated >= small.accounts_liquidated
