"""The CUDA kernels of elementwise math (cuda/kernels/elementwise.cu), comparisons, logical
ops and where (compare.cu) and clipping (clip.cu) against the CPU kernels on the same inputs:
float32 within 1e-5 relative for elementwise ops (1e-4 where a gradient sums over broadcast
axes or a norm reduces), float64 within 1e-12, integer and bool outputs exactly. Special
values (NaN, +-inf, +-0, halves for round) included. Integer pow / floor_div / floor_mod
run on the CPU inside a "cuda" session (their CPU kernels check the data on the host); the
tests check they still give the same results and errors there.

Every test skips, with the reason, where no GPU is visible (see
nestor.config.device_unavailable_reason).
"""
from typing import Callable, Sequence

import numpy as np
import pytest

import nestor as tf
from parity import ELEMENTWISE, REDUCTION, requires_gpu
from parity import f32 as _f32, parity as _parity, run_graph as _run

pytestmark = requires_gpu

FLOAT64 = 1e-12


def _ints(*shape: int, seed: int = 0, low: int = -9, high: int = 10, dtype=np.int32) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(dtype)


def _raises_on(device: str, fn: Callable, inputs: Sequence[np.ndarray], match: str) -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        _run(fn, inputs, device)


# ---------------------------------------------------------------- unary elementwise
POS = dict(low=0.3, high=3.0)
# (op, domain, has a gradient)
UNARY = {
    "negative": (tf.negative, {}, True),
    "abs": (tf.abs, {}, True),
    "square": (tf.square, {}, True),
    "sqrt": (tf.sqrt, POS, True),
    "rsqrt": (tf.rsqrt, POS, True),
    "exp": (tf.exp, {}, True),
    "log": (tf.log, POS, True),
    "log1p": (tf.log1p, dict(low=-0.7, high=3.0), True),
    "sign": (tf.sign, {}, True),
    "floor": (tf.floor, dict(low=-5.0, high=5.0), False),
    "ceil": (tf.ceil, dict(low=-5.0, high=5.0), False),
    "cos": (tf.cos, dict(low=-4.0, high=4.0), True),
    "sin": (tf.sin, dict(low=-4.0, high=4.0), True),
    "round": (tf.round, dict(low=-5.0, high=5.0), False),
    "reciprocal": (tf.reciprocal, POS, True),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_and_gradients(name):
    op, dom, has_grad = UNARY[name]
    x = _f32(37, 19, seed=1, **dom)

    def fn(p):
        y = op(p)
        # The fused *_grad ops (sqrt_grad, rsqrt_grad, reciprocal_grad) and sign (abs) run here.
        return [y] + ([tf.gradients(y * 1.5, [p])[0]] if has_grad else [])

    _parity(fn, [x], ELEMENTWISE)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64_and_gradients(name):
    op, dom, has_grad = UNARY[name]
    x = _f32(11, 7, seed=2, **dom).astype(np.float64) * (1 + 1e-9)
    _parity(lambda p: [op(p)] + ([tf.gradients(op(p) * 0.75, [p])[0]] if has_grad else []), [x], FLOAT64, 1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_special_values(name, dtype):
    op = UNARY[name][0]
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-30, -1e30,
                  0.49999997, 3.5, 1e16 + 2.0], dtype=dtype)
    _parity(lambda p: op(p), [x], ELEMENTWISE if dtype == np.float32 else FLOAT64, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_is_half_to_even_and_floor(dtype):
    x = (np.arange(-40, 41) * 0.25).astype(dtype)  # every half, quarter and integer in [-10, 10]
    _parity(lambda p: [tf.round(p), tf.floor(p), tf.round(p * 3.0)], [x], 0.0, 0.0)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op", [tf.negative, tf.abs, tf.square, tf.sign, tf.round],
                         ids=["negative", "abs", "square", "sign", "round"])
def test_unary_integer(op, dtype):
    x = _ints(6, 9, seed=3, low=-1000, high=1000, dtype=dtype)
    x[0, :3] = [0, 1, -1]
    _parity(lambda p: op(p), [x], 0)


# ---------------------------------------------------------------- binary elementwise
SHAPES = [((5, 7), (5, 7)), ((5, 7), (7,)), ((4, 1, 3), (1, 6, 1)), ((), (3, 2)), ((3, 2), ()),
          ((2, 1, 3, 1), (5, 1, 1))]
