"""On-chain oracle timing: prices reach the chain only once per block, and may lag.

:class:`OracleTiming` is the parameter the liquidation and simulation work takes:
``CONTINUOUS`` sees every off-chain update at once; ``ON_CHAIN`` writes, at each block boundary
``k × block_time_s``, the latest off-chain price published at or before it, and a reader at
time ``t`` sees the write of the block ``lag_blocks`` before the current one (Ethereum blocks are
12 s; L2 and Solana-style chains run near 0.4–2 s; Drift treats an oracle older than 120 slots as
stale, venues.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.checks import check_positive
from crossmargin.core.errors import InputError

__all__ = ["OracleMode", "OracleTiming", "observe"]

FloatArray = NDArray[np.float64]


class OracleMode(StrEnum):
    """How oracle updates reach the risk engine."""

    CONTINUOUS = "continuous"
    ON_CHAIN = "on-chain"


@dataclass(frozen=True, slots=True)
class OracleTiming:
    """Oracle timing: ``mode``; for ``ON_CHAIN`` the block time (s) and the lag in blocks."""

    mode: OracleMode = OracleMode.CONTINUOUS
    block_time_s: float = 12.0
    lag_blocks: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", OracleMode(self.mode))
        check_positive(self.block_time_s, "timing.block_time_s")
        if (
            isinstance(self.lag_blocks, bool)
            or not isinstance(self.lag_blocks, int)
            or self.lag_blocks < 0
        ):
            raise InputError("timing.lag_blocks", self.lag_blocks, "must be an integer >= 0")


def observe(
    update_times_s: FloatArray,
    update_prices_usd: FloatArray,
    query_times_s: FloatArray,
    timing: OracleTiming,
) -> tuple[FloatArray, FloatArray]:
    """What a reader sees at each query time.

    Parameters
    ----------
    update_times_s, update_prices_usd:
        Off-chain updates: publication times (s, non-decreasing) and prices (USD per unit).
    query_times_s:
        When the price is read (s).
    timing:
        Continuous or per block with a lag.

    Returns
    -------
    (price_usd, age_s)
        The price seen (NaN before any update is visible) and its age at the query: query time
        minus the publication time of the update seen (NaN likewise).
    """
    times = np.asarray(update_times_s, dtype=np.float64)
    prices = np.asarray(update_prices_usd, dtype=np.float64)
    queries = np.asarray(query_times_s, dtype=np.float64)
    if times.shape != prices.shape or times.ndim != 1:
        raise InputError(
            "update_prices_usd", prices.shape, f"must match update_times_s {times.shape}"
        )
    if times.size > 1 and bool(np.any(np.diff(times) < 0)):
        raise InputError("update_times_s", "decreasing", "must be non-decreasing")
    if timing.mode is OracleMode.CONTINUOUS:
        visible_at = queries
    else:
        block = timing.block_time_s
        visible_at = (np.floor(queries / block) - timing.lag_blocks) * block
    seen = np.searchsorted(times, visible_at, side="right") - 1
    valid = seen >= 0
    price = np.full(queries.shape, np.nan)
    age = np.full(queries.shape, np.nan)
    price[valid] = prices[seen[valid]]
    age[valid] = queries[valid] - times[seen[valid]]
    return price, age
