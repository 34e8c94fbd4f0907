"""Tests of the pre-made estimators (nestor.estimator.canned): TF 2.15's signatures, default
optimizers and learning rates, variable and summary names (tests/fixtures/premade.json from
make_premade.py), and the models' outputs against NumPy forward passes from the checkpoints.

The heads (`nestor.estimator.head`) and `feature_column.linear_model` come from other
modules; when they are absent, a small test-only head (softmax / sigmoid cross-entropy, mean
squared error) and a numeric-only linear_model stand in for them.
"""
from __future__ import annotations

import inspect
import json
import math
import os
import sys
import types

import numpy as np
import pytest

import nestor as tf
from nestor.estimator import canned
from nestor.estimator.canned import dnn as dnn_mod
from nestor.estimator.canned import dnn_linear_combined as comb_mod
from nestor.estimator.canned import linear as linear_mod
from nestor.estimator.canned import baseline as baseline_mod
from nestor.estimator.canned.optimizers import get_optimizer_instance

FIXTURE = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "premade.json")))
TRAIN, EVAL, PREDICT = tf.estimator.ModeKeys.TRAIN, tf.estimator.ModeKeys.EVAL, tf.estimator.ModeKeys.PREDICT


# --------------------------------------------------------------------------- test-only stand-ins
class _TestHead:
    """Multi-class softmax / binary sigmoid / regression head with TF's create_estimator_spec."""

    def __init__(self, kind, n=1, weight_column=None, label_vocabulary=None, loss_reduction="sum_over_batch_size"):
        self.kind, self.n = kind, n
        self.logits_dimension = 1 if kind == "binary" else n
        self.calls = []

    def create_estimator_spec(self, features, mode, logits, labels=None, optimizer=None, trainable_variables=None,
                              train_op_fn=None, update_ops=None, regularization_losses=None):
        self.calls.append(dict(mode=mode, logits=logits, optimizer=optimizer, trainable_variables=trainable_variables,
                               update_ops=update_ops, train_op_fn=train_op_fn))
        if self.kind == "regression":
            preds = {"predictions": logits}
        elif self.kind == "binary":
            p = tf.sigmoid(logits)
            preds = {"logits": logits, "logistic": p, "probabilities": tf.concat([1 - p, p], 1),
                     "class_ids": tf.cast(logits > 0, tf.int64)}
        else:
            preds = {"logits": logits, "probabilities": tf.nn.softmax(logits),
                     "class_ids": tf.expand_dims(tf.argmax(logits, 1), -1)}
        if mode == PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions=preds)
        if self.kind == "regression":
            loss = tf.losses.mean_squared_error(tf.cast(labels, tf.float32), logits)
        elif self.kind == "binary":
            loss = tf.losses.sigmoid_cross_entropy(tf.cast(labels, tf.float32), logits)
        else:
            loss = tf.losses.sparse_softmax_cross_entropy(tf.reshape(labels, [-1]), logits)
        if mode == EVAL:
            return tf.estimator.EstimatorSpec(mode, loss=loss, predictions=preds)
        if train_op_fn is not None:
            train_op = train_op_fn(loss)
        else:
            train_op = optimizer.minimize(loss, var_list=trainable_variables,
                                          global_step=tf.train.get_global_step())
            if update_ops:
                train_op = tf.group(train_op, *update_ops)
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, predictions=preds)


def _numeric_linear_model(features, feature_columns, units=1, sparse_combiner="sum", weight_collections=None,
                          trainable=True, cols_to_vars=None):
    """TF1's linear_model for dense numeric columns: sum of x @ weights plus bias_weights."""
    with tf.variable_scope("linear_model"):
        out = None
        for col in sorted(feature_columns, key=lambda c: c.name):
            with tf.variable_scope(col.name):
                x = col._dense(features)
                w = tf.get_variable("weights", [int(x.shape[1]), units], initializer=tf.zeros_initializer())
            if cols_to_vars is not None:
                cols_to_vars[col] = [w]
            term = tf.matmul(x, w)
            out = term if out is None else out + term
        b = tf.get_variable("bias_weights", [units], initializer=tf.zeros_initializer())
        if cols_to_vars is not None:
            cols_to_vars["bias"] = [b]
        return out + b


