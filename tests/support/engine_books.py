"""The instrument universe the book-engine unit tests share (order matters: the tests index it).

BTC inverse and linear perpetuals, two BTC futures, four BTC options on two expiries, an ETH
perpetual and call, and BTC spot against USDC — every kind and both settlements the engine
treats differently. The market is :data:`support.markets.MARKET` (BTC 72,000 at 60 %, ETH 4,000
at 70 %, r = 0, at :data:`support.markets.NOW`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine import BookEngine

__all__ = ["ENGINE_NAMES", "general_path_margins"]

ENGINE_NAMES = (
    "BTC-PERPETUAL",
    "BTC_USDC-PERPETUAL",
    "BTC-29MAR24",
    "BTC-28JUN24",
    "BTC-28JUN24-80000-C",
    "BTC-28JUN24-60000-P",
    "BTC-29MAR24-72000-C",
    "BTC-29MAR24-72000-P",
    "ETH-PERPETUAL",
    "ETH-28JUN24-4000-C",
    "BTC_USDC",
)


def general_path_margins(engine: BookEngine) -> list[NDArray[Any]]:
    """The pm book kernel on every account of ``engine`` with the delta-one shortcuts off (no
    loss scenarios for any vector, so every account takes the general path): IM, MM, equity
    (USD), margin ratio and the worst scenario's index, one element per account."""
    from crossmargin.engine.kernels_pm import kernel_scratch, pm_book_kernel

    rows, p, n = engine._book, engine.tables.packed, engine.account_count
    out: list[NDArray[Any]] = [np.zeros(n) for _ in range(4)] + [np.zeros(n, dtype=np.int64)]
    pm_book_kernel(
        np.arange(n, dtype=np.int64), rows.row_start, rows.row_len, rows.cols, rows.sizes,
        engine._collateral, p.lanes, p.factor_rows, p.record_int, p.record_float, p.vector_int,
        p.vector_table, p.vector_float, p.bucket_int, p.delta_lane, p.value_lane, *out,
        np.full_like(p.loss_scenarios, -1), p.pair_scenarios,
        *kernel_scratch(p.vector_int, p.width, p.bucket_count, n),
    )  # fmt: skip
    return out
