"""Pre-made estimators, nestor vs TensorFlow 2.15 (issue targets in brackets):

  DNNClassifier([1024, 512, 256]), 100-wide numeric input, batch 512, one train() call of 200
      steps: train examples/s [1.3x TF],
      and its share of the sgemm rate on the same shapes [85%], measured with numpy in the same
      process just before and after the timed training (median of the per-run shares);
  DNNLinearCombinedClassifier on the census-like table, batch 256: train examples/s [3x TF] and AUC;
  the iris premade tutorial, 5000 steps at batch 256: train() seconds [20x TF];
  predict() over 100,000 rows: rows/s for wide & deep [5x] and the dense DNN [3x].

    python benchmarks/estimators.py                                   # TF figures from the record
    python benchmarks/estimators.py --record-tf <tf215-venv>/bin/python  # re-measure TF and record it
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _util import table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "results", "tf215_estimators.json")
WORKLOAD = os.path.join(HERE, "_premade_workload.py")
CASES = ["dnn_wide", "wide_deep", "iris"]


def run_once(python: str, case: str, tensorflow: bool) -> dict:
    p = subprocess.run([python, WORKLOAD, case] + (["--tensorflow"] if tensorflow else []),
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def medians(out: list) -> dict:
    return {k: statistics.median(r[k] for r in out) for k in out[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--record-tf", metavar="PYTHON")
    args = ap.parse_args()
    ours_runs = {c: [] for c in CASES}
    if args.record_tf:
        # TF and nestor alternate, case by case and run by run: the machine's speed drifts over
        # minutes, and both sides of each ratio then see the same drift.
        tf_runs = {c: [] for c in CASES}
        for _ in range(args.runs):
            for c in CASES:
                tf_runs[c].append(run_once(args.record_tf, c, True))
                ours_runs[c].append(run_once(sys.executable, c, False))
        rec = {c: medians(tf_runs[c]) for c in CASES}
        rec["command"] = f"<tf215-venv>/bin/python benchmarks/_premade_workload.py <case> --tensorflow " \
                         f"(median of {args.runs}, alternated with nestor's runs)"
        with open(RECORD, "w") as f:
            json.dump(rec, f, indent=1)
    else:
        for _ in range(args.runs):
            for c in CASES:
                ours_runs[c].append(run_once(sys.executable, c, False))
    tf = json.load(open(RECORD))
    ours = {c: medians(ours_runs[c]) for c in CASES}
    rows = [
        ("DNN 1024-512-256 train ex/s", ours["dnn_wide"]["train_examples_per_s"], tf["dnn_wide"]["train_examples_per_s"],
         ours["dnn_wide"]["train_examples_per_s"] / tf["dnn_wide"]["train_examples_per_s"]),
        ("  share of the sgemm ceiling (numpy)", f"{ours['dnn_wide']['share_of_sgemm']:.0%}",
         f"{tf['dnn_wide']['share_of_sgemm']:.0%}" if "share_of_sgemm" in tf["dnn_wide"] else "", ""),
        ("wide&deep train ex/s", ours["wide_deep"]["train_examples_per_s"], tf["wide_deep"]["train_examples_per_s"],
         ours["wide_deep"]["train_examples_per_s"] / tf["wide_deep"]["train_examples_per_s"]),
        ("wide&deep AUC, 405 steps, 1 seed", ours["wide_deep"]["auc"], tf["wide_deep"]["auc"], ""),
        ("iris premade train() s", ours["iris"]["train_s"], tf["iris"]["train_s"],
         tf["iris"]["train_s"] / ours["iris"]["train_s"]),
        ("wide&deep predict rows/s", ours["wide_deep"]["predict_rows_per_s"], tf["wide_deep"]["predict_rows_per_s"],
         ours["wide_deep"]["predict_rows_per_s"] / tf["wide_deep"]["predict_rows_per_s"]),
        ("DNN predict rows/s", ours["dnn_wide"]["predict_rows_per_s"], tf["dnn_wide"]["predict_rows_per_s"],
         ours["dnn_wide"]["predict_rows_per_s"] / tf["dnn_wide"]["predict_rows_per_s"]),
    ]
    print(f"pre-made estimators, median of {args.runs} fresh process(es) each; TF: {tf['command']}")
    print(table(["measure", "nestor", "TF 2.15", "nestor/TF"], rows))


if __name__ == "__main__":
    main()
