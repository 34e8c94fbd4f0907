"""InMemoryEvaluatorHook: evaluations during train() from the training session's variables
(no checkpoint), on TensorFlow's schedule, written where TensorBoard and BestExporter read them;
figures checked against gradient descent computed in numpy float64."""
import numpy as np
import pytest

import nestor as tf
from nestor.estimator.early_stopping import read_eval_metrics

LR = 0.05


def _data(seed, n=32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-1.5], [2.0]], np.float32) + 0.5).astype(np.float32)
    return x, y


def model_fn(features, labels, mode):
    w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
    b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
    pred = tf.matmul(features["x"], w) + b
    loss = tf.reduce_mean(tf.square(pred - labels))
    train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      eval_metric_ops={"mae": tf.metrics.mean_absolute_error(labels, pred)})


def _input(x, y, repeat):
    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(len(x))
        return ds.repeat() if repeat else ds
    return input_fn


def _reference(x, y, xe, ye, steps):
    """{step: (loss, mae)} of full-batch gradient descent on (x, y), evaluated on (xe, ye)."""
    w, b = np.zeros((3, 1)), np.zeros(1)
    x, y, xe, ye = (a.astype(np.float64) for a in (x, y, xe, ye))
    out = {}
    for step in range(steps + 1):
        r = xe @ w + b - ye
        out[step] = (np.mean(r ** 2), np.mean(np.abs(r)))
        g = x @ w + b - y
        w, b = w - LR * 2 / len(x) * x.T @ g, b - LR * 2 / len(x) * g.sum(0)
    return out


@pytest.mark.parametrize("every_n_iter,steps,want_steps", [(4, 10, [0, 4, 8, 10]), (1, 3, [0, 1, 2, 3])])
def test_evaluations_follow_the_training_variables(tmp_path, every_n_iter, steps, want_steps):
    (x, y), (xe, ye) = _data(1), _data(2)
    # No checkpoints during training: the evaluations between start and end can only come from memory.
    cfg = tf.estimator.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), config=cfg)
    hook = tf.estimator.experimental.InMemoryEvaluatorHook(est, _input(xe, ye, False), every_n_iter=every_n_iter)
    est.train(_input(x, y, True), steps=steps, hooks=[hook])
    got = read_eval_metrics(est.eval_dir())
    assert list(got) == want_steps
    ref = _reference(x, y, xe, ye, steps)
    for step, metrics in got.items():
        np.testing.assert_allclose(metrics["loss"], ref[step][0], rtol=1e-5)
        np.testing.assert_allclose(metrics["mae"], ref[step][1], rtol=1e-5)
    # evaluate() afterwards restores the final checkpoint into the same cached graph.
    res = est.evaluate(_input(xe, ye, False))
    np.testing.assert_allclose(res["loss"], ref[steps][0], rtol=1e-5)
    assert res["global_step"] == steps


def test_named_evaluation_steps_and_hooks(tmp_path):
    (x, y), (xe, ye) = _data(3), _data(4, n=64)
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    seen = []

    class Count(tf.estimator.SessionRunHook):
        def after_run(self, run_context, run_values):
            seen.append(1)

    def eval_input_fn():  # two batches of 32
        return tf.data.Dataset.from_tensor_slices(({"x": xe}, ye)).batch(32)

    hook = tf.estimator.experimental.InMemoryEvaluatorHook(est, eval_input_fn, steps=1, hooks=[Count()],
                                                           name="first_half", every_n_iter=100)
    est.train(_input(x, y, True), steps=2, hooks=[hook])
    got = read_eval_metrics(est.eval_dir("first_half"))
    assert list(got) == [0, 2] and len(seen) == 2  # one batch per evaluation (steps=1)
    ref = _reference(x, y, xe[:32], ye[:32], 2)
    np.testing.assert_allclose(got[2]["loss"], ref[2][0], rtol=1e-5)


def test_argument_errors(tmp_path):
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    fn = _input(*_data(5), False)
    with pytest.raises(ValueError, match="invalid every_n_iter=0"):
        tf.estimator.experimental.InMemoryEvaluatorHook(est, fn, every_n_iter=0)
    with pytest.raises(TypeError, match="must be a tf.estimator.Estimator"):
        tf.estimator.experimental.InMemoryEvaluatorHook(object(), fn)
    with pytest.raises(TypeError, match="input_fn must be callable"):
        tf.estimator.experimental.InMemoryEvaluatorHook(est, None)
    with pytest.raises(TypeError, match="SessionRunHook"):
        tf.estimator.experimental.InMemoryEvaluatorHook(est, fn, hooks=[object()])
