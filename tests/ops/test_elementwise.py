"""Elementwise math, comparisons, logical ops and where: forward vs NumPy float64,
gradients vs finite differences, broadcasting, integer/bool/string cases, errors, operators."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


def away_from_ints(x, margin=0.1):
    """Moves values so that x - round(x) is at least `margin` away from 0 and from +-0.5."""
    f = x - np.floor(x)
    f = np.clip(f, margin, 1 - margin)
    f = np.where(np.abs(f - 0.5) < margin, 0.5 + margin * np.sign(f - 0.5 + 1e-12), f)
    return np.floor(x) + f


POS = dict(low=0.3, high=3.0)
UNARY = [
    (tf.negative, np.negative, {}),
    (tf.abs, np.abs, {}),
    (tf.square, np.square, {}),
    (tf.sqrt, np.sqrt, POS),
    (tf.rsqrt, lambda x: 1 / np.sqrt(x), POS),
    (tf.exp, np.exp, {}),
    (tf.log, np.log, POS),
    (tf.log1p, np.log1p, dict(low=-0.7, high=3.0)),
    (tf.sign, np.sign, {}),
    (tf.floor, np.floor, {}),
    (tf.ceil, np.ceil, {}),
    (tf.round, np.round, {}),
    (tf.cos, np.cos, dict(low=-4.0, high=4.0)),
    (tf.sin, np.sin, dict(low=-4.0, high=4.0)),
    (tf.reciprocal, np.reciprocal, POS),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,ref,dom", UNARY, ids=[u[0].__name__ for u in UNARY])
def test_unary_float64_forward_and_grad(device, op, ref, dom):
    x = rand(3, 4, seed=5, **dom)
    x = np.where(np.abs(x) < 0.1, 0.3, x)  # abs/sign/reciprocal: stay away from the kink at 0
    if op in (tf.floor, tf.ceil, tf.round):
        x = away_from_ints(x * 2)  # piecewise constant: away from jumps, gradient must be 0 (None)
    check_op(op, [x], ref, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_round_is_half_to_even(device):
    x = np.array([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999, -2.5001, 1e16 + 2.0])
    check_op(tf.round, [x], np.round, device=device, grad=False)
    check_op(tf.round, [x.astype(np.float32)], lambda v: np.round(v).astype(np.float32), device=device,
             grad=False)
    ints = np.array([-3, 0, 7], dtype=np.int32)
    check_op(tf.round, [ints], lambda v: v, device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op,ref", [(tf.negative, np.negative), (tf.abs, np.abs), (tf.square, np.square),
                                    (tf.sign, np.sign)])
def test_unary_integer(device, dtype, op, ref):
    x = np.array([[-7, -1, 0], [1, 3, 12]], dtype=dtype)
    check_op(op, [x], ref, device=device, grad=False)


BINARY = [
    (tf.pow, np.power, dict(low=0.5, high=2.0)),
    (tf.maximum, np.maximum, {}),
    (tf.minimum, np.minimum, {}),
    (tf.squared_difference, lambda a, b: (a - b) ** 2, {}),
    (tf.floormod, np.mod, dict(low=0.5, high=2.0)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,ref,dom", BINARY, ids=[b[0].__name__ for b in BINARY])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3))])
def test_binary_broadcasting_forward_and_grad(device, op, ref, dom, sa, sb):
    a = rand(*sa, seed=1, **dom)
    b = rand(*sb, seed=2, **dom)
    check_op(op, [a, b], ref, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_floordiv_float(device):
    a = rand(3, 4, seed=3, low=-5, high=5)
    b = np.array([-1.5, 0.7, 2.0, -3.0])
    check_op(tf.floordiv, [a, b], np.floor_divide, device=device)  # gradient is None, finite diffs 0
    check_op(tf.floormod, [a, b], np.mod, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_pow_negative_base_integer_exponent(device):
    x = np.array([-2.0, -1.5, -0.5, 1.2])
    y = np.array([3.0, 2.0, 1.0, 2.0])
    check_op(tf.pow, [x, y], np.power, device=device, grad_inputs=[0])
    # d/dy is taken as 0 where x <= 0 (TF's convention), z * log(x) elsewhere
    g = tf.Graph()
    with g.as_default():
        px, py = tf.constant(x), tf.constant(y)
        dy = tf.gradients(tf.pow(px, py), [py])[0]
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            np.testing.assert_allclose(s.run(dy), [0, 0, 0, 1.2 ** 2 * np.log(1.2)])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,x_grad", [(tf.maximum, [1.0, 1.0, 0.0]), (tf.minimum, [1.0, 1.0, 1.0])])
def test_minmax_ties_route_gradient_to_x(device, op, x_grad):
    x = np.array([1.0, 2.0, -3.0])
    y = np.array([1.0, 2.0, 0.0])
    g = tf.Graph()
    with g.as_default():
        px, py = tf.constant(x), tf.constant(y)
        gx, gy = tf.gradients(op(px, py), [px, py])
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            rx, ry = s.run([gx, gy])
    np.testing.assert_array_equal(rx, x_grad)
    np.testing.assert_array_equal(ry, 1.0 - np.array(x_grad))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_binary(device, dtype):
    a = np.array([[-7, -6, -1, 0, 5, 7]], dtype=dtype).T
    b = np.array([-3, 2, 4], dtype=dtype)
    check_op(tf.floordiv, [a, b], np.floor_divide, device=device, grad=False)
    check_op(tf.floormod, [a, b], np.mod, device=device, grad=False)
    check_op(tf.maximum, [a, b], np.maximum, device=device, grad=False)
    check_op(tf.minimum, [a, b], np.minimum, device=device, grad=False)
    check_op(tf.squared_difference, [a, b], lambda u, v: (u - v) ** 2, device=device, grad=False)
    e = np.array([0, 1, 3], dtype=dtype)
    check_op(tf.pow, [a, e], np.power, device=device, grad=False)


def test_integer_division_by_zero_and_negative_power_fail():
    a = np.array([4, 5], dtype=np.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"division by zero \(element 1"):
        run_op(tf.floordiv, [a, np.array([2, 0], dtype=np.int32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"division by zero"):
        run_op(tf.floormod, [a, np.array([0, 1], dtype=np.int32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"negative integer powers.*exponent -1"):
        run_op(tf.pow, [a, np.array([2, -1], dtype=np.int32)])


@pytest.mark.parametrize("device", DEVICES)
def test_float32_spot_checks(device):
    x = rand(4, 5, seed=7).astype(np.float32)
    y = rand(5, seed=8, low=0.5, high=2.0).astype(np.float32)
    f64 = lambda f: lambda *a: f(*[v.astype(np.float64) for v in a])  # noqa: E731
    for op, ref in [(tf.exp, np.exp), (tf.square, np.square), (tf.abs, np.abs), (tf.log1p, np.log1p)]:
        check_op(op, [x + 2.5], f64(ref), device=device, grad=False, rtol=1e-6, atol=1e-6)
    for op, ref in [(tf.pow, np.power), (tf.maximum, np.maximum), (tf.floormod, np.mod),
                    (tf.squared_difference, lambda a, b: (a - b) ** 2)]:
        check_op(op, [np.abs(x) + 0.1, y], f64(ref), device=device, grad=False, rtol=1e-5, atol=1e-6)
    out = run_op(tf.sqrt, [np.abs(x)], device)
    assert out.dtype == np.float32


CMP = [(tf.equal, np.equal), (tf.not_equal, np.not_equal), (tf.less, np.less), (tf.less_equal, np.less_equal),
       (tf.greater, np.greater), (tf.greater_equal, np.greater_equal)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,ref", CMP, ids=[c[0].__name__ for c in CMP])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_comparisons_broadcasting(device, op, ref, dtype):
    a = np.array([[1, 2, 3], [3, 2, 1]], dtype=dtype)
    b = np.array([2, 2, 2], dtype=dtype)
    check_op(op, [a, b], ref, device=device, grad=False)
    check_op(op, [a.reshape(2, 1, 3), a.reshape(1, 2, 3)], ref, device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
def test_equality_on_bool_and_string(device):
    a = np.array([True, False, True])
    b = np.array([True, True, False])
    check_op(tf.equal, [a, b], np.equal, device=device, grad=False)
    check_op(tf.not_equal, [a, b], np.not_equal, device=device, grad=False)
    g = tf.Graph()
    with g.as_default():
        s = tf.constant(["ab", "cd", ""])
        eq = tf.equal(s, tf.constant(["ab", "c", ""]))
        ne = tf.not_equal(s, "cd")
        with tf.Session(graph=g) as sess:
            r_eq, r_ne = sess.run([eq, ne])
    np.testing.assert_array_equal(r_eq, [True, False, True])
    np.testing.assert_array_equal(r_ne, [True, False, True])


@pytest.mark.parametrize("device", DEVICES)
def test_logical_ops(device):
    a = np.array([[True], [False]])
    b = np.array([True, False, True])
    check_op(tf.logical_and, [a, b], np.logical_and, device=device, grad=False)
    check_op(tf.logical_or, [a, b], np.logical_or, device=device, grad=False)
    check_op(tf.logical_xor, [a, b], np.logical_xor, device=device, grad=False)
    check_op(tf.logical_not, [b], np.logical_not, device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sc,sx,sy", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ()), ((4,), (2, 3, 4), (3, 1)),
                                      ((2, 1, 1), (3, 1), (4,))])
def test_where_v2_broadcasts_all_three(device, sc, sx, sy):
    c = np.random.default_rng(0).uniform(size=sc) > 0.5
    x = rand(*sx, seed=1)
    y = rand(*sy, seed=2)
    check_op(tf.where_v2, [c, x, y], np.where, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_where_tf1_vector_condition_selects_rows(device):
    c = np.array([True, False, True])
    x = rand(3, 2, seed=1)
    y = rand(3, 2, seed=2)
    check_op(tf.where, [c, x, y], lambda cc, a, b: np.where(cc[:, None], a, b), device=device)
    check_op(lambda cc, a: tf.where(cc, a, 0.0), [c[:, None] & np.array([True, False]), x],
             lambda cc, a: np.where(cc, a, 0.0), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_where_strings_and_ints(device):
    g = tf.Graph()
    with g.as_default():
        c = tf.constant([True, False])
        s = tf.where(c, tf.constant(["a", "b"]), tf.constant(["x", "y"]))
        i = tf.where_v2(c, tf.constant([1, 2], dtype=tf.int64), tf.constant(-1, dtype=tf.int64))
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as sess:
            rs, ri = sess.run([s, i])
    assert [v.decode() if isinstance(v, bytes) else v for v in rs] == ["a", "y"]
    np.testing.assert_array_equal(ri, [1, -1])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), ()])
def test_where_one_argument_returns_indices(device, shape):
    c = np.random.default_rng(3).uniform(size=shape) > 0.4
    out = run_op(lambda t: tf.where(t), [c], device)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, np.argwhere(c))
    with tf.Graph().as_default():
        t = tf.placeholder(tf.bool, shape)
        assert tf.where(t).shape.as_list() == [None, len(shape)]
    vals = np.array([[0.0, 1.5], [-2.0, 0.0]])
    np.testing.assert_array_equal(run_op(tf.where_v2, [vals], device), np.argwhere(vals))


def test_build_time_errors_name_op_and_dtypes():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [3], name="a")
        d = tf.placeholder(tf.float64, [3], name="d")
        i = tf.placeholder(tf.int32, [3], name="i")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Maximum.*float32 and float64"):
            tf.maximum(a, d)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Sqrt.*float32 or float64, got int32"):
            tf.sqrt(i)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"LogicalAnd.*must be bool, got float32"):
            tf.logical_and(a, a)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Less.*got string"):
            tf.less(tf.constant(["a"]), tf.constant(["b"]))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"condition.*must be bool, got float32"):
            tf.where_v2(a, a, a)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"SelectV2.*\(2,\) and \(3,\)"):
            tf.where_v2(tf.placeholder(tf.bool, [2]), a, a)
        with pytest.raises(ValueError, match="both be non-None"):
            tf.where(tf.placeholder(tf.bool, [3]), a)


@pytest.mark.parametrize("device", DEVICES)
def test_operator_overloads(device):
    xv = rand(2, 3, seed=4, low=0.5, high=3.0)
    yv = rand(3, seed=5, low=0.5, high=3.0)
    bv = np.array([True, False, True])
    g = tf.Graph()
    with g.as_default():
        x, y, b = tf.constant(xv), tf.constant(yv), tf.constant(bv)
        got = [-x, abs(-x), x ** y, x ** 2, 2.0 ** x, x // y, 7.0 // x, x % y, 7.0 % x,
               x < y, x <= 1.5, x > y, x >= 1.5, 2.0 < x, b & True, True & b, b | False, False | b,
               b ^ True, True ^ b, ~b, b & np.array([False, True, True])]
        want = [-xv, xv, xv ** yv, xv ** 2, 2.0 ** xv, xv // yv, 7.0 // xv, xv % yv, 7.0 % xv,
                xv < yv, xv <= 1.5, xv > yv, xv >= 1.5, 2.0 < xv, bv & True, True & bv, bv | False, False | bv,
                bv ^ True, True ^ bv, ~bv, bv & np.array([False, True, True])]
        assert (x ** 2).dtype == tf.float64 and (x // 2).dtype == tf.float64
        assert (x == x) is True and (x == y) is False  # identity comparison, as TF1
        assert isinstance(hash(x), int)
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            res = s.run(got)
    for k, (r, w) in enumerate(zip(res, want)):
        assert r.dtype == np.asarray(w).dtype, f"operator case {k}: dtype {r.dtype}"
        if r.dtype == np.bool_:
            np.testing.assert_array_equal(r, w, err_msg=f"operator case {k}")
        else:
            np.testing.assert_allclose(r, w, rtol=1e-12, err_msg=f"operator case {k}")


def test_aliases_and_namespaces():
    assert tf.mod is tf.floormod and tf.floor_div is tf.floordiv
    for n in ["negative", "abs", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "sign", "floor", "round",
              "reciprocal", "pow", "maximum", "minimum", "squared_difference", "floordiv", "floormod", "equal",
              "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
              "logical_xor", "logical_not"]:
        assert getattr(tf.math, n) is getattr(tf, n), n
    with tf.Graph().as_default():
        assert tf.exp(tf.constant(1.0)).op.name == "Exp"
        assert tf.maximum(1.0, tf.constant(2.0), name="m").op.name == "m"


@pytest.mark.parametrize("device", DEVICES)
def test_large_inputs_use_parallel_paths(device):
    c = np.random.default_rng(1).uniform(size=(400, 1)) > 0.5
    x = rand(400, 300, seed=2)
    y = rand(300, seed=3)
    check_op(tf.where_v2, [c, x, y], np.where, device=device, grad=False)
    check_op(tf.maximum, [x, y], np.maximum, device=device, grad=False)
    check_op(lambda a: tf.sqrt(tf.exp(a)), [x], lambda a: np.sqrt(np.exp(a)), device=device, grad=False)
    np.testing.assert_array_equal(run_op(lambda t: tf.where(t > 0.0), [x], device), np.argwhere(x > 0))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n", [1, 2, 5])
def test_add_n_forward_and_grad(device, n):
    xs = [rand(3, 4, seed=i) for i in range(n)]
    check_op(lambda *ts: tf.add_n(list(ts)), xs, lambda *a: np.sum(np.stack(a), axis=0), device=device)


def test_add_n_names_errors_and_namespaces():
    assert tf.math.add_n is tf.add_n
    with tf.Graph().as_default():
        a, b = tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])
        assert tf.add_n([a]) is a  # one input, no name: the input itself, as TF returns it
        s = tf.add_n([a, b, [0.5, 0.5]], name="total")
        assert s.name == "total:0"
        assert tf.add_n([a], name="only").name == "only:0"
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(s), [4.5, 6.5])
        with pytest.raises(ValueError, match="at least one Tensor"):
            tf.add_n([])
        with pytest.raises(ValueError, match=r"same dtype: .* float32, inputs\[1\] .* is float64"):
            tf.add_n([a, tf.constant([1.0, 2.0], tf.float64)])
        with pytest.raises(ValueError, match=r"same shape: .*\(2,\).*inputs\[1\].*\(1, 2\)"):
            tf.add_n([a, tf.constant([[1.0, 2.0]])])  # add would broadcast; add_n does not
        x = tf.placeholder(tf.float32, [None])
        assert tf.add_n([x, a]).shape.as_list() == [2]


def test_python_operands_take_the_dtype_of_a_numpy_operand():
    # TensorFlow converts x first when neither operand is a Tensor: tf.equal(np.int64(3), 2) compares int64s.
    with tf.Graph().as_default():
        eq = tf.equal(np.int64(3), 2)
        added = tf.add(np.arange(3, dtype=np.int64), 1)
        with tf.Session() as s:
            assert eq.dtype is tf.bool and not s.run(eq)
            assert added.dtype is tf.int64
            np.testing.assert_array_equal(s.run(added), np.arange(1, 4))