@pytest.fixture(scope="module", autouse=True)
def _stand_ins():
    with pytest.MonkeyPatch.context() as mp:
        try:
            import nestor.estimator.head  # noqa: F401
        except ImportError:
            mod = types.ModuleType("nestor.estimator.head")
            mod.BinaryClassHead = lambda **kw: _TestHead("binary", **kw)
            mod.MultiClassHead = lambda n, **kw: _TestHead("multi", n, **kw)
            mod.RegressionHead = lambda label_dimension=1, **kw: _TestHead("regression", label_dimension, **kw)
            mp.setitem(sys.modules, "nestor.estimator.head", mod)
            mp.setattr(tf.estimator, "head", mod, raising=False)
        if not hasattr(tf.feature_column, "linear_model"):
            mp.setattr(tf.feature_column, "linear_model", _numeric_linear_model, raising=False)
        yield


# --------------------------------------------------------------------------- data and helpers
RNG = np.random.RandomState(0)
XA = RNG.uniform(-1, 1, (64, 1)).astype(np.float32)
XB = RNG.uniform(-1, 1, (64, 2)).astype(np.float32)
Y3 = ((XA[:, 0] + XB[:, 0] - XB[:, 1] > 0).astype(np.int64) + (XA[:, 0] > 0.5)).reshape(-1, 1)
YR = np.concatenate([2 * XA - XB[:, :1] + 0.5, XB[:, 1:] * 3 - 1], 1).astype(np.float32)
COLS = [tf.feature_column.numeric_column("b", shape=(2,)), tf.feature_column.numeric_column("a")]


def _x():
    return np.concatenate([XA, XB], 1)  # input_layer order: columns sorted by name


def _input(y, batch=16, repeat=True):
    def fn():
        ds = tf.data.Dataset.from_tensor_slices(({"a": XA, "b": XB}, y)).batch(batch)
        return ds.repeat() if repeat else ds
    return fn


def _predict_input():
    return tf.data.Dataset.from_tensor_slices({"a": XA, "b": XB}).batch(64)


def _predict(est, key):
    return np.stack([p[key] for p in est.predict(_predict_input)])


def _cfg(**kw):
    return tf.estimator.RunConfig(tf_random_seed=3, save_summary_steps=1, **kw)


def _build(est, mode, labels=Y3, batch=8):
    """Calls the estimator's model_fn in a new graph on constant features; returns (graph, spec)."""
    g = tf.Graph()
    with g.as_default():
        tf.train.get_or_create_global_step()
        feats = {"a": tf.constant(XA[:batch]), "b": tf.constant(XB[:batch])}
        spec = est.model_fn(feats, None if mode == PREDICT else tf.constant(labels[:batch]), mode, est.config)
    return g, spec


def _summary_tags(g):
    tags = [t.op.get_attr("tag") for t in g.get_collection(tf.GraphKeys.SUMMARIES)]
    return sorted(t.decode() if isinstance(t, bytes) else t for t in tags)


def _model_var_names(est):
    return sorted(n for n in est.get_variable_names()
                  if not any(s in n for s in ("/Adagrad", "/Ftrl", "/Adam", "/RMSProp", "/Momentum", "beta1_power",
                                              "beta2_power", "/GradientDescent")))


def _np_dnn(est, x, layers, act=lambda v: np.maximum(v, 0)):
    h = x.astype(np.float64)
    for i in range(layers):
        h = act(h @ est.get_variable_value(f"dnn/hiddenlayer_{i}/kernel")
                + est.get_variable_value(f"dnn/hiddenlayer_{i}/bias"))
    return h @ est.get_variable_value("dnn/logits/kernel") + est.get_variable_value("dnn/logits/bias")


