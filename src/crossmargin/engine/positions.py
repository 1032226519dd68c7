"""Positions of every account: compressed rows (CSR) with a little room in each row for trades.

Row ``a`` holds account a's positions in ``cols[row_start[a] : row_start[a] + row_len[a]]``
(instrument indices, ascending, int32) and the same slice of ``sizes`` (float64, native units,
never 0). Each row has ``row_capacity[a]`` slots, so a trade in a new instrument usually fills a
free slot in place; a full row moves to the end of the buffers with twice the room. Rows stay
sorted, so the same positions always give the same bytes out whatever the trade history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["PackedRows", "PositionBook"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: Free slots given to every row at load, for trades in new instruments.
ROW_SLACK = 2


@dataclass(frozen=True, eq=False)
class PackedRows:
    """Positions as a plain CSR matrix without free slots: ``indptr`` (n_a + 1), ``cols``,
    ``sizes``."""

    indptr: IntArray
    cols: NDArray[np.int32]
    sizes: FloatArray

    @property
    def row_start(self) -> IntArray:
        """Start of each row (``indptr[:-1]``)."""
        return self.indptr[:-1]

    @property
    def row_len(self) -> IntArray:
        """Length of each row."""
        return np.diff(self.indptr)


def _non_decreasing(values: IntArray) -> bool:
    """Whether ``values`` never decrease, checked a million at a time (no book-sized
    temporary)."""
    step = 1 << 20
    previous = -1
    for lo in range(0, values.shape[0], step):
        chunk = values[lo : lo + step]
        if chunk[0] < previous or not bool(np.all(chunk[1:] >= chunk[:-1])):
            return False
        previous = int(chunk[-1])
    return True


@numba.njit(cache=True, nogil=True)
def _normalise_rows(
    row_start: IntArray, row_len: IntArray, cols: NDArray[np.int32], sizes: FloatArray
) -> None:  # pragma: no cover - compiled
    """Sort each row by instrument (insertion sort: rows are short), add up repeated
    instruments and drop zero positions, in place; ``row_len`` is updated."""
    for a in range(row_start.shape[0]):
        start = row_start[a]
        stop = start + row_len[a]
        for j in range(start + 1, stop):
            col = cols[j]
            size = sizes[j]
            k = j - 1
            while k >= start and cols[k] > col:
                cols[k + 1] = cols[k]
                sizes[k + 1] = sizes[k]
                k -= 1
            cols[k + 1] = col
            sizes[k + 1] = size
        kept = start
        j = start
        while j < stop:
            col = cols[j]
            size = sizes[j]
            j += 1
            while j < stop and cols[j] == col:
                size += sizes[j]
                j += 1
            if size != 0.0:
                cols[kept] = col
                sizes[kept] = size
                kept += 1
        for j in range(kept, stop):
            cols[j] = 0
            sizes[j] = 0.0
        row_len[a] = kept - start


class PositionBook:
    """Mutable store of all accounts' positions (see the module docstring).

    Build it with :meth:`from_arrays` from validated arrays; :meth:`set_size` changes one
    position in time proportional to the account's row, never to the book.
    """

    def __init__(
        self,
        account_count: int,
        row_start: IntArray,
        row_len: IntArray,
        row_capacity: IntArray,
        cols: NDArray[np.int32],
        sizes: FloatArray,
        end: int,
    ) -> None:
        self.account_count = account_count
        self.row_start = row_start
        self.row_len = row_len
        self.row_capacity = row_capacity
        self.cols = cols
        self.sizes = sizes
        self.end = end

    @classmethod
    def empty(cls, account_count: int = 0) -> PositionBook:
        """A book of ``account_count`` accounts without positions."""
        zeros = np.zeros(account_count, dtype=np.int64)
        return cls(
            account_count, zeros.copy(), zeros.copy(), zeros.copy(),
            np.zeros(0, dtype=np.int32), np.zeros(0), 0,
        )  # fmt: skip

    @classmethod
    def from_arrays(
        cls,
        account_index: IntArray,
        instrument_index: IntArray,
        size: FloatArray,
        account_count: int,
        instrument_count: int,
    ) -> PositionBook:
        """Net duplicate (account, instrument) pairs by adding their sizes (in input order),
        drop zero positions, sort each row by instrument. Inputs must already be valid (see the
        engine's checks); no temporary larger than a few arrays of the positions' length."""
        accounts, instruments = account_index, instrument_index
        if not _non_decreasing(accounts):
            order = np.argsort(accounts, kind="stable")
            accounts, instruments, size = accounts[order], instruments[order], size[order]
        counts = np.bincount(accounts, minlength=account_count).astype(np.int64)
        capacity = counts + ROW_SLACK
        row_start = np.zeros(account_count, dtype=np.int64)
        if account_count:
            row_start[1:] = np.cumsum(capacity)[:-1]
        total = int(capacity.sum())
        cols = np.zeros(total, dtype=np.int32)
        sizes = np.zeros(total, dtype=np.float64)
        # slot of position n: its row's start + its rank in the row = n + (start - first index)
        target = np.arange(accounts.shape[0], dtype=np.int64)
        if account_count:
            target += (row_start - (np.cumsum(counts) - counts))[accounts]
        cols[target] = instruments
        sizes[target] = size
        del target
        _normalise_rows(row_start, counts, cols, sizes)
        return cls(account_count, row_start, counts, capacity, cols, sizes, total)

    @property
    def position_count(self) -> int:
        """Number of (non-zero) positions."""
        return int(self.row_len.sum())

    def row(self, account: int) -> tuple[NDArray[np.int32], FloatArray]:
        """(instrument indices, sizes) of ``account``, as read-only copies."""
        start = int(self.row_start[account])
        stop = start + int(self.row_len[account])
        return self.cols[start:stop].copy(), self.sizes[start:stop].copy()

    def size_of(self, account: int, instrument: int) -> float:
        """Current size of ``account`` in ``instrument`` (0.0 when none)."""
        start = int(self.row_start[account])
        stop = start + int(self.row_len[account])
        slot = start + int(np.searchsorted(self.cols[start:stop], instrument))
        if slot < stop and int(self.cols[slot]) == instrument:
            return float(self.sizes[slot])
        return 0.0

    def set_size(self, account: int, instrument: int, size: float) -> None:
        """Set ``account``'s position in ``instrument`` to ``size`` (0 removes it)."""
        start = int(self.row_start[account])
        length = int(self.row_len[account])
        stop = start + length
        slot = start + int(np.searchsorted(self.cols[start:stop], instrument))
        present = slot < stop and int(self.cols[slot]) == instrument
        if present and size != 0.0:
            self.sizes[slot] = size
        elif present:
            self.cols[slot : stop - 1] = self.cols[slot + 1 : stop]
            self.sizes[slot : stop - 1] = self.sizes[slot + 1 : stop]
            self.row_len[account] = length - 1
        elif size != 0.0:
            if length == int(self.row_capacity[account]):
                offset = slot - start
                start = self._move_row(account, max(2 * length, 4))
                slot = start + offset
                stop = start + length
            self.cols[slot + 1 : stop + 1] = self.cols[slot:stop]
            self.sizes[slot + 1 : stop + 1] = self.sizes[slot:stop]
            self.cols[slot] = instrument
            self.sizes[slot] = size
            self.row_len[account] = length + 1

    def _move_row(self, account: int, capacity: int) -> int:
        """Move ``account``'s row to the end of the buffers with ``capacity`` slots; returns its
        new start. The buffers grow by doubling, so a move costs O(row) amortised."""
        if self.end + capacity > self.cols.shape[0]:
            grown = max(2 * self.cols.shape[0], self.end + capacity)
            self.cols = np.concatenate([self.cols, np.zeros(grown - self.cols.shape[0], np.int32)])
            self.sizes = np.concatenate([self.sizes, np.zeros(grown - self.sizes.shape[0])])
        old = int(self.row_start[account])
        length = int(self.row_len[account])
        new = self.end
        self.cols[new : new + length] = self.cols[old : old + length]
        self.sizes[new : new + length] = self.sizes[old : old + length]
        self.row_start[account] = new
        self.row_capacity[account] = capacity
        self.end = new + capacity
        return new

    def packed(self, first: int = 0, last: int | None = None) -> PackedRows:
        """Accounts ``first`` .. ``last - 1`` as a plain CSR matrix (copies)."""
        stop = self.account_count if last is None else last
        lengths = self.row_len[first:stop]
        indptr = np.zeros(stop - first + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        total = int(indptr[-1])
        starts = self.row_start[first:stop]
        owner = np.repeat(np.arange(stop - first), lengths)
        source = starts[owner] + (np.arange(total) - indptr[:-1][owner])
        return PackedRows(indptr, self.cols[source], self.sizes[source])
