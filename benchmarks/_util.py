"""Timing helpers shared by the benchmarks: medians over repeats, printed tables."""
from __future__ import annotations

import statistics
import time
from typing import Callable, List, Sequence


def median_time(fn: Callable[[], object], repeats: int = 7, number: int = 1, warmup: int = 2) -> float:
    """Median seconds per call of `fn` over `repeats` timings of `number` calls each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def table(headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [" | ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
