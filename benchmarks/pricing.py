"""Throughput of Black-76 price + Greeks: numba kernels vs the numpy twin vs a QuantLib loop.

Run as ``python benchmarks/pricing.py [--n 1000000] [--quantlib-sample 20000]``. Each timing is the
best of three after an untimed warm-up run (numba compilation or cache load, first-touch page
faults of the output arrays and thread start-up happen there). The
QuantLib baseline is a Python loop over ``ql.BlackCalculator`` (value, deltaForward,
gammaForward, vega and theta from those) on a sample, extrapolated per option. All runs use the
same seeded random options: F 20k..100k, K = F e^U(-1, 1), t 1 h..3 y, vol 5 %..300 %,
r -1 %..10 %, calls and puts.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import QuantLib as ql  # noqa: N813 (the conventional alias)
from rich.console import Console
from rich.table import Table

from crossmargin.pricing import black76_greeks, implied_vol
from crossmargin.pricing._kernels import greeks_loop
from crossmargin.pricing._threads import available_cpus
from crossmargin.pricing.reference import black76_greeks_reference, implied_vol_reference


@dataclass(frozen=True)
class Options:
    forward: np.ndarray
    strike: np.ndarray
    t_years: np.ndarray
    vol_annual: np.ndarray
    rate_annual: np.ndarray
    is_call: np.ndarray

    def columns(self) -> tuple[np.ndarray, ...]:
        return (
            self.forward,
            self.strike,
            self.t_years,
            self.vol_annual,
            self.rate_annual,
            self.is_call,
        )

    def head(self, n: int) -> Options:
        return Options(*(column[:n] for column in self.columns()))


@dataclass(frozen=True)
class Timing:
    label: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def random_options(n: int, seed: int) -> Options:
    rng = np.random.default_rng(seed)
    forward = rng.uniform(20_000.0, 100_000.0, n)
    return Options(
        forward=forward,
        strike=forward * np.exp(rng.uniform(-1.0, 1.0, n)),
        t_years=10.0 ** rng.uniform(math.log10(1.0 / 8760.0), math.log10(3.0), n),
        vol_annual=rng.uniform(0.05, 3.0, n),
        rate_annual=rng.uniform(-0.01, 0.1, n),
        is_call=rng.random(n) < 0.5,
    )


def best_of_three(label: str, count: int, run: Callable[[], object]) -> Timing:
    """Best wall time of three runs after one untimed run (compilation, page mapping, threads)."""
    run()
    seconds = math.inf
    for _ in range(3):
        start = time.perf_counter()
        run()
        seconds = min(seconds, time.perf_counter() - start)
    return Timing(label, count, seconds)


def quantlib_loop(options: Options) -> None:
    """Price and the four Greeks of every option with QuantLib, one BlackCalculator each."""
    for f, k, t, vol, r, call in zip(*options.columns(), strict=True):
        t = float(t)
        kind = ql.Option.Call if call else ql.Option.Put
        calc = ql.BlackCalculator(
            ql.PlainVanillaPayoff(kind, float(k)),
            float(f),
            float(vol) * math.sqrt(t),
            math.exp(-float(r) * t),
        )
        value = calc.value()
        calc.deltaForward()
        calc.gammaForward()
        vega = calc.vega(t)
        _theta = float(r) * value - vega * float(vol) / (2.0 * t)


def run(n: int, quantlib_sample: int, seed: int) -> list[Timing]:
    options = random_options(n, seed)
    columns = options.columns()
    out = np.empty((5, n))
    warm = options.head(1000)
    black76_greeks(*warm.columns())
    black76_greeks_reference(*warm.columns())
    greeks_loop(*warm.columns(), np.empty((5, 1000)))
    prices = black76_greeks(*columns).price
    price_args = (prices, *columns[:3], *columns[4:])
    implied_vol(*(a[:1000] for a in price_args))
    sample = options.head(min(quantlib_sample, n))
    quantlib_loop(sample.head(100))
    cpus = available_cpus()
    return [
        best_of_three(
            f"numba: black76_greeks, {cpus} threads", n, lambda: black76_greeks(*columns)
        ),
        best_of_three(
            "numba: black76_greeks, 1 thread", n, lambda: black76_greeks(*columns, threads=1)
        ),
        best_of_three("numba: greeks kernel only, 1 thread", n, lambda: greeks_loop(*columns, out)),
        best_of_three("numpy twin", n, lambda: black76_greeks_reference(*columns)),
        best_of_three(
            f"QuantLib Python loop ({sample.forward.size:,} sampled)",
            sample.forward.size,
            lambda: quantlib_loop(sample),
        ),
        best_of_three(f"numba: implied_vol, {cpus} threads", n, lambda: implied_vol(*price_args)),
        best_of_three(
            "numba: implied_vol, 1 thread", n, lambda: implied_vol(*price_args, threads=1)
        ),
        best_of_three("numpy twin: implied_vol", n, lambda: implied_vol_reference(*price_args)),
    ]


def report(timings: list[Timing], n: int) -> None:
    console = Console()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table = Table(
        title=f"Black-76 price + Greeks, {n:,} random options (best of 3)",
        caption=f"{available_cpus()} CPUs available; 1-min load average {load:.2f} at the end",
    )
    table.add_column("method")
    table.add_column("options timed", justify="right")
    table.add_column("best time [s]", justify="right")
    table.add_column("evaluations / s", justify="right")
    for timing in timings:
        table.add_row(
            timing.label,
            f"{timing.count:,}",
            f"{timing.seconds:.4f}",
            f"{timing.per_second:,.0f}",
        )
    console.print(table)
    api, api_serial, kernel, numpy_twin, quantlib, iv, iv_serial, iv_numpy = (
        t.per_second for t in timings
    )
    ratios = Table(title="ratios (evaluations per second)")
    ratios.add_column("price + Greeks")
    ratios.add_column("ratio", justify="right")
    ratios.add_row("numba (all threads) / numpy twin", f"{api / numpy_twin:.1f}x")
    ratios.add_row("numba (1 thread) / numpy twin", f"{api_serial / numpy_twin:.1f}x")
    ratios.add_row("numba (all threads) / QuantLib loop", f"{api / quantlib:.0f}x")
    ratios.add_row("numba (1 thread) / QuantLib loop", f"{api_serial / quantlib:.0f}x")
    ratios.add_row("numba API (1 thread) / bare kernel", f"{api_serial / kernel:.2f}x")
    ratios.add_row("implied vol: numba (all threads) / numpy twin", f"{iv / iv_numpy:.1f}x")
    ratios.add_row("implied vol: numba (1 thread) / numpy twin", f"{iv_serial / iv_numpy:.1f}x")
    console.print(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="options per timed run")
    parser.add_argument("--quantlib-sample", type=int, default=20_000, help="QuantLib loop size")
    parser.add_argument("--seed", type=int, default=2024, help="RNG seed for the options")
    args = parser.parse_args()
    report(run(args.n, args.quantlib_sample, args.seed), args.n)


if __name__ == "__main__":
    main()
