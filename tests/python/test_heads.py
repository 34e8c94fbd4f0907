"""TF 2.15 heads (nestor.estimator.head) against TensorFlow's values in tests/fixtures/heads.json
(made by tests/fixtures/make_heads.py): losses, eval metrics over two batches, predictions,
export outputs; train ops, Estimator.evaluate keys and error messages."""
import json
import os

import numpy as np
import pytest

import nestor as tf
from nestor.estimator import export_output
from nestor.estimator.head import (BinaryClassHead, LogisticRegressionHead, MultiClassHead, MultiHead,
                                   MultiLabelHead, PoissonRegressionHead, RegressionHead)

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "fixtures", "heads.json")) as f:
    FX = json.load(f)

HEADS = {
    "binary": lambda: BinaryClassHead(),
    "binary_weighted": lambda: BinaryClassHead(weight_column="w", thresholds=[0.3, 0.7], loss_reduction="sum"),
    "binary_vocab": lambda: BinaryClassHead(label_vocabulary=["neg", "pos"], name="bin"),
    "multiclass": lambda: MultiClassHead(3),
    "multiclass_vocab_weighted": lambda: MultiClassHead(4, weight_column="w", label_vocabulary=["a", "b", "c", "d"],
                                                        loss_reduction="sum"),
    "multilabel": lambda: MultiLabelHead(3),
    "multilabel_weighted": lambda: MultiLabelHead(3, weight_column="w", thresholds=[0.5],
                                                  label_vocabulary=["x", "y", "z"],
                                                  classes_for_class_based_metrics=["x", "z"]),
    "regression": lambda: RegressionHead(),
    "regression_weighted": lambda: RegressionHead(label_dimension=2, weight_column="w", loss_reduction="sum"),
    "poisson": lambda: PoissonRegressionHead(),
    "logistic": lambda: LogisticRegressionHead(),
    "multi_head": lambda: MultiHead([BinaryClassHead(name="b"), RegressionHead(label_dimension=2, name="r")],
                                    head_weights=[1.0, 0.5]),
}


def _arr(v, dtype=None):
    a = np.asarray(v)
    if a.dtype.kind == "U":
        return a.astype(object)
    return a.astype(dtype) if dtype is not None else a


def _label_ph(a):
    if a.dtype == object:
        return tf.placeholder(tf.string, [None, a.shape[1]])
    return tf.placeholder(tf.float32 if a.dtype.kind == "f" else tf.int64, [None, a.shape[1]])


def _run_case(name):
    fx = FX[name]
    multi = name == "multi_head"
    g = tf.Graph()
    with g.as_default():
        head = HEADS[name]()
        if multi:
            logits = [np.concatenate([_arr(b[k], np.float32) for k in sorted(b)], axis=1) for b in fx["logits"]]
            labels = [{k: _arr(v) for k, v in b.items()} for b in fx["labels"]]
            lab_ph = {k: _label_ph(v) for k, v in labels[0].items()}
        else:
            logits = [_arr(b, np.float32) for b in fx["logits"]]
            labels = [_arr(b) for b in fx["labels"]]
            lab_ph = _label_ph(labels[0])
        lp = tf.placeholder(tf.float32, [None, logits[0].shape[1]])
        feats = {"x": tf.placeholder(tf.float32, [None, 1])}
        if fx["weights"] is not None:
            feats["w"] = tf.placeholder(tf.float32, [None])
        loss_t = head.loss(labels=lab_ph, logits=lp, features=feats)
        spec = head.create_estimator_spec(features=feats, mode=tf.estimator.ModeKeys.EVAL, logits=lp, labels=lab_ph)
        pspec = head.create_estimator_spec(features=feats, mode=tf.estimator.ModeKeys.PREDICT, logits=lp)
        ops = dict(spec.eval_metric_ops)
        assert "loss" not in ops
        ops["loss"] = tf.metrics.mean(spec.loss)
        sess = tf.Session(graph=g)
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        losses = []
        for b in range(2):
            fd = {feats["x"]: np.zeros((len(logits[b]), 1), np.float32), lp: logits[b]}
            if multi:
                fd.update({lab_ph[k]: labels[b][k] for k in lab_ph})
            else:
                fd[lab_ph] = labels[b]
            if fx["weights"] is not None:
                fd[feats["w"]] = np.asarray(fx["weights"][b], np.float32)
            losses.append(float(sess.run(loss_t, fd)))
            sess.run([v[1] for v in ops.values()], fd)
        metrics = sess.run({k: v[0] for k, v in ops.items()})
        preds = sess.run(pspec.predictions, {lp: logits[0]})
    return fx, losses, metrics, preds, pspec


