"""Split a flat kernel call over threads (the numba kernels release the GIL, so they overlap).

Threads rather than numba's ``parallel=True``: they work the same under every numba threading
layer (the default ``workqueue`` layer aborts on concurrent calls from several Python threads,
which a service would make), they leave nothing behind between calls, and each option is still
computed by the same serial code, so the bytes out do not depend on the thread count.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from crossmargin.pricing._validation import PricingInputError

MIN_OPTIONS_PER_THREAD = 50_000  # below this a thread's start-up cost is not repaid


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_count(threads: int | None, size: int) -> int:
    """Threads to use for ``size`` options: ``threads`` if given (>= 1), else one per available
    CPU, but never more than one per ``MIN_OPTIONS_PER_THREAD`` options when chosen here."""
    if threads is None:
        return max(1, min(available_cpus(), size // MIN_OPTIONS_PER_THREAD))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise PricingInputError(f"threads = {threads!r}: must be None or an int >= 1")
    return max(1, min(threads, size))


def run_in_chunks(
    kernel: Callable[..., None],
    inputs: tuple[np.ndarray, ...],
    out: np.ndarray,
    threads: int | None,
) -> None:
    """Call ``kernel(*inputs, out)`` over contiguous chunks of the last axis, one per thread."""
    size = out.shape[-1]
    count = thread_count(threads, size)
    if count == 1:
        kernel(*inputs, out)
        return
    bounds = np.linspace(0, size, count + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [
            pool.submit(kernel, *(a[lo:hi] for a in inputs), out[..., lo:hi])
            for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        ]
        for future in futures:
            future.result()
