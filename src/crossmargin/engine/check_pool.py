"""The pool of stored per-account state behind pre-trade checks: presized, never grown.

A pre-trade check reads the account's stored scenario vectors instead of its positions. The pool
holds them for a bounded number of accounts: it is allocated and written through once when
positions are loaded (numpy backs big arrays with 2 MiB pages, whose first touch inside a check
would cost ~150 µs), and when every slot is taken the next account reuses the slot given out
longest ago (a clock), whose account is simply rebuilt from its positions at its next check. So
no check ever copies or zeroes the pool: its cost does not depend on the book, nor on how many
accounts were checked before.

Each slot holds, beside the vectors, what a check needs besides them (``pm``): the held positions
per risk vector and the net of each roll bucket, so a warm check never rescans the positions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import CHECK_REQUEST_COLUMNS

__all__ = [
    "CHECK_SECOND_COLUMN",
    "DEFAULT_CHECK_SLOTS",
    "TWO_LEG_REQUEST_COLUMNS",
    "CheckPool",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Request column of a check's second leg (``pm``): an engine-order column (-1: none) whose
#: size is the check's ``trade_size[1]`` (that column's units: coin for an entry-offset
#: column), added with the trade in the same check. It follows the
#: :data:`~crossmargin.engine.columns.CHECK_REQUEST_COLUMNS` of a one-leg request; a kernel reads
#: it only from a request that long.
CHECK_SECOND_COLUMN = CHECK_REQUEST_COLUMNS
#: Length of a request that carries a second leg.
TWO_LEG_REQUEST_COLUMNS = CHECK_REQUEST_COLUMNS + 1

#: Accounts whose state a pool keeps by default (pm, two underlyings: about 1.5 KiB each).
DEFAULT_CHECK_SLOTS = 16_384


class CheckPool:
    """Stored pre-trade state of up to ``capacity`` accounts.

    Attributes
    ----------
    vectors:
        (slots, rows, width) stored raw USD scenario vectors (``pm``: with delta and value lanes).
    epochs:
        (slots,) market epoch each slot was built at (-1: empty or stale).
    holds:
        (slots, rows) held positions per row (``pm``).
    nets:
        (slots, buckets) net coin of each roll bucket (``pm``).
    """

    def __init__(
        self, accounts: int, capacity: int, rows: int, width: int, buckets: int = 0
    ) -> None:
        slots = max(1, min(accounts, capacity))
        self.vectors: FloatArray = np.empty((slots, rows, width))
        self.vectors.fill(0.0)  # written through now, not on a check's first touch
        self.epochs: IntArray = np.full(slots, -1, dtype=np.int64)
        self.holds: IntArray = np.zeros((slots, rows), dtype=np.int64)
        self.holds.fill(0)
        self.nets: FloatArray = np.empty((slots, max(buckets, 1)))
        self.nets.fill(0.0)
        self._slot_of: IntArray = np.full(accounts, -1, dtype=np.int64)
        self._owner: IntArray = np.full(slots, -1, dtype=np.int64)
        self._hand = 0

    @property
    def capacity(self) -> int:
        """Number of slots."""
        return int(self.epochs.shape[0])

    def slot(self, account: int) -> int:
        """``account``'s slot; a new one (stale, so rebuilt at its first use) when it has none,
        taken from the account given a slot longest ago when the pool is full."""
        slot = int(self._slot_of[account])
        if slot >= 0:
            return slot
        slot = self._hand
        self._hand = (slot + 1) % self.capacity
        previous = int(self._owner[slot])
        if previous >= 0:
            self._slot_of[previous] = -1
        self._owner[slot] = account
        self._slot_of[account] = slot
        self.epochs[slot] = -1
        return slot

    def has_slot(self, account: int) -> bool:
        """Whether ``account`` holds a slot now."""
        return bool(self._slot_of[account] >= 0)

    @property
    def nbytes(self) -> int:
        """Bytes of the pool's arrays."""
        arrays = (self.vectors, self.epochs, self.holds, self.nets, self._slot_of, self._owner)
        return int(sum(array.nbytes for array in arrays))
