"""MLP 100-1024-512-256-10 training step (forward, backward, Adagrad) at batch 4096 on a GPU:
nestor vs PyTorch eager on the same device, and the cuBLAS rate on the step's own GEMM shapes.

    python benchmarks/gpu_mlp.py                  # on cuda; prints one line and exits 0 without a GPU
    python benchmarks/gpu_mlp.py --device cpu     # the same comparison on the CPU (numpy sgemm ceiling)

The network, its initialisation (mlp_train.init_weights), the loss (mean sparse softmax cross
entropy) and the optimizer (Adagrad 0.05, initial accumulator 0.1) are those of
benchmarks/mlp_train.py; only the batch and the device differ. TF32 is off in both engines.

Two ways of giving the batch, both engines alike:
  on device  the batch is on the device before timing (nestor: a constant, copied once at
             plan time; PyTorch: a cuda tensor): the training step alone.
  fed        the batch comes from host memory at every step (nestor: a feed of a numpy array,
             staged through its pinned buffers; PyTorch: a pinned host tensor copied with
             .to(device, non_blocking=True)).

Timing: each engine runs in its own process; `--blocks` blocks of `--steps` steps, each block
timed from a synchronisation to a synchronisation (nestor: fetching the last layer's bias,
which the stream orders after every queued step; PyTorch: torch.cuda.synchronize()); nothing
else is fetched, so neither engine waits for the device inside a block. ms/step is the median
block's wall time per step; the engines alternate for `--rounds` rounds and the table gives
the median over rounds (ratios: median of the per-round ratios).

Host overhead per step ("host ms/step"): the time the calling thread spends inside one step
call, averaged over the first 8 calls of each block, i.e. right after a synchronisation, when
the device's launch queue is nearly empty and launching cannot block on it. It is what one step
costs the host. When it is below ms/step, the device sets the pace and the host cost is hidden;
when it is about equal, the step is host-bound. On the CPU the call returns only when the work
is done, so there it equals ms/step.

"left on device at return": one step is called after a synchronisation; the time from the
call's return to the end of a following synchronisation, less what a synchronisation costs
when nothing is queued. Clearly above 0, the call returned with the step still running on the
device: there was no device synchronisation inside the step.

GEMM ceiling: every matrix product of one training step (per layer the forward product, the
weight gradient and, except for the first layer, the input gradient), each timed alone on
random data. On cuda: torch.matmul (cuBLAS), 20 products captured in a CUDA graph and replayed
between CUDA events (launch gaps excluded; a plain loop if capture fails), TF32 off. On the
CPU: numpy's sgemm. Batch / (sum of the GEMM times) is the examples/s a step would reach if
it did nothing but its GEMMs at that rate.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _util import median_time, probe_device, run_json_child, table  # noqa: E402
from mlp_train import DIMS, init_weights  # noqa: E402

BATCH = 4096
HOST_CALLS = 8  # calls after a synchronisation that the host overhead is averaged over


def gemm_shapes(batch: int = BATCH, dims=DIMS):
    """(m, k, n) of every matrix product of one training step."""
    shapes = []
    for i, (k, n) in enumerate(zip(dims[:-1], dims[1:])):
        shapes.append((batch, k, n))  # forward: x[b, k] @ w[k, n]
        shapes.append((k, batch, n))  # weight gradient: x^T[k, b] @ dy[b, n]
        if i > 0:
            shapes.append((batch, n, k))  # input gradient: dy[b, n] @ w^T[n, k]
    return shapes


def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, DIMS[0])).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def time_steps(step, sync, steps: int, blocks: int) -> dict:
    """Times `step` as described in the module docstring; `sync` waits for the device."""
    for _ in range(3):
        step()
    sync()
    idle = []
    for _ in range(5):
        t0 = time.perf_counter()
        sync()
        idle.append(time.perf_counter() - t0)
    sync()
    t0 = time.perf_counter()
    step()
    t1 = time.perf_counter()
    sync()
    left = (time.perf_counter() - t1) - statistics.median(idle)
    walls, hosts = [], []
    for _ in range(blocks):
        sync()
        host = 0.0
        t0 = time.perf_counter()
        for i in range(steps):
            a = time.perf_counter()
            step()
            if i < HOST_CALLS:
                host += time.perf_counter() - a
        sync()
        walls.append((time.perf_counter() - t0) / steps)
        hosts.append(host / min(steps, HOST_CALLS))
    return {"step_s": statistics.median(walls), "host_s": statistics.median(hosts), "left_s": max(left, 0.0)}


def nestor_child(device: str, threads: int, steps: int, blocks: int) -> dict:
    import nestor as tf
    tf.config.experimental.enable_tensor_float_32_execution(False)  # whatever NESTOR_ALLOW_TF32 says
    x, y = data()
    out = {}
    for mode in ("device", "fed"):
        ws, bs = init_weights()
        with tf.Graph().as_default():
            if mode == "device":
                xp, yp, feeds = tf.constant(x), tf.constant(y), []
            else:
                xp = tf.placeholder(tf.float32, [None, DIMS[0]])
                yp = tf.placeholder(tf.int64, [None])
                feeds = [xp, yp]
            h, params = xp, []
            for i, (w, b) in enumerate(zip(ws, bs)):
                params += [tf.Variable(w), tf.Variable(b)]
                h = tf.nn.bias_add(tf.matmul(h, params[-2]), params[-1])
                if i < len(ws) - 1:
                    h = tf.nn.relu(h)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yp, logits=h))
            train = tf.train.AdagradOptimizer(0.05).minimize(loss)
            sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=threads, device=device))
            sess.run(tf.global_variables_initializer())
            run = sess.make_callable(train, feeds)
            args = (x, y) if feeds else ()
            # Reading a variable runs after every queued update on the device's one stream.
            last_bias = sess.make_callable(params[-1])
            out[mode] = time_steps(lambda: run(*args), last_bias, steps, blocks)
            out[mode]["loss"] = float(sess.run(loss, {xp: x, yp: y}) if feeds else sess.run(loss))
            sess.close()
    return out


def torch_child(device: str, threads: int, steps: int, blocks: int) -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    x, y = data()
    out = {}
    for mode in ("device", "fed"):
        ws, bs = init_weights()
        params = []
        for w, b in zip(ws, bs):
            params += [torch.tensor(w, device=dev, requires_grad=True), torch.tensor(b, device=dev, requires_grad=True)]
        opt = torch.optim.Adagrad(params, lr=0.05, initial_accumulator_value=0.1)
        if mode == "device":
            xd, yd = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
            get = lambda: (xd, yd)  # noqa: E731
        else:
            xh, yh = torch.from_numpy(x), torch.from_numpy(y)
            if cuda:
                xh, yh = xh.pin_memory(), yh.pin_memory()
            get = lambda: (xh.to(dev, non_blocking=True), yh.to(dev, non_blocking=True))  # noqa: E731

        def forward(xb, yb):
            h = xb
            for i in range(len(ws)):
                h = h @ params[2 * i] + params[2 * i + 1]
                if i < len(ws) - 1:
                    h = torch.relu(h)
            return torch.nn.functional.cross_entropy(h, yb)

        def step():
            loss = forward(*get())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        out[mode] = time_steps(step, sync, steps, blocks)
        with torch.no_grad():
            out[mode]["loss"] = float(forward(*get()))
    return out


def ceiling_child(device: str, threads: int) -> dict:
    """Seconds per step spent in the step's GEMMs alone, and their FLOPs."""
    shapes = gemm_shapes()
    flops = sum(2.0 * m * k * n for m, k, n in shapes)
    total, how = 0.0, ""
    if device.startswith("cuda"):
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        dev = torch.device(device)
        gen = torch.Generator().manual_seed(0)
        reps, how = 20, "torch.matmul (cuBLAS), CUDA graph of 20 products"
        for m, k, n in shapes:
            a = torch.randn(m, k, generator=gen).to(dev)
            b = torch.randn(k, n, generator=gen).to(dev)
            c = torch.empty(m, n, device=dev)
            side = torch.cuda.Stream()  # warm-up on a side stream first, as capture wants
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    torch.matmul(a, b, out=c)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            try:
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    for _ in range(reps):
                        torch.matmul(a, b, out=c)
                run = graph.replay
            except Exception:  # noqa: BLE001 - capture unsupported: time a plain loop instead
                how = "torch.matmul (cuBLAS), loop of 20 products (CUDA graph capture failed)"

                def run():
                    for _ in range(reps):
                        torch.matmul(a, b, out=c)
            run()
            times = []
            for _ in range(7):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                run()
                e.record()
                e.synchronize()
                times.append(s.elapsed_time(e) / 1e3 / reps)
            total += statistics.median(times)
    else:
        how = f"numpy {np.__version__} sgemm"
        rng = np.random.default_rng(0)
        for m, k, n in shapes:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            total += median_time(lambda: a @ b, repeats=7, number=3, warmup=1)
    return {"gemm_s": total, "flops": flops, "how": how}


