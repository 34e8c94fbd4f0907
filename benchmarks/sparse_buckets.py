"""Training examples/s of pre-made estimators on a hashed categorical column of 1,000,000 buckets
against the same model with 1,000 buckets, measured alternately in this run (issue target: the
big table trains as fast per example, because its updates are sparse end to end).

Each train() call ends with a checkpoint, whose size grows with the table (a 1M x 16 embedding
and its Adagrad slot are 128 MB); the per-example rate is therefore taken from the difference of
a long and a short train() call, and the end-of-train() cost is reported beside it.

    python benchmarks/sparse_buckets.py [--steps 300] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import table  # noqa: E402

import nestor as tf  # noqa: E402

BATCH = 256


def _estimator(kind: str, buckets: int):
    fc = tf.feature_column
    user = fc.categorical_column_with_hash_bucket("user", buckets)
    cfg = tf.estimator.RunConfig(tf_random_seed=1, save_checkpoints_steps=None, save_checkpoints_secs=3600)
    if kind == "LinearClassifier":
        return tf.estimator.LinearClassifier([user, fc.numeric_column("x")], model_dir=tempfile.mkdtemp(), config=cfg)
    return tf.estimator.DNNClassifier([64, 32], [fc.embedding_column(user, 16), fc.numeric_column("x")],
                                      model_dir=tempfile.mkdtemp(), config=cfg)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = BATCH * 64
    x = {"user": np.array([f"user{i}" for i in rng.integers(0, 200_000, n)], dtype=object),
         "x": rng.standard_normal((n, 1)).astype(np.float32)}
    y = (rng.random(n) < 0.5).astype(np.int64)
    inp = lambda: tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(BATCH)  # noqa: E731
    rows = []
    for kind in ("LinearClassifier", "DNNClassifier"):
        ests = {b: _estimator(kind, b) for b in (1_000, 1_000_000)}
        for e in ests.values():
            e.train(inp, steps=5)  # build the graph, initialize, warm up
        rates = {b: [] for b in ests}
        fixed = {b: [] for b in ests}
        for _ in range(args.runs):
            for b, e in ests.items():
                t0 = time.perf_counter()
                e.train(inp, steps=10)
                t1 = time.perf_counter()
                e.train(inp, steps=10 + args.steps)
                t2 = time.perf_counter()
                per_step = ((t2 - t1) - (t1 - t0)) / args.steps
                rates[b].append(BATCH / per_step)
                fixed[b].append((t1 - t0) - 10 * per_step)
        small, big = (statistics.median(rates[b]) for b in (1_000, 1_000_000))
        rows.append((kind, small, big, big / small, statistics.median(fixed[1_000]) * 1e3,
                     statistics.median(fixed[1_000_000]) * 1e3))
    print(f"train examples/s (batch {BATCH}, from {args.steps} extra steps), median of {args.runs} alternating runs;"
          " last two columns: the rest of a train() call (checkpoint at the end) in ms")
    print(table(["estimator", "1,000 buckets", "1,000,000 buckets", "1M / 1k", "train() fixed 1k",
                 "train() fixed 1M"], rows))


if __name__ == "__main__":
    main()