def _np_linear(est, units):
    return (XA @ est.get_variable_value("linear/linear_model/a/weights").reshape(1, units)
            + XB @ est.get_variable_value("linear/linear_model/b/weights").reshape(2, units)
            + est.get_variable_value("linear/linear_model/bias_weights"))


# --------------------------------------------------------------------------- API and defaults
@pytest.mark.parametrize("name", canned.__all__)
def test_signature_matches_tf(name):
    params = [p for p in inspect.signature(getattr(canned, name).__init__).parameters.values() if p.name != "self"]
    got = [[p.name, "<required>" if p.default is inspect.Parameter.empty else
            (p.default if p.default is None or isinstance(p.default, (bool, int, float, str))
             else p.default.__name__)] for p in params]
    assert got == FIXTURE["signatures"][name]


def test_get_optimizer_instance():
    cases = {"Adagrad": (tf.train.AdagradOptimizer, 0.001), "Adam": (tf.train.AdamOptimizer, 0.001),
             "Ftrl": (tf.train.FtrlOptimizer, 0.001), "RMSProp": (tf.train.RMSPropOptimizer, 0.001),
             "SGD": (tf.train.GradientDescentOptimizer, 0.01)}
    for name, (cls, lr) in cases.items():
        opt = get_optimizer_instance(name)
        assert type(opt) is cls
        assert (opt._lr if name == "Adam" else opt._learning_rate) == pytest.approx(lr)
    assert get_optimizer_instance("Ftrl", learning_rate=0.2)._learning_rate == pytest.approx(0.2)
    inst = tf.train.GradientDescentOptimizer(0.5)
    assert get_optimizer_instance(inst, learning_rate=0.2) is inst
    assert get_optimizer_instance(lambda: inst) is inst
    with pytest.raises(ValueError, match="Unsupported optimizer name: Adadelta"):
        get_optimizer_instance("Adadelta")
    with pytest.raises(ValueError, match="not a tf.keras.optimizers.Optimizer"):
        get_optimizer_instance(lambda: 3)
    with pytest.raises(ValueError, match="not a tf.keras.optimizers.Optimizer"):
        get_optimizer_instance(3)


def _record_optimizers(monkeypatch):
    made = []

    def rec(opt, learning_rate=None):
        made.append(get_optimizer_instance(opt, learning_rate))
        return made[-1]
    for m in (dnn_mod, linear_mod, comb_mod, baseline_mod):
        monkeypatch.setattr(m, "get_optimizer_instance", rec)
    return made


def _lr(opt):
    return opt._lr if isinstance(opt, tf.train.AdamOptimizer) else opt._learning_rate


@pytest.mark.parametrize("make,expected", [
    (lambda: canned.DNNClassifier([3], COLS, n_classes=3), [(tf.train.AdagradOptimizer, 0.001)]),
    (lambda: canned.DNNRegressor([3], COLS, optimizer="Adam"), [(tf.train.AdamOptimizer, 0.001)]),
    (lambda: canned.LinearClassifier(COLS, n_classes=3), [(tf.train.FtrlOptimizer, 0.2)]),
    (lambda: canned.LinearRegressor(COLS, optimizer="SGD"), [(tf.train.GradientDescentOptimizer, 0.2)]),
    (lambda: canned.DNNLinearCombinedClassifier(linear_feature_columns=COLS, dnn_feature_columns=COLS,
                                                dnn_hidden_units=[3], n_classes=3),
     [(tf.train.AdagradOptimizer, 0.001), (tf.train.FtrlOptimizer, 0.005)]),
    (lambda: canned.BaselineClassifier(n_classes=3), [(tf.train.FtrlOptimizer, 0.3)]),
    (lambda: canned.BaselineRegressor(optimizer="RMSProp"), [(tf.train.RMSPropOptimizer, 0.3)]),
])
def test_default_optimizers_and_learning_rates(monkeypatch, make, expected):
    made = _record_optimizers(monkeypatch)
    est = make()
    _build(est, EVAL)
    assert made == []  # optimizers are made for training only
    _build(est, TRAIN, labels=YR[:, :1] if isinstance(est, canned.BaselineRegressor) else Y3)
    assert [(type(o), pytest.approx(_lr(o))) for o in made] == expected


