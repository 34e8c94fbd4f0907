"""One measurement of the custom-Estimator workload, in a fresh process, on nestor or
TensorFlow (`--tensorflow`, in an environment with tensorflow-cpu 2.15 and
tensorflow-estimator 2.15). Prints one JSON line. Used by estimator_custom.py."""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ap = argparse.ArgumentParser()
ap.add_argument("--tensorflow", action="store_true")
ap.add_argument("--steps", type=int, default=1000)
args = ap.parse_args()
if args.tensorflow:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow.compat.v1 as tf
    tf.disable_eager_execution()
else:
    import nestor as tf

rng = np.random.default_rng(0)
N = 5000
df = pd.DataFrame(rng.standard_normal((N, 4)).astype(np.float32), columns=["a", "b", "c", "d"])
labels = pd.Series(((df.a + df.b * df.c - df.d) > 0).astype(np.int64) + (df.a > 1).astype(np.int64))


def model_fn(features, labels, mode):
    x = tf.stack([features[k] for k in ["a", "b", "c", "d"]], axis=1)
    h = tf.layers.dense(x, 10, activation=tf.nn.relu)
    h = tf.layers.dense(h, 10, activation=tf.nn.relu)
    logits = tf.layers.dense(h, 3)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"probabilities": tf.nn.softmax(logits)})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={
            "accuracy": tf.metrics.accuracy(labels, tf.argmax(logits, 1))})
    train_op = tf.train.AdagradOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def train_input():
    return tf.data.Dataset.from_tensor_slices((dict(df), labels)).shuffle(1000, seed=1).repeat().batch(100)


def eval_input():
    return tf.data.Dataset.from_tensor_slices((dict(df[:100]), labels[:100])).batch(100)


def predict_input():
    return tf.data.Dataset.from_tensor_slices(dict(df[:100])).batch(100)


est = tf.estimator.Estimator(model_fn, model_dir=tempfile.mkdtemp(),
                             config=tf.estimator.RunConfig(tf_random_seed=1))
t0 = time.perf_counter()
est.train(train_input, steps=args.steps)
train_s = time.perf_counter() - t0
evals, preds = [], []
for _ in range(5):
    t0 = time.perf_counter()
    r = est.evaluate(eval_input)
    evals.append(time.perf_counter() - t0)
for _ in range(5):
    t0 = time.perf_counter()
    list(est.predict(predict_input))
    preds.append(time.perf_counter() - t0)
print(json.dumps({"train_s": train_s, "evaluate_s": evals, "predict_s": preds, "accuracy": float(r["accuracy"])}))
