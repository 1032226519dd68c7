"""Calling a numba kernel without its per-call type dispatch (pre-trade checks)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numba

__all__ = ["compiled_call"]


def compiled_call(kernel: Any, args: tuple[Any, ...]) -> Callable[[], None]:
    """``kernel`` (a numba dispatcher) compiled — or loaded from numba's cache — for the types of
    ``args`` and bound to them: calling the result runs the kernel on ``args`` (whose contents
    may change between calls) without numba's per-call type dispatch, which for a kernel of
    twenty array arguments costs more than a small account's arithmetic."""
    typeof: Any = numba.typeof
    entry = kernel.compile(tuple(typeof(arg) for arg in args))
    return functools.partial(entry, *args)
