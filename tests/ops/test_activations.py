"""Activations: forward vs NumPy float64, gradients vs finite differences (inputs away from
kinks), numerical stability at large |x|, float32 checks, attributes and errors."""
import math

import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf)


def np_sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + exp(-x)) without overflow


def gelu_exact(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def away(x, kinks, margin=0.05):
    """Pushes values within `margin` of a kink to kink +- 2 * margin."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, 2 * margin, -2 * margin)
    return x


ACTS = [
    ("relu", tf.nn.relu, lambda x: np.maximum(x, 0), [0.0]),
    ("relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), [0.0, 6.0]),
    ("elu", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(x)), [0.0]),
    ("selu", tf.nn.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)), [0.0]),
    ("leaky_relu", tf.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), [0.0]),
    ("gelu", tf.nn.gelu, gelu_exact, []),
    ("gelu_tanh", lambda x: tf.nn.gelu(x, approximate=True), gelu_tanh, []),
    ("sigmoid", tf.nn.sigmoid, np_sigmoid, []),
    ("tanh", tf.nn.tanh, np.tanh, []),
    ("softplus", tf.nn.softplus, lambda x: np.log1p(np.exp(x)), []),
    ("softsign", tf.nn.softsign, lambda x: x / (1 + np.abs(x)), [0.0]),
    ("swish", tf.nn.swish, lambda x: x * np_sigmoid(x), []),
    ("silu", tf.nn.silu, lambda x: x * np_sigmoid(x), []),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,op,ref,kinks", ACTS, ids=[a[0] for a in ACTS])
def test_activation_forward_and_grad(device, name, op, ref, kinks):
    x = away(rand(4, 5, seed=11, low=-4.0, high=8.0), kinks)
    check_op(op, [x], ref, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,op,ref,kinks", ACTS, ids=[a[0] for a in ACTS])
def test_activation_float32(device, name, op, ref, kinks):
    x = away(rand(3, 7, seed=12, low=-5.0, high=8.0), kinks).astype(np.float32)
    out = run_op(op, [x], device)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref(x.astype(np.float64)), rtol=2e-6, atol=2e-6)
    # float32 gradients agree with the float64 ones
    g = tf.Graph()
    with g.as_default():
        p32 = tf.placeholder(tf.float32, x.shape)
        p64 = tf.placeholder(tf.float64, x.shape)
        d32 = tf.gradients(op(p32), [p32])[0]
        d64 = tf.gradients(op(p64), [p64])[0]
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            r32, r64 = s.run([d32, d64], {p32: x, p64: x.astype(np.float64)})
    assert r32.dtype == np.float32
    np.testing.assert_allclose(r32, r64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("alpha", [0.01, 0.5, 1, 2.0])
def test_leaky_relu_alpha(device, alpha):
    x = away(rand(3, 4, seed=13), [0.0])
    check_op(lambda t: tf.nn.leaky_relu(t, alpha=alpha), [x], lambda v: np.where(v > 0, v, alpha * v),
             device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_swish_beta(device):
    x = rand(3, 4, seed=14)
    check_op(lambda t: tf.nn.swish(t, beta=2.5), [x], lambda v: v * np_sigmoid(2.5 * v), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stability_at_large_inputs(device, dtype):
    x = np.array([-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0], dtype=dtype)
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.as_dtype(dtype), x.shape)
        outs = [tf.nn.softplus(p), tf.sigmoid(p), tf.nn.swish(p), tf.tanh(p), tf.nn.softsign(p)]
        grads = [tf.gradients(o, [p])[0] for o in outs]
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            res = s.run(outs + grads, {p: x})
    for r in res:
        assert np.all(np.isfinite(r)), r
    sp, sg, sw = res[0], res[1], res[2]
    xd = x.astype(np.float64)
    tiny = np.finfo(dtype).tiny  # float32 results below it are subnormal
    np.testing.assert_allclose(sp, np.logaddexp(0, xd), rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(sg, np_sigmoid(xd), rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(sw, xd * np_sigmoid(xd), rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(res[5], np_sigmoid(xd), rtol=1e-6, atol=tiny)  # d softplus = sigmoid


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_relu6_integer(device, dtype):
    x = np.array([-3, 0, 2, 6, 9], dtype=dtype)
    check_op(tf.nn.relu6, [x], lambda v: np.clip(v, 0, 6), device=device, grad=False)


def test_activation_inside_larger_graph_gradient():
    x = rand(2, 3, seed=15)
    w = rand(3, 4, seed=16)
    check_op(lambda a, b: tf.nn.gelu(tf.matmul(a, b)) * tf.sigmoid(tf.matmul(a, b)), [x, w],
             lambda a, b: gelu_exact(a @ b) * np_sigmoid(a @ b))


def test_errors_name_op_and_dtype():
    with tf.Graph().as_default():
        i = tf.placeholder(tf.int32, [3], name="i")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Elu.*float32 or float64, got int32"):
            tf.nn.elu(i)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Gelu.*float32 or float64, got string"):
            tf.nn.gelu(tf.constant(["a"]))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Relu6.*got bool"):
            tf.nn.relu6(tf.constant([True]))


def test_namespaces():
    for n in ["relu", "relu6", "elu", "selu", "leaky_relu", "gelu", "sigmoid", "tanh", "softplus", "softsign",
              "swish", "silu"]:
        assert callable(getattr(tf.nn, n)), n
    assert tf.sigmoid is tf.nn.sigmoid and tf.tanh is tf.nn.tanh and tf.math.sigmoid is tf.sigmoid
    with tf.Graph().as_default():
        assert tf.nn.leaky_relu(tf.constant([1.0])).op.name == "LeakyRelu"
        assert tf.nn.silu(tf.constant([1.0])).op.name == "silu"
