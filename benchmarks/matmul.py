"""float32 matmul GFLOP/s: nestor vs numpy, at 1024^3 and the MLP 100-1024-512-256-10 shapes (batch 512).

    python benchmarks/matmul.py [--threads N]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import median_time, table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    import nestor as tf

    # (M, K, N, transpose_a, transpose_b): forward, dW = X^T dY and dX = dY W^T of each layer.
    shapes = [(1024, 1024, 1024, False, False)]
    dims = [100, 1024, 512, 256, 10]
    for k, n in zip(dims[:-1], dims[1:]):
        shapes.append((512, k, n, False, False))
        shapes.append((k, 512, n, True, False))
        if k != 100:
            shapes.append((512, n, k, False, True))
    rows = []
    rng = np.random.default_rng(0)
    total_ours = total_np = 0.0
    g = tf.Graph()
    with g.as_default():
        sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=args.threads))
        for m, k, n, ta, tb in shapes:
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
            b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
            pa = tf.placeholder(tf.float32, a.shape)
            pb = tf.placeholder(tf.float32, b.shape)
            f = sess.make_callable(tf.matmul(pa, pb, transpose_a=ta, transpose_b=tb), [pa, pb])
            an, bn = (a.T if ta else a), (b.T if tb else b)
            np.testing.assert_allclose(f(a, b), an @ bn, rtol=1e-3, atol=1e-3)
            number = max(5, int(1e9 // (m * n * k)))
            t_ours = median_time(lambda: f(a, b), repeats=9, number=number)
            t_np = median_time(lambda: an @ bn, repeats=9, number=number)
            flop = 2.0 * m * n * k
            if (m, k, n) != (1024, 1024, 1024):
                total_ours += t_ours
                total_np += t_np
            rows.append((f"{m}x{k}x{n}{' tA' if ta else ''}{' tB' if tb else ''}", flop / t_ours / 1e9,
                         flop / t_np / 1e9, t_np / t_ours))
    rows.append(("MLP step GEMMs (sum)", "", "", total_np / total_ours))
    print(f"float32 matmul, {args.threads} threads, median of 9 (GFLOP/s; ratio = nestor / numpy speed)")
    print(table(["shape (M x K x N)", "nestor", "numpy", "ratio"], rows))


if __name__ == "__main__":
    main()
