"""float32 matmul GFLOP/s: nestor vs numpy, at 1024^3 and the MLP 100-1024-512-256-10 shapes (batch 512).

    python benchmarks/matmul.py [--threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import median_time, table  # noqa: E402


def shapes_of_mlp():
    # (M, K, N, transpose_a, transpose_b): forward, dW = X^T dY and dX = dY W^T of each layer.
    shapes = [(1024, 1024, 1024, False, False)]
    dims = [100, 1024, 512, 256, 10]
    for k, n in zip(dims[:-1], dims[1:]):
        shapes.append((512, k, n, False, False))
        shapes.append((k, 512, n, True, False))
        if k != 100:
            shapes.append((512, n, k, False, True))
    return shapes


def operands(m, k, n, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def child(engine: str, threads: int) -> None:
    """Seconds per product for every shape, one engine in this process (prints JSON)."""
    times = []
    if engine == "nestor":
        import nestor as tf
        g = tf.Graph()
        with g.as_default():
            sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=threads))
    for i, (m, k, n, ta, tb) in enumerate(shapes_of_mlp()):
        a, b = operands(m, k, n, ta, tb, i)
        an, bn = (a.T if ta else a), (b.T if tb else b)
        if engine == "nestor":
            with g.as_default():
                pa, pb = tf.placeholder(tf.float32, a.shape), tf.placeholder(tf.float32, b.shape)
                f = sess.make_callable(tf.matmul(pa, pb, transpose_a=ta, transpose_b=tb), [pa, pb])
            np.testing.assert_allclose(f(a, b), an @ bn, rtol=1e-3, atol=1e-3)
            call = lambda: f(a, b)  # noqa: E731
        else:
            call = lambda: an @ bn  # noqa: E731
        number = max(5, int(1e9 // (m * n * k)))
        times.append(median_time(call, repeats=9, number=number))
    print(json.dumps(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine:
        child(args.engine, args.threads)
        return

    # Each engine runs in its own process: numpy's OpenBLAS threads keep spinning for a while
    # after each call and would take a core from the next nestor product (and the reverse).
    def measure(engine: str) -> list:
        out = subprocess.run([sys.executable, __file__, "--engine", engine, "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    ours, ref = measure("nestor"), measure("numpy")
    rows = []
    total_ours = total_np = 0.0
    for (m, k, n, ta, tb), t_ours, t_np in zip(shapes_of_mlp(), ours, ref):
        flop = 2.0 * m * n * k
        if (m, k, n) != (1024, 1024, 1024):
            total_ours += t_ours
            total_np += t_np
        rows.append((f"{m}x{k}x{n}{' tA' if ta else ''}{' tB' if tb else ''}", flop / t_ours / 1e9,
                     flop / t_np / 1e9, t_np / t_ours))
    rows.append(("MLP step GEMMs (sum)", "", "", total_np / total_ours))
    print(f"float32 matmul, {args.threads} threads, median of 9, each engine in its own process "
          f"(GFLOP/s; ratio = nestor / numpy speed)")
    print(table(["shape (M x K x N)", "nestor", "numpy", "ratio"], rows))


if __name__ == "__main__":
    main()
