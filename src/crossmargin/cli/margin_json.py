"""The ``margin --json`` document of one result, with its positions built column-wise.

:func:`margin_document` is :func:`crossmargin.margin.margin_result_to_json` plus, for the
scenario models, each position's ``scenario_pnl_usd`` (its P&L in USD in each scenario, in the
order of the document's ``scenarios``). From :data:`COLUMNWISE_FROM` positions on, the rows are
encoded column by column (:mod:`crossmargin.cli.json_rows`), with no dict per position; the
text :func:`~crossmargin.cli.jsonout.dumps_strict` writes is byte for byte the one of the dict
path, :func:`margin_document_dicts`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossmargin.cli.json_rows import encode_column, encode_rows, encode_vectors
from crossmargin.margin.rendering import margin_result_to_json, position_to_json
from crossmargin.margin.result import MarginResult, PositionMargin

__all__ = ["COLUMNWISE_FROM", "SCENARIO_PNL_KEY", "margin_document", "margin_document_dicts"]

#: Positions from which rows are encoded column-wise (below, ``dumps_strict`` indents them).
COLUMNWISE_FROM = 200

#: Key of a position's P&L per scenario, USD, aligned with the document's ``scenarios``.
SCENARIO_PNL_KEY = "scenario_pnl_usd"

_FIELDS = tuple(PositionMargin.__slots__)


def _indices(result: MarginResult, shown: Sequence[int] | None) -> Sequence[int]:
    return range(len(result.positions)) if shown is None else shown


def margin_document_dicts(
    result: MarginResult,
    shown: Sequence[int] | None = None,
    scenario_pnl: NDArray[np.float64] | None = None,
) -> dict[str, Any]:
    """The document with one dict per position (the reference the column-wise path matches).

    ``shown`` picks and orders positions (indices into ``result.positions``; all when None);
    ``scenario_pnl`` is (n_positions, n_scenarios) USD, or None for a model without scenarios.
    """
    document = margin_result_to_json(result, [])
    rows = []
    for i in _indices(result, shown):
        row = position_to_json(result.positions[i])
        if scenario_pnl is not None:
            row[SCENARIO_PNL_KEY] = [
                v if math.isfinite(v) else None for v in scenario_pnl[i].tolist()
            ]
        rows.append(row)
    document["positions"] = rows
    return document


def margin_document(
    result: MarginResult,
    shown: Sequence[int] | None = None,
    scenario_pnl: NDArray[np.float64] | None = None,
) -> dict[str, Any]:
    """The ``margin --json`` document (arguments as :func:`margin_document_dicts`); positions
    are column-wise :class:`~crossmargin.cli.json_rows.EncodedRows` from
    :data:`COLUMNWISE_FROM` of them on."""
    indices = _indices(result, shown)
    if len(indices) < COLUMNWISE_FROM:
        return margin_document_dicts(result, shown, scenario_pnl)
    rows = result.positions if shown is None else [result.positions[i] for i in indices]
    columns = {name: encode_column(list(map(attrgetter(name), rows))) for name in _FIELDS}
    if scenario_pnl is not None:
        picked = scenario_pnl if shown is None else scenario_pnl[np.asarray(indices, np.intp)]
        columns[SCENARIO_PNL_KEY] = encode_vectors(picked)
    document = margin_result_to_json(result, [])
    document["positions"] = encode_rows(columns)
    return document
