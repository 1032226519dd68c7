"""Reading the text files users hand us (portfolios, parameter and risk-array files)."""

from __future__ import annotations

import csv
from pathlib import Path

from crossmargin.core.errors import FileInputError

__all__ = ["read_csv_rows", "read_text_file"]


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
