"""Throughput of nestor.data input pipelines vs a naive per-row Python generator (same run).

    PYTHONPATH=python python benchmarks/data_pipeline.py [--rows 1000000] [--cols 10] [--batch 256]

Prints rows/s for from_tensor_slices(dict of columns) with .batch(b) and .shuffle(1000).repeat().batch(b),
the same through a TF1 one-shot iterator's feeds, and a baseline that shuffles the same buffer with a Python
list per row and stacks each batch with numpy.
"""
from __future__ import annotations

import argparse
import random
import time

import numpy as np

import nestor as tf
from nestor import data


def measure(it, batches: int, batch: int) -> float:
    next(it)  # warm-up (fills shuffle buffers, starts threads)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch / (time.perf_counter() - t0)


def naive(cols: dict, buffer_size: int, batch: int):
    """What a hand-written generator does: one Python dict per row, a list buffer, np.stack per batch."""
    n = len(next(iter(cols.values())))
    keys = list(cols)

    def rows():
        while True:
            for i in range(n):
                yield {k: cols[k][i] for k in keys}

    buf, src, rng = [], rows(), random.Random(0)
    for _ in range(buffer_size):
        buf.append(next(src))
    while True:
        out = []
        for _ in range(batch):
            j = rng.randrange(len(buf))
            out.append(buf[j])
            buf[j] = next(src)
        yield {k: np.stack([r[k] for r in out]) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--batches", type=int, default=2000)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    cols = {f"c{i}": rng.standard_normal(a.rows).astype(np.float32) for i in range(a.cols)}
    labels = rng.integers(0, 2, a.rows).astype(np.int32)
    nb = min(a.batches, a.rows // a.batch - 1)

    plain = data.Dataset.from_tensor_slices((cols, labels)).batch(a.batch)
    shuf = data.Dataset.from_tensor_slices((cols, labels)).shuffle(1000).repeat().batch(a.batch)
    results = {
        "from_tensor_slices.batch": measure(iter(plain), nb, a.batch),
        "from_tensor_slices.shuffle(1000).repeat.batch": measure(iter(shuf), a.batches, a.batch),
    }
    with tf.Graph().as_default() as g:
        it = data.make_one_shot_iterator(shuf.prefetch(4))
        feats, lab = it.get_next()
        fetch = [lab]

        def feeds():
            while True:
                yield data.iterator_feeds(g, fetch)
        results["one-shot iterator feeds (shuffle.repeat.batch)"] = measure(feeds(), a.batches, a.batch)
    nb_naive = max(20, a.batches // 20)
    results["naive per-row Python generator"] = measure(naive(cols, 1000, a.batch), nb_naive, a.batch)
    base = results["naive per-row Python generator"]
    print(f"{a.rows} rows x {a.cols} float32 columns + int32 label, batch {a.batch}")
    for k, v in results.items():
        print(f"  {k:50s} {v:14,.0f} rows/s  ({v / base:6.1f}x naive)")


if __name__ == "__main__":
    main()
