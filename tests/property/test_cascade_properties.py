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

from collections.abc import Mapping

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.instruments import parse_instrument
from crossmargin.simulation import (
    AccountMargins,
    CascadeConfig,
    DepthParameters,
    ImpactParameters,
    PositionTable,
    VenueParameters,
    run_cascade,
    shock_moves,
)
from support.markets import flat_market

S0 = 50_000.0
MARKET = flat_market({"BTC": S0})


class _Linear:
    def __init__(self, table: PositionTable) -> None:
        self._table = table

    @property
    def name(self) -> str:
        return "linear"

    @property
    def table(self) -> PositionTable:
        return self._table

    def margin(self, moves: Mapping[str, float], scale: np.ndarray) -> AccountMargins:
        m = moves.get("BTC", 0.0)
        size = self._table.size * scale
        notional = np.abs(size) * S0 * (1.0 + m)
        return AccountMargins(0.2 * notional, 0.1 * notional, size * S0 * m)


def _run(sizes: list[float], cash: list[float], shock: float, reacting: bool):  # type: ignore[no-untyped-def]
    n = len(sizes)
    table = PositionTable.build(
        (parse_instrument("BTC_USDC-PERPETUAL"),),
        MARKET,
        np.arange(n),
        np.zeros(n, np.int64),
        np.array(sizes),
        n,
    )
    config = CascadeConfig(
        ("BTC",), shock_moves(("BTC",), {"BTC": shock}), {"BTC": 2.0 * S0},
        venue=VenueParameters(), impact=ImpactParameters(permanent_fraction=1.0),
        depth=DepthParameters(reacting=reacting), max_rounds=60,
    )  # fmt: skip
    return run_cascade(_Linear(table), np.array(cash) * S0, config)


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
