"""`tf.compat.v1` and `tf.app`: TF1 names resolve to nestor's, and tf.compat.v1.estimator's canned
estimators have TensorFlow 2.15's v1 signatures and defaults (tests/fixtures/compat_v1.json,
written by tests/fixtures/make_compat_v1.py with TF 2.15)."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import nestor as tf

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = json.load(open(os.path.join(HERE, "..", "fixtures", "compat_v1.json")))
X = {"a": np.array([[1.0], [2.0], [-1.0], [0.5]], np.float32), "b": np.array([[0.5], [-1.0], [2.0], [1.0]], np.float32)}
Y = np.array([[0], [1], [1], [0]], np.int64)
COLS = [tf.feature_column.numeric_column("a"), tf.feature_column.numeric_column("b")]


def _simple_default(d):
    if d is inspect.Parameter.empty:
        return "<required>"
    if callable(d):
        return getattr(d, "__name__", repr(d))
    return d


@pytest.mark.parametrize("name", sorted(FIXTURE["signatures"]))
def test_v1_constructor_signatures_match_tf(name):
    cls = getattr(tf.compat.v1.estimator, name)
    got = [[p.name, _simple_default(p.default)] for p in inspect.signature(cls.__init__).parameters.values()
           if p.name != "self"]
    assert got == FIXTURE["signatures"][name]


def _kwargs(name):
    if name.startswith("Baseline"):
        return {}
    if name.startswith("DNNLinear"):
        return {"linear_feature_columns": COLS, "dnn_feature_columns": COLS, "dnn_hidden_units": [3]}
    if name.startswith("DNN"):
        return {"feature_columns": COLS, "hidden_units": [3]}
    return {"feature_columns": COLS}


@pytest.mark.parametrize("name", sorted(FIXTURE["loss_over_average_loss"]))
def test_v1_loss_is_summed_over_the_batch(name):
    # Evaluated once on one batch of 4 rows: TF1's default reduction sums, so loss = 4 * average_loss.
    labels = Y.astype(np.float32) if name.endswith("Regressor") else Y
    est = getattr(tf.compat.v1.estimator, name)(model_dir=tempfile.mkdtemp(), **_kwargs(name))
    res = est.evaluate(lambda: tf.data.Dataset.from_tensor_slices((X, labels)).batch(4), steps=1)
    assert res["loss"] / res["average_loss"] == pytest.approx(FIXTURE["loss_over_average_loss"][name], rel=1e-5)


def _first_step_delta(cls, **kw):
    model_dir = tempfile.mkdtemp()
    est = cls(hidden_units=[3], feature_columns=COLS, n_classes=2, model_dir=model_dir,
              config=tf.estimator.RunConfig(tf_random_seed=7), **kw)
    est.train(lambda: tf.data.Dataset.from_tensor_slices((X, Y)).batch(4).repeat(), steps=1)
    name = "dnn/hiddenlayer_0/kernel"
    # As TF's CheckpointSaverHook, training saved step 0 (the initial values) before the first step.
    return est.get_variable_value(name) - tf.train.load_variable(os.path.join(model_dir, "model.ckpt-0"), name)


def test_v1_dnn_named_optimizer_uses_tf1_learning_rate():
    # Adagrad's first step is lr * g / sqrt(0.1 + g^2): with the same loss reduction and the same
    # initial values, the v1 step (lr 0.05) is the v2 step (lr 0.001) times 50.
    assert FIXTURE["learning_rates"]["dnn"] == 0.05
    d1 = _first_step_delta(tf.compat.v1.estimator.DNNClassifier, loss_reduction=tf.losses.Reduction.SUM_OVER_BATCH_SIZE)
    d2 = _first_step_delta(tf.estimator.DNNClassifier)
    assert np.abs(d2).max() > 0
    # The v2 step is ~1e-5 on weights ~0.5: float32 rounding of w - w0 is ~6e-8, 50x that in the v1 scale.
    np.testing.assert_allclose(d1, 50.0 * d2, rtol=1e-3, atol=5e-6)


def test_v1_optimizer_name_is_checked_at_construction():
    with pytest.raises(ValueError, match="Unsupported optimizer name"):
        tf.compat.v1.estimator.DNNClassifier(hidden_units=[3], feature_columns=COLS, optimizer="Nadam")


def test_compat_v1_names_resolve_to_nestor():
    v1 = tf.compat.v1
    assert v1.placeholder is tf.placeholder and v1.Session is tf.Session
    assert v1.train.AdagradOptimizer is tf.train.AdagradOptimizer
    assert v1.feature_column.input_layer is tf.feature_column.input_layer
    assert v1.estimator.RunConfig is tf.estimator.RunConfig and v1.estimator.inputs.numpy_input_fn
    v1.disable_eager_execution()
    v1.disable_v2_behavior()
    assert v1.executing_eagerly() is False
    with pytest.raises(NotImplementedError, match="no eager execution"):
        v1.enable_eager_execution()
    with pytest.raises(AttributeError, match="tf.compat.v1.no_such_name"):
        v1.no_such_name  # noqa: B018


def test_app_run_calls_main_with_argv_and_exits_with_its_result():
    prog = "import nestor as tf\ndef main(argv):\n    print(argv[1:])\n    return 3\ntf.app.run(main)\n"
    r = subprocess.run([sys.executable, "-c", prog, "x", "--y=1"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.returncode == 3, r.stderr
    assert r.stdout.strip() == "['x', '--y=1']"


def test_compat_v1_math_has_tf1_argument_orders():
    """tf.compat.v1.math.in_top_k is (predictions, targets, k) and confusion_matrix takes dtype
    third, as in TF 2.15's compat.v1; tf.math keeps TF 2's orders. Reference: numpy."""
    preds = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]], np.float32)
    targets = np.array([1, 2, 0], np.int32)
    labels, guesses = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])
    cm_ref = np.zeros((3, 3), np.float64)
    np.add.at(cm_ref, (labels, guesses), 1.0)
    top2_ref = [t in np.argsort(-p)[:2] for p, t in zip(preds, targets)]
    with tf.Graph().as_default():
        v1 = tf.compat.v1.math
        ops = [v1.in_top_k(preds, targets, 2), tf.math.in_top_k(targets, preds, 2),
               v1.confusion_matrix(labels, guesses, 3, tf.float64), tf.math.confusion_matrix(labels, guesses, 3)]
        assert v1.reduce_sum is tf.math.reduce_sum and "in_top_k" in dir(v1)
        with tf.Session() as sess:
            a, b, cm64, cm = sess.run(ops)
    assert a.tolist() == top2_ref and b.tolist() == top2_ref
    assert cm64.dtype == np.float64 and cm.dtype == np.int32
    np.testing.assert_array_equal(cm64, cm_ref)
    np.testing.assert_array_equal(cm, cm_ref)
