"""Strict JSON on stdout: no ``NaN`` or ``Infinity`` ever reaches a machine reading ``--json``."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from crossmargin.cli.json_rows import EncodedRows

__all__ = ["dumps_strict", "strict_json", "write_json"]

#: Above this many rows, a list is written one compact row per line by the C encoder (an
#: indented encoding of a million rows runs in pure Python and costs more than the margin).
_ROWS_PER_LINE_FROM = 200
_PLACEHOLDER = "\u0000rows\u0000"


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by ``None``, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value


def _dumps(payload: Any) -> str:
    if isinstance(payload, list):
        return "[\n" + ",\n".join(_indent(_dumps(item)) for item in payload) + "\n]"
    if not isinstance(payload, dict):
        return json.dumps(payload, indent=2, allow_nan=False)
    long_lists = {
        key: value
        for key, value in payload.items()
        if isinstance(value, EncodedRows)
        or (isinstance(value, list) and len(value) >= _ROWS_PER_LINE_FROM)
    }
    if not long_lists:
        return json.dumps(payload, indent=2, allow_nan=False)
    text = json.dumps(
        {key: _PLACEHOLDER + key if key in long_lists else v for key, v in payload.items()},
        indent=2,
        allow_nan=False,
    )
    for key, rows in long_lists.items():
        items = rows.items if isinstance(rows, EncodedRows) else _encoded(rows)
        body = "[\n    " + ",\n    ".join(items) + "\n  ]" if items else "[]"
        text = text.replace(json.dumps(_PLACEHOLDER + key), body, 1)
    return text


def _encoded(rows: list[Any]) -> list[str]:
    return [json.dumps(row, allow_nan=False) for row in rows]


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


def dumps_strict(payload: Any) -> str:
    """``payload`` as strict JSON text (RFC 8259: no NaN or infinity), indented by two spaces;
    a long list (≥ 200 rows, such as a big book's positions) has one compact row per line, and
    so has an :class:`~crossmargin.cli.json_rows.EncodedRows` (rows encoded column-wise)."""
    try:
        return _dumps(payload)
    except ValueError:
        return _dumps(strict_json(payload))


def write_json(payload: Any) -> None:
    """Print ``payload`` as indented, strict JSON (RFC 8259: no NaN or infinity).

    The renderers already write ``null`` where a number is not finite (a margin ratio with no
    equity left); should one slip through, it is replaced by ``null`` rather than printed as
    ``Infinity``, which standard parsers reject.
    """
    sys.stdout.write(dumps_strict(payload) + "\n")