BINARY = {
    "pow": (tf.pow, dict(low=0.5, high=2.0), dict(low=-1.5, high=2.0)),
    "maximum": (tf.maximum, {}, {}),
    "minimum": (tf.minimum, {}, {}),
    "squared_difference": (tf.squared_difference, {}, {}),
    "floormod": (tf.floormod, dict(low=-5.0, high=5.0), dict(low=0.5, high=2.0)),
}


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting_and_gradients(name, shapes):
    op, da, db = BINARY[name]
    a, b = _f32(*shapes[0], seed=4, **da), _f32(*shapes[1], seed=5, **db)
    if name in ("maximum", "minimum"):  # ties: the gradient goes to x on both devices
        a, b = np.round(a * 2) / 2, np.round(b * 2) / 2
    _parity(lambda x, y: [op(x, y)] + tf.gradients(tf.reduce_sum(op(x, y) * 0.5), [x, y]), [a, b], REDUCTION)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float64(name):
    op, da, db = BINARY[name]
    a, b = _f32(6, 5, seed=6, **da).astype(np.float64), _f32(5, seed=7, **db).astype(np.float64)
    _parity(lambda x, y: [op(x, y)] + tf.gradients(tf.reduce_sum(op(x, y)), [x, y]), [a, b], 1e-10, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floordiv_floormod_negative_operands(dtype):
    a = _f32(8, 6, seed=8, low=-7, high=7).astype(dtype)
    a[0] = [-3.0, 3.0, -4.5, 4.5, 0.0, -0.0]
    b = np.array([-1.5, 0.7, 2.0, -3.0, 1.0, -0.25], dtype)
    _parity(lambda x, y: [tf.floordiv(x, y), tf.floormod(x, y), x // y, x % y], [a, b], ELEMENTWISE)
    # Division by zero in floating point: inf / NaN on both devices, no error.
    z = np.array([0.0, -0.0, 0.0, 0.0], dtype)
    _parity(lambda x, y: [tf.floordiv(x, y), tf.floormod(x, y)], [np.array([1, -1, 0, 2.5], dtype), z], 0.0, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_special_values(dtype):
    s = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5], dtype)
    a, b = np.repeat(s, s.size), np.tile(s, s.size)  # every pair
    _parity(lambda x, y: [tf.maximum(x, y), tf.minimum(x, y), tf.squared_difference(x, y), tf.pow(x, y),
                          tf.floormod(x, y), tf.floordiv(x, y)], [a, b], ELEMENTWISE, 0.0)


def test_pow_negative_base_and_its_gradient():
    x = np.array([-2.0, -1.5, -0.5, 0.0, 1.2, 3.0], np.float32)
    y = np.array([3.0, 2.0, 1.0, 2.0, 2.0, -1.5], np.float32)
    _parity(lambda p, q: [tf.pow(p, q)] + tf.gradients(tf.pow(p, q), [p, q]), [x, y], ELEMENTWISE)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_binary_device_and_cpu_fallback(dtype):
    a = _ints(7, 1, seed=9, dtype=dtype)
    b = _ints(5, seed=10, low=1, high=6, dtype=dtype) * np.array([1, -1, 1, -1, 1], dtype)
    e = _ints(5, seed=11, low=0, high=5, dtype=dtype)
    # maximum / minimum / squared_difference on the device; floor_div / floor_mod / pow on the CPU.
    _parity(lambda x, y, z: [tf.maximum(x, y), tf.minimum(x, y), tf.squared_difference(x, y), tf.floordiv(x, y),
                             tf.floormod(x, y), x // y, x % y, tf.pow(x, z)], [a, b, e], 0)


def test_integer_division_by_zero_and_negative_power_fail_in_a_cuda_session():
    a = np.array([4, 5], np.int32)
    _raises_on("cuda", tf.floordiv, [a, np.array([2, 0], np.int32)], r"division by zero \(element 1")
    _raises_on("cuda", tf.floormod, [a, np.array([0, 1], np.int32)], r"division by zero \(element 0")
    _raises_on("cuda", tf.pow, [a, np.array([2, -1], np.int32)], r"negative integer powers.*exponent -1")


# ---------------------------------------------------------------- comparisons, logical ops
CMP = [tf.equal, tf.not_equal, tf.less, tf.less_equal, tf.greater, tf.greater_equal]


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_comparisons_broadcasting(dtype, shapes):
    a = _ints(*shapes[0], seed=12, low=-3, high=4).astype(dtype)
    b = _ints(*shapes[1], seed=13, low=-3, high=4).astype(dtype)
    _parity(lambda x, y: [op(x, y) for op in CMP], [a, b], 0)


def test_comparisons_with_nan_inf_and_signed_zero():
    s = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], np.float32)
    a, b = np.repeat(s, s.size), np.tile(s, s.size)
    _parity(lambda x, y: [op(x, y) for op in CMP], [a, b], 0)


def test_equality_and_logical_ops_on_bool():
    rng = np.random.default_rng(14)
    a, b = rng.uniform(size=(4, 1, 5)) > 0.5, rng.uniform(size=(3, 5)) > 0.5
    _parity(lambda x, y: [tf.equal(x, y), tf.not_equal(x, y), tf.logical_and(x, y), tf.logical_or(x, y),
                          tf.logical_xor(x, y), tf.logical_not(x), tf.logical_not(y)], [a, b], 0)
    _parity(lambda x, y: [tf.logical_and(x, y), tf.logical_or(x, y), tf.logical_xor(x, y)], [a, np.array(True)], 0)


def test_string_equality_runs_on_the_cpu_in_a_cuda_session():
    g = tf.Graph()
    with g.as_default():
        s = tf.constant(["ab", "cd", ""])
        eq, ne = tf.equal(s, tf.constant(["ab", "c", ""])), tf.not_equal(s, "cd")
        w = tf.where(tf.constant([True, False, True]), s, tf.constant(["x", "y", "z"]))
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as sess:
            r_eq, r_ne, r_w = sess.run([eq, ne, w])
    np.testing.assert_array_equal(r_eq, [True, False, True])
    np.testing.assert_array_equal(r_ne, [True, False, True])
    assert [v.decode() if isinstance(v, bytes) else v for v in r_w] == ["ab", "y", ""]


# ---------------------------------------------------------------- where
WHERE_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ()), ((4,), (2, 3, 4), (3, 1)),
                ((2, 1, 1), (3, 1), (4,)), ((), (5, 2), (5, 2)), ((2, 1, 3, 1, 2), (4, 1, 1, 1), (1, 2))]


