"""conv2d, max_pool and avg_pool (NHWC): forward against NumPy float64 references written with
direct window loops, gradients (input and filter) against central finite differences on every
available device; TensorFlow's SAME padding arithmetic, strides forms, ties, float32, static
shapes and error messages."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


# ---------------------------------------------------------------- references
def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2


def geometry(h, w, kh, kw, sh, sw, padding):
    if padding == "SAME":
        oh, pt = same_pads(h, kh, sh)
        ow, pl = same_pads(w, kw, sw)
    else:
        oh, ow, pt, pl = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    return oh, ow, pt, pl


def np_conv2d(x, f, strides, padding):
    n, h, w, c = x.shape
    kh, kw, _, oc = f.shape
    oh, ow, pt, pl = geometry(h, w, kh, kw, strides[0], strides[1], padding)
    y = np.zeros((n, oh, ow, oc))
    for i in range(oh):
        for j in range(ow):
            for di in range(kh):
                for dj in range(kw):
                    yi, xj = i * strides[0] + di - pt, j * strides[1] + dj - pl
                    if 0 <= yi < h and 0 <= xj < w:
                        y[:, i, j, :] += x[:, yi, xj, :].astype(np.float64) @ f[di, dj].astype(np.float64)
    return y


def np_pool(x, k, strides, padding, kind):
    n, h, w, c = x.shape
    oh, ow, pt, pl = geometry(h, w, k[0], k[1], strides[0], strides[1], padding)
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * strides[0] - pt, j * strides[1] - pl
            win = x[:, max(y0, 0):min(y0 + k[0], h), max(x0, 0):min(x0 + k[1], w), :].astype(np.float64)
            y[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return y


def distinct(shape, seed):
    """Values with gaps of at least 0.01 (max_pool's finite differences must not cross ties)."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 0.3).astype(np.float64)


CONV_CASES = [
    # x shape, filter shape, strides, padding
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "SAME"),
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "VALID"),
    ((1, 7, 6, 2), (3, 2, 2, 3), (2, 2), "SAME"),   # odd sizes, stride 2: pad before = total // 2
    ((1, 7, 6, 2), (3, 2, 2, 3), (2, 3), "VALID"),
    ((2, 6, 6, 2), (4, 4, 2, 2), (3, 3), "SAME"),   # even kernel: more padding after
    ((3, 4, 5, 2), (1, 1, 2, 5), (1, 1), "VALID"),  # pointwise (the input is the patch matrix)
    ((2, 5, 4, 2), (1, 1, 2, 3), (2, 2), "SAME"),
    ((1, 3, 3, 1), (5, 5, 1, 2), (1, 1), "SAME"),   # filter larger than the input
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("xs,fs,st,pad", CONV_CASES)
def test_conv2d_forward_and_grads(device, xs, fs, st, pad):
    x, f = rand(*xs, seed=1), rand(*fs, seed=2)
    check_op(lambda a, b: tf.nn.conv2d(a, b, [1, st[0], st[1], 1], pad), [x, f],
             lambda a, b: np_conv2d(a, b, st, pad), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_float32_and_strides_forms(device):
    x, f = rand(2, 9, 8, 3, seed=3).astype(np.float32), rand(3, 3, 3, 4, seed=4).astype(np.float32)
    want = np_conv2d(x, f, (2, 2), "SAME")
    for strides in (2, [2], [2, 2], [1, 2, 2, 1]):
        got = run_op(lambda a, b: tf.nn.conv2d(a, b, strides=strides, padding="SAME"), [x, f], device)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    got = run_op(lambda a, b: tf.nn.conv2d(a, filter=b, strides=[1, 2, 2, 1], padding="SAME",
                                           use_cudnn_on_gpu=True, dilations=[1, 1, 1, 1]), [x, f], device)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def np_conv2d_taps(x, f, dy, strides, padding):
    """conv2d and both gradients in float64, one einsum per filter tap over the padded input."""
    n, h, w, c = x.shape
    kh, kw, _, oc = f.shape
    (sh, sw) = strides
    oh, ow, pt, pl = geometry(h, w, kh, kw, sh, sw, padding)
    ph, pw = max((oh - 1) * sh + kh - h - pt, 0), max((ow - 1) * sw + kw - w - pl, 0)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, ph), (pl, pw), (0, 0)))
    y, gxp, gf = np.zeros((n, oh, ow, oc)), np.zeros_like(xp), np.zeros(f.shape)
    for di in range(kh):
        for dj in range(kw):
            win = (slice(None), slice(di, di + sh * (oh - 1) + 1, sh), slice(dj, dj + sw * (ow - 1) + 1, sw))
            y += np.einsum("nhwc,co->nhwo", xp[win], f[di, dj])
            gxp[win] += np.einsum("nhwo,co->nhwc", dy, f[di, dj])
            gf[di, dj] = np.einsum("nhwc,nhwo->co", xp[win], dy)
    return y, gxp[:, pt:pt + h, pl:pl + w], gf


