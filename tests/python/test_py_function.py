"""tf.py_function / tf.numpy_function / tf.compat.v1.py_func: Python functions as graph ops
(native host_callback calling back into this process). References: numpy float64 and the
functions themselves run directly."""
import gc
import weakref

import numpy as np
import pytest

import nestor as tf
from nestor.ops import script_ops


def run(fetches, feed=None):
    with tf.Session() as s:
        return s.run(fetches, feed)


def test_py_function_values_and_eager_numpy():
    x = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]], np.float32)
    seen = []

    def f(a, k):
        seen.append((type(a).__name__, a.numpy().dtype, k.numpy()))
        return np.sort(a.numpy(), axis=1)[:, ::-1] * k.numpy()

    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 3])
        y = tf.py_function(f, [p, tf.constant(2, tf.int64)], tf.float32)
        assert y.dtype == tf.float32 and y.shape.ndims is None  # unknown until it runs
        z = y + 1.0  # composes with graph ops
        got, got_z = run([y, z], {p: x})
    np.testing.assert_array_equal(got, -np.sort(-x.astype(np.float64), axis=1) * 2)
    np.testing.assert_array_equal(got_z, got + 1.0)
    assert got.dtype == np.float32
    assert seen == [("_EagerValue", np.float32, 2)]  # once per run: both fetches share the call


def test_numpy_function_lists_dtypes_and_strings():
    def f(ids, words):
        assert type(ids) is np.ndarray and type(words) is np.ndarray
        joined = np.array([b"-".join([w, str(int(i)).encode()]) for w, i in zip(words, ids)], dtype=object)
        return ids.astype(np.float64) / 2, joined, int(ids.sum())  # converted to the Tout dtypes

    with tf.Graph().as_default():
        ids = tf.constant([1, 5, 8], tf.int32)
        words = tf.constant(["a", "bb", "c"])
        half, joined, total = tf.numpy_function(f, [ids, words], [tf.float32, tf.string, tf.int64])
        v1 = tf.compat.v1.py_func(lambda a: a * 3, [ids], tf.int32)
        h, j, t, v = run([half, joined, total, v1])
    np.testing.assert_array_equal(h, np.array([0.5, 2.5, 4.0], np.float32))
    assert h.dtype == np.float32 and t.dtype == np.int64 and int(t) == 14
    assert j.tolist() == [b"a-1", b"bb-5", b"c-8"]
    np.testing.assert_array_equal(v, [3, 15, 24])


def test_no_gradient_through_the_call():
    with tf.Graph().as_default():
        x = tf.constant([1.0, 2.0])
        y = tf.py_function(lambda a: a.numpy() ** 2, [x], tf.float32)
        direct = tf.reduce_sum(x * 3.0)
        grads = tf.gradients(tf.reduce_sum(y) + direct, [x])
        (g,) = run(grads)
    np.testing.assert_array_equal(g, [3.0, 3.0])  # only the graph path contributes


@pytest.mark.parametrize("exc,err", [
    (ValueError("bad value"), tf.errors.InvalidArgumentError),
    (TypeError("bad type"), tf.errors.InvalidArgumentError),
    (StopIteration(), tf.errors.OutOfRangeError),
    (NotImplementedError("later"), tf.errors.UnimplementedError),
    (RuntimeError("boom"), tf.errors.UnknownError),
])
def test_exceptions_become_session_errors(exc, err):
    def f(a):
        raise exc

    with tf.Graph().as_default():
        y = tf.py_function(f, [tf.constant(1.0)], tf.float32, name="my_func")
        with pytest.raises(err, match=r"op 'my_func' \(host_callback\): " + type(exc).__name__):
            run(y)


def test_wrong_results_are_clear_errors():
    with tf.Graph().as_default():
        two = tf.numpy_function(lambda: (1.0,), [], [tf.float32, tf.float32], name="two")
        text = tf.numpy_function(lambda: np.array([1, 2]), [], tf.string, name="text")
        num = tf.numpy_function(lambda: "x", [], tf.float32, name="num")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"returned 1 values, expected 2"):
            run(two)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"output 0 must hold bytes or str"):
            run(text)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"cannot be converted to float32"):
            run(num)
    with pytest.raises(TypeError, match="func must be callable"):
        tf.py_function(3, [], tf.float32)


def test_function_lives_as_long_as_its_graph():
    def f(a):
        return a

    ref = weakref.ref(f)
    g = tf.Graph()
    with g.as_default():
        tf.numpy_function(f, [tf.constant(1.0)], tf.float32)
    del f
    gc.collect()
    assert ref() is not None
    n = len(script_ops._functions)
    del g
    gc.collect()
    assert ref() is None and len(script_ops._functions) == n - 1


def test_in_a_traced_dataset_map():
    """A map function mixing nestor ops and a Python call is traced; the call runs per batch."""
    xs = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = tf.data.Dataset.from_tensor_slices(xs).batch(4).map(
        lambda b: tf.numpy_function(lambda a: np.cumsum(a, axis=1), [b * 2.0], tf.float32) + 1.0)
    got = np.concatenate(list(ds.as_numpy_iterator()))
    np.testing.assert_array_equal(got, np.cumsum(xs.astype(np.float64) * 2, axis=1) + 1)


def _model_fn(features, labels, mode):
    # A Python-side transform of the input (clip to the batch's 90th percentile) before a linear model.
    x = tf.py_function(lambda a: np.minimum(a.numpy(), np.percentile(a.numpy(), 90)), [features["x"]], tf.float32)
    x.set_shape([None, 1])
    pred = tf.layers.dense(x, 1, kernel_initializer=tf.zeros_initializer())[:, 0]
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.losses.mean_squared_error(labels, pred)
    train = tf.train.GradientDescentOptimizer(0.05).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)


def test_estimator_trains_with_it_and_refuses_to_export_it(tmp_path):
    x = np.linspace(0, 2, 16, dtype=np.float32).reshape(16, 1)
    y = 2.0 * x[:, 0]
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "m"))
    inp = tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=16, num_epochs=None, shuffle=False)
    est.train(inp, steps=5)
    xc = np.minimum(x[:, 0].astype(np.float64), np.percentile(x[:, 0], 90))
    w = b = 0.0  # the same 5 full-batch gradient-descent steps in float64
    for _ in range(5):
        r = w * xc + b - y
        w, b = w - 0.05 * np.mean(2 * r * xc), b - 0.05 * np.mean(2 * r)
    np.testing.assert_allclose(est.get_variable_value("dense/kernel")[0, 0], w, rtol=1e-5)
    np.testing.assert_allclose(est.get_variable_value("dense/bias")[0], b, rtol=1e-5)

    def receiver():
        p = tf.placeholder(tf.float32, [None, 1], name="x")
        return tf.estimator.export.ServingInputReceiver({"x": p}, {"x": p})

    with pytest.raises(ValueError, match=r"export: the graph calls Python functions .*EagerPyFunc"):
        est.export_saved_model(str(tmp_path / "export"), receiver)
    assert not (tmp_path / "export").exists() or not any((tmp_path / "export").iterdir())
