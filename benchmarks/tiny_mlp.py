"""Per-step overhead: MLP 4-10-10-3 at batch 32 trained with the K-step call
(`Session.run_steps`), steps/s, and resident memory over 10,000 steps.

    python benchmarks/tiny_mlp.py [--k 1000] [--steps 10000]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import table  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10000)
    args = ap.parse_args()
    import nestor as tf
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [32, 4])
        y = tf.placeholder(tf.int32, [32])
        w1 = tf.get_variable("w1", [4, 10])
        w2 = tf.get_variable("w2", [10, 10])
        w3 = tf.get_variable("w3", [10, 3])
        b1, b2, b3 = (tf.Variable(np.zeros(n, np.float32)) for n in (10, 10, 3))
        h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w1), b1))
        h = tf.nn.relu(tf.nn.bias_add(tf.matmul(h, w2), b2))
        logits = tf.nn.bias_add(tf.matmul(h, w3), b3)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = tf.train.AdagradOptimizer(0.1).minimize(loss)
        sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1))
        sess.run(tf.global_variables_initializer())
        xs = rng.standard_normal((args.k, 32, 4)).astype(np.float32)
        ys = rng.integers(0, 3, (args.k, 32)).astype(np.int32)
        sess.run_steps([loss, train], {x: xs, y: ys}, steps=args.k)  # warm-up and plan
        rss = [rss_mb()]
        rates = []
        done = 0
        while done < args.steps:
            t0 = time.perf_counter()
            sess.run_steps([loss, train], {x: xs, y: ys}, steps=args.k)
            rates.append(args.k / (time.perf_counter() - t0))
            done += args.k
            rss.append(rss_mb())
        # one-step-per-call for comparison
        one = sess.make_callable([loss, train], [x, y])
        t0 = time.perf_counter()
        for i in range(2000):
            one(xs[i % args.k], ys[i % args.k])
        single = 2000 / (time.perf_counter() - t0)
    print(f"MLP 4-10-10-3, batch 32, Adagrad, 1 intra-op thread, {args.steps} steps")
    print(table(["call", "steps/s (median)", "RSS start MB", "RSS end MB"],
                [(f"run_steps(K={args.k})", float(np.median(rates)), rss[0], rss[-1]),
                 ("run() per step", single, "", "")]))


if __name__ == "__main__":
    main()
