"""Our own procyclicality figures on the real BTC history, frozen (README "Procyclicality").

These are numbers crossmargin produced (BTC DVOL 2021-03-24 … 2026-04-06, Binance daily closes
since 2017-08-17 for the ten-year floor, config/dynamic_parameters.toml version 2026-12-01.1); a
change to the data, the parameters or the formulas shows here first.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from crossmargin.market.history import load_market_history
from crossmargin.riskparams import (
    APCTool,
    comparison_tools,
    load_dynamic_parameters,
    procyclicality_table,
)
from support.shared_data import require_shared_data

#: label → (peak/trough, max 1-day rise, max 5-day rise, mean margin USD)
FROZEN = {
    "none": (3.30, 0.5452, 1.1170, 172_811),
    "buffer 25%": (2.91, 0.5452, 0.6944, 208_486),
    "stressed weight 25%": (1.86, 0.2762, 0.4789, 237_374),
    "10-year floor": (1.71, 0.4416, 0.4606, 218_432),
    "cap 10%/day": (3.30, 0.1000, 0.6105, 172_383),
    "buffer 25% + cap 10%/day": (2.91, 0.1000, 0.6059, 208_261),
}


@pytest.fixture(scope="module")
def rows():  # type: ignore[no-untyped-def]
    history = load_market_history(require_shared_data())
    config = load_dynamic_parameters()
    return procyclicality_table(
        history, "BTC", date(2021, 3, 24), config, comparison_tools(config.apc)
    )


def test_frozen_table(rows) -> None:  # type: ignore[no-untyped-def]
    assert [row.label for row in rows] == list(FROZEN)
    for row in rows:
        ratio, rise_1d, rise_5d, mean = FROZEN[row.label]
        m = row.measures
        assert m.peak_to_trough == pytest.approx(ratio, abs=0.005), row.label
        assert m.max_increase_1d == pytest.approx(rise_1d, abs=5e-5), row.label
        assert m.max_increase_5d == pytest.approx(rise_5d, abs=5e-5), row.label
        assert m.mean_margin_usd == pytest.approx(mean, abs=0.5), row.label


def test_tools_do_what_they_promise_on_real_history(rows) -> None:  # type: ignore[no-untyped-def]
    by_tool = {row.label: row for row in rows}
    raw = by_tool["none"].path.margin_usd
    for label, row in by_tool.items():
        # every tool margins at least the raw path (a cap only delays a rise)
        if "cap" not in label:
            assert np.all(row.path.margin_usd >= raw - 1e-9), label
        assert row.measures.peak_to_trough <= by_tool["none"].measures.peak_to_trough + 1e-12
    for label in ("cap 10%/day", "buffer 25% + cap 10%/day"):
        margin = by_tool[label].path.margin_usd
        assert np.max(margin[1:] / margin[:-1]) <= 1.10 + 1e-12
    assert by_tool["10-year floor"].path.apc.tool is APCTool.TEN_YEAR_FLOOR
    # BTC DVOL close on 2021-05-19 was 124.83 (shared/data/README.md): driver 1.2483, range capped.
    none = by_tool["none"].path
    may19 = int(np.flatnonzero(none.dates == np.datetime64("2021-05-19"))[0])
    assert none.raw_vol_annual[may19] == pytest.approx(1.2483)
    assert none.parameter_set(date(2021, 5, 19)).price_range == pytest.approx(0.33)
