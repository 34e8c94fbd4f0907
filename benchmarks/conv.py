"""2-D convolution + relu + 2x2 max pooling on the MNIST tutorial's layers: nestor against PyTorch
CPU (same threads, same run), forward alone and forward plus the filter gradient.

    PYTHONPATH=python python benchmarks/conv.py [--threads 2] [--batch 64]

Prints the median milliseconds per call of each (medians of 3 rounds of 30 calls, the engines
alternated by round) and PyTorch's time over nestor's (above 1: nestor is faster).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nestor as tf

# (height, width, in channels, out channels, kernel): conv1 and conv2 of the CNN MNIST Estimator tutorial.
LAYERS = {"conv1 28x28x1->32 5x5": (28, 28, 1, 32, 5), "conv2 14x14x32->64 5x5": (14, 14, 32, 64, 5)}


def nestor_fns(x: np.ndarray, f: np.ndarray, threads: int):
    g = tf.Graph()
    with g.as_default():
        px = tf.placeholder(tf.float32, x.shape)
        fv = tf.Variable(f)
        y = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(px, fv, [1, 1, 1, 1], "SAME")), [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        grad = tf.gradients(tf.reduce_sum(y), [fv])[0]
        s = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=threads))
        s.run(tf.global_variables_initializer())
        fwd, both = s.make_callable(y, [px]), s.make_callable([y, grad], [px])
    return (lambda: fwd(x)), (lambda: both(x)), (lambda: s.run([y, grad], {px: x}))


def torch_fns(x: np.ndarray, f: np.ndarray, threads: int):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    tw = torch.from_numpy(f).permute(3, 2, 0, 1).contiguous().requires_grad_()
    pad = f.shape[0] // 2

    def fwd():
        with torch.no_grad():
            return F.max_pool2d(torch.relu(F.conv2d(tx, tw, padding=pad)), 2)

    def both():
        tw.grad = None
        out = F.max_pool2d(torch.relu(F.conv2d(tx, tw, padding=pad)), 2)
        out.sum().backward()
        return out, tw.grad

    return fwd, both


def median_ms(fn, calls: int = 30) -> float:
    for _ in range(5):
        fn()
    ts = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"batch {a.batch}, {a.threads} threads; median ms per call")
    print(f"{'layer':<24} {'pass':<10} {'nestor':>8} {'torch':>8} {'torch/nestor':>13}")
    for name, (h, w, c, o, k) in LAYERS.items():
        x = rng.random((a.batch, h, w, c), dtype=np.float32)
        f = (rng.standard_normal((k, k, c, o)) * 0.1).astype(np.float32)
        n_fwd, n_both, n_check = nestor_fns(x, f, a.threads)
        t_fwd, t_both = torch_fns(x, f, a.threads)
        ours, theirs = n_check(), t_both()  # the two engines compute the same values
        np.testing.assert_allclose(ours[0], theirs[0].detach().numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(ours[1], theirs[1].numpy().transpose(2, 3, 1, 0), rtol=1e-3, atol=1e-2)
        for pass_name, ours_fn, theirs_fn in (("forward", n_fwd, t_fwd), ("fwd+grad", n_both, t_both)):
            rounds = [(median_ms(ours_fn), median_ms(theirs_fn)) for _ in range(a.rounds)]
            n_ms = statistics.median(r[0] for r in rounds)
            t_ms = statistics.median(r[1] for r in rounds)
            print(f"{name:<24} {pass_name:<10} {n_ms:8.2f} {t_ms:8.2f} {t_ms / n_ms:13.2f}")


if __name__ == "__main__":
    main()