def test_linear_optimizer_none_and_combined_many_columns(monkeypatch):
    made = _record_optimizers(monkeypatch)
    many = [tf.feature_column.numeric_column(f"c{i:02d}") for i in range(36)]
    for est in (canned.LinearRegressor(many, optimizer=None),
                canned.DNNLinearCombinedRegressor(linear_feature_columns=many)):
        with tf.Graph().as_default():
            tf.train.get_or_create_global_step()
            feats = {f"c{i:02d}": tf.constant(XA[:8]) for i in range(36)}
            est.model_fn(feats, tf.constant(YR[:8, :1]), TRAIN, est.config)
    assert [type(o) for o in made] == [tf.train.FtrlOptimizer] * 2
    assert _lr(made[0]) == pytest.approx(1 / 6)  # min(0.2, 1/sqrt(36))
    assert _lr(made[1]) == pytest.approx(0.005)  # min(0.005, 1/sqrt(36))


def test_optimizer_instance_and_callable_are_used(monkeypatch):
    inst = tf.train.MomentumOptimizer(0.05, 0.9)
    for opt in (inst, lambda: inst):
        head = _TestHead("multi", 3)
        _build(canned.DNNEstimator(head, [3], COLS, optimizer=opt), TRAIN)
        assert head.calls[-1]["optimizer"] is inst


@pytest.mark.parametrize("make,match", [
    (lambda: canned.DNNClassifier([3], COLS, n_classes=1), "n_classes must be > 1"),
    (lambda: canned.LinearClassifier(COLS, n_classes=None), "n_classes must be > 1"),
    (lambda: canned.DNNRegressor([3], COLS, label_dimension=0), "label_dimension"),
    (lambda: canned.DNNClassifier([3, 0], COLS), "hidden_units must be positive"),
    (lambda: canned.DNNClassifier(None, COLS), "hidden_units must be an iterable"),
    (lambda: canned.DNNClassifier([3], []), "feature_columns must not be empty"),
    (lambda: canned.DNNClassifier([3], COLS, dropout=1.0), r"dropout must be None or a drop rate in \[0, 1\)"),
    (lambda: canned.DNNClassifier([3], COLS, optimizer="Adadelta"), "Unsupported optimizer name: Adadelta"),
    (lambda: canned.LinearClassifier(COLS, optimizer=5), "optimizer must be an optimizer name"),
    (lambda: canned.LinearRegressor(COLS, sparse_combiner="max"), "sparse_combiner must be one of"),
    (lambda: canned.DNNLinearCombinedClassifier(), "Either linear_feature_columns or dnn_feature_columns"),
    (lambda: canned.DNNLinearCombinedRegressor(dnn_feature_columns=COLS), "dnn_hidden_units must be defined"),
    (lambda: canned.DNNLinearCombinedRegressor(linear_feature_columns=COLS, dnn_optimizer="Nope"),
     "Unsupported dnn_optimizer name"),
    (lambda: canned.BaselineRegressor(optimizer="Nope"), "Unsupported optimizer name"),
])
def test_constructor_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_features_must_be_a_dict():
    est = canned.DNNRegressor([2], COLS)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="features should be a dictionary"):
            est.model_fn(tf.constant(XA), None, PREDICT, est.config)


