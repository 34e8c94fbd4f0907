"""The CUDA kernels of cumsum / cumprod / cumprod_grad (cuda/kernels/scan.cu), top_k /
top_k_grad / in_top_k (top_k.cu) and gather_nd / scatter_nd / tensor_scatter_nd_update /
tensor_scatter_nd_add (gather_nd.cu) against the CPU kernels on the same inputs. The scans
accumulate in the CPU's order and the scatters add duplicates in index order, so float32
results agree to rounding (1e-5 relative), float64 to 1e-12, integer, bool and index outputs
exactly. Integer gathers and scatters run on the CPU inside a "cuda" session; the tests check
that they still agree and that bad indices give the CPU's messages there.

Every test skips, with the reason, where no GPU is visible.
"""
import numpy as np
import pytest

import nestor as tf
from parity import ELEMENTWISE, REDUCTION, requires_gpu
from parity import f32 as _f32, parity as _parity, run_graph as _run

pytestmark = requires_gpu

FLOAT64 = 1e-12
FLAGS = [(False, False), (True, False), (False, True), (True, True)]


# ---------------------------------------------------------------- cumsum / cumprod
@pytest.mark.parametrize("exclusive,reverse", FLAGS)
@pytest.mark.parametrize("shape,axis", [((3, 1000), 1), ((1000, 3), 0), ((4, 5, 6), 1), ((4, 5, 6), -1),
                                        ((7,), 0), ((0, 3), 1), ((3, 0), 0)])
def test_scans_and_gradients_float32(shape, axis, exclusive, reverse):
    x = _f32(*shape, seed=1, low=0.9, high=1.1) * np.where(_f32(*shape, seed=2) > 0, 1, -1).astype(np.float32)

    def fn(p):
        s = tf.cumsum(p, axis, exclusive=exclusive, reverse=reverse)
        c = tf.cumprod(p, axis, exclusive=exclusive, reverse=reverse)
        return [s, c] + tf.gradients(tf.reduce_sum(s * 0.5) + tf.reduce_sum(c * 1.5), [p])

    _parity(fn, [x], ELEMENTWISE)


@pytest.mark.parametrize("exclusive,reverse", FLAGS)
def test_cumprod_gradient_with_zeros_float64(exclusive, reverse):
    x = np.array([[0.7, 0.0, 1.3, -0.9, 1.1], [0.0, 1.2, 0.0, 0.8, -1.4], [0.0] * 5])
    _parity(lambda p: [tf.cumprod(p, 1, exclusive, reverse)]
            + tf.gradients(tf.cumprod(p, 1, exclusive, reverse) * 2.0, [p]), [x], FLOAT64, 1e-14)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_scans(dtype):
    x = np.random.default_rng(3).integers(-3, 4, size=(6, 40)).astype(dtype)
    x[0, :2] = [np.iinfo(dtype).max, 1]  # wraps around on both devices
    _parity(lambda p: [tf.cumsum(p, 1, r, e) for r, e in FLAGS] + [tf.cumprod(p, 0, r, e) for r, e in FLAGS], [x], 0)


def test_scan_axis_errors_in_a_cuda_session():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, [None, 3])
        a = tf.placeholder(tf.int32, [])
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match="axis 2 is out of range for rank 2"):
                s.run(tf.cumsum(p, a), {p: np.zeros((2, 3), np.float32), a: 2})


# ---------------------------------------------------------------- top_k, in_top_k
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("shape,k", [((64, 1000), 5), ((64, 1000), 1), ((5, 37), 37), ((10000, 3), 2), ((1, 100000), 10),
                                     ((2, 3, 8), 0), ((0, 4), 2)])
def test_top_k_with_ties(dtype, shape, k):
    x = np.round(_f32(*shape, seed=4, low=-20, high=20)).astype(dtype)  # many ties
    _parity(lambda p: list(tf.math.top_k(p, k)), [x], 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_k_nan_inf_signed_zero_and_gradient(dtype):
    x = _f32(8, 50, seed=5).astype(dtype)
    x[0, :8] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.nan, 0.0, -0.0]
    x[1, :] = -0.0
    x[1, ::3] = 0.0
    _parity(lambda p: list(tf.math.top_k(p, 12)), [x], 0)
    y = _f32(16, 300, seed=6).astype(dtype)
    _parity(lambda p: [tf.math.top_k(p, 7).values] + tf.gradients(tf.math.top_k(p, 7).values * 1.5, [p]), [y],
            ELEMENTWISE if dtype == np.float32 else FLOAT64)