@pytest.mark.parametrize("xs,fs,st,pad", [
    ((40, 32, 32, 8), (3, 3, 8, 4), (1, 1), "SAME"),    # 45 patch tiles of 910 rows, across images
    ((6, 21, 20, 32), (5, 5, 32, 8), (2, 1), "SAME"),   # tiles of 81 rows; an input-gradient tile is one image
    ((5, 19, 17, 16), (4, 3, 16, 6), (3, 2), "VALID"),
])
def test_conv2d_spans_several_patch_tiles(xs, fs, st, pad):
    x, f = rand(*xs, seed=5), rand(*fs, seed=6)
    with tf.Graph().as_default():
        xt, ft = tf.constant(x), tf.constant(f)
        y = tf.nn.conv2d(xt, ft, [1, st[0], st[1], 1], pad)
        dy = rand(*y.shape.as_list(), seed=7)
        gx, gf = tf.gradients(y, [xt, ft], grad_ys=tf.constant(dy))
        with tf.Session() as s:
            yv, gxv, gfv = s.run([y, gx, gf])
    y_ref, gx_ref, gf_ref = np_conv2d_taps(x, f, dy, st, pad)
    np.testing.assert_allclose(yv, y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gxv, gx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gfv, gf_ref, rtol=1e-10, atol=1e-12)


def test_conv2d_second_order_gradients():
    x, f = rand(1, 5, 4, 2, seed=8), rand(3, 3, 2, 2, seed=9)
    # d/dx of sum(gx * x) where gx = d sum(conv^2)/dx: exercises conv2d_backprop_{input,filter}'s grads.
    check_op(lambda a, b: tf.gradients(tf.reduce_sum(tf.square(tf.nn.conv2d(a, b, 2, "SAME"))), [a])[0],
             [x, f], grad_rtol=1e-4)


def test_conv2d_static_shapes_and_errors():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 7, 6, 2])
        f = tf.placeholder(tf.float32, [3, 2, 2, 3])
        assert tf.nn.conv2d(x, f, 2, "SAME").shape.as_list() == [None, 4, 3, 3]
        assert tf.nn.conv2d(x, f, [2, 3], "VALID").shape.as_list() == [None, 3, 2, 3]
        with pytest.raises(NotImplementedError, match="NCHW"):
            tf.nn.conv2d(x, f, 1, "SAME", data_format="NCHW")
        with pytest.raises(NotImplementedError, match="dilation"):
            tf.nn.conv2d(x, f, 1, "SAME", dilations=2)
        with pytest.raises(ValueError, match="strides"):
            tf.nn.conv2d(x, f, [2, 1, 1, 1], "SAME")
        with pytest.raises(ValueError, match="padding"):
            tf.nn.conv2d(x, f, 1, "FULL")
        with pytest.raises(tf.errors.InvalidArgumentError, match="filter expects 5"):
            tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 5, 1]), 1, "SAME")
        with pytest.raises(tf.errors.InvalidArgumentError, match="negative"):
            tf.nn.conv2d(x, tf.placeholder(tf.float32, [8, 1, 2, 1]), 1, "VALID")
        with pytest.raises(ValueError, match="4-D"):
            tf.nn.conv2d(tf.placeholder(tf.float32, [7, 6, 2]), f, 1, "SAME")


def test_conv2d_runtime_channel_mismatch():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None, None, None, None])
        f = tf.placeholder(tf.float64, [None, None, None, None])
        y = tf.nn.conv2d(x, f, 1, "SAME")
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError, match="channels"):
            s.run(y, {x: np.zeros((1, 3, 3, 2)), f: np.zeros((2, 2, 3, 1))})