# --------------------------------------------------------------------------- names (vs TF 2.15)
@pytest.mark.parametrize("key,make", [
    ("dnn", lambda: canned.DNNClassifier([3, 2], COLS, n_classes=3, config=_cfg())),
    ("dnn_batch_norm", lambda: canned.DNNClassifier([3], COLS, n_classes=3, batch_norm=True, config=_cfg())),
    ("linear", lambda: canned.LinearClassifier(COLS, n_classes=3, config=_cfg())),
    ("combined", lambda: canned.DNNLinearCombinedClassifier(
        linear_feature_columns=COLS, dnn_feature_columns=COLS, dnn_hidden_units=[3], n_classes=3, config=_cfg())),
    ("baseline", lambda: canned.BaselineClassifier(n_classes=3, config=_cfg())),
])
def test_variable_and_summary_names_match_tf(key, make):
    est = make()
    est.train(_input(Y3), steps=1)
    expected = FIXTURE[key]["variables"]  # TF's columns were a and b too
    assert _model_var_names(est) == expected
    g, _ = _build(est, TRAIN)
    # `loss` is written by both (TF's Estimator adds it when the head has not); compare the rest.
    assert [t for t in _summary_tags(g) if t != "loss"] == [t for t in FIXTURE[key]["summary_tags"] if t != "loss"]


# --------------------------------------------------------------------------- DNN behaviour
def test_dnn_training_reduces_loss_and_matches_numpy():
    est = canned.DNNClassifier([8, 4], COLS, n_classes=3, optimizer=lambda: tf.train.AdagradOptimizer(0.3),
                               config=_cfg())
    est.train(_input(Y3), steps=1)
    loss0 = est.evaluate(_input(Y3, 64, repeat=False))["loss"]
    est.train(_input(Y3), steps=300)
    res = est.evaluate(_input(Y3, 64, repeat=False))
    assert res["global_step"] == 301
    assert res["loss"] < 0.6 * loss0
    ref = _np_dnn(est, _x(), 2)
    np.testing.assert_allclose(_predict(est, "logits"), ref, rtol=1e-4, atol=1e-5)
    probs = np.exp(ref - ref.max(1, keepdims=True))
    np.testing.assert_allclose(_predict(est, "probabilities"), probs / probs.sum(1, keepdims=True), atol=1e-5)


def test_dnn_regressor_custom_activation_and_head_args():
    est = canned.DNNRegressor([5], COLS, label_dimension=2, activation_fn=tf.nn.tanh, optimizer="Adam",
                              config=_cfg())
    est.train(_input(YR), steps=20)
    np.testing.assert_allclose(_predict(est, "predictions"), _np_dnn(est, _x(), 1, np.tanh), rtol=1e-4, atol=1e-5)
    head = _TestHead("regression", 2)
    _build(canned.DNNEstimator(head, [5, 3], COLS), TRAIN, labels=YR)
    call = head.calls[-1]
    assert sorted(v.op.name for v in call["trainable_variables"]) == [
        "dnn/hiddenlayer_0/bias", "dnn/hiddenlayer_0/kernel", "dnn/hiddenlayer_1/bias", "dnn/hiddenlayer_1/kernel",
        "dnn/logits/bias", "dnn/logits/kernel"]
    assert call["update_ops"] == [] and call["logits"].shape.as_list() == [8, 2]


def test_dropout_only_in_training():
    outs = {}
    for mode in (TRAIN, EVAL):
        head = _TestHead("regression", 1)
        g, _ = _build(canned.DNNEstimator(head, [64], COLS, dropout=0.5), mode, labels=YR[:, :1])
        with g.as_default(), tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            outs[mode] = [sess.run(head.calls[-1]["logits"]) for _ in range(2)]
    assert not np.allclose(outs[TRAIN][0], outs[TRAIN][1])  # a new mask every run
    np.testing.assert_array_equal(outs[EVAL][0], outs[EVAL][1])
    # prediction is the deterministic forward pass of the checkpoint, without dropout
    est = canned.DNNRegressor([64], COLS, dropout=0.5, config=_cfg())
    est.train(_input(YR[:, :1]), steps=3)
    p1, p2 = _predict(est, "predictions"), _predict(est, "predictions")
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_allclose(p1, _np_dnn(est, _x(), 1), rtol=1e-4, atol=1e-5)


