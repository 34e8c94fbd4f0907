"""Variable initializers: constant values, sample variances against the formulas, seeds."""
import math

import numpy as np
import pytest

import nestor as tf
from nestor import initializers as init
from harness import available_devices

TRUNC_VAR = 0.7737413  # variance of a standard normal truncated to [-2, 2]


def _eval(fn, device="cpu"):
    g = tf.Graph()
    with g.as_default():
        t = fn()
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            return s.run(t)


def test_compute_fans():
    assert init._compute_fans([]) == (1.0, 1.0)
    assert init._compute_fans([7]) == (7.0, 7.0)
    assert init._compute_fans([3, 5]) == (3.0, 5.0)
    assert init._compute_fans([3, 3, 16, 32]) == (144.0, 288.0)
    assert init._compute_fans([2, 3, 4, 5, 6]) == (24.0 * 5, 24.0 * 6)


def test_zeros_ones_and_dtypes():
    z = _eval(lambda: init.zeros_initializer()([2, 3]))
    o = _eval(lambda: init.ones_initializer(dtype=tf.int32)([4]))
    o64 = _eval(lambda: init.ones_initializer()([2], dtype=tf.float64))
    s = _eval(lambda: init.zeros_initializer()([]))
    assert z.dtype == np.float32 and z.shape == (2, 3) and not z.any()
    np.testing.assert_array_equal(o, np.ones(4, np.int32))
    assert o.dtype == np.int32 and o64.dtype == np.float64
    assert s.shape == () and s == 0.0


def test_constant_initializer_values():
    np.testing.assert_array_equal(_eval(lambda: init.constant_initializer(2.5)([2, 2])), np.full((2, 2), 2.5))
    arr = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(_eval(lambda: init.constant_initializer(arr)([2, 3])), arr)
    np.testing.assert_array_equal(_eval(lambda: init.constant_initializer([1, 2, 3, 4, 5, 6])([3, 2])),
                                  np.arange(1.0, 7.0).reshape(3, 2))
    # Fewer values than the shape holds: the last one fills the rest (TF1).
    np.testing.assert_array_equal(_eval(lambda: init.constant_initializer([1, 2])([2, 2])), [[1, 2], [2, 2]])
    v = _eval(lambda: init.constant_initializer([7, 8], dtype=tf.int64)([2]))
    assert v.dtype == np.int64 and v.tolist() == [7, 8]
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Too many elements provided. Needed at most 4, but received 5"):
            init.constant_initializer([1, 2, 3, 4, 5])([2, 2])
        with pytest.raises(TypeError, match=r"Expected Tensor's shape: \(2, 2\), got \(4,\)"):
            init.constant_initializer([1, 2, 3, 4], verify_shape=True)([2, 2])


def test_get_variable_with_initializers():
    g = tf.Graph()
    with g.as_default():
        a = tf.get_variable("a", [3, 2], initializer=init.constant_initializer([[1, 2], [3, 4], [5, 6]]))
        b = tf.get_variable("b", [4], dtype=tf.float64, initializer=init.ones_initializer())
        w = tf.get_variable("w", [200, 300])  # default: glorot_uniform_initializer
        n = tf.get_variable("n", [5], dtype=tf.int32)  # default: zeros
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            va, vb, vw, vn = s.run([a, b, w, n])
    np.testing.assert_array_equal(va, [[1, 2], [3, 4], [5, 6]])
    assert vb.dtype == np.float64 and vb.tolist() == [1.0] * 4
    limit = math.sqrt(6.0 / 500)
    assert np.abs(vw).max() <= limit and np.abs(vw).max() > 0.95 * limit
    assert abs(vw.var() - limit ** 2 / 3) < 0.03 * limit ** 2 / 3
    assert vn.dtype == np.int32 and not vn.any()


