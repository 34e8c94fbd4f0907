"""Timing helpers shared by the benchmarks: medians over repeats, printed tables."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
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


def run_json_child(cmd: List[str], what: str) -> dict:
    """Runs a measuring child process and returns the JSON object on its last line of output;
    on failure, relays its output and exits naming `what`."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"{what} failed (exit {p.returncode}); its output is above")
    return json.loads(p.stdout.strip().splitlines()[-1])


def table(headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [" | ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