POOL_CASES = [
    ((2, 6, 6, 3), (2, 2), (2, 2), "VALID"),
    ((2, 5, 7, 2), (2, 2), (2, 2), "SAME"),
    ((1, 7, 5, 2), (3, 3), (2, 2), "SAME"),
    ((1, 7, 5, 2), (3, 2), (1, 2), "VALID"),
    ((1, 4, 4, 1), (4, 4), (3, 3), "SAME"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("xs,k,st,pad", POOL_CASES)
def test_pool_forward_and_grad(device, kind, xs, k, st, pad):
    x = distinct(xs, seed=11)
    op = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
    check_op(lambda a: op(a, [1, k[0], k[1], 1], [1, st[0], st[1], 1], pad), [x],
             lambda a: np_pool(a, k, st, pad, kind), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool_ties_route_to_first_max(device):
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 0, 0] = x[0, 1, 1, 0] = 2.0  # second row of the first window: both maxima
    x[0, 0, 3, 0] = x[0, 1, 2, 0] = 5.0  # second window: (0, 3) comes first
    dy = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 2, 2, 1)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.nn.max_pool2d(xt, 2, 2, "VALID")
        (gx,) = tf.gradients(y, [xt], grad_ys=tf.constant(dy))
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            yv, gxv = s.run([y, gx])
    np.testing.assert_array_equal(yv[0, :, :, 0], [[2.0, 5.0], [0.0, 0.0]])
    want = np.zeros((4, 4))
    want[1, 0], want[0, 3], want[2, 0], want[2, 2] = 1.0, 10.0, 100.0, 1000.0  # all-zero windows: first element
    np.testing.assert_array_equal(gxv[0, :, :, 0], want)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool_grad_many_channels_and_overlapping_windows(device):
    """150 channels (the CPU kernel tracks maxima 64 channels at a time), overlapping 3x3
    windows with stride 2 and ties: dy goes to each window's first maximum, per channel."""
    rng = np.random.default_rng(11)
    x = rng.integers(0, 4, size=(2, 7, 6, 150)).astype(np.float64)  # many ties
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.nn.max_pool2d(xt, 3, 2, "SAME")
        dy = rng.standard_normal(y.shape.as_list())
        (gx,) = tf.gradients(y, [xt], grad_ys=tf.constant(dy))
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            yv, gxv = s.run([y, gx])
    np.testing.assert_array_equal(yv, np_pool(x, (3, 3), (2, 2), "SAME", "max"))
    want = np.zeros_like(x)
    oh, ow, pt, pl = geometry(7, 6, 3, 3, 2, 2, "SAME")
    for b in range(2):
        for i in range(oh):
            for j in range(ow):
                y0, x0 = max(i * 2 - pt, 0), max(j * 2 - pl, 0)
                win = x[b, y0:min(i * 2 - pt + 3, 7), x0:min(j * 2 - pl + 3, 6)]
                flat = win.reshape(-1, 150).argmax(axis=0)  # numpy: first maximum in row-major order
                for ci in range(150):
                    r, c = divmod(flat[ci], win.shape[1])
                    want[b, y0 + r, x0 + c, ci] += dy[b, i, j, ci]
    np.testing.assert_allclose(gxv, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_avg_pool_same_counts_valid_elements(device):
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    y = run_op(lambda a: tf.nn.avg_pool2d(a, 2, 2, "SAME"), [x], device)
    # Windows [0:2, 0:2], [0:2, 2:3], [2:3, 0:2], [2:3, 2:3]: padding is not counted.
    np.testing.assert_allclose(y[0, :, :, 0], [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]])


def test_pool_float32_shapes_and_errors():
    x = rand(2, 7, 5, 3, seed=12).astype(np.float32)
    got = run_op(lambda a: tf.nn.max_pool(a, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME"), [x])
    np.testing.assert_allclose(got, np_pool(x, (3, 3), (2, 2), "SAME", "max"), rtol=1e-6)
    got = run_op(lambda a: tf.nn.avg_pool(a, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME"), [x])
    np.testing.assert_allclose(got, np_pool(x, (3, 3), (2, 2), "SAME", "avg"), rtol=1e-6, atol=1e-6)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 7, 5, 3])
        assert tf.nn.max_pool(p, [1, 2, 2, 1], [1, 2, 2, 1], "SAME").shape.as_list() == [None, 4, 3, 3]
        assert tf.nn.avg_pool(p, [1, 3, 2, 1], [1, 1, 2, 1], "VALID").shape.as_list() == [None, 5, 2, 3]
        with pytest.raises(NotImplementedError, match="NCHW"):
            tf.nn.max_pool(p, 2, 2, "SAME", data_format="NCHW")
        with pytest.raises(ValueError, match="ksize"):
            tf.nn.max_pool(p, [2, 2, 2, 2], 2, "SAME")
        with pytest.raises(tf.errors.InvalidArgumentError, match="negative"):
            tf.nn.avg_pool(p, [1, 8, 1, 1], 1, "VALID")
