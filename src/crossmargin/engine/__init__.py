"""Book engine: margin every account of a venue at once (issue 6).

* :class:`BookEngine` — positions of all accounts as CSR rows, one scenario P&L row per instrument,
  fused numba kernels for ``pm`` and ``span``, incremental pre-trade checks, Dask scale-out;
* :class:`BookMarginResult`, :class:`PreTradeCheck`, :class:`AccountMargin` — what it returns;
* :class:`ModelSpec`, :data:`MODEL_SPECS`, :func:`model_spec` — one registered spec per model
  (block builder, parameter columns, numba kernel, numpy twin);
* :func:`reference_margin` — the numpy/scipy twin of the kernels;
* :func:`margin_partition` — the Dask task (a CSR slice of accounts and the shared tables).

See ``docs/book-engine.md`` for the design, the benchmark and running on a Dask cluster.
"""

from crossmargin.engine.book_engine import BookEngine
from crossmargin.engine.execution import margin_partition, reference_margin
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.model_spec import ModelSpec
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.results import (
    AccountMargin,
    BookMarginResult,
    MissingDependencyError,
    PreTradeCheck,
)
from crossmargin.engine.specs import MODEL_SPECS, model_spec
from crossmargin.engine.tables import KernelTables

__all__ = [
    "MODEL_SPECS",
    "AccountMargin",
    "BookEngine",
    "BookMarginResult",
    "KernelTables",
    "MarginArrays",
    "MissingDependencyError",
    "ModelSpec",
    "PackedRows",
    "PreTradeCheck",
    "margin_partition",
    "model_spec",
    "reference_margin",
]
