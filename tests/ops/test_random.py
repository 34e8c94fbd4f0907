"""Seeded random ops and dropout: reproducibility, statistics against theory, dropout
masks and gradients, and error messages."""
import math

import numpy as np
import pytest

import nestor as tf
from harness import available_devices

N = 1_000_000


def _sess(g, device="cpu", threads=0):
    return tf.Session(graph=g, config=tf.ConfigProto(device=device, intra_op_parallelism_threads=threads))


def _phi(x):  # standard normal CDF
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _build_all(seed_graph=None, op_seed=7):
    """One op of each kind; returns the list of tensors."""
    if seed_graph is not None:
        tf.set_random_seed(seed_graph)
    x = tf.constant(np.ones((50, 40), np.float32))
    return [
        tf.random_uniform([100, 30], seed=op_seed),
        tf.random_uniform([77], minval=-2.0, maxval=3.0, dtype=tf.float64, seed=op_seed),
        tf.random_normal([1001], seed=op_seed),
        tf.random_normal([65], mean=1.0, stddev=2.0, dtype=tf.float64, seed=op_seed),
        tf.truncated_normal([333], seed=op_seed),
        tf.random_uniform([99], minval=-5, maxval=17, dtype=tf.int32, seed=op_seed),
        tf.random_uniform([99], minval=0, maxval=2**40, dtype=tf.int64, seed=op_seed),
        tf.nn.dropout(x, keep_prob=0.6, seed=op_seed),
    ]


@pytest.mark.parametrize("device", available_devices())
def test_same_seeds_reproduce_in_fresh_sessions_and_runs_differ(device):
    g = tf.Graph()
    with g.as_default():
        ts = _build_all(op_seed=7)
    with _sess(g, device) as s1:
        a1 = s1.run(ts)
        a2 = s1.run(ts)
    with _sess(g, device) as s2:
        b1 = s2.run(ts)
        b2 = s2.run(ts)
    for i, (x1, x2, y1, y2) in enumerate(zip(a1, a2, b1, b2)):
        np.testing.assert_array_equal(x1, y1, err_msg=f"tensor {i}, run 1")
        np.testing.assert_array_equal(x2, y2, err_msg=f"tensor {i}, run 2")
        assert not np.array_equal(x1, x2), f"tensor {i}: two runs of one session gave the same values"
    # A second graph built the same way, with the same seeds, gives the same values too.
    g2 = tf.Graph()
    with g2.as_default():
        ts2 = _build_all(op_seed=7)
    with _sess(g2, device) as s3:
        for i, (x, y) in enumerate(zip(a1, s3.run(ts2))):
            np.testing.assert_array_equal(x, y, err_msg=f"tensor {i}, rebuilt graph")


def test_different_op_seeds_and_graph_seed_rule():
    g = tf.Graph()
    with g.as_default():
        a = _build_all(op_seed=1)
        b = _build_all(op_seed=2)
    with _sess(g) as s:
        va, vb = s.run([a, b])
    for i, (x, y) in enumerate(zip(va, vb)):
        assert not np.array_equal(x, y), f"tensor {i}: op seeds 1 and 2 gave the same values"

    def graph_seeded(seed):
        g = tf.Graph()
        with g.as_default():
            ts = _build_all(seed_graph=seed, op_seed=None)
        with _sess(g) as s:
            return s.run(ts)
    r1, r2, r3 = graph_seeded(42), graph_seeded(42), graph_seeded(43)
    for i in range(len(r1)):
        np.testing.assert_array_equal(r1[i], r2[i], err_msg=f"tensor {i}, graph seed only")
        assert not np.array_equal(r1[i], r3[i])
    # With only a graph seed, two identical ops get different per-op seeds.
    with tf.Graph().as_default() as g:
        tf.set_random_seed(5)
        a, b = tf.random_normal([100]), tf.random_normal([100])
        assert a.op.get_attr("seed2") != b.op.get_attr("seed2")
    with _sess(g) as s:
        va, vb = s.run([a, b])
    assert not np.array_equal(va, vb)


def test_unseeded_ops_differ_between_sessions():
    g = tf.Graph()
    with g.as_default():
        u = tf.random_uniform([1000])
        n = tf.random_normal([1000])
        assert u.op.get_attr("seed") == 0 and u.op.get_attr("seed2") == 0
    with _sess(g) as s:
        a = s.run([u, n])
    with _sess(g) as s:
        b = s.run([u, n])
    assert not np.array_equal(a[0], b[0])
    assert not np.array_equal(a[1], b[1])