def test_top_k_errors_in_a_cuda_session():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, [None, 4])
        k = tf.placeholder(tf.int32, [])
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match="Had 4, needed 5"):
                s.run(tf.math.top_k(p, k), {p: np.zeros((2, 4), np.float32), k: 5})


@pytest.mark.parametrize("pdtype,tdtype", [(np.float32, np.int32), (np.float64, np.int64)])
def test_in_top_k(pdtype, tdtype):
    rng = np.random.default_rng(7)
    pred = np.round(rng.uniform(0, 4, size=(300, 20))).astype(pdtype)
    pred[0, 3], pred[1, 0], pred[2, 7] = np.nan, np.inf, -np.inf
    t = rng.integers(-1, 21, size=300).astype(tdtype)
    _parity(lambda p, q: [tf.math.in_top_k(q, p, k) for k in (-1, 0, 1, 3, 20, 25)], [pred, t], 0)


# ---------------------------------------------------------------- gather_nd and the scatters
def _idx(n, dims, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, d, size=n) for d in dims], -1).astype(np.int32)


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_gather_nd_and_gradient(depth):
    p = _f32(30, 20, 8, seed=8)
    ind = _idx(500, (30, 20, 8)[:depth], seed=9) if depth else np.zeros((3, 0), np.int32)
    _parity(lambda x, i: [tf.gather_nd(x, i)] + tf.gradients(tf.gather_nd(x, i) * 1.5, [x]), [p, ind], REDUCTION)


def test_gather_nd_batch_dims_and_gradient():
    p = _f32(6, 30, 4, seed=10)
    ind = _idx(6 * 50, (30,), seed=11).reshape(6, 50, 1)
    _parity(lambda x, i: [tf.gather_nd(x, i, batch_dims=1)] + tf.gradients(tf.gather_nd(x, i, batch_dims=1), [x]),
            [p, ind], REDUCTION)


def test_scatter_nd_and_tensor_scatters_with_duplicates():
    ind = _idx(2000, (40, 10), seed=12)  # many duplicates
    upd = _f32(2000, 3, seed=13)
    t = _f32(40, 10, 3, seed=14)

    def fn(i, u, x):
        s = tf.scatter_nd(i, u, [40, 10, 3])
        a = tf.tensor_scatter_nd_add(x, i, u)
        w = tf.tensor_scatter_nd_update(x, i, u)
        return [s, a, w] + tf.gradients(tf.reduce_sum(s * 2.0) + tf.reduce_sum(a * 0.5) + tf.reduce_sum(w), [u, x])

    _parity(fn, [ind, upd, t], REDUCTION)
    _parity(fn, [ind, upd.astype(np.float64), t.astype(np.float64)], FLOAT64)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_gather_and_scatters_in_a_cuda_session(dtype):
    ind = _idx(50, (5, 4), seed=15)
    p = np.arange(5 * 4 * 2).reshape(5, 4, 2).astype(dtype)
    u = np.arange(100).reshape(50, 2).astype(dtype)
    _parity(lambda x, i, v: [tf.gather_nd(x, i), tf.scatter_nd(i, v, [5, 4, 2]), tf.tensor_scatter_nd_add(x, i, v),
                             tf.tensor_scatter_nd_update(x, i, v)], [p, ind, u], 0)


def test_out_of_range_indices_fail_with_the_cpu_message_in_a_cuda_session():
    p = _f32(2, 3, seed=16)
    bad = np.array([[0, 1], [1, 3]], np.int32)
    msg = r"indices\[1\] = \[1, 3\] does not index into {} of shape \(2, 3\): 3 is not in \[0, 3\) \(dimension 1\)"
    for fn, what in [(lambda x, i: tf.gather_nd(x, i), "params"),
                     (lambda x, i: tf.scatter_nd(i, tf.ones([2]), [2, 3]), "shape"),
                     (lambda x, i: tf.tensor_scatter_nd_update(x, i, tf.ones([2])), "tensor"),
                     (lambda x, i: tf.tensor_scatter_nd_add(x, i, tf.ones([2])), "tensor")]:
        for device in ("cpu", "cuda"):
            with pytest.raises(tf.errors.InvalidArgumentError, match=msg.format(what)):
                _run(fn, [p, bad], device)