@pytest.mark.parametrize("sc,sx,sy", WHERE_SHAPES, ids=lambda s: str(s))
def test_where_three_way_broadcasting_and_gradients(sc, sx, sy):
    c = np.random.default_rng(15).uniform(size=sc) > 0.5
    x, y = _f32(*sx, seed=16), _f32(*sy, seed=17)
    _parity(lambda pc, px, py: [tf.where_v2(pc, px, py)]
            + tf.gradients(tf.reduce_sum(tf.where_v2(pc, px, py) * 1.25), [px, py]), [c, x, y], REDUCTION)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64, np.bool_])
def test_where_dtypes(dtype):
    rng = np.random.default_rng(18)
    c = rng.uniform(size=(3, 1, 4)) > 0.5
    x = (rng.integers(-5, 5, size=(5, 4)) > 0) if dtype == np.bool_ else rng.integers(-5, 5, size=(5, 4)).astype(dtype)
    y = np.array(True) if dtype == np.bool_ else np.array(7, dtype)
    _parity(lambda pc, px, py: tf.where_v2(pc, px, py), [c, x, y], 0)


def test_where_tf1_vector_condition_selects_rows():
    c = np.array([True, False, True, False])
    x, y = _f32(4, 3, seed=19), _f32(4, 3, seed=20)
    _parity(lambda pc, px, py: [tf.where(pc, px, py)] + tf.gradients(tf.reduce_sum(tf.where(pc, px, py)), [px, py]),
            [c, x, y], ELEMENTWISE)


# ---------------------------------------------------------------- clipping
@pytest.mark.parametrize("lo_shape,hi_shape", [((), ()), ((7,), ()), ((5, 1), (7,)), ((5, 7), (5, 7)),
                                               ((1, 1), (1, 7))])