def test_result_independent_of_thread_count():
    g = tf.Graph()
    with g.as_default():
        ts = [tf.random_uniform([300_000], seed=3), tf.random_normal([300_001], dtype=tf.float64, seed=3),
              tf.truncated_normal([200_003], seed=3), tf.nn.dropout(tf.constant(np.ones(250_000, np.float32)), rate=0.3, seed=3)]
    with _sess(g, threads=1) as s:
        one = s.run(ts)
    with _sess(g, threads=4) as s:
        four = s.run(ts)
    for x, y in zip(one, four):
        np.testing.assert_array_equal(x, y)


def _moments_ok(x, mean, var, mu4):
    """Sample mean/variance within 5 standard errors of the theory."""
    n = x.size
    m = x.mean()
    v = ((x - mean) ** 2).mean()
    assert abs(m - mean) < 5 * math.sqrt(var / n), f"mean {m}, expected {mean}"
    assert abs(v - var) < 5 * math.sqrt((mu4 - var ** 2) / n), f"variance {v}, expected {var}"


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_uniform_statistics(dtype):
    with tf.Graph().as_default() as g:
        u = tf.random_uniform([N], dtype=dtype, seed=11)
        w = tf.random_uniform([N], minval=-3.0, maxval=5.0, dtype=dtype, seed=12)
    with _sess(g) as s:
        x, y = s.run([u, w])
    assert x.dtype == dtype.as_numpy_dtype and x.shape == (N,)
    assert x.min() >= 0.0 and x.max() < 1.0
    x = x.astype(np.float64)
    _moments_ok(x, 0.5, 1 / 12, 1 / 80)
    # The CDF at 9 points, each within 5 standard errors.
    for q in np.linspace(0.1, 0.9, 9):
        frac = (x < q).mean()
        assert abs(frac - q) < 5 * math.sqrt(q * (1 - q) / N), f"P(u < {q}) = {frac}"
    assert y.min() >= -3.0 and y.max() < 5.0
    _moments_ok(y.astype(np.float64), 1.0, 64 / 12, 8.0 ** 4 / 80)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_normal_statistics(dtype):
    with tf.Graph().as_default() as g:
        z = tf.random_normal([N], dtype=dtype, seed=21)
        w = tf.random_normal([N], mean=2.0, stddev=3.0, dtype=dtype, seed=22)
    with _sess(g) as s:
        x, y = s.run([z, w])
    assert x.dtype == dtype.as_numpy_dtype
    x = x.astype(np.float64)
    _moments_ok(x, 0.0, 1.0, 3.0)
    for q in [-2.5, -1.0, -0.3, 0.0, 0.7, 1.5, 3.0]:
        p = _phi(q)
        frac = (x < q).mean()
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / N), f"P(z < {q}) = {frac}, expected {p}"
    _moments_ok(y.astype(np.float64), 2.0, 9.0, 3 * 81.0)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_truncated_normal_statistics(dtype):
    with tf.Graph().as_default() as g:
        z = tf.truncated_normal([N], dtype=dtype, seed=31)
        w = tf.truncated_normal([1000], mean=-1.0, stddev=0.5, dtype=dtype, seed=32)
    with _sess(g) as s:
        x, y = s.run([z, w])
    assert np.abs(x).max() <= 2.0
    x = x.astype(np.float64)
    z_mass = _phi(2.0) - _phi(-2.0)
    pdf2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    var = 1.0 - 2 * 2.0 * pdf2 / z_mass  # 0.77374...
    assert abs(var - 0.7737413) < 1e-6
    mu4 = 3.0 - 2 * (2.0 ** 3 + 3 * 2.0) * pdf2 / z_mass  # E[z^4] of the truncated normal
    _moments_ok(x, 0.0, var, mu4)
    # P(|z| < 1) among the kept values.
    p = (_phi(1.0) - _phi(-1.0)) / z_mass
    frac = (np.abs(x) < 1.0).mean()
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / N)
    assert y.min() >= -2.0 and y.max() <= 0.0


@pytest.mark.parametrize("dtype,hi", [(tf.int32, 10), (tf.int64, 7)])
def test_uniform_int(dtype, hi):
    with tf.Graph().as_default() as g:
        r = tf.random_uniform([200_000], minval=-3, maxval=hi, dtype=dtype, seed=5)
    with _sess(g) as s:
        x = s.run(r)
    assert x.dtype == dtype.as_numpy_dtype
    assert x.min() == -3 and x.max() == hi - 1
    counts = np.bincount(x + 3)
    k = hi + 3
    expected = x.size / k
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected))


def test_shape_inference_and_dynamic_shapes():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [None, 4])
        u = tf.random_uniform(tf.shape(x), seed=1)
        assert u.shape.as_list() == [None, 4]
        shp = tf.placeholder(tf.int32, [3])
        v = tf.random_normal(shp, seed=1)
        assert v.shape.as_list() == [None, None, None]
        d = tf.nn.dropout(x, rate=0.5, seed=1)
        assert d.shape.as_list() == [None, 4]
        assert tf.random_uniform([2, 3]).shape.as_list() == [2, 3]
    with _sess(g) as s:
        a, b = s.run([u, v], {x: np.zeros((5, 4), np.float32), shp: [2, 1, 3]})
    assert a.shape == (5, 4) and b.shape == (2, 1, 3)