@pytest.mark.parametrize("name", sorted(HEADS))
def test_head_matches_tensorflow(name):
    fx, losses, metrics, preds, pspec = _run_case(name)
    np.testing.assert_allclose(losses, fx["losses"], rtol=1e-5, atol=1e-5)
    assert sorted(metrics) == sorted(fx["metrics"])
    for k, want in fx["metrics"].items():
        tol = 1e-4 if "auc" in k else 1e-5
        np.testing.assert_allclose(metrics[k], want, rtol=tol, atol=tol, err_msg=k)
    got = {"/".join(k) if isinstance(k, tuple) else k: v for k, v in preds.items()}
    assert sorted(got) == sorted(fx["predictions"])
    for k, want in fx["predictions"].items():
        v = np.asarray(got[k])
        assert list(v.shape) == want["shape"], k
        if want["dtype"] == "string":
            assert [x.decode() for x in v.ravel()] == want["value"], k
        else:
            assert v.dtype.name == want["dtype"], k
            np.testing.assert_allclose(v.ravel(), want["value"], rtol=1e-5, atol=1e-6, err_msg=k)
    assert sorted(pspec.export_outputs) == fx["export_keys"]


def test_export_outputs_types():
    with tf.Graph().as_default():
        lp = tf.placeholder(tf.float32, [None, 1])
        spec = BinaryClassHead().create_estimator_spec({}, tf.estimator.ModeKeys.PREDICT, lp)
        out = spec.export_outputs
        assert out["serving_default"] is out["classification"]
        assert isinstance(out["classification"], export_output.ClassificationOutput)
        assert out["classification"].classes.dtype == tf.string
        assert isinstance(out["regression"], export_output.RegressionOutput)
        assert out["regression"].value is spec.predictions["logistic"]
        assert isinstance(out["predict"], export_output.PredictOutput)
        assert sorted(out["predict"].outputs) == sorted(spec.predictions)
        rspec = RegressionHead().create_estimator_spec({}, tf.estimator.ModeKeys.PREDICT, lp)
        assert sorted(rspec.export_outputs) == ["predict", "regression", "serving_default"]
        assert rspec.export_outputs["regression"].as_signature_outputs() == {"outputs": rspec.predictions["predictions"]}
        with pytest.raises(ValueError, match="At least one of scores and classes"):
            export_output.ClassificationOutput()
        with pytest.raises(ValueError, match="must be a float32 Tensor"):
            export_output.RegressionOutput(tf.constant([1], tf.int32))


@pytest.mark.parametrize("make_head,labels", [
    (lambda: BinaryClassHead(), np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)),
    (lambda: MultiClassHead(3), np.array([[2], [0], [1], [1]], np.int64)),
    (lambda: RegressionHead(label_dimension=2), np.arange(8, dtype=np.float32).reshape(4, 2) / 4.0),
    (lambda: MultiLabelHead(3), np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], np.int64)),
])
def test_train_op_reduces_loss(make_head, labels):
    with tf.Graph().as_default():
        head = make_head()
        x = tf.constant(np.array([[1.0, 0.5], [-1.0, 0.2], [0.3, -0.7], [0.8, 0.9]], np.float32))
        logits = tf.layers.dense(x, head.logits_dimension)
        tf.train.get_or_create_global_step()
        spec = head.create_estimator_spec({}, tf.estimator.ModeKeys.TRAIN, logits, tf.constant(labels),
                                          optimizer=tf.train.GradientDescentOptimizer(0.5),
                                          trainable_variables=tf.trainable_variables())
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            first = s.run(spec.loss)
            for _ in range(20):
                s.run(spec.train_op)
            assert s.run(spec.loss) < 0.8 * first
            assert s.run(tf.train.get_global_step()) == 20
        assert any("loss" in t.op.name for t in tf.get_collection(tf.GraphKeys.SUMMARIES))


