"""Reading the text files users hand us (portfolios, parameter and risk-array files)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from crossmargin.core.errors import FileInputError

__all__ = ["positive_number_cell", "read_csv_rows", "read_text_file"]


def read_text_file(path: str | Path) -> str:
    """The contents of ``path`` decoded as UTF-8.

    Raises :class:`FileInputError` naming the file for a file that cannot be read (missing, a
    directory, no permission) or that is not UTF-8 text (with the byte offset of the first bad
    byte), so a bad file never surfaces as a traceback."""
    file_path = Path(path)
    try:
        raw = file_path.read_bytes()
    except OSError as error:
        raise FileInputError(
            str(file_path), "file", str(file_path), error.strerror or "unreadable"
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileInputError(
            str(file_path),
            "file",
            file_path.name,
            f"is not UTF-8 text (byte {error.start}: {raw[error.start : error.start + 1]!r})",
        ) from None


def read_csv_rows(path: str | Path) -> list[list[str]]:
    """The non-empty rows of the CSV file ``path`` (UTF-8), each a list of cell strings.

    Raises :class:`FileInputError` naming the file when it cannot be read."""
    file_path = Path(path)
    try:
        with file_path.open(newline="", encoding="utf-8") as handle:
            return [row for row in csv.reader(handle) if row]
    except OSError as error:
        raise FileInputError(
            str(file_path), "file", str(file_path), error.strerror or "unreadable"
        ) from None


def positive_number_cell(
    raw: str, path: str | Path, field: str, *, allow_null: bool = False
) -> float:
    """A CSV cell as a finite number > 0 (a price); ``null`` is NaN where ``allow_null``.

    Raises :class:`FileInputError` naming the file, the field (``"line 12.close"``) and the
    cell."""
    if allow_null and raw.strip().lower() == "null":
        return math.nan
    try:
        number = float(raw)
    except ValueError:
        raise FileInputError(str(path), field, raw, "is not a number") from None
    if not math.isfinite(number) or number <= 0.0:
        raise FileInputError(str(path), field, raw, "must be a finite number > 0")
    return number