def test_op_names_follow_tf():
    with tf.Graph().as_default():
        assert tf.random_normal([2], mean=1.0, stddev=2.0, name="noise").name == "noise:0"
        assert tf.random_uniform([2], name="u").name == "u:0"
        assert tf.random_uniform([2], minval=-1.0, name="u").name == "u_1:0"
        with tf.name_scope("layer"):
            assert tf.nn.dropout(tf.constant([1.0, 2.0, 3.0]), keep_prob=0.5).name == "layer/dropout:0"


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("keep_prob", [0.2, 0.75])
def test_dropout_mask_scaling_and_gradient(device, keep_prob):
    rng = np.random.default_rng(0)
    xv = rng.uniform(0.5, 2.0, size=(400, 500))
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float64, xv.shape)
        y = tf.nn.dropout(x, keep_prob=keep_prob, seed=9)
        w = tf.constant(rng.standard_normal(xv.shape))
        (dx,) = tf.gradients(tf.multiply(y, w), [x])
    with _sess(g, device) as s:
        yv, dv, wv = s.run([y, dx, w], {x: xv})
    kept = yv != 0
    frac = kept.mean()
    assert abs(frac - keep_prob) < 5 * math.sqrt(keep_prob * (1 - keep_prob) / kept.size)
    np.testing.assert_allclose(yv[kept], xv[kept] / keep_prob, rtol=1e-12)
    # The gradient (fetched in the same run) is w * mask / keep_prob.
    mask = kept / keep_prob
    np.testing.assert_allclose(dv, wv * mask, rtol=1e-12)


def test_dropout_noise_shape_rate_and_placeholder_keep_prob():
    xv = np.arange(1, 1 + 600 * 8, dtype=np.float32).reshape(600, 8)
    with tf.Graph().as_default() as g:
        x = tf.constant(xv)
        rows = tf.nn.dropout(x, rate=0.5, noise_shape=[600, 1], seed=4)
        kp = tf.placeholder(tf.float32, [])
        fed = tf.nn.dropout(x, keep_prob=kp, seed=5)
        assert tf.nn.dropout(x, rate=0.0) is x
        assert tf.nn.dropout(x, keep_prob=1) is x
    with _sess(g) as s:
        r = s.run(rows)
        one = s.run(fed, {kp: 1.0})
        half = s.run(fed, {kp: 0.5})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"rate must be .*\[0, 1\), got 1"):
            s.run(fed, {kp: 0.0})
    row_kept = (r != 0).all(axis=1)
    row_dropped = (r == 0).all(axis=1)
    assert np.all(row_kept | row_dropped), "noise_shape [n, 1] must keep or drop whole rows"
    assert 0.4 < row_kept.mean() < 0.6
    np.testing.assert_allclose(r[row_kept], 2 * xv[row_kept])
    np.testing.assert_array_equal(one, xv)
    assert set(np.unique(half / xv).tolist()) == {0.0, 2.0}


def test_errors():
    with tf.Graph().as_default():
        x = tf.constant([1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="Cannot specify both keep_prob and rate"):
            tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
        with pytest.raises(ValueError, match="Exactly one of keep_prob and rate"):
            tf.nn.dropout(x)
        with pytest.raises(ValueError, match=r"range \[0, 1\), got 1.5"):
            tf.nn.dropout(x, rate=1.5)
        with pytest.raises(ValueError, match="floating point"):
            tf.nn.dropout(tf.constant([1, 2, 3]), rate=0.5)
        with pytest.raises(ValueError, match="Must specify maxval for integer dtype int32"):
            tf.random_uniform([3], dtype=tf.int32)
        with pytest.raises(ValueError, match="Invalid dtype int32 for random_normal"):
            tf.random_normal([3], dtype=tf.int32)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"random_uniform.*non-negative, got \[2, -1\]"):
            tf.random_uniform(tf.constant([2, -1]))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape must be a 1-D tensor, got shape \(2, 1\)"):
            tf.random_normal(tf.constant([[2], [1]]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="shape must be int32 or int64, got float32"):
            tf.truncated_normal(tf.constant([2.0]))
        shp = tf.placeholder(tf.int32, [None])
        u = tf.random_uniform(shp)
        lo = tf.placeholder(tf.int32, [])
        ri = tf.random_uniform([4], minval=lo, maxval=3, dtype=tf.int32)
        with tf.Session() as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"non-negative, got \[3, -4\]"):
                s.run(u, {shp: [3, -4]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Need minval < maxval: 5 >= 3"):
                s.run(ri, {lo: 5})