def test_batch_norm_update_ops_and_inference():
    head = _TestHead("multi", 3)
    dest = canned.DNNEstimator(head, [4, 3], COLS, batch_norm=True)
    _build(dest, TRAIN)
    assert len(head.calls[-1]["update_ops"]) == 4  # moving mean and variance of two layers
    assert sum("batchnorm" in v.op.name for v in head.calls[-1]["trainable_variables"]) == 4  # gamma, beta
    _build(dest, EVAL)
    assert head.calls[-1]["update_ops"] == []
    est = canned.DNNRegressor([4], COLS, batch_norm=True, optimizer="SGD", config=_cfg())
    est.train(_input(YR[:, :1], batch=64), steps=5)
    mm = est.get_variable_value("dnn/hiddenlayer_0/batchnorm_0/moving_mean")
    mv = est.get_variable_value("dnn/hiddenlayer_0/batchnorm_0/moving_variance")
    assert np.abs(mm).max() > 0 and not np.allclose(mv, 1.0)
    # inference normalizes with the moving averages
    h = np.maximum(_x() @ est.get_variable_value("dnn/hiddenlayer_0/kernel")
                   + est.get_variable_value("dnn/hiddenlayer_0/bias"), 0)
    gamma = est.get_variable_value("dnn/hiddenlayer_0/batchnorm_0/gamma")
    beta = est.get_variable_value("dnn/hiddenlayer_0/batchnorm_0/beta")
    h = (h - mm) / np.sqrt(mv + 1e-3) * gamma + beta
    ref = h @ est.get_variable_value("dnn/logits/kernel") + est.get_variable_value("dnn/logits/bias")
    np.testing.assert_allclose(_predict(est, "predictions"), ref, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- Linear, Baseline, combined
def test_linear_logits_match_numpy():
    est = canned.LinearRegressor(COLS, label_dimension=2, config=_cfg())
    est.train(_input(YR), steps=200)
    w = est.get_variable_value("linear/linear_model/b/weights")
    assert w.shape == (2, 2) and np.abs(w).max() > 0.1
    np.testing.assert_allclose(_predict(est, "predictions"), _np_linear(est, 2), rtol=1e-4, atol=1e-5)
    assert np.mean((_predict(est, "predictions") - YR) ** 2) < 0.5 * np.mean((YR - YR.mean(0)) ** 2)
    cls = canned.LinearClassifier(COLS, n_classes=3, config=_cfg())
    cls.train(_input(Y3), steps=10)
    np.testing.assert_allclose(_predict(cls, "logits"), _np_linear(cls, 3), rtol=1e-4, atol=1e-5)


def test_binary_linear_classifier_matches_numpy():
    yb = (XA[:, :1] - XB[:, :1] > 0).astype(np.int64)
    est = canned.LinearClassifier(COLS, config=_cfg())  # n_classes=2: one logit
    est.train(_input(yb), steps=30)
    ref = _np_linear(est, 1)
    np.testing.assert_allclose(_predict(est, "logits"), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_predict(est, "logistic"), 1 / (1 + np.exp(-ref)), rtol=1e-4, atol=1e-6)
    assert np.mean(_predict(est, "class_ids") == yb) > 0.9


def test_baseline_learns_the_prior():
    est = canned.BaselineRegressor(label_dimension=2, optimizer=lambda: tf.train.GradientDescentOptimizer(0.5),
                                   config=_cfg())
    est.train(_input(YR, batch=64), steps=60)
    bias = est.get_variable_value("baseline/bias")
    np.testing.assert_allclose(bias, YR.mean(0), atol=1e-3)
    np.testing.assert_allclose(_predict(est, "predictions"), np.tile(bias, (64, 1)), rtol=1e-6)
    with tf.Graph().as_default():  # the weight column is skipped when finding the batch size
        (vs, logits) = baseline_mod.baseline_logits({"w": tf.constant(XA[:5]), "b": tf.constant(XB[:5])}, 3, "w")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(logits).shape == (5, 3) and vs[0].op.name == "baseline/bias"
    with pytest.raises(TypeError, match="Weight column must be either a string or NumericColumn"):
        canned.BaselineClassifier(weight_column=3)


def test_combined_trains_both_parts_with_their_optimizers():
    est = canned.DNNLinearCombinedClassifier(
        linear_feature_columns=COLS, dnn_feature_columns=COLS, dnn_hidden_units=[6], n_classes=3,
        dnn_optimizer=lambda: tf.train.AdagradOptimizer(0.2), linear_optimizer="Ftrl", config=_cfg())
    est.train(_input(Y3), steps=50)
    names = est.get_variable_names()
    assert "dnn/hiddenlayer_0/kernel/Adagrad" in names and "linear/linear_model/a/weights/Ftrl" in names
    assert not any(n.startswith("dnn/") and "Ftrl" in n for n in names)
    assert not any(n.startswith("linear/") and "Adagrad" in n for n in names)
    assert est.get_variable_value("global_step") == 50  # one increment per step
    assert np.abs(est.get_variable_value("linear/linear_model/a/weights")).max() > 0
    ref = _np_dnn(est, _x(), 1) + _np_linear(est, 3)
    np.testing.assert_allclose(_predict(est, "logits"), ref, rtol=1e-4, atol=1e-5)
    # only one part: its optimizer increments the global step
    lin = canned.DNNLinearCombinedRegressor(linear_feature_columns=COLS, config=_cfg())
    lin.train(_input(YR[:, :1]), steps=4)
    assert lin.get_variable_value("global_step") == 4
    assert not any(n.startswith("dnn/") for n in lin.get_variable_names())


def test_warm_start_from():
    src = canned.DNNClassifier([5], COLS, n_classes=3, optimizer="Adam", config=_cfg())
    src.train(_input(Y3), steps=20)
    frozen = lambda: tf.train.GradientDescentOptimizer(0.0)  # noqa: E731  (keeps the warm-started values)
    dst = canned.DNNClassifier([5], COLS, n_classes=3, optimizer=frozen, warm_start_from=src.model_dir,
                               config=tf.estimator.RunConfig(tf_random_seed=99))
    dst.train(_input(Y3), steps=1)
    for n in ("dnn/hiddenlayer_0/kernel", "dnn/logits/bias"):
        np.testing.assert_array_equal(dst.get_variable_value(n), src.get_variable_value(n))
    part = canned.DNNClassifier([5], COLS, n_classes=3, optimizer=frozen,
                                config=tf.estimator.RunConfig(tf_random_seed=99),
                                warm_start_from=tf.estimator.WarmStartSettings(src.model_dir, "dnn/hiddenlayer.*"))
    part.train(_input(Y3), steps=1)
    np.testing.assert_array_equal(part.get_variable_value("dnn/hiddenlayer_0/kernel"),
                                  src.get_variable_value("dnn/hiddenlayer_0/kernel"))
    assert not np.array_equal(part.get_variable_value("dnn/logits/kernel"), src.get_variable_value("dnn/logits/kernel"))
    lin = canned.LinearRegressor(COLS, warm_start_from=src.model_dir)  # names absent in src: a clear error
    with pytest.raises(ValueError, match="linear/linear_model"):
        lin.train(_input(YR[:, :1]), steps=1)
    assert math.isfinite(float(dst.evaluate(_input(Y3, 64, repeat=False))["loss"]))