def _check_var(x, want, rel=0.02):
    v = float(np.mean(x.astype(np.float64) ** 2))
    assert abs(v - want) < rel * want, f"variance {v}, expected {want}"
    assert abs(float(x.mean())) < 5 * math.sqrt(want / x.size)


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("name,make,shape,var", [
    ("glorot_uniform", lambda: init.glorot_uniform_initializer(seed=1), [1000, 500], 2.0 / 1500),
    ("glorot_normal", lambda: init.glorot_normal_initializer(seed=2), [1000, 500], 2.0 / 1500),
    ("he_normal_conv", lambda: init.he_normal(seed=3), [3, 3, 64, 128], 2.0 / 576),
    ("he_uniform_conv", lambda: init.he_uniform(seed=4), [3, 3, 64, 128], 2.0 / 576),
    ("lecun_normal", lambda: init.lecun_normal(seed=5), [400, 900], 1.0 / 400),
    ("lecun_uniform", lambda: init.lecun_uniform(seed=6), [400, 900], 1.0 / 400),
    ("vs_fan_out_untruncated", lambda: init.variance_scaling_initializer(3.0, "fan_out", "untruncated_normal", 7),
     [900, 400], 3.0 / 400),
    ("vs_fan_avg_normal", lambda: init.variance_scaling_initializer(0.5, "fan_avg", "normal", 8),
     [5, 5, 40, 80], 0.5 / 1500),
    ("vs_default_vector", lambda: init.variance_scaling_initializer(seed=9), [500_000], 1.0 / 500_000),
])
def test_variance_matches_formula(device, name, make, shape, var):
    x = _eval(lambda: make()(shape), device)
    assert list(x.shape) == shape and x.dtype == np.float32
    _check_var(x, var)
    ini = make()
    if ini.distribution == "uniform":
        limit = math.sqrt(3 * var)
        assert np.abs(x).max() <= limit and np.abs(x).max() > 0.99 * limit
    elif ini.distribution in ("normal", "truncated_normal"):
        sd = math.sqrt(var) / 0.87962566103423978
        assert np.abs(x).max() <= 2 * sd * (1 + 1e-6)
    else:
        assert np.abs(x).max() > 3 * math.sqrt(var)  # untruncated: tails beyond 2 stddev exist


def test_random_initializers_ranges_and_moments():
    u = _eval(lambda: init.random_uniform_initializer(-0.5, 1.5, seed=1)([200_000]))
    assert u.min() >= -0.5 and u.max() < 1.5
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 4 / 12) < 0.01
    d = _eval(lambda: init.random_uniform_initializer(seed=1)([10_000], dtype=tf.float64))
    assert d.dtype == np.float64 and d.min() >= 0 and d.max() < 1
    i = _eval(lambda: init.random_uniform_initializer(2, 6, seed=1)([1000], dtype=tf.int32))
    assert i.dtype == np.int32 and set(np.unique(i).tolist()) == {2, 3, 4, 5}
    n = _eval(lambda: init.random_normal_initializer(1.0, 0.5, seed=2)([200_000]))
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.5) < 0.01
    t = _eval(lambda: init.truncated_normal_initializer(-1.0, 0.25, seed=3)([200_000]))
    assert t.min() >= -1.5 and t.max() <= -0.5
    assert abs(t.mean() + 1.0) < 0.01 and abs(t.var() - 0.0625 * TRUNC_VAR) < 0.002


def test_seeded_initializers_reproduce():
    def build():
        return [init.glorot_normal_initializer(seed=11)([30, 20]), init.random_uniform_initializer(seed=12)([40]),
                init.truncated_normal_initializer(seed=13)([50])]
    a, b = _eval(build), _eval(build)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = _eval(lambda: [init.glorot_normal_initializer(seed=14)([30, 20])])
    assert not np.array_equal(a[0], c[0])


def test_config_and_errors():
    cfg = init.variance_scaling_initializer(2.0, "fan_out", "uniform", seed=3).get_config()
    assert cfg == {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 3, "dtype": "float32"}
    assert init.variance_scaling_initializer.from_config(cfg).mode == "fan_out"
    with pytest.raises(ValueError, match="Invalid `mode` argument: 'fan_sideways'"):
        init.variance_scaling_initializer(mode="fan_sideways")
    with pytest.raises(ValueError, match="Invalid `distribution` argument: 'cauchy'"):
        init.variance_scaling_initializer(distribution="cauchy")
    with pytest.raises(ValueError, match="`scale` must be a positive float, got -1"):
        init.variance_scaling_initializer(scale=-1.0)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Expected floating point type for glorot_uniform_initializer, got int32"):
            init.glorot_uniform_initializer()([2, 2], dtype=tf.int32)
        with pytest.raises(ValueError, match=r"Initializer shape must be non-negative, got \[2, -1\]"):
            init.ones_initializer()([2, -1])
