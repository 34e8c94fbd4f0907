"""Training step of an MLP 100-1024-512-256-10 (forward, backward, Adagrad) at batch 512:
nestor vs PyTorch eager on the CPU, same thread count. Reports examples/s and their ratio.

    python benchmarks/mlp_train.py [--threads N] [--steps 30] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import table  # noqa: E402

DIMS = [100, 1024, 512, 256, 10]
BATCH = 512


def init_weights(seed: int = 0):
    rng = np.random.default_rng(seed)
    ws, bs = [], []
    for a, b in zip(DIMS[:-1], DIMS[1:]):
        lim = np.sqrt(6.0 / (a + b))
        ws.append(rng.uniform(-lim, lim, (a, b)).astype(np.float32))
        bs.append(np.zeros(b, np.float32))
    return ws, bs


def nestor_steps_per_s(threads: int, steps: int, x: np.ndarray, y: np.ndarray) -> float:
    import nestor as tf
    ws, bs = init_weights()
    with tf.Graph().as_default():
        xp = tf.placeholder(tf.float32, [None, DIMS[0]])
        yp = tf.placeholder(tf.int64, [None])
        h = xp
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = tf.nn.bias_add(tf.matmul(h, tf.Variable(w)), tf.Variable(b))
            if i < len(ws) - 1:
                h = tf.nn.relu(h)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yp, logits=h))
        train = tf.train.AdagradOptimizer(0.05).minimize(loss)
        sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=threads))
        sess.run(tf.global_variables_initializer())
        step = sess.make_callable(train, [xp, yp])
        for _ in range(3):
            step(x, y)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            step(x, y)
            times.append(time.perf_counter() - t0)
    return 1.0 / float(np.median(times))


def torch_steps_per_s(threads: int, steps: int, x: np.ndarray, y: np.ndarray) -> float:
    import torch
    torch.set_num_threads(threads)
    ws, bs = init_weights()
    params = []
    for w, b in zip(ws, bs):
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    opt = torch.optim.Adagrad(params, lr=0.05, initial_accumulator_value=0.1)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        h = xt
        for i in range(len(ws)):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < len(ws) - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, yt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1.0 / float(np.median(times))


def _child(engine: str, threads: int, steps: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, DIMS[0])).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    fn = nestor_steps_per_s if engine == "nestor" else torch_steps_per_s
    print(fn(threads, steps, x, y))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3, help="alternating nestor/PyTorch rounds")
    ap.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine:
        _child(args.engine, args.threads, args.steps)
        return
    # Each engine runs in its own process: two BLAS thread pools in one process spin
    # against each other and distort both measurements.
    import subprocess

    def measure(engine: str) -> float:
        out = subprocess.run([sys.executable, __file__, "--engine", engine, "--threads", str(args.threads),
                              "--steps", str(args.steps)], capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])

    # Machines are noisy over minutes: alternate the engines for --rounds rounds and report
    # the median rate of each and the median of the per-round ratios.
    try:
        import torch
        torch_name = f"PyTorch {torch.__version__} eager"
    except ImportError:
        torch_name = None
    ours_runs, ref_runs = [], []
    for _ in range(args.rounds):
        ours_runs.append(measure("nestor"))
        if torch_name:
            ref_runs.append(measure("torch"))
    ours = float(np.median(ours_runs))
    rows = [("nestor", ours * BATCH, 1000.0 / ours, 1.0)]
    if torch_name:
        ref = float(np.median(ref_runs))
        ratio = float(np.median([o / r for o, r in zip(ours_runs, ref_runs)]))
        rows.append((torch_name, ref * BATCH, 1000.0 / ref, ratio))
    else:
        rows.append(("PyTorch (not installed)", "", "", ""))
    print(f"MLP {'-'.join(map(str, DIMS))} train step (fwd+bwd+Adagrad), batch {BATCH}, {args.threads} threads, "
          f"median of {args.steps} steps, each engine in its own process, median of {args.rounds} alternating rounds "
          f"(speed-up: median of the per-round ratios)")
    print(table(["engine", "examples/s", "ms/step", "nestor speed-up"], rows))


if __name__ == "__main__":
    main()
