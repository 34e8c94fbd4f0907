"""Training program for the kill-and-resume test: trains to --max_steps, checkpointing
every few steps; at session start it records the variables it starts from."""
import argparse
import os
import sys

import numpy as np

import nestor as tf
from safetensors.numpy import save_file

ap = argparse.ArgumentParser()
ap.add_argument("--model_dir", required=True)
ap.add_argument("--max_steps", type=int, default=400)
ap.add_argument("--record_dir", required=True)
args = ap.parse_args()

rng = np.random.default_rng(0)
X = rng.standard_normal((512, 4)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5, 1.5], np.float32) > 0).astype(np.int32)


def input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).shuffle(512, seed=3).repeat().batch(32)


def model_fn(features, labels, mode):
    h = tf.layers.dense(features["x"], 16, activation=tf.nn.relu)
    logits = tf.layers.dense(h, 2)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


class RecordStart(tf.estimator.SessionRunHook):
    """Writes the variables the session starts from (after restore) for the test to compare."""

    def after_create_session(self, session, coord):
        values = {v.op.name: session.run(v) for v in session.graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)}
        step = int(values["global_step"])
        save_file({k: np.asarray(v) for k, v in values.items()},
                  os.path.join(args.record_dir, f"start-{step}-{os.getpid()}.safetensors"))
        print(f"START {step}", flush=True)


est = tf.estimator.Estimator(model_fn, model_dir=args.model_dir,
                             config=tf.estimator.RunConfig(save_checkpoints_steps=7, keep_checkpoint_max=3,
                                                           tf_random_seed=1, log_step_count_steps=50))
est.train(input_fn, max_steps=args.max_steps, hooks=[RecordStart()])
print("DONE", int(est.get_variable_value("global_step")), flush=True)
sys.exit(0)
