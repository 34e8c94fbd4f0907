"""A custom model_fn MLP 4-10-10-3 trained 1000 steps at batch 100 from a Dataset over a
pandas DataFrame: `train()` wall time, and the per-call time of `evaluate()` and `predict()`
on an unchanged checkpoint (calls 2-5), nestor vs TensorFlow 2.15's Estimator.

    python benchmarks/estimator_custom.py                         # nestor, TF figures from the record
    python benchmarks/estimator_custom.py --record-tf /path/to/tf-venv/bin/python
                                                                  # also (re)measure TF 2.15 and record it

Each engine runs in fresh processes (median of --runs); TensorFlow's figures are recorded in
benchmarks/results/tf215_estimator_custom.json with the command and environment that produced them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _util import table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "results", "tf215_estimator_custom.json")
WORKLOAD = os.path.join(HERE, "_estimator_workload.py")


def measure(python: str, runs: int, tensorflow: bool) -> dict:
    results = []
    for _ in range(runs):
        cmd = [python, WORKLOAD] + (["--tensorflow"] if tensorflow else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             env=dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", "")))
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "train_s": statistics.median(r["train_s"] for r in results),
        "evaluate_s": statistics.median(x for r in results for x in r["evaluate_s"][1:]),
        "predict_s": statistics.median(x for r in results for x in r["predict_s"][1:]),
        "accuracy": statistics.median(r["accuracy"] for r in results),
        "runs": runs,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--record-tf", metavar="PYTHON", help="python of an environment with TF 2.15 + estimator")
    args = ap.parse_args()
    if args.record_tf:
        tf = measure(args.record_tf, args.runs, tensorflow=True)
        tf["command"] = f"{args.record_tf} {WORKLOAD} --tensorflow (median of {args.runs} fresh processes)"
        tf["machine"] = f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}"
        with open(RECORD, "w") as f:
            json.dump(tf, f, indent=1)
    with open(RECORD) as f:
        tf = json.load(f)
    ours = measure(sys.executable, args.runs, tensorflow=False)
    rows = [
        ("train() 1000 steps, s", ours["train_s"], tf["train_s"], tf["train_s"] / ours["train_s"]),
        ("evaluate() per call, s", ours["evaluate_s"], tf["evaluate_s"], tf["evaluate_s"] / ours["evaluate_s"]),
        ("predict() per call, s", ours["predict_s"], tf["predict_s"], tf["predict_s"] / ours["predict_s"]),
        ("accuracy (5000 rows)", ours["accuracy"], tf["accuracy"], ""),
    ]
    print("custom model_fn MLP 4-10-10-3, batch 100, Dataset over a pandas DataFrame; medians of fresh processes")
    print(f"TensorFlow figures: {tf['command']}")
    print(table(["measure", "nestor", "TF 2.15", "speed-up"], rows))


if __name__ == "__main__":
    main()