def test_train_op_fn_update_ops_and_regularization():
    with tf.Graph().as_default():
        head = RegressionHead()
        v = tf.Variable(0.0)
        counter = tf.Variable(0.0)
        logits = tf.reshape(v, [1, 1]) + tf.zeros([2, 1])
        reg = [tf.constant(0.25)]
        spec = head.create_estimator_spec({}, tf.estimator.ModeKeys.TRAIN, logits, tf.constant([[1.0], [3.0]]),
                                          train_op_fn=lambda loss: tf.train.GradientDescentOptimizer(0.1).minimize(loss),
                                          update_ops=[tf.assign_add(counter, 1.0)], regularization_losses=reg)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            assert s.run(spec.loss) == pytest.approx((1.0 + 9.0) / 2 + 0.25)
            s.run(spec.train_op)
            assert s.run(counter) == 1.0
            assert s.run(v) == pytest.approx(0.1 * 4.0)
        espec = RegressionHead().create_estimator_spec({}, tf.estimator.ModeKeys.EVAL, logits,
                                                       tf.constant([[1.0], [3.0]]), regularization_losses=reg)
        assert "regularization_loss" in espec.eval_metric_ops
        with pytest.raises(ValueError, match="train_op_fn and optimizer cannot both be None"):
            head.create_estimator_spec({}, tf.estimator.ModeKeys.TRAIN, logits, tf.constant([[1.0], [3.0]]))
        with pytest.raises(ValueError, match="cannot both be set"):
            head.create_estimator_spec({}, tf.estimator.ModeKeys.TRAIN, logits, tf.constant([[1.0], [3.0]]),
                                       optimizer=tf.train.GradientDescentOptimizer(0.1), train_op_fn=lambda l: l)


def _input_fn_binary():
    x = np.array([[0.5], [-1.0], [2.0], [0.1], [-0.3], [1.5]], np.float32)
    y = np.array([[1], [0], [1], [0], [0], [1]], np.int64)
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(3)


@pytest.mark.parametrize("make_head,want", [
    (lambda: BinaryClassHead(), ["accuracy", "accuracy_baseline", "auc", "auc_precision_recall", "average_loss",
                                 "global_step", "label/mean", "loss", "precision", "prediction/mean", "recall"]),
    (lambda: RegressionHead(), ["average_loss", "global_step", "label/mean", "loss", "prediction/mean"]),
])
def test_estimator_evaluate_and_predict_keys(tmp_path, make_head, want):
    def model_fn(features, labels, mode):
        head = make_head()
        logits = tf.layers.dense(features["x"], head.logits_dimension)
        return head.create_estimator_spec(features, mode, logits, labels,
                                          optimizer=tf.train.GradientDescentOptimizer(0.1),
                                          trainable_variables=tf.trainable_variables())
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(_input_fn_binary, steps=2)
    res = est.evaluate(_input_fn_binary)
    assert sorted(res) == want
    assert res["global_step"] == 2
    pred = next(iter(est.predict(lambda: _input_fn_binary().map(lambda f, l: f))))
    if "auc" in want:
        assert sorted(pred) == ["all_class_ids", "all_classes", "class_ids", "classes", "logistic", "logits",
                                "probabilities"]
        assert pred["class_ids"].dtype == np.int64 and pred["all_class_ids"].dtype == np.int32
        assert pred["probabilities"].shape == (2,) and pred["classes"].shape == (1,)
    else:
        assert sorted(pred) == ["predictions"]


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"thresholds not in \(0, 1\)"):
        BinaryClassHead(thresholds=[1.5])
    with pytest.raises(ValueError, match="label_vocabulary should be a list or a tuple"):
        BinaryClassHead(label_vocabulary="ab")
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        BinaryClassHead(loss_reduction="none")
    with pytest.raises(ValueError, match="loss_fn must contain argument: logits"):
        RegressionHead(loss_fn=lambda labels, x: x)
    with pytest.raises(ValueError, match="loss_fn has unexpected args"):
        RegressionHead(loss_fn=lambda labels, logits, extra: logits)
    with pytest.raises(ValueError, match="n_classes must be > 2: 2"):
        MultiClassHead(2)
    with pytest.raises(ValueError, match='"label_vocabulary" does not have "n_classes" items'):
        MultiClassHead(3, label_vocabulary=["a", "b"])
    with pytest.raises(ValueError, match="n_classes must be > 1 for multi-label"):
        MultiLabelHead(1)
    with pytest.raises(ValueError, match=r"must be in range \[0, 2\]"):
        MultiLabelHead(3, classes_for_class_based_metrics=[3])
    with pytest.raises(ValueError, match="Invalid label_dimension 0"):
        RegressionHead(label_dimension=0)
    with pytest.raises(ValueError, match="All given heads must have name specified"):
        MultiHead([RegressionHead()])
    with pytest.raises(ValueError, match="heads and head_weights must have the same size"):
        MultiHead([RegressionHead(name="a")], head_weights=[1.0, 2.0])
    assert RegressionHead(loss_reduction=tf.losses.Reduction.SUM).loss_reduction == tf.losses.Reduction.SUM


