"""tf.layers.conv1d / max_pooling1d / average_pooling1d / conv2d_transpose (and their classes):
variables, static shapes (TensorFlow's deconv_output_length for SAME/VALID), outputs against
the NumPy float64 references of tests/ops/test_conv1d_transpose.py, reuse and errors."""
import os
import sys

import numpy as np
import pytest

import nestor as tf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ops"))
from test_conv1d_transpose import np_conv1d, np_conv2d_transpose, np_pool1d  # noqa: E402


def test_conv1d_layer_variables_output_and_causal():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 9, 3))
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.layers.conv1d(xt, 4, 3, strides=2, padding="same", activation=tf.nn.relu)
        assert y.shape.as_list() == [2, 5, 4]
        kernel, bias = tf.trainable_variables()
        assert kernel.name == "conv1d/kernel:0" and kernel.shape.as_list() == [3, 3, 4]
        assert bias.name == "conv1d/bias:0" and bias.dtype == tf.float64
        causal = tf.layers.Conv1D(2, 4, padding="causal", use_bias=False, name="causal")
        yc = causal(xt)
        assert yc.shape.as_list() == [2, 9, 2]
        assert causal.compute_output_shape([None, 9, 3]).as_list() == [None, 9, 2]
        yv_ = tf.layers.conv1d(xt, 2, (2,), strides=(3,), bias_initializer=tf.ones_initializer())  # valid
        assert yv_.shape.as_list() == [2, 3, 2]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            yv, k, b, ycv, kc, y3, k3 = s.run([y, kernel, bias, yc, causal.kernel, yv_,
                                                tf.trainable_variables()[3]])
    np.testing.assert_allclose(yv, np.maximum(np_conv1d(x, k, 2, "SAME") + b, 0), rtol=1e-10, atol=1e-12)
    xpad = np.concatenate([np.zeros((2, 3, 3)), x], axis=1)  # causal: k - 1 zeros on the left
    np.testing.assert_allclose(ycv, np_conv1d(xpad, kc, 1, "VALID"), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y3, np_conv1d(x, k3, 3, "VALID") + 1.0, rtol=1e-10, atol=1e-12)


def test_conv1d_layer_errors():
    with tf.Graph().as_default():
        with pytest.raises(NotImplementedError, match="channels_first"):
            tf.layers.conv1d(tf.zeros([1, 3, 5]), 2, 3, data_format="channels_first")
        with pytest.raises(NotImplementedError, match="dilation"):
            tf.layers.conv1d(tf.zeros([1, 5, 1]), 2, 3, dilation_rate=2)
        with pytest.raises(ValueError, match="3-D"):
            tf.layers.conv1d(tf.zeros([1, 5, 5, 1]), 2, 3)
        with pytest.raises(ValueError, match="kernel_size"):
            tf.layers.conv1d(tf.zeros([1, 5, 1]), 2, (3, 3))
        with pytest.raises(ValueError, match="filters"):
            tf.layers.Conv1D(0, 3)


def test_pooling1d_layers():
    x = np.random.default_rng(1).uniform(-1, 1, (2, 7, 3))
    with tf.Graph().as_default():
        xt = tf.constant(x)
        m = tf.layers.max_pooling1d(xt, pool_size=2, strides=2)
        a = tf.layers.average_pooling1d(xt, 3, 2, padding="same")
        layer = tf.layers.MaxPooling1D(3, 1, padding="SAME")
        assert m.shape.as_list() == [2, 3, 3] and a.shape.as_list() == [2, 4, 3]
        assert layer.compute_output_shape([None, 7, 3]).as_list() == [None, 7, 3]
        assert tf.layers.AveragePooling1D(2, 2).compute_output_shape([1, 7, 3]).as_list() == [1, 3, 3]
        with tf.Session() as s:
            mv, av, lv = s.run([m, a, layer(xt)])
        with pytest.raises(NotImplementedError, match="channels_first"):
            tf.layers.max_pooling1d(xt, 2, 2, data_format="channels_first")
    np.testing.assert_allclose(mv, np_pool1d(x, 2, 2, "VALID", "max"), rtol=1e-12)
    np.testing.assert_allclose(av, np_pool1d(x, 3, 2, "SAME", "avg"), rtol=1e-12)
    np.testing.assert_allclose(lv, np_pool1d(x, 3, 1, "SAME", "max"), rtol=1e-12)


@pytest.mark.parametrize("hw,k,s,pad,out", [
    ((3, 4), (3, 3), (2, 2), "same", (6, 8)),     # in * stride
    ((3, 4), (3, 3), (2, 2), "valid", (7, 9)),    # in * stride + max(k - stride, 0)
    ((3, 2), (1, 2), (3, 3), "valid", (9, 6)),    # kernel < stride
    ((2, 2), (4, 3), (1, 2), "valid", (5, 5)),
])
def test_conv2d_transpose_layer_shapes_and_output(hw, k, s, pad, out):
    x = np.random.default_rng(2).uniform(-1, 1, (2, *hw, 3))
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.layers.conv2d_transpose(xt, 4, k, strides=s, padding=pad, bias_initializer=tf.ones_initializer())
        assert y.shape.as_list() == [2, *out, 4]
        kernel, bias = tf.trainable_variables()
        assert kernel.name == "conv2d_transpose/kernel:0" and kernel.shape.as_list() == [*k, 4, 3]
        p = tf.placeholder(tf.float64, [None, None, hw[1], 3])  # dynamic batch and height
        layer = tf.layers.Conv2DTranspose(4, k, strides=s, padding=pad, name="conv2d_transpose", _reuse=True)
        yd = layer(p)
        assert layer.compute_output_shape([None, *hw, 3]).as_list() == [None, *out, 4]
        with tf.Session() as s_:
            s_.run(tf.global_variables_initializer())
            yv, kv, ydv = s_.run([y, kernel, yd], {p: x})
    want = np_conv2d_transpose(x, kv, out, s, pad.upper()) + 1.0
    np.testing.assert_allclose(yv, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ydv, want, rtol=1e-10, atol=1e-12)


def test_conv2d_transpose_layer_dynamic_batch_static_shape_and_training_grads():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 4, 4, 2])
        y = tf.layers.conv2d_transpose(p, 3, 3, strides=2, padding="same", activation=tf.nn.relu)
        assert y.shape.as_list() == [None, 8, 8, 3]
        z = tf.layers.conv2d(y, 1, 3)  # needs y's static channel count
        grads = tf.gradients(tf.reduce_sum(z), tf.trainable_variables())
        assert all(g is not None for g in grads)
        with pytest.raises(ValueError, match="4-D"):
            tf.layers.conv2d_transpose(tf.zeros([4, 4, 2]), 3, 3)
        with pytest.raises(NotImplementedError, match="channels_first"):
            tf.layers.conv2d_transpose(p, 3, 3, data_format="channels_first")
