"""What a kernel (or its numpy twin) gives: margin arrays over the requests of one call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MarginArrays"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class MarginArrays:
    """Kernel output over accounts: IM, MM, equity (USD) and the global worst scenario index."""

    initial_margin: FloatArray
    maintenance_margin: FloatArray
    equity: FloatArray
    worst_scenario_index: IntArray

    @classmethod
    def empty(cls, count: int) -> MarginArrays:
        """Arrays for ``count`` accounts (zeros, worst -1)."""
        return cls(np.zeros(count), np.zeros(count), np.zeros(count), np.full(count, -1, np.int64))

    def slice(self, first: int, last: int) -> MarginArrays:
        """Views of elements ``first`` .. ``last - 1`` (writes go through)."""
        return MarginArrays(
            self.initial_margin[first:last],
            self.maintenance_margin[first:last],
            self.equity[first:last],
            self.worst_scenario_index[first:last],
        )
