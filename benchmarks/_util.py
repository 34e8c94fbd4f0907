"""Timing helpers shared by the benchmarks: medians over repeats, printed tables."""
from __future__ import annotations

import json
import os
import platform
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


def probe_device(device: str) -> dict:
    """What this machine offers for `device`: nestor's view, and PyTorch's."""
    info = {"nestor_ok": True, "reason": "", "torch": None, "torch_ok": False, "name": device}
    if device.startswith("cuda"):
        try:
            import nestor as tf
            if not tf.config.list_physical_devices("GPU"):
                info.update(nestor_ok=False, reason="nestor sees no GPU: " + tf.config.device_unavailable_reason("cuda"))
        except Exception as e:  # noqa: BLE001 - report any import/plugin failure as the reason
            info.update(nestor_ok=False, reason=f"nestor cannot be used: {type(e).__name__}: {e}")
    try:
        import torch
        info["torch"] = torch.__version__
        if device.startswith("cuda"):
            info["torch_ok"] = torch.cuda.is_available()
            if info["torch_ok"]:
                info["name"] = torch.cuda.get_device_name(torch.device(device))
        else:
            info["torch_ok"] = True
    except ImportError:
        pass
    if not device.startswith("cuda"):
        info["name"] = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return info


def table(headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [" | ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
