"""tf.estimator.add_metrics: the new Estimator's evaluate() adds metric_fn's metrics (values
checked against numpy on the eval data), keeps (or, on a name clash, replaces) the original
ones, and trains/predicts exactly as the original in the same model_dir."""
import numpy as np
import pytest

import nestor as tf

RNG = np.random.RandomState(7)
X = RNG.uniform(-1, 1, (48, 2)).astype(np.float32)
Y = (X[:, 0] - 0.5 * X[:, 1] > 0.1).astype(np.int64).reshape(-1, 1)
W = RNG.uniform(0.5, 2.0, (48, 1)).astype(np.float32)
COLS = [tf.feature_column.numeric_column("x", shape=(2,))]


def _input(repeat=False):
    def fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": X, "w": W}, Y)).batch(16)
        return ds.repeat() if repeat else ds
    return fn


def _predict_input():
    return tf.data.Dataset.from_tensor_slices({"x": X, "w": W}).batch(16)


def _trained_classifier(tmp_path):
    est = tf.estimator.LinearClassifier(COLS, model_dir=str(tmp_path / "m"),
                                        config=tf.estimator.RunConfig(tf_random_seed=1))
    est.train(_input(repeat=True), steps=20)
    return est


def _logistic(est):
    return np.array([p["logistic"][0] for p in est.predict(_predict_input)], np.float64)


def test_add_metrics_to_canned_classifier(tmp_path):
    est = _trained_classifier(tmp_path)

    def metric_fn(labels, predictions, features):
        return {"mean_logistic": tf.metrics.mean(predictions["logistic"]),
                "weighted_label": tf.metrics.mean(tf.cast(labels, tf.float32), weights=features["w"])}

    est2 = tf.estimator.add_metrics(est, metric_fn)
    assert isinstance(est2, tf.estimator.Estimator) and est2 is not est
    assert est2.model_dir == est.model_dir and est2.config.model_dir == est.model_dir
    base = est.evaluate(_input())
    extended = est2.evaluate(_input())
    assert set(extended) == set(base) | {"mean_logistic", "weighted_label"}
    for k, v in base.items():  # the original metrics are unchanged
        np.testing.assert_allclose(extended[k], v, rtol=1e-6, err_msg=k)
    logistic = _logistic(est)
    np.testing.assert_allclose(extended["mean_logistic"], logistic.mean(), rtol=1e-5)
    w64, y64 = W[:, 0].astype(np.float64), Y[:, 0].astype(np.float64)
    np.testing.assert_allclose(extended["weighted_label"], (w64 * y64).sum() / w64.sum(), rtol=1e-5)
    # the original's own accuracy, recomputed from its predictions, is still what both report
    acc = ((logistic > 0.5).astype(np.int64) == Y[:, 0]).mean()
    np.testing.assert_allclose(extended["accuracy"], acc, rtol=1e-6)
    assert "mean_logistic" not in est.evaluate(_input())  # the original estimator is untouched


def test_add_metrics_train_and_predict_unaffected(tmp_path):
    est = _trained_classifier(tmp_path)
    est2 = tf.estimator.add_metrics(est, lambda predictions: {"m": tf.metrics.mean(predictions["logistic"])})
    np.testing.assert_array_equal(_logistic(est2), _logistic(est))
    before = est.get_variable_value("linear/linear_model/x/weights")
    est2.train(_input(repeat=True), steps=5)  # trains in the shared model_dir
    assert int(est.get_variable_value("global_step")) == 25
    assert est.latest_checkpoint() == est2.latest_checkpoint()
    assert not np.array_equal(est.get_variable_value("linear/linear_model/x/weights"), before)
    np.testing.assert_array_equal(_logistic(est), _logistic(est2))
    ev = est2.evaluate(_input())
    assert ev["global_step"] == 25
    np.testing.assert_allclose(ev["m"], _logistic(est).mean(), rtol=1e-5)


def test_new_metric_overrides_same_name(tmp_path):
    est = _trained_classifier(tmp_path)
    est2 = tf.estimator.add_metrics(
        est, lambda labels: {"accuracy": tf.metrics.mean(tf.cast(labels, tf.float32))})
    original = est.evaluate(_input())["accuracy"]
    replaced = est2.evaluate(_input())["accuracy"]
    np.testing.assert_allclose(replaced, Y.astype(np.float64).mean(), rtol=1e-6)
    assert not np.isclose(original, replaced)


def _model_fn(features, labels, mode, params):
    w = tf.compat.v1.get_variable("kernel", [2, 1], initializer=tf.compat.v1.zeros_initializer())
    pred = tf.matmul(features["x"], w) * params["scale"]
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.reduce_mean(tf.square(pred - tf.cast(labels, tf.float32)))
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, predictions={"y": pred},
                                      eval_metric_ops={"mean_pred": tf.metrics.mean(pred)})


def test_add_metrics_custom_model_fn_params_and_config(tmp_path):
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path), params={"scale": 3.0})
    est.train(_input(repeat=True), steps=10)
    seen = []

    def metric_fn(features, labels, predictions, config):
        seen.append(config)
        err = predictions["y"] - tf.cast(labels, tf.float32)
        return {"mae": tf.metrics.mean(tf.abs(err)), "x0": tf.metrics.mean(features["x"][:, 0])}

    est2 = tf.estimator.add_metrics(est, metric_fn)
    assert est2.params == {}  # as TensorFlow: the original's params reach its model_fn
    ev = est2.evaluate(_input())
    assert seen and seen[-1] is est2.config
    w = est.get_variable_value("kernel").astype(np.float64)
    pred = X.astype(np.float64) @ w * 3.0  # params["scale"] reached the wrapped model_fn
    np.testing.assert_allclose(ev["mae"], np.abs(pred[:, 0] - Y[:, 0]).mean(), rtol=1e-5)
    np.testing.assert_allclose(ev["mean_pred"], pred.mean(), rtol=1e-5)
    np.testing.assert_allclose(ev["x0"], X[:, 0].astype(np.float64).mean(), rtol=1e-5)
    np.testing.assert_allclose(ev["loss"], est.evaluate(_input())["loss"], rtol=1e-6)


def test_add_metrics_errors(tmp_path):
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path), params={"scale": 1.0})
    with pytest.raises(ValueError, match=r"not expected args: \['foo'\]"):
        tf.estimator.add_metrics(est, lambda labels, foo: {})
    with pytest.raises(TypeError, match="metric_fn must be callable"):
        tf.estimator.add_metrics(est, {"m": 1})
    with pytest.raises(TypeError, match="must be a nestor.estimator.Estimator"):
        tf.estimator.add_metrics(object(), lambda labels: {})
    est.train(_input(repeat=True), steps=1)
    with pytest.raises(ValueError, match='Metric with name "loss" is not allowed'):
        tf.estimator.add_metrics(est, lambda labels: {"loss": tf.metrics.mean(labels)}).evaluate(_input())
    with pytest.raises(TypeError, match="must return a dict"):
        tf.estimator.add_metrics(est, lambda labels: 3).evaluate(_input())
