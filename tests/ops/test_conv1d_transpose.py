"""tf.nn.conv1d, max_pool1d, avg_pool1d and conv2d_transpose: forward against NumPy float64
references written with direct loops (conv2d_transpose as a scatter of each input pixel through
the filter), gradients against central finite differences; TF1/TF2 argument names, static
shapes with dynamic output_shape, and error messages."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


# ---------------------------------------------------------------- references
def pads(size, k, s, padding):
    """(out, pad_before) of a conv/pool along one axis, TensorFlow's arithmetic."""
    if padding == "VALID":
        return (size - k) // s + 1, 0
    out = -(-size // s)
    return out, max((out - 1) * s + k - size, 0) // 2


def np_conv1d(x, f, s, padding):
    n, w, c = x.shape
    k, _, oc = f.shape
    ow, pl = pads(w, k, s, padding)
    y = np.zeros((n, ow, oc))
    for i in range(ow):
        for d in range(k):
            j = i * s + d - pl
            if 0 <= j < w:
                y[:, i, :] += x[:, j, :] @ f[d]
    return y


def np_pool1d(x, k, s, padding, kind):
    n, w, c = x.shape
    ow, pl = pads(w, k, s, padding)
    y = np.zeros((n, ow, c))
    for i in range(ow):
        lo = i * s - pl
        win = x[:, max(lo, 0):min(lo + k, w), :]
        y[:, i, :] = win.max(axis=1) if kind == "max" else win.mean(axis=1)
    return y


def np_conv2d_transpose(x, f, out_hw, s, padding):
    """Each input pixel x[b, i, j, :] adds x[b, i, j, :] @ f[di, dj].T to out[b, i*s + di - pt, j*s + dj - pl]."""
    n, h, w, _ = x.shape
    kh, kw, oc, _ = f.shape
    oh, ow = out_hw
    _, pt = pads(oh, kh, s[0], padding)
    _, pl = pads(ow, kw, s[1], padding)
    y = np.zeros((n, oh, ow, oc))
    for i in range(h):
        for j in range(w):
            for di in range(kh):
                for dj in range(kw):
                    r, c = i * s[0] + di - pt, j * s[1] + dj - pl
                    if 0 <= r < oh and 0 <= c < ow:
                        y[:, r, c, :] += x[:, i, j, :] @ f[di, dj].T
    return y


# ---------------------------------------------------------------- conv1d
CONV1D_CASES = [
    ((2, 7, 3), (3, 3, 4), 1, "SAME"),
    ((2, 7, 3), (3, 3, 4), 2, "SAME"),
    ((1, 8, 2), (4, 2, 3), 3, "VALID"),
    ((3, 5, 2), (1, 2, 2), 1, "VALID"),
    ((1, 3, 1), (5, 1, 2), 1, "SAME"),  # filter wider than the input
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("xs,fs,st,pad", CONV1D_CASES)
def test_conv1d_forward_and_grads(device, xs, fs, st, pad):
    x, f = rand(*xs, seed=1), rand(*fs, seed=2)
    check_op(lambda a, b: tf.nn.conv1d(a, b, st, pad), [x, f], lambda a, b: np_conv1d(a, b, st, pad),
             device=device, rtol=1e-10, atol=1e-12)


def test_conv1d_argument_names_shapes_float32():
    x, f = rand(2, 9, 3, seed=3), rand(3, 3, 2, seed=4)
    want = np_conv1d(x, f, 2, "SAME")
    with tf.Graph().as_default():
        a = tf.nn.conv1d(value=x, filters=f, stride=[1, 2, 1], padding="SAME", data_format="NWC")  # TF1
        b = tf.nn.conv1d(input=x, filters=f, stride=2, padding="SAME", dilations=1)  # TF2
        c = tf.nn.conv1d(x.astype(np.float32), f.astype(np.float32), 2, "SAME", name="c1")
        assert a.shape.as_list() == [2, 5, 2] and c.dtype == tf.float32 and c.op.name == "c1"
        with tf.Session() as s:
            av, bv, cv = s.run([a, b, c])
    np.testing.assert_allclose(av, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bv, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cv, want, rtol=1e-5, atol=1e-5)


def test_conv1d_errors():
    with tf.Graph().as_default():
        x, f = tf.zeros([1, 5, 2]), tf.zeros([3, 2, 4])
        with pytest.raises(NotImplementedError, match="NCW"):
            tf.nn.conv1d(x, f, 1, "SAME", data_format="NCW")
        with pytest.raises(NotImplementedError, match="dilation"):
            tf.nn.conv1d(x, f, 1, "SAME", dilations=2)
        with pytest.raises(ValueError, match="3-D"):
            tf.nn.conv1d(tf.zeros([1, 5, 5, 2]), f, 1, "SAME")
        with pytest.raises(ValueError, match="filters must be 3-D"):
            tf.nn.conv1d(x, tf.zeros([3, 3, 2, 4]), 1, "SAME")
        with pytest.raises(ValueError, match="batch and channel"):
            tf.nn.conv1d(x, f, [2, 1, 1], "SAME")
        with pytest.raises(ValueError, match="not both"):
            tf.nn.conv1d(value=x, input=x, filters=f, stride=1, padding="SAME")
        with pytest.raises(ValueError, match="padding"):
            tf.nn.conv1d(x, f, 1, "FULL")
        with pytest.raises(Exception, match="channels"):
            tf.nn.conv1d(x, tf.zeros([3, 3, 4]), 1, "SAME")


# ---------------------------------------------------------------- pool1d
def distinct(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 0.3


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("xs,k,st,pad", [((2, 7, 3), 2, 2, "SAME"), ((1, 8, 2), 3, 2, "VALID"),
                                         ((2, 5, 2), 3, 1, "SAME"), ((1, 6, 1), [1, 4, 1], [1, 3, 1], "SAME")])
def test_pool1d_forward_and_grads(device, kind, xs, k, st, pad):
    x = distinct(xs, seed=5)
    op = tf.nn.max_pool1d if kind == "max" else tf.nn.avg_pool1d
    kk = k if isinstance(k, int) else k[1]
    ss = st if isinstance(st, int) else st[1]
    check_op(lambda a: op(a, k, st, pad), [x], lambda a: np_pool1d(a, kk, ss, pad, kind), device=device,
             rtol=1e-12, atol=1e-12)


def test_pool1d_errors_and_shape():
    with tf.Graph().as_default():
        y = tf.nn.max_pool1d(tf.placeholder(tf.float32, [None, 9, 4]), 3, 2, "SAME")
        assert y.shape.as_list() == [None, 5, 4]
        with pytest.raises(ValueError, match="3-D"):
            tf.nn.avg_pool1d(tf.zeros([1, 4, 4, 1]), 2, 2, "VALID")
        with pytest.raises(NotImplementedError, match="NCW"):
            tf.nn.max_pool1d(tf.zeros([1, 4, 1]), 2, 2, "VALID", data_format="NCW")
        with pytest.raises(ValueError, match="ksize"):
            tf.nn.max_pool1d(tf.zeros([1, 4, 1]), [2, 2], 2, "VALID")


# ---------------------------------------------------------------- conv2d_transpose
TRANSPOSE_CASES = [
    # input shape, filter shape [kh, kw, out_c, in_c], output (h, w), strides, padding
    ((2, 3, 3, 2), (3, 3, 4, 2), (6, 6), (2, 2), "SAME"),
    ((1, 3, 4, 2), (3, 3, 3, 2), (5, 7), (2, 2), "SAME"),  # odd outputs: ceil(5 / 2) == 3
    ((1, 3, 3, 1), (3, 2, 2, 1), (7, 6), (2, 2), "VALID"),
    ((2, 2, 3, 3), (2, 2, 1, 3), (4, 6), (2, 2), "VALID"),  # kernel == stride: no overlap
    ((1, 2, 2, 2), (1, 1, 3, 2), (5, 5), (3, 3), "VALID"),  # kernel < stride: gaps of zeros
    ((1, 4, 3, 2), (3, 3, 2, 2), (4, 3), (1, 1), "SAME"),
    ((1, 2, 3, 1), (4, 3, 2, 1), (6, 5), (3, 2), "SAME"),  # different strides per axis
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("xs,fs,out,st,pad", TRANSPOSE_CASES)
def test_conv2d_transpose_forward_and_grads(device, xs, fs, out, st, pad):
    x, f = rand(*xs, seed=6), rand(*fs, seed=7)
    shape = [xs[0], out[0], out[1], fs[2]]
    check_op(lambda a, b: tf.nn.conv2d_transpose(a, b, shape, [1, st[0], st[1], 1], pad), [x, f],
             lambda a, b: np_conv2d_transpose(a, b, out, st, pad), device=device, rtol=1e-10, atol=1e-12)


def test_conv2d_transpose_is_the_conv2d_input_gradient():
    x, f = rand(2, 5, 5, 3, seed=8), rand(3, 3, 3, 4, seed=9)
    dy = rand(2, 3, 3, 4, seed=10)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        g = tf.gradients(tf.nn.conv2d(xt, f, 2, "SAME"), xt, grad_ys=tf.constant(dy))[0]
        t = tf.nn.conv2d_transpose(dy, f, [2, 5, 5, 3], 2, "SAME")
        with tf.Session() as s:
            gv, tv = s.run([g, t])
    np.testing.assert_allclose(tv, gv, rtol=1e-12, atol=1e-12)


def test_conv2d_transpose_argument_names_and_dynamic_output_shape():
    x, f = rand(2, 3, 3, 2, seed=11), rand(3, 3, 4, 2, seed=12)
    want = np_conv2d_transpose(x, f, (6, 6), (2, 2), "SAME")
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, [None, 3, 3, 2])
        n = tf.shape(p)[0]
        a = tf.nn.conv2d_transpose(value=p, filter=f, output_shape=[n, 6, 6, 4], strides=[1, 2, 2, 1])  # TF1
        b = tf.nn.conv2d_transpose(p, f, tf.stack([n, 6, 6, 4]), 2, padding="SAME", dilations=1)  # TF2
        c = tf.nn.conv2d_transpose(p, f, tf.shape(tf.zeros([2, 6, 6, 4])), (2, 2))  # fully dynamic
        d = tf.nn.conv2d_transpose(x, f, np.array([2, 6, 6, 4]), 2, name="dec")
        assert a.shape.as_list() == [None, 6, 6, 4] and b.shape.as_list() == [None, 6, 6, 4]
        assert d.shape.as_list() == [2, 6, 6, 4] and d.op.name == "dec"
        ga = tf.gradients(tf.reduce_sum(a * a), p)[0]
        with tf.Session() as s:
            av, bv, cv, dv, gv = s.run([a, b, c, d, ga], {p: x})
    for v in (av, bv, cv, dv):
        np.testing.assert_allclose(v, want, rtol=1e-10, atol=1e-12)
    assert gv.shape == x.shape


def test_conv2d_transpose_float32():
    x, f = rand(1, 3, 3, 2, seed=13), rand(3, 3, 2, 2, seed=14)
    y = run_op(lambda a, b: tf.nn.conv2d_transpose(a, b, [1, 8, 8, 2], 2, "VALID"),  # last row/column: zeros
               [x.astype(np.float32), f.astype(np.float32)])
    assert y.dtype == np.float32
    want = np_conv2d_transpose(x, f, (8, 8), (2, 2), "VALID")
    assert not want[:, 7].any() and not want[:, :, 7].any()
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_conv2d_transpose_errors():
    with tf.Graph().as_default():
        x, f = tf.zeros([2, 3, 3, 2]), tf.zeros([3, 3, 4, 2])
        with pytest.raises(ValueError, match=r"maps an output height of 8 to 4, but the input's height is 3"):
            tf.nn.conv2d_transpose(x, f, [2, 8, 6, 4], 2, "SAME")
        with pytest.raises(ValueError, match=r"output width of 4 to 1, but the input's width is 3"):
            tf.nn.conv2d_transpose(x, f, [2, 7, 4, 4], 2, "VALID")
        with pytest.raises(ValueError, match="has 3 channels but filters"):
            tf.nn.conv2d_transpose(x, f, [2, 6, 6, 3], 2)
        with pytest.raises(ValueError, match="input has 2 channels"):
            tf.nn.conv2d_transpose(x, tf.zeros([3, 3, 4, 5]), [2, 6, 6, 4], 2)
        with pytest.raises(ValueError, match="batch 3"):
            tf.nn.conv2d_transpose(x, f, [3, 6, 6, 4], 2)
        with pytest.raises(ValueError, match="4 elements"):
            tf.nn.conv2d_transpose(x, f, [6, 6, 4], 2)
        with pytest.raises(NotImplementedError, match="NCHW"):
            tf.nn.conv2d_transpose(x, f, [2, 6, 6, 4], 2, data_format="NCHW")
        with pytest.raises(NotImplementedError, match="dilation"):
            tf.nn.conv2d_transpose(x, f, [2, 6, 6, 4], 2, dilations=2)
        with pytest.raises(ValueError, match="not both"):
            tf.nn.conv2d_transpose(x, f, [2, 6, 6, 4], 2, value=x)
        with pytest.raises(ValueError, match="4-D"):
            tf.nn.conv2d_transpose(tf.zeros([3, 3, 2]), f, [2, 6, 6, 4], 2)
        with pytest.raises(TypeError, match="output_shape"):
            tf.nn.conv2d_transpose(x, f, strides=2)
