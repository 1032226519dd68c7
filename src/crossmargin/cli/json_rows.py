"""Position rows of ``--json`` built column-wise: no Python dict per position.

:func:`encode_rows` turns columns (one list or array per key) into the compact JSON objects that
``json.dumps(row)`` would write for each row (the same bytes: keys in order, ``", "`` and ``": "``
separators, ``repr`` of each float, ASCII-escaped strings, ``null`` for a non-finite float), so a
book of a million positions costs one ``repr`` per number instead of an encoder pass per dict.
:func:`crossmargin.cli.jsonout.dumps_strict` writes an :class:`EncodedRows` one row per line, as
it writes any long list.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EncodedRows", "encode_column", "encode_rows", "encode_vectors"]


@dataclass(frozen=True, slots=True)
class EncodedRows:
    """A JSON list already encoded: each item is the compact text of one JSON value."""

    items: list[str]

    def __len__(self) -> int:
        return len(self.items)


def _scalar(value: Any) -> str:
    """One value as ``json.dumps`` writes it, a non-finite float as ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    return json.dumps(value)


def encode_column(values: Sequence[Any] | NDArray[Any]) -> list[str]:
    """Each value as its JSON text (``json.dumps`` of it; non-finite floats are ``null``).

    All-``float`` and all-``str`` columns take a fast path (``float.__repr__`` and the C string
    encoder); anything else is encoded value by value.
    """
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    types = set(map(type, items))
    if types == {float}:
        texts = list(map(float.__repr__, items))
        for i in np.flatnonzero(~np.isfinite(np.asarray(items, dtype=np.float64))):
            texts[int(i)] = "null"
        return texts
    if types == {str}:
        return list(map(encode_basestring_ascii, items))
    return [_scalar(value) for value in items]


def encode_vectors(matrix: NDArray[np.float64]) -> list[str]:
    """Each row of a 2-D float array as a JSON list (``"[1.5, -2.0]"``, ``null`` where not
    finite), as ``json.dumps`` writes a list of floats."""
    rows, width = matrix.shape
    if width == 0:
        return ["[]"] * rows
    flat = encode_column(np.asarray(matrix, dtype=np.float64).reshape(-1))
    return ["[" + ", ".join(flat[i : i + width]) + "]" for i in range(0, rows * width, width)]


def encode_rows(columns: Mapping[str, list[str]]) -> EncodedRows:
    """JSON objects, one per row, from columns of already encoded values (``encode_column``);
    keys in the mapping's order, exactly as ``json.dumps`` writes a dict."""
    keys = [json.dumps(key) for key in columns]
    template = "{{" + ", ".join(k.replace("{", "{{").replace("}", "}}") + ": {}" for k in keys)
    template += "}}"
    return EncodedRows(list(map(template.format, *columns.values())))
