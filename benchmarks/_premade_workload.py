"""One measurement of a pre-made estimator workload in a fresh process, on nestor or
TensorFlow 2.15 (`--tensorflow`). Prints one JSON line. Used by estimators.py.

Cases:
  dnn_wide   DNNClassifier([1024, 512, 256]) on one 100-wide numeric column, 10 classes, batch 512,
             200 steps
  wide_deep  DNNLinearCombinedClassifier on the census-like table of examples/wide_deep.py, batch 256
  iris       the premade tutorial: DNNClassifier([30, 10]), 5000 steps at batch 256
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
sys.path.insert(0, HERE)
from _util import median_time  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("case", choices=["dnn_wide", "wide_deep", "iris"])
ap.add_argument("--tensorflow", action="store_true")
ap.add_argument("--steps", type=int, default=None)
ap.add_argument("--predict_rows", type=int, default=100000)
args = ap.parse_args()
if args.tensorflow:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    sys.argv = [sys.argv[0], "--tensorflow"]
else:
    import nestor as tf
    sys.argv = [sys.argv[0]]


def sgemm_examples_per_s(batch: int = 512, dims=(100, 1024, 512, 256, 10)) -> float:
    """Examples/s if a training step of the dnn_wide network took only its GEMMs (forward, and
    both backward products but the input's gradient) at numpy's sgemm rate."""
    rng = np.random.default_rng(0)
    total = 0.0
    for k, n in zip(dims[:-1], dims[1:]):
        shapes = [((batch, k), (k, n)), ((k, batch), (batch, n))] + ([((batch, n), (n, k))] if k != dims[0] else [])
        for sa, sb in shapes:
            a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
            total += median_time(lambda: a @ b, repeats=7, number=5, warmup=1)
    return batch / total


cfg = tf.estimator.RunConfig(tf_random_seed=1, save_checkpoints_steps=None, save_checkpoints_secs=3600)
result = {}

if args.case == "dnn_wide":
    # 200 steps: a train() call's fixed costs (restoring, the first step's summaries, the
    # checkpoints TF's saver hook writes at the start and at the end) are then a few percent of
    # it, on both engines, and the figure is the training rate the sgemm share is about.
    steps, batch = args.steps or 200, 512
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * 8, 100)).astype(np.float32)
    y = rng.integers(0, 10, batch * 8).astype(np.int64)
    est = tf.estimator.DNNClassifier(hidden_units=[1024, 512, 256],
                                     feature_columns=[tf.feature_column.numeric_column("x", shape=(100,))],
                                     n_classes=10, model_dir=tempfile.mkdtemp(), config=cfg)
    inp = lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(batch)  # noqa: E731
    est.train(inp, steps=5)
    # The ceiling is measured just before and just after the timed training, in this process, so
    # that the share of it compares two figures taken at the same moment of a drifting machine.
    before = sgemm_examples_per_s(batch)
    t0 = time.perf_counter()
    est.train(inp, steps=steps)
    result["train_examples_per_s"] = steps * batch / (time.perf_counter() - t0)
    result["sgemm_examples_per_s"] = (before + sgemm_examples_per_s(batch)) / 2
    result["share_of_sgemm"] = result["train_examples_per_s"] / result["sgemm_examples_per_s"]
    px = rng.standard_normal((args.predict_rows, 100)).astype(np.float32)
    pinp = lambda: tf.data.Dataset.from_tensor_slices({"x": px}).batch(1000)  # noqa: E731
elif args.case == "wide_deep":
    import wide_deep as wd
    steps, batch = args.steps or 400, 256
    fx, fy = wd.make_data(20000, 0)
    wide, deep = wd.build_columns()
    est = tf.estimator.DNNLinearCombinedClassifier(model_dir=tempfile.mkdtemp(), linear_feature_columns=wide,
                                                  dnn_feature_columns=deep, dnn_hidden_units=[100, 50], config=cfg)
    inp = lambda: wd.train_input_fn(fx, fy, batch)  # noqa: E731
    est.train(inp, steps=5)
    t0 = time.perf_counter()
    est.train(inp, steps=steps)
    result["train_examples_per_s"] = steps * batch / (time.perf_counter() - t0)
    tx, ty = wd.make_data(20000, 1)
    result["auc"] = float(est.evaluate(lambda: wd.eval_input_fn(tx, ty, 1000))["auc"])
    px, _ = wd.make_data(args.predict_rows, 2)
    pinp = lambda: tf.data.Dataset.from_tensor_slices(dict(px)).batch(1000)  # noqa: E731
else:
    import iris_data
    steps, batch = args.steps or 5000, 256
    (train_x, train_y), _ = iris_data.load_data()
    est = tf.estimator.DNNClassifier(feature_columns=[tf.feature_column.numeric_column(k) for k in train_x.keys()],
                                     hidden_units=[30, 10], n_classes=3, model_dir=tempfile.mkdtemp(), config=cfg)
    inp = lambda: tf.data.Dataset.from_tensor_slices((dict(train_x), train_y)).shuffle(1000).repeat().batch(batch)  # noqa
    t0 = time.perf_counter()
    est.train(inp, steps=steps)
    result["train_s"] = time.perf_counter() - t0
    pinp = None
if pinp is not None:
    t0 = time.perf_counter()
    n = sum(1 for _ in est.predict(pinp, yield_single_examples=False))
    result["predict_rows_per_s"] = args.predict_rows / (time.perf_counter() - t0)
print(json.dumps(result))
