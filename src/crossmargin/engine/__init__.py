"""Book engine: margin every account of a venue at once (issue 6).

* :class:`BookEngine` — positions of all accounts as CSR rows, one scenario P&L row per instrument,
  fused numba kernels for ``pm`` and ``span``, incremental pre-trade checks, Dask scale-out;
* :class:`BookMarginResult`, :class:`PreTradeCheck` — what it returns;
* :func:`reference_margin` — the numpy/scipy twin of the kernels;
* :func:`margin_partition` — the Dask task (a CSR slice of accounts and the shared tables).

See ``docs/book-engine.md`` for the design, the benchmark and running on a Dask cluster.
"""

from crossmargin.engine.book_engine import BookEngine
from crossmargin.engine.execution import MarginArrays, margin_partition
from crossmargin.engine.layout import MarginModelName
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.reference import ReferenceMargin, reference_margin
from crossmargin.engine.results import BookMarginResult, MissingDependencyError, PreTradeCheck
from crossmargin.engine.tables import KernelTables

__all__ = [
    "BookEngine",
    "BookMarginResult",
    "KernelTables",
    "MarginArrays",
    "MarginModelName",
    "MissingDependencyError",
    "PackedRows",
    "PreTradeCheck",
    "ReferenceMargin",
    "margin_partition",
    "reference_margin",
]
