"""Train, evaluate, predict and export a small classifier with nestor's TF1 graph API.

    python examples/graph_mlp.py [--steps 2000] [--export_dir /tmp/nestor_graph_mlp]

The data is a deterministic iris-like problem (3 classes, 4 features). The export is
the serialized graph plus the variables in safetensors format; it is reloaded into a
fresh graph to check that predictions match.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import nestor as tf


def make_data(n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    centers = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    y = rng.integers(0, 3, n)
    x = centers[y] + rng.normal(0, 0.35, (n, 4))
    return x.astype(np.float32), y.astype(np.int32)


def build(hidden: int = 16):
    x = tf.placeholder(tf.float32, [None, 4], name="features")
    y = tf.placeholder(tf.int32, [None], name="labels")
    h = x
    for i, (a, b) in enumerate([(4, hidden), (hidden, hidden), (hidden, 3)]):
        with tf.variable_scope(f"dense_{i}"):
            w = tf.get_variable("kernel", [a, b])
            bias = tf.get_variable("bias", [b], initializer=tf.zeros_initializer())
        h = tf.nn.bias_add(tf.matmul(h, w), bias)
        if i < 2:
            h = tf.nn.relu(h)
    logits = tf.identity(h, name="logits")
    probs = tf.nn.softmax(logits, name="probabilities")
    classes = tf.argmax(logits, axis=1, name="classes")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.cast(classes, tf.int32), y), tf.float32))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.AdagradOptimizer(0.1).minimize(loss, global_step=global_step)
    return x, y, loss, accuracy, probs, classes, train_op


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--export_dir", default=os.path.join("/tmp", "nestor_graph_mlp"))
    args = ap.parse_args()
    x_train, y_train = make_data(1200, seed=0)
    x_test, y_test = make_data(300, seed=1)

    with tf.Graph().as_default() as graph:
        tf.set_random_seed(42)
        x, y, loss, accuracy, probs, classes, train_op = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            # Train: K steps per native call over pre-sliced batches.
            t0 = time.perf_counter()
            rng = np.random.default_rng(0)
            k = 200
            for start in range(0, args.steps, k):
                idx = rng.integers(0, len(x_train), (k, args.batch))
                last_loss, _ = sess.run_steps([loss, train_op], {x: x_train[idx], y: y_train[idx]}, steps=k)
                print(f"loss = {last_loss:.4f}, step = {start + k}")
            print(f"trained {args.steps} steps in {time.perf_counter() - t0:.2f}s")
            # Evaluate and predict.
            acc = sess.run(accuracy, {x: x_test, y: y_test})
            print(f"eval accuracy = {acc:.4f}")
            pred_classes, pred_probs = sess.run([classes, probs], {x: x_test[:5]})
            for c, p in zip(pred_classes, pred_probs):
                print(f"predicted class {c} with probability {p[c]:.3f}")
            # Export: graph + variables (safetensors), then reload and compare.
            os.makedirs(args.export_dir, exist_ok=True)
            with open(os.path.join(args.export_dir, "graph.nstg"), "wb") as f:
                f.write(graph.as_graph_def())
            from safetensors.numpy import save_file
            save_file({v.op.name: sess.run(v) for v in tf.global_variables()},
                      os.path.join(args.export_dir, "variables.safetensors"))
    print(f"exported to {args.export_dir}")

    from safetensors.numpy import load_file
    with open(os.path.join(args.export_dir, "graph.nstg"), "rb") as f:
        g2 = tf.Graph.from_graph_def(f.read())
    with tf.Session(graph=g2) as s2:
        for name, value in load_file(os.path.join(args.export_dir, "variables.safetensors")).items():
            s2._set_variable_value(name, value)
        reloaded = s2.run("probabilities:0", {"features:0": x_test[:5]})
    np.testing.assert_allclose(reloaded, pred_probs, rtol=1e-6)
    print("reloaded export predicts identically")
    assert acc > 0.9, f"accuracy {acc} is too low"


if __name__ == "__main__":
    main()
