"""What a kernel (or its numpy twin) gives: margin arrays over the requests of one call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.margin.health import margin_ratio

__all__ = ["MarginArrays"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class MarginArrays:
    """Kernel output over accounts: IM, MM, equity (USD), the global worst scenario index and
    the margin ratio (MM / equity, dimensionless, by
    :func:`crossmargin.margin.health.margin_ratio`).

    A kernel that assembles its results in place (``pm``) writes ``margin_ratio`` itself; when
    it is not given, it is computed here from ``maintenance_margin`` and ``equity``.
    """

    initial_margin: FloatArray
    maintenance_margin: FloatArray
    equity: FloatArray
    worst_scenario_index: IntArray
    margin_ratio: FloatArray = None  # type: ignore[assignment]  # filled in __post_init__

    def __post_init__(self) -> None:
        if self.margin_ratio is None:
            object.__setattr__(
                self, "margin_ratio", margin_ratio(self.maintenance_margin, self.equity)
            )

    @classmethod
    def empty(cls, count: int) -> MarginArrays:
        """Arrays for ``count`` accounts (zeros, worst -1)."""
        return cls(
            np.zeros(count), np.zeros(count), np.zeros(count), np.full(count, -1, np.int64),
            np.zeros(count),
        )  # fmt: skip

    @classmethod
    def for_kernel(cls, count: int) -> MarginArrays:
        """Uninitialised arrays for ``count`` accounts that a kernel fills completely (every
        kernel writes all five outputs of every account it is given): no zeroing pass, and
        a freed block of the same size is reused without fresh pages."""
        return cls(
            np.empty(count), np.empty(count), np.empty(count), np.empty(count, np.int64),
            np.empty(count),
        )  # fmt: skip

    def slice(self, first: int, last: int) -> MarginArrays:
        """Views of elements ``first`` .. ``last - 1`` (writes go through)."""
        return MarginArrays(
            self.initial_margin[first:last],
            self.maintenance_margin[first:last],
            self.equity[first:last],
            self.worst_scenario_index[first:last],
            self.margin_ratio[first:last],
        )

    def copy(self) -> MarginArrays:
        """Writable copies of the five arrays."""
        return MarginArrays(
            self.initial_margin.copy(),
            self.maintenance_margin.copy(),
            self.equity.copy(),
            self.worst_scenario_index.copy(),
            self.margin_ratio.copy(),
        )
