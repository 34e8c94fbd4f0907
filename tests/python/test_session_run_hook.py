"""The hooked step train(), evaluate() and predict() share (`session_run_hook.run_step`): hooks'
fetches and feeds reach the session in every mode, and a tensor fed twice is an error, as in
TensorFlow's MonitoredSession."""
import numpy as np
import pytest

import nestor as tf

X = np.arange(8, dtype=np.float32).reshape(8, 1) / 4.0
Y = 3.0 * X[:, 0] + 1.0


def model_fn(features, labels, mode):
    """y = (w * x + b) * scale, where `scale` is a placeholder with default 1 that hooks may feed."""
    scale = tf.placeholder_with_default(tf.constant(1.0), [], name="scale")
    w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
    b = tf.get_variable("b", [], initializer=tf.zeros_initializer())
    pred = (w * features["x"][:, 0] + b) * scale
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.reduce_mean(tf.square(pred - labels))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train,
                                      eval_metric_ops={"mean_pred": tf.metrics.mean(pred)})


class ScaleHook(tf.estimator.SessionRunHook):
    """Feeds `scale` and fetches it back, every step."""

    def __init__(self, value):
        self.value, self.seen = value, []

    def begin(self):
        graph = tf.get_default_graph()
        self.scale = graph.get_tensor_by_name("scale:0")

    def before_run(self, run_context):
        return tf.estimator.SessionRunArgs(fetches={"scale": self.scale}, feed_dict={self.scale: self.value})

    def after_run(self, run_context, run_values):
        self.seen.append(float(run_values.results["scale"]))


def input_fn(batch=8, epochs=1, shuffle=False):
    return tf.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=batch, num_epochs=epochs, shuffle=shuffle)


@pytest.fixture
def est(tmp_path):
    return tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))


def test_training_uses_the_hook_feed(est):
    hook = ScaleHook(2.0)
    est.train(input_fn(epochs=None), steps=3, hooks=[hook])
    w = b = 0.0  # full-batch gradient descent in float64 with scale 2
    x, y = X[:, 0].astype(np.float64), Y.astype(np.float64)
    for _ in range(3):
        r = (w * x + b) * 2.0 - y
        w, b = w - 0.1 * np.mean(2 * r * 2.0 * x), b - 0.1 * np.mean(2 * r * 2.0)
    assert hook.seen == [2.0] * 3
    np.testing.assert_allclose(est.get_variable_value("w"), w, rtol=1e-5)
    np.testing.assert_allclose(est.get_variable_value("b"), b, rtol=1e-5)


def test_evaluate_and_predict_use_the_hook_feed(est):
    est.train(input_fn(epochs=None), steps=2)
    w, b = float(est.get_variable_value("w")), float(est.get_variable_value("b"))
    ref = (w * X[:, 0].astype(np.float64) + b) * 3.0
    hook = ScaleHook(3.0)
    metrics = est.evaluate(input_fn(batch=4), hooks=[hook])
    np.testing.assert_allclose(metrics["mean_pred"], ref.mean(), rtol=1e-5)
    assert hook.seen == [3.0, 3.0]  # two batches of 4
    hook = ScaleHook(3.0)
    preds = [p["y"] for p in est.predict(input_fn(batch=4), hooks=[hook])]
    np.testing.assert_allclose(preds, ref, rtol=1e-5)
    assert len(hook.seen) == 2
    plain = [p["y"] for p in est.predict(input_fn(batch=4))]  # without the hook: the default scale 1
    np.testing.assert_allclose(plain, ref / 3.0, rtol=1e-5)


@pytest.mark.parametrize("mode", ["train", "evaluate", "predict"])
def test_a_tensor_fed_by_two_hooks_is_an_error(est, mode):
    est.train(input_fn(), steps=1)
    hooks = [ScaleHook(2.0), ScaleHook(3.0)]
    with pytest.raises(RuntimeError, match=r"Same tensor is fed by two hooks\. Conflict\(s\): \[.*scale"):
        if mode == "train":
            est.train(input_fn(), steps=1, hooks=hooks)
        elif mode == "evaluate":
            est.evaluate(input_fn(), hooks=hooks)
        else:
            list(est.predict(input_fn(), hooks=hooks))


class InputFeedHook(tf.estimator.SessionRunHook):
    """Feeds the tensor that the input pipeline feeds (the features' placeholder)."""

    def before_run(self, run_context):
        graph = run_context.session.graph
        fed = [op.outputs[0] for op in graph.get_operations()
               if op.type.lower() == "placeholder" and op.outputs[0].shape.as_list() == [None, 1]]
        assert len(fed) == 1, fed
        return tf.estimator.SessionRunArgs(fetches=None, feed_dict={fed[0]: X})


def test_a_tensor_fed_by_a_hook_and_the_input_is_an_error(est):
    with pytest.raises(RuntimeError, match=r"Same tensor is fed by a SessionRunHook and user\."):
        list(est.predict(input_fn(), hooks=[InputFeedHook()]))