def test_clip_by_value_and_gradients(lo_shape, hi_shape):
    t = _f32(5, 7, seed=21)
    lo, hi = _f32(*lo_shape, seed=22, low=-1.0, high=-0.2), _f32(*hi_shape, seed=23, low=0.2, high=1.0)
    _parity(lambda x, a, b: [tf.clip_by_value(x, a, b)]
            + tf.gradients(tf.reduce_sum(tf.clip_by_value(x, a, b) * 2.0), [x, a, b]), [t, lo, hi], REDUCTION)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_clip_by_value_dtypes(dtype):
    t = (_f32(6, 5, seed=24) * 10).astype(dtype)
    lo, hi = np.array([-3, -2, -1, 0, 1], dtype), np.array(4, dtype)
    _parity(lambda x, a, b: tf.clip_by_value(x, a, b), [t, lo, hi], FLOAT64 if dtype == np.float64 else 0)


def test_clip_by_value_nan_passes_through():
    t = np.array([np.nan, -np.inf, np.inf, 0.5, -3.0], np.float32)
    _parity(lambda x: [tf.clip_by_value(x, -1.0, 1.0), tf.gradients(tf.clip_by_value(x, -1.0, 1.0), [x])[0]], [t], 0)


def test_clip_by_value_bounds_that_grow_t_fail_in_a_cuda_session():
    g = tf.Graph()
    with g.as_default():
        u = tf.placeholder(tf.float32, [None, 4])
        lo = tf.placeholder(tf.float32, [None, 4])
        y = tf.clip_by_value(u, lo, 1.0)
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"must broadcast to the shape of t \(1, 4\)"):
                s.run(y, {u: np.zeros((1, 4), np.float32), lo: np.zeros((3, 4), np.float32)})


@pytest.mark.parametrize("shape,axes", [((4, 3), None), ((4, 3), [0]), ((4, 3), [1]), ((4, 3), [0, 1]),
                                        ((3, 500), [1]), ((300, 7), None), ((2, 3, 4), [-1, 0]), ((), None)])
@pytest.mark.parametrize("clip", [0.8, 5.0, 1e3])
def test_clip_by_norm_and_gradients(shape, axes, clip):
    t = _f32(*shape, seed=25)
    _parity(lambda x: [tf.clip_by_norm(x, clip, axes=axes)]
            + tf.gradients(tf.reduce_sum(tf.clip_by_norm(x, clip, axes=axes) * 0.5), [x]), [t], REDUCTION)


def test_clip_by_norm_float64_and_zero_tensor():
    t = _f32(6, 80, seed=26).astype(np.float64)
    _parity(lambda x: [tf.clip_by_norm(x, 2.0, axes=[1]), tf.clip_by_norm(x, 2.0)]
            + tf.gradients(tf.reduce_sum(tf.clip_by_norm(x, 2.0, axes=[1])), [x]), [t], 1e-10, 1e-12)
    z = np.zeros((3, 2), np.float32)
    _parity(lambda x: [tf.clip_by_norm(x, 1.0), tf.gradients(tf.clip_by_norm(x, 1.0), [x])[0]], [z], 0)


def test_global_norm_of_many_tensors_and_gradients():
    a, b, c = _f32(3, 4, seed=27), _f32(300_001, seed=28), _f32(seed=29)
    e = np.zeros((0, 3), np.float32)
    _parity(lambda x, y, z, w: [tf.global_norm([x, None, y, z, w])]
            + tf.gradients(tf.global_norm([x, y, z, w]) * 3.0, [x, y, z]), [a, b, c, e], REDUCTION)
    _parity(lambda x: tf.global_norm([x]), [e], 0)
    _parity(lambda x: [tf.global_norm([x]), tf.gradients(tf.global_norm([x]), [x])[0]], [np.zeros(5, np.float32)], 0)


@pytest.mark.parametrize("clip", [0.5, 2.0, 1e4])
def test_clip_by_global_norm_and_gradients(clip):
    a, b = _f32(20, 3, seed=30), _f32(50, seed=31)

    def fn(x, y, c):
        out, norm = tf.clip_by_global_norm([x, None, y], c)
        return [out[0], out[2], norm] + tf.gradients(tf.reduce_sum(out[0]) + tf.reduce_sum(out[2] * 2.0), [x, y, c])

    _parity(fn, [a, b, np.array(clip, np.float32)], REDUCTION)


def test_clip_by_global_norm_of_an_infinite_norm_is_nan():
    a = np.array([1.0, np.inf, 2.0], np.float32)
    _parity(lambda x: tf.clip_by_global_norm([x], 1.0)[0][0], [a], 0)
    _parity(lambda x: tf.clip_by_global_norm([x], 1.0, use_norm=np.float32(np.nan))[0][0], [a], 0)
