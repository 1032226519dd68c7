"""What kind of contract an instrument is, as a name and as the integer code arrays carry."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["InstrumentKind", "KindCode", "OptionType"]


class InstrumentKind(StrEnum):
    """What kind of contract an instrument is."""

    SPOT = "spot"
    FUTURE = "future"
    PERPETUAL = "perpetual"
    OPTION = "option"

    @property
    def code(self) -> KindCode:
        """The :class:`KindCode` of this kind (what instrument arrays and kernels carry)."""
        return KindCode[self.name]


class OptionType(StrEnum):
    """Call or put."""

    CALL = "call"
    PUT = "put"


class KindCode(IntEnum):
    """Integer code of each :class:`InstrumentKind` inside float/int arrays and numba kernels.

    The one spelling of these codes: every array of kinds (``InstrumentArrays.kind``, the book
    engine's instrument table) holds these values."""

    SPOT = 0
    FUTURE = 1
    PERPETUAL = 2
    OPTION = 3
