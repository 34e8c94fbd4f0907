"""The latency harness of benchmarks/serving.py, and its TensorFlow 2.15 side: the iris premade
DNNClassifier([30, 10]) exported by TF's own Estimator with a raw serving input receiver, loaded
with `tf.saved_model.load` and called through `signatures[...]` at batch 1
(its inputs as `tf.constant`s made once). Prints one JSON line.

    <tf215-venv>/bin/python benchmarks/_serving_tf.py [--calls 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Callable, Dict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
IRIS_ROW = {"SepalLength": [5.9], "SepalWidth": [3.0], "PetalLength": [4.2], "PetalWidth": [1.5]}


def samples_us(fn: Callable[[], object], calls: int, warmup: int = 200, warmup_s: float = 0.3) -> np.ndarray:
    """Microseconds of each of `calls` calls of `fn()`, timed call by call after `warmup` calls
    and at least `warmup_s` seconds of them (as benchmarks/cpp/latency_util.h: worker threads of a
    just-loaded engine busy-wait for a while, which shows as millisecond stalls at p99.9)."""
    end = time.perf_counter() + warmup_s
    i = 0
    while i < warmup or time.perf_counter() < end:
        fn()
        i += 1
    t = np.empty(calls)
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        fn()
        t[i] = clock() - t0
    return t / 1000.0


def latency_us(fn: Callable[[], object], calls: int, warmup: int = 200) -> Dict[str, float]:
    """p50/p99/mean microseconds of `fn()`, timed call by call after `warmup` calls."""
    t = samples_us(fn, calls, warmup)
    return {"p50_us": float(np.percentile(t, 50)), "p99_us": float(np.percentile(t, 99)), "mean_us": float(t.mean()),
            "calls": calls}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    sys.path.insert(0, os.path.join(HERE, "..", "examples"))
    import iris_data
    (train_x, train_y), _ = iris_data.load_data()
    with tempfile.TemporaryDirectory() as tmp:
        est = tf.estimator.DNNClassifier(feature_columns=[tf.feature_column.numeric_column(k) for k in train_x.keys()],
                                         hidden_units=[30, 10], n_classes=3, model_dir=os.path.join(tmp, "model"))
        est.train(lambda: tf.data.Dataset.from_tensor_slices((dict(train_x), train_y)).repeat().batch(32), steps=100)
        serving = tf.estimator.export.build_raw_serving_input_receiver_fn(
            {k: tf.constant([0.0]) for k in train_x.keys()})
        path = est.export_saved_model(os.path.join(tmp, "export"), serving).decode()
        loaded = tf.saved_model.load(path)
        name = "serving_default" if "serving_default" in loaded.signatures else "predict"
        sig = loaded.signatures[name]
        # TF's signatures take tensors; made once, outside the timed calls (in TF's favour).
        row = {k: tf.constant(v, tf.float32) for k, v in IRIS_ROW.items()}
        out = sig(**row)
        result = latency_us(lambda: sig(**row), args.calls)
        result.update(signature=name, signatures=sorted(loaded.signatures.keys()), tensorflow=tf.__version__,
                      class_ids=int(np.asarray(out["class_ids"]).reshape(-1)[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
