"""Wide & deep training at batch 4096: nestor's DNNLinearCombinedClassifier on the census-like
table of examples/wide_deep.py with NESTOR_DEVICE=cuda, the same on nestor's CPU runtime, and a
PyTorch model of the same sizes on the GPU (nn.EmbeddingBag for the categorical, hashed and
crossed columns). Reports train examples/s and ratios.

    python benchmarks/gpu_wide_deep.py                # nestor cuda vs nestor CPU vs PyTorch cuda
    python benchmarks/gpu_wide_deep.py --device cpu   # nestor CPU vs PyTorch CPU (runs anywhere)

Without a GPU and without `--device cpu` it prints why and exits 0.

nestor: examples/wide_deep.py's columns (8 vocabulary columns, user_id hashed into 10,000
buckets, education x occupation crossed into 1,000; deep part: 6 normalized numerics and
8-dimensional embeddings of the 8 vocabularies and the user, DNN [100, 50]) and input pipeline
(tf.data from the raw string table, shuffle, batch 4096), default optimizers (Ftrl for the
linear part, Adagrad 0.001 for the DNN). Each step parses strings, looks up vocabularies and
hashes on the host, whatever the device. One train() call of 4 steps warms up; then each of
`--blocks` blocks times a train(steps=1) call and a train(steps=--steps) call (each call ends
with its checkpoint, which reads the variables back: the device has finished). A train() call
also costs a fixed amount besides its steps (input pipeline start, hooks, the checkpoint); the
difference of the two calls cancels it: ms/step = (T(steps) - T(1)) / (steps - 1), and
examples/s = batch / that, with T the median over blocks of each call's time.
"train(steps=N) ex/s" is the whole call's rate, that fixed cost included, and "train() call
overhead" the fixed cost itself.
The Estimator fetches the loss and the global step at every step (or every chunk of steps
run in one native call), as TensorFlow's does for its NanTensorHook and logging.

PyTorch eager: the same model (linear part: one EmbeddingBag of dimension 1, summed over the
10 sparse columns, plus a bias; deep part: one EmbeddingBag of dimension 8 over the 9 embedded
columns, concatenated with the numerics into Linear 78-100-50-1 with ReLUs; sigmoid cross
entropy), Adagrad 0.001 for the DNN and embeddings and, PyTorch having no Ftrl, Adagrad 0.005
for the linear part. Its input is what PyTorch users usually feed: the ids (vocabulary index,
CRC32 hash modulo the buckets) and normalized numerics computed once with numpy before timing
and held on the device; each step takes a random batch by index. It therefore does less per
step than nestor, whose steps start from strings: the ratio is what nestor's whole estimator
step costs against a bare PyTorch training loop. Timed in blocks of --steps steps,
synchronized at the ends only (after as many warm-up steps as nestor's calls add besides them, so all
engines train equally many steps); examples/s is the median block's.

Each engine runs in its own process; they alternate for --rounds rounds; the table gives
medians and the medians of the per-round ratios. AUC on 10,000 held-out rows after training
is printed as a sanity check (all engines trained the same number of steps).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _util import probe_device, run_json_child, table  # noqa: E402

BATCH = 4096
N_TRAIN = 10 * BATCH
N_TEST = 10000
WARMUP = 5


def _wide_deep_module():
    """examples/wide_deep.py, imported without its command line (it parses sys.argv at import)."""
    sys.path.insert(0, os.path.join(HERE, "..", "examples"))
    argv, sys.argv = sys.argv, [sys.argv[0]]
    try:
        import wide_deep
    finally:
        sys.argv = argv
    return wide_deep


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (rank statistic; ties get their mean rank)."""
    labels = labels.reshape(-1).astype(bool)
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    npos, nneg = labels.sum(), (~labels).sum()
    return float((r[labels].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def nestor_child(device: str, steps: int, blocks: int) -> dict:
    os.environ["NESTOR_DEVICE"] = device
    wd = _wide_deep_module()
    import nestor as tf
    tf.config.experimental.enable_tensor_float_32_execution(False)  # as PyTorch's below
    fx, fy = wd.make_data(N_TRAIN, 0)
    tx, ty = wd.make_data(N_TEST, 1)
    wide, deep = wd.build_columns()
    cfg = tf.estimator.RunConfig(tf_random_seed=1, save_checkpoints_steps=None, save_checkpoints_secs=3600,
                                 device=device)
    est = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(prefix="gpu_wide_deep_"), linear_feature_columns=wide,
        dnn_feature_columns=deep, dnn_hidden_units=[100, 50], config=cfg)
    inp = lambda: wd.train_input_fn(fx, fy, BATCH)  # noqa: E731
    est.train(inp, steps=WARMUP - 1)
    one, many = [], []
    for _ in range(blocks):
        t0 = time.perf_counter()
        est.train(inp, steps=1)
        t1 = time.perf_counter()
        est.train(inp, steps=steps)
        one.append(t1 - t0)
        many.append(time.perf_counter() - t1)
    t_one, t_many = statistics.median(one), statistics.median(many)
    # The fixed cost of a train() call cancels in the difference; if noise makes it vanish,
    # fall back to the whole call's rate, overhead included.
    per_step = (t_many - t_one) / (steps - 1) if t_many > t_one else t_many / steps
    res = est.evaluate(lambda: wd.eval_input_fn(tx, ty, BATCH))
    return {"examples_per_s": BATCH / per_step, "call_examples_per_s": steps * BATCH / t_many,
            "call_overhead_s": max(t_one - per_step, 0.0), "auc": float(res["auc"]),
            "device": est.config.device, "global_step": int(res["global_step"])}


def _integer_table(wd, n: int, seed: int):
    """The table as PyTorch would be fed it: normalized numerics [n, 6], linear ids [n, 10] and
    embedding ids [n, 9], each column's ids offset into one shared table."""
    feats, labels = wd.make_data(n, seed)
    num = np.stack([(feats[k] - m) / s for k, (m, s) in wd.NUMERIC.items()], axis=1).astype(np.float32)
    cat_ids = []
    for name, size in wd.CATEGORICAL.items():
        index = {v: i for i, v in enumerate(wd.vocabulary(name, size))}
        cat_ids.append(np.array([index[v] for v in feats[name]], np.int64))
    user = np.array([zlib.crc32(u.encode()) % wd.HASH_BUCKETS for u in feats["user_id"]], np.int64)
    cross = np.array([zlib.crc32(f"{e}_X_{o}".encode()) % wd.CROSS_BUCKETS
                      for e, o in zip(feats["education"], feats["occupation"])], np.int64)
    sizes = list(wd.CATEGORICAL.values())
    lin_cols, lin_sizes = cat_ids + [user, cross], sizes + [wd.HASH_BUCKETS, wd.CROSS_BUCKETS]
    emb_cols, emb_sizes = cat_ids + [user], sizes + [wd.HASH_BUCKETS]

    def offset(cols, sz):
        starts = np.concatenate([[0], np.cumsum(sz)[:-1]])
        return np.stack([c + s for c, s in zip(cols, starts)], axis=1), int(sum(sz))

    lin, n_lin = offset(lin_cols, lin_sizes)
    emb, n_emb = offset(emb_cols, emb_sizes)
    return num, lin, emb, labels.astype(np.float32), n_lin, n_emb


def torch_child(device: str, steps: int, blocks: int) -> dict:
    import torch
    from torch import nn
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(1)
    wd = _wide_deep_module()
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    num, lin, emb, y, n_lin, n_emb = _integer_table(wd, N_TRAIN, 0)
    t_num, t_lin, t_emb, t_y, _, _ = _integer_table(wd, N_TEST, 1)
    dim, n_emb_cols = 8, emb.shape[1]

    class WideDeep(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.EmbeddingBag(n_lin, 1, mode="sum")
            nn.init.zeros_(self.linear.weight)
            self.bias = nn.Parameter(torch.zeros(1))
            self.embed = nn.EmbeddingBag(n_emb, dim, mode="mean")
            nn.init.trunc_normal_(self.embed.weight, std=1.0 / dim ** 0.5, a=-2.0 / dim ** 0.5, b=2.0 / dim ** 0.5)
            self.dnn = nn.Sequential(nn.Linear(num.shape[1] + n_emb_cols * dim, 100), nn.ReLU(),
                                     nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 1))

        def forward(self, xnum, xlin, xemb):
            wide = self.linear(xlin) + self.bias  # one bag of 10 ids per row, summed
            e = self.embed(xemb.reshape(-1, 1)).reshape(xemb.shape[0], -1)  # one bag per (row, column)
            return (wide + self.dnn(torch.cat([xnum, e], dim=1))).squeeze(1)

    model = WideDeep().to(dev)
    opt_dnn = torch.optim.Adagrad(list(model.embed.parameters()) + list(model.dnn.parameters()), lr=0.001,
                                  initial_accumulator_value=0.1)
    opt_lin = torch.optim.Adagrad([model.linear.weight, model.bias], lr=0.005, initial_accumulator_value=0.1)
    d_num, d_lin, d_emb, d_y = (torch.from_numpy(a).to(dev) for a in (num, lin, emb, y.reshape(-1)))
    loss_fn = nn.BCEWithLogitsLoss()
    gen = torch.Generator(device=dev).manual_seed(1)

    def step():
        idx = torch.randint(0, N_TRAIN, (BATCH,), device=dev, generator=gen)
        loss = loss_fn(model(d_num[idx], d_lin[idx], d_emb[idx]), d_y[idx])
        opt_dnn.zero_grad(set_to_none=True)
        opt_lin.zero_grad(set_to_none=True)
        loss.backward()
        opt_dnn.step()
        opt_lin.step()

    for _ in range(WARMUP - 1 + blocks):  # nestor's warm-up call and its train(steps=1) calls
        step()
    rates = []
    for _ in range(blocks):
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(steps * BATCH / (time.perf_counter() - t0))
    with torch.no_grad():
        scores = model(*(torch.from_numpy(a).to(dev) for a in (t_num, t_lin, t_emb))).cpu().numpy()
    rate = statistics.median(rates)
    return {"examples_per_s": rate, "call_examples_per_s": rate, "call_overhead_s": 0.0, "auc": auc(t_y, scores),
            "device": str(dev), "global_step": WARMUP - 1 + blocks * (steps + 1)}


def run_child(args, engine: str, device: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--engine", engine, "--device", device,
           "--steps", str(args.steps), "--blocks", str(args.blocks)]
    return run_json_child(cmd, f"gpu_wide_deep.py: the {engine} process on {device}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed train() call (cuda 100, cpu 10)")
    ap.add_argument("--blocks", type=int, default=3, help="timed train() calls per process")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of all engines")
    ap.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    args.steps = args.steps or (100 if cuda else 10)
    if args.steps < 5:
        ap.error("--steps must be at least 5 (the per-step time is a difference of two train() calls)")
    if args.engine:
        fn = {"probe": lambda: probe_device(args.device), "nestor": lambda: nestor_child(args.device, args.steps, args.blocks),
              "torch": lambda: torch_child(args.device, args.steps, args.blocks)}[args.engine]
        print(json.dumps(fn()))
        return
    probe = run_child(args, "probe", args.device)
    if not probe["nestor_ok"]:
        print(f"gpu_wide_deep.py: skipped, no usable GPU ({probe['reason']}); --device cpu runs the CPU comparison")
        return
    # (key, engine, device): the first is the reference of the ratios.
    engines = [("nestor", "nestor", args.device)]
    if cuda:
        engines.append(("nestor_cpu", "nestor", "cpu"))
    if probe["torch_ok"]:
        engines.append(("torch", "torch", args.device))
    runs = {k: [] for k, _, _ in engines}
    for _ in range(args.rounds):
        for key, engine, device in engines:
            runs[key].append(run_child(args, engine, device))
    names = {"nestor": f"nestor DNNLinearCombinedClassifier, {args.device}",
             "nestor_cpu": "nestor DNNLinearCombinedClassifier, cpu",
             "torch": f"PyTorch {probe['torch']} eager, EmbeddingBag, {args.device}"}
    rows = []
    for key, _, _ in engines:
        rate = statistics.median(r["examples_per_s"] for r in runs[key])
        ratio = statistics.median(o["examples_per_s"] / r["examples_per_s"] for o, r in zip(runs["nestor"], runs[key]))
        rows.append([names[key], rate, 1e3 * BATCH / rate, ratio,
                     statistics.median(r["call_examples_per_s"] for r in runs[key]),
                     1e3 * statistics.median(r["call_overhead_s"] for r in runs[key]) if key != "torch" else "-",
                     statistics.median(r["auc"] for r in runs[key]), runs[key][0]["device"]])
    print(f"wide & deep (census-like table of examples/wide_deep.py, DNN [100, 50], embeddings 8) train, batch {BATCH}, "
          f"{probe['name']}; {args.blocks} timed blocks of {args.steps} steps per process (median), "
          f"median of {args.rounds} alternating rounds")
    print(table(["engine", "examples/s", "ms/step", f"nestor {args.device} speed-up",
                 f"train(steps={args.steps}) ex/s", "train() call overhead ms", "AUC", "RunConfig.device"], rows))
    print("nestor steps start from the raw strings (vocabulary lookups, hashing, crossing on the host each step); "
          "PyTorch's start from ids computed once before timing and resident on the device")


if __name__ == "__main__":
    main()
