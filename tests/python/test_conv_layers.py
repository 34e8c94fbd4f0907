"""tf.layers.conv2d / max_pooling2d / average_pooling2d (and their classes): variables, shapes
and outputs against NumPy float64 references; a CNN model_fn trained by an Estimator on random
8x8 images (the loss falls, the conv kernel's gradient matches finite differences)."""
import os
import sys

import numpy as np
import pytest

import nestor as tf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ops"))
from test_conv import np_conv2d, np_pool  # noqa: E402


def test_conv2d_layer_variables_defaults_and_output():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 7, 6, 3))
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.layers.conv2d(xt, 4, 3, strides=2, padding="same", activation=tf.nn.relu)
        assert y.shape.as_list() == [2, 4, 3, 4]
        kernel, bias = tf.trainable_variables()
        assert kernel.name == "conv2d/kernel:0" and kernel.shape.as_list() == [3, 3, 3, 4]
        assert bias.name == "conv2d/bias:0" and bias.dtype == tf.float64
        y2 = tf.layers.conv2d(xt, 2, (2, 3), use_bias=False)  # padding 'valid' by default
        assert y2.shape.as_list() == [2, 6, 4, 2]
        assert [v.name for v in tf.trainable_variables()][2:] == ["conv2d_1/kernel:0"]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            yv, y2v, k, b, k2 = s.run([y, y2, kernel, bias, tf.trainable_variables()[2]])
    np.testing.assert_array_equal(b, np.zeros(4))
    limit = np.sqrt(6.0 / (9 * 3 + 9 * 4))  # glorot_uniform with the receptive field in the fans
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.5 * limit
    np.testing.assert_allclose(yv, np.maximum(np_conv2d(x, k, (2, 2), "SAME") + b, 0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y2v, np_conv2d(x, k2, (1, 1), "VALID"), rtol=1e-10, atol=1e-12)


def test_conv2d_class_reuse_and_errors():
    with tf.Graph().as_default():
        layer = tf.layers.Conv2D(filters=2, kernel_size=[3, 3], padding="SAME", name="c")
        a = layer(tf.zeros([1, 5, 5, 1]))
        b = layer(tf.ones([3, 5, 5, 1]))
        assert a.shape.as_list() == [1, 5, 5, 2] and b.shape.as_list() == [3, 5, 5, 2]
        assert len(tf.trainable_variables()) == 2
        assert layer.compute_output_shape([None, 9, 8, 1]).as_list() == [None, 9, 8, 2]
        with pytest.raises(NotImplementedError, match="channels_first"):
            tf.layers.conv2d(tf.zeros([1, 1, 5, 5]), 2, 3, data_format="channels_first")
        with pytest.raises(NotImplementedError, match="dilation"):
            tf.layers.conv2d(tf.zeros([1, 5, 5, 1]), 2, 3, dilation_rate=2)
        with pytest.raises(ValueError, match="4-D"):
            tf.layers.conv2d(tf.zeros([5, 5, 1]), 2, 3)
        with pytest.raises(ValueError, match="kernel_size"):
            tf.layers.conv2d(tf.zeros([1, 5, 5, 1]), 2, (3, 3, 3))


def test_pooling_layers():
    x = np.random.default_rng(1).uniform(-1, 1, (2, 7, 5, 3))
    with tf.Graph().as_default():
        xt = tf.constant(x)
        m = tf.layers.max_pooling2d(xt, pool_size=2, strides=2)
        a = tf.layers.average_pooling2d(xt, pool_size=[3, 3], strides=2, padding="same")
        m2 = tf.layers.MaxPooling2D(3, (1, 2), padding="same")(xt)
        a2 = tf.layers.AveragePooling2D(2, 1)(xt)
        assert m.shape.as_list() == [2, 3, 2, 3] and a.shape.as_list() == [2, 4, 3, 3]
        assert tf.layers.MaxPooling2D(2, 2).compute_output_shape([None, 7, 5, 3]).as_list() == [None, 3, 2, 3]
        with tf.Session() as s:
            mv, av, m2v, a2v = s.run([m, a, m2, a2])
    np.testing.assert_allclose(mv, np_pool(x, (2, 2), (2, 2), "VALID", "max"), rtol=1e-12)
    np.testing.assert_allclose(av, np_pool(x, (3, 3), (2, 2), "SAME", "avg"), rtol=1e-12)
    np.testing.assert_allclose(m2v, np_pool(x, (3, 3), (1, 2), "SAME", "max"), rtol=1e-12)
    np.testing.assert_allclose(a2v, np_pool(x, (2, 2), (1, 1), "VALID", "avg"), rtol=1e-12)
    with pytest.raises(ValueError, match="padding"):
        tf.layers.max_pooling2d(tf.zeros([1, 4, 4, 1]), 2, 2, padding="full")


def cnn(images, n_classes=3):
    conv = tf.layers.conv2d(images, filters=4, kernel_size=[3, 3], padding="same", activation=tf.nn.relu)
    pool = tf.layers.max_pooling2d(conv, pool_size=[2, 2], strides=2)
    flat = tf.reshape(pool, [-1, 4 * 4 * 4])
    return tf.layers.dense(flat, n_classes)


def cnn_model_fn(features, labels, mode):
    logits = cnn(tf.reshape(features["x"], [-1, 8, 8, 1]))
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_cnn_estimator_trains(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (96, 64)).astype(np.float32)
    y = rng.integers(0, 3, 96).astype(np.int32)
    x[np.arange(96), y * 20] += 3.0  # a class-dependent bright pixel
    est = tf.estimator.Estimator(cnn_model_fn, model_dir=str(tmp_path / "m"),
                                 config=tf.estimator.RunConfig(tf_random_seed=3))
    train = tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=32, num_epochs=None, shuffle=True)
    ev = tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=96, num_epochs=1, shuffle=False)
    est.train(train, steps=1)
    first = est.evaluate(ev)["loss"]
    est.train(train, steps=60)
    last = est.evaluate(ev)["loss"]
    assert last < 0.7 * first, (first, last)


def test_cnn_conv_kernel_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (5, 8, 8, 1))
    labels = rng.integers(0, 3, 5)
    with tf.Graph().as_default():
        tf.set_random_seed(5)
        logits = cnn(tf.constant(x))  # float64 inputs: float64 variables
        loss = tf.losses.sparse_softmax_cross_entropy(labels=tf.constant(labels), logits=logits)
        kernel = [v for v in tf.trainable_variables() if v.name == "conv2d/kernel:0"][0]
        (grad,) = tf.gradients(loss, [kernel])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            k0, g = s.run([kernel, grad])
            assert np.count_nonzero(g) > g.size // 2
            eps = 1e-6
            for idx in [(0, 0, 0, 0), (1, 1, 0, 2), (2, 1, 0, 3), (0, 2, 0, 1), (2, 2, 0, 0)]:
                vals = []
                for sign in (1, -1):
                    k = k0.copy()
                    k[idx] += sign * eps
                    kernel.load(k, s)
                    vals.append(s.run(loss))
                np.testing.assert_allclose(g[idx], (vals[0] - vals[1]) / (2 * eps), rtol=1e-5, atol=1e-8)