def _child_main(args) -> None:
    if args.engine == "probe":
        res = probe_device(args.device)
    elif args.engine == "ceiling":
        res = ceiling_child(args.device, args.threads)
    else:
        fn = nestor_child if args.engine == "nestor" else torch_child
        res = fn(args.device, args.threads, args.steps, args.blocks)
    print(json.dumps(res))


def run_child(args, engine: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--engine", engine, "--device", args.device,
           "--threads", str(args.threads), "--steps", str(args.steps), "--blocks", str(args.blocks)]
    return run_json_child(cmd, f"gpu_mlp.py: the {engine} process")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=None, help="steps per timed block (cuda 50, cpu 3)")
    ap.add_argument("--blocks", type=int, default=None, help="timed blocks per process (cuda 7, cpu 3)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating nestor/PyTorch rounds (cuda 5, cpu 3)")
    ap.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    args.steps = args.steps or (50 if cuda else 3)
    args.blocks = args.blocks or (7 if cuda else 3)
    args.rounds = args.rounds or (5 if cuda else 3)
    if args.engine:
        _child_main(args)
        return
    probe = run_child(args, "probe")
    if not probe["nestor_ok"]:
        print(f"gpu_mlp.py: skipped, no usable GPU ({probe['reason']}); --device cpu runs the CPU comparison")
        return
    torch_name = f"PyTorch {probe['torch']} eager" if probe["torch_ok"] else None
    runs = {"nestor": [], "torch": []}
    for _ in range(args.rounds):
        runs["nestor"].append(run_child(args, "nestor"))
        if torch_name:
            runs["torch"].append(run_child(args, "torch"))
    ceil = run_child(args, "ceiling") if (torch_name or not cuda) else None

    def med(engine, mode, key):
        return statistics.median(r[mode][key] for r in runs[engine])

    ceiling = BATCH / ceil["gemm_s"] if ceil else None
    rows, ratios = [], {}
    for mode, label in (("device", "on device"), ("fed", "fed from host")):
        for key, name in (("nestor", "nestor"), ("torch", torch_name)):
            if not runs[key]:
                continue
            s = med(key, mode, "step_s")
            if key == "nestor" and runs["torch"]:
                ratios[mode] = statistics.median(t[mode]["step_s"] / n[mode]["step_s"]
                                                 for n, t in zip(runs["nestor"], runs["torch"]))
            ratio = ratios.get(mode, "") if key == "nestor" else 1.0
            rows.append([name, label, BATCH / s, 1e3 * s, 1e3 * med(key, mode, "host_s"),
                         1e3 * med(key, mode, "left_s") if cuda else "-", ratio,
                         f"{(BATCH / s) / ceiling:.0%}" if ceiling else ""])
    if ceil:
        rows.append([f"GEMMs only ({'cuBLAS' if cuda else 'numpy'})", "", ceiling, 1e3 * ceil["gemm_s"], "", "", "", "100%"])
    ref_name = "cuBLAS" if cuda else "sgemm"
    print(f"MLP {'-'.join(map(str, DIMS))} train step (fwd+bwd+Adagrad 0.05), batch {BATCH}, device {args.device}: "
          f"{probe['name']}; {args.threads} host threads; TF32 off")
    print(f"{args.blocks} blocks of {args.steps} steps per process (median block), each engine in its own process, "
          f"median of {args.rounds} alternating rounds; nestor/PyTorch = median of the per-round speed ratios")
    print(table(["engine", "batch", "examples/s", "ms/step", "host ms/step", "left on device at return ms",
                 "nestor/PyTorch", f"of {ref_name} ceiling"], rows))
    if ceil:
        print(f"GEMM ceiling: {ceil['flops'] / 1e9:.2f} GFLOP per step in {len(gemm_shapes())} products, "
              f"{ceil['flops'] / ceil['gemm_s'] / 1e12:.2f} TFLOP/s on these shapes ({ceil['how']})")
    losses = {k: [statistics.median(r[m]["loss"] for r in v) for m in ("device", "fed")] for k, v in runs.items() if v}
    print("loss after the timed steps (sanity; same start, same steps): "
          + ", ".join(f"{k} {v[0]:.4f} / {v[1]:.4f}" for k, v in losses.items()))
    if cuda and torch_name and ceil:
        frac = (BATCH / med("nestor", "device", "step_s")) / ceiling
        print(f"issue targets: >= 1.0x PyTorch eager (batch on device): {ratios['device']:.2f}x "
              f"{'MET' if ratios['device'] >= 1.0 else 'NOT MET'}; >= 60% of the cuBLAS rate on these shapes: "
              f"{frac:.0%} {'MET' if frac >= 0.6 else 'NOT MET'}")


if __name__ == "__main__":
    main()