def test_label_errors():
    with tf.Graph().as_default():
        lp = tf.placeholder(tf.float32, [None, 3])
        with pytest.raises(ValueError, match="You must provide a labels Tensor"):
            MultiClassHead(3).loss(None, lp)
        with pytest.raises(ValueError, match="Mismatched label shape. Expected labels dimension=1.  Received 2"):
            MultiClassHead(3).loss(tf.placeholder(tf.int64, [None, 2]), lp)
        with pytest.raises(ValueError, match="Labels dtype should be integer"):
            MultiClassHead(3).loss(tf.placeholder(tf.float32, [None, 1]), lp)
        with pytest.raises(ValueError, match=r"logits shape must be \[D0, D1, ... DN, logits_dimension\]"):
            BinaryClassHead().loss(tf.placeholder(tf.float32, [None, 1]), lp)
        with pytest.raises(ValueError, match="Labels must be <= 3 - 1"):
            MultiClassHead(3).loss(tf.constant([[0], [3]], tf.int64), tf.zeros([2, 3]))
        with pytest.raises(ValueError, match="weights shape must be"):
            MultiClassHead(3, weight_column="w").loss(tf.constant([[0], [1]], tf.int64), tf.zeros([2, 3]),
                                                      features={"w": tf.zeros([2, 2])})
        with pytest.raises(ValueError, match="labels must be a dict"):
            MultiHead([RegressionHead(name="a")]).loss(tf.zeros([2, 1]), tf.zeros([2, 1]))
        with pytest.raises(ValueError, match="Prediction key must be in PredictionKeys"):
            BinaryClassHead().predictions(tf.zeros([2, 1]), keys=["nope"])
        # Labels out of range at run time fail in the head's check_label_range op.
        lab = tf.placeholder(tf.int64, [None, 1])
        loss = MultiClassHead(3, name="mc").loss(lab, lp)
        vocab = tf.placeholder(tf.string, [None, 1])
        vloss = BinaryClassHead(label_vocabulary=["n", "p"]).loss(vocab, tf.placeholder_with_default(
            np.zeros((2, 1), np.float32), [None, 1]))
        with tf.Session() as s:
            feed = {lp: np.zeros((2, 3), np.float32)}
            assert s.run(loss, {**feed, lab: [[0], [2]]}) == pytest.approx(np.log(3.0), rel=1e-6)
            with pytest.raises(tf.errors.InvalidArgumentError, match="check_label_range"):
                s.run(loss, {**feed, lab: [[0], [3]]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="check_label_range"):
                s.run(loss, {**feed, lab: [[-1], [0]]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="check_label_range"):
                s.run(vloss, {vocab: np.array([["p"], ["maybe"]], dtype=object)})


def test_multilabel_sparse_labels_and_numeric_weight_column():
    with tf.Graph().as_default():
        logits = tf.constant(np.array([[0.5, -1.0, 2.0], [1.0, 0.3, -0.4]], np.float32))
        dense = tf.constant(np.array([[1, 0, 1], [0, 1, 0]], np.int64))
        sparse = tf.SparseTensor(indices=[[0, 0], [0, 1], [1, 0]], values=tf.constant([0, 2, 1], tf.int64),
                                 dense_shape=[2, 2])
        strs = tf.SparseTensor(indices=[[0, 0], [0, 1], [1, 0]], values=tf.constant(["a", "c", "b"]),
                               dense_shape=[2, 2])
        feats = {"w": tf.constant([2.0, 0.5])}
        col = tf.feature_column.numeric_column("w")
        h = MultiLabelHead(3, weight_column=col)
        hv = MultiLabelHead(3, weight_column="w", label_vocabulary=["a", "b", "c"])
        with tf.Session() as s:
            want = s.run(h.loss(dense, logits, features=feats))
            assert s.run(h.loss(sparse, logits, features=feats)) == pytest.approx(want, rel=1e-6)
            assert s.run(hv.loss(strs, logits, features=feats)) == pytest.approx(want, rel=1e-6)
            z = 1.0 / (1.0 + np.exp(-np.array([[0.5, -1.0, 2.0], [1.0, 0.3, -0.4]])))
            y = np.array([[1, 0, 1], [0, 1, 0]])
            ce = -(y * np.log(z) + (1 - y) * np.log(1 - z)).mean(axis=1)
            assert want == pytest.approx((ce * [2.0, 0.5]).sum() / 2, rel=1e-5)
