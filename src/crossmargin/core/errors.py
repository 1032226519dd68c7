"""Errors raised at the boundary of the library.

Every error that comes from bad input names the field and the offending value, so a user can find
the mistake without reading a traceback.
"""

from __future__ import annotations

__all__ = ["CrossmarginError", "FileInputError", "InputError", "InstrumentNameError"]


class CrossmarginError(Exception):
    """Base class of every error raised deliberately by crossmargin."""


class InputError(CrossmarginError, ValueError):
    """Bad input at a boundary (file, API, constructor).

    Parameters
    ----------
    field:
        Dotted path of the offending field, e.g. ``"positions[2].size"``.
    value:
        The offending value, quoted with ``repr`` in the message.
    reason:
        What is wrong with it, e.g. ``"must be finite"``.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} = {value!r}: {reason}")


class InstrumentNameError(InputError):
    """An instrument name that does not follow the Deribit naming scheme."""

    def __init__(self, name: str, part: str, reason: str) -> None:
        self.name = name
        self.part = part
        CrossmarginError.__init__(self, f"instrument name {name!r}: {part} {reason}")
        self.field = "instrument"
        self.value = name
        self.reason = f"{part} {reason}"


class FileInputError(InputError):
    """Bad input found in a file: the message names the file, the field and the value."""

    def __init__(self, path: str, field: str, value: object, reason: str) -> None:
        self.path = path
        super().__init__(field, value, reason)
        self.args = (f"{path}: {field} = {value!r}: {reason}",)

    def __str__(self) -> str:
        return str(self.args[0])
