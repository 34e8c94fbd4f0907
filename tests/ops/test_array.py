"""Array manipulation ops: forward vs NumPy, gradients vs finite differences, strided
slicing vs NumPy indexing, integer/bool/string tensors and error messages."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


def run(t, feed=None):
    with tf.Session(graph=t.graph if hasattr(t, "graph") else t[0].graph) as s:
        return s.run(t, feed)


# ---------------------------------------------------------------- concat / split
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_concat(device, axis):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for k, n in zip(range(3), (1, 2, 3)):
        shapes[k][axis] = n
    xs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda a, b, c: tf.concat([a, b, c], axis), xs, lambda a, b, c: np.concatenate([a, b, c], axis),
             device=device)


def test_concat_gradient_with_unknown_sizes():
    a, b = rand(2, 3, seed=1), rand(4, 3, seed=2)
    w = rand(6, 3, seed=3)
    with tf.Graph().as_default():
        pa = tf.placeholder(tf.float64, [None, 3])
        pb = tf.placeholder(tf.float64, [None, 3])
        y = tf.concat([pa, pb], 0)
        assert y.shape.as_list() == [None, 3]
        ga, gb = tf.gradients(y, [pa, pb], grad_ys=[tf.constant(w)])
        got = run([y, ga, gb], {pa: a, pb: b})
    np.testing.assert_array_equal(got[0], np.concatenate([a, b]))
    np.testing.assert_array_equal(got[1], w[:2])
    np.testing.assert_array_equal(got[2], w[2:])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.float32])
def test_concat_other_dtypes(dtype):
    a = (np.arange(6).reshape(2, 3) % 3).astype(dtype)
    b = (np.arange(4).reshape(2, 2) % 2).astype(dtype)
    np.testing.assert_array_equal(run_op(lambda x, y: tf.concat([x, y], 1), [a, b]), np.concatenate([a, b], 1))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis,spec", [(0, 2), (1, 3), (-1, [1, -1, 2]), (1, [0, 3]), (2, 4)])
def test_split(device, axis, spec):
    x = rand(4, 3, 4, seed=7)
    if isinstance(spec, int):
        ref = lambda v: np.split(v, spec, axis)  # noqa: E731
    else:
        sizes = list(spec)
        if -1 in sizes:
            sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
        ref = lambda v: np.split(v, np.cumsum(sizes)[:-1], axis)  # noqa: E731
    check_op(lambda v: tf.split(v, spec, axis), [x], ref, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_split_gradient_with_unused_outputs(device):
    x = rand(2, 6, seed=4)
    check_op(lambda v: tf.split(v, 3, axis=1)[1], [x], lambda v: v[:, 2:4], device=device)
    check_op(lambda v: [tf.split(v, [1, 5], 1)[1] * 2.0], [x], lambda v: [v[:, 1:] * 2], device=device)


# ---------------------------------------------------------------- stack / unstack / dims
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_unstack(device, axis):
    xs = [rand(2, 3, seed=i) for i in range(3)]
    check_op(lambda a, b, c: tf.stack([a, b, c], axis), xs, lambda a, b, c: np.stack([a, b, c], axis),
             device=device)
    x = rand(2, 3, 4, seed=5)
    check_op(lambda v: tf.unstack(v, axis=axis), [x], lambda v: [np.take(v, i, axis) for i in range(v.shape[axis])],
             device=device)


def test_unstack_iter_and_convert_nested_list():
    x = np.arange(6).reshape(3, 2).astype(np.int32)
    with tf.Graph().as_default():
        t = tf.constant(x)
        rows = list(t)
        packed = tf.convert_to_tensor([[t[0, 0], 7], [t[2, 1], 8]])
        got = run(rows + [packed])
    for i in range(3):
        np.testing.assert_array_equal(got[i], x[i])
    np.testing.assert_array_equal(got[3], [[0, 7], [5, 8]])


@pytest.mark.parametrize("device", DEVICES)
def test_expand_dims_and_squeeze(device):
    x = rand(3, 1, 2, 1, seed=2)
    for ax in (0, 2, 4, -1, -5):
        check_op(lambda v: tf.expand_dims(v, ax), [x], lambda v: np.expand_dims(v, ax), device=device)
    check_op(tf.squeeze, [x], np.squeeze, device=device)
    check_op(lambda v: tf.squeeze(v, [1]), [x], lambda v: np.squeeze(v, 1), device=device)
    check_op(lambda v: tf.squeeze(v, axis=[-1, 1]), [x], lambda v: np.squeeze(v, (1, 3)), device=device)
    check_op(lambda v: tf.expand_dims(v, dim=1), [x], lambda v: np.expand_dims(v, 1), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("perm", [None, [0, 1, 2], [2, 0, 1], [1, 0, 2], [0, 2, 1]])
def test_transpose(device, perm):
    x = rand(2, 3, 4, seed=3)
    check_op(lambda v: tf.transpose(v, perm), [x], lambda v: np.transpose(v, perm), device=device)


def test_transpose_runtime_perm_and_gradient():
    x = rand(2, 3, 4, seed=3)
    w = rand(4, 2, 3, seed=4)
    with tf.Graph().as_default():
        px = tf.placeholder(tf.float64, [2, 3, 4])
        pp = tf.placeholder(tf.int32, [3])
        y = tf.transpose(px, pp)
        assert y.shape.rank == 3
        g = tf.gradients(y, px, grad_ys=[tf.constant(w)])[0]
        yv, gv = run([y, g], {px: x, pp: np.array([2, 0, 1], np.int32)})
    np.testing.assert_array_equal(yv, np.transpose(x, [2, 0, 1]))
    np.testing.assert_array_equal(gv, np.transpose(w, [1, 2, 0]))
    np.testing.assert_array_equal(run(tf.invert_permutation([2, 0, 3, 1])), [1, 3, 0, 2])


# ---------------------------------------------------------------- slicing
INDEX_EXPRS = [
    "x[1]", "x[-1]", "x[:, 1:3]", "x[::-1]", "x[..., 0]", "x[:, None]", "x[1:, tf.newaxis, ::2]",
    "x[..., ::-2]", "x[-2:, ..., 1]", "x[None, ..., None]", "x[:, -1:0:-1]", "x[1, 2, 3]", "x[5:]",
    "x[-10:10]", "x[:, ::-1, 1:]", "x[0, ..., ::2]", "x[..., None, 1]", "x[:, 2:1]", "x[..., 1:-1, :]",
    "x[1, :, None, -2]", "x[::2, ::-2, ::3]", "x[-1:-4:-1, 1]", "x[...]", "x[:, :, :, None]",
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("expr", INDEX_EXPRS)
def test_getitem_matches_numpy(device, expr):
    x0 = rand(3, 4, 5, seed=11)
    f = eval("lambda x: " + expr, {"tf": tf})
    check_op(f, [x0], f, device=device)


def test_getitem_with_tensor_indices_and_strings():
    x = np.arange(24).reshape(4, 6).astype(np.int64)
    with tf.Graph().as_default():
        t = tf.constant(x)
        i = tf.placeholder(tf.int32, [])
        j = tf.placeholder(tf.int64, [])
        outs = [t[i], t[i, j], t[1:i], t[:, j:], t[-i]]
        got = run(outs, {i: 2, j: 3})
        s = tf.constant(np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object))
        sv = run([s[1, ::-1], s[:, 1], s[None, 0]])
    for a, b in zip(got, [x[2], x[2, 3], x[1:2], x[:, 3:], x[-2]]):
        np.testing.assert_array_equal(a, b)
    assert list(sv[0]) == [b"f", b"e", b"d"] and list(sv[1]) == [b"b", b"e"] and sv[2].shape == (1, 3)


@pytest.mark.parametrize("device", DEVICES)
def test_strided_slice_masks_and_slice(device):
    x = rand(3, 4, 5, seed=12)
    check_op(lambda v: tf.strided_slice(v, [0, 1], [0, 3], [1, 1], begin_mask=1, end_mask=1), [x],
             lambda v: v[:, 1:3], device=device)
    check_op(lambda v: tf.strided_slice(v, [1, 0, -1], [2, 0, 0], [1, 1, -1], ellipsis_mask=2,
                                        shrink_axis_mask=1), [x], lambda v: v[1, ..., :0:-1], device=device)
    check_op(lambda v: tf.strided_slice(v, [0, 2], [0, 4], [1, 1], new_axis_mask=1), [x],
             lambda v: v[None, 2:4], device=device)
    check_op(lambda v: tf.slice(v, [1, 0, 2], [2, -1, 3]), [x], lambda v: v[1:3, :, 2:5], device=device)
    check_op(lambda v: tf.slice(v, [1, 0, 0], [1, 4, 5]), [x], lambda v: v[1:2], device=device)


def test_slice_gradient_second_order():
    x = rand(4, 3, seed=1)
    check_op(lambda v: tf.gradients(tf.slice(v, [1, 1], [2, 2]) * v[1:3, 1:], v)[0], [x],
             lambda v: np.pad(v[1:3, 1:], [[1, 1], [1, 0]]) * 2.0)


# ---------------------------------------------------------------- tile / pad / broadcast / reverse
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mult", [[1, 1], [2, 3], [3, 1], [1, 0]])
def test_tile(device, mult):
    x = rand(2, 3, seed=6)
    check_op(lambda v: tf.tile(v, mult), [x], lambda v: np.tile(v, mult), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad(device, mode):
    x = rand(3, 4, seed=8)
    p = [[1, 2], [2, 3]] if mode != "REFLECT" else [[2, 1], [3, 0]]
    kw = {"constant_values": 1.5} if mode == "CONSTANT" else {}
    check_op(lambda v: tf.pad(v, p, mode.lower(), **kw), [x], lambda v: np.pad(v, p, mode.lower(), **kw),
             device=device)


def test_pad_int_and_string():
    x = np.arange(6).reshape(2, 3).astype(np.int32)
    np.testing.assert_array_equal(run_op(lambda v: tf.pad(v, [[0, 1], [1, 0]], constant_values=-1), [x]),
                                  np.pad(x, [[0, 1], [1, 0]], constant_values=-1))
    with tf.Graph().as_default():
        s = tf.constant(np.array(["a", "b"], dtype=object))
        got = run([tf.pad(s, [[1, 1]]), tf.pad(s, [[0, 2]], constant_values="z"), tf.pad(s, [[1, 1]], "SYMMETRIC")])
    assert list(got[0]) == [b"", b"a", b"b", b""] and list(got[1]) == [b"a", b"b", b"z", b"z"]
    assert list(got[2]) == [b"a", b"a", b"b", b"b"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape_in,shape_out", [((3,), (2, 3)), ((2, 1), (2, 4)), ((1, 3, 1), (2, 3, 2)),
                                                ((2, 3), (2, 3))])
def test_broadcast_to(device, shape_in, shape_out):
    x = rand(*shape_in, seed=9)
    check_op(lambda v: tf.broadcast_to(v, shape_out), [x], lambda v: np.broadcast_to(v, shape_out), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [[0], [1], [-1], [0, 2], []])
def test_reverse(device, axis):
    x = rand(2, 3, 4, seed=10)
    check_op(lambda v: tf.reverse(v, axis), [x], lambda v: np.flip(v, axis) if axis else v, device=device)


# ---------------------------------------------------------------- one_hot / fill / range
def test_one_hot():
    idx = np.array([[0, 2], [-1, 5]], dtype=np.int32)
    for axis in (None, -1, 0, 1, 2):
        eye = (idx[..., None] == np.arange(4)).astype(np.float32)
        want = eye if axis in (None, -1) else np.moveaxis(eye, -1, axis)
        got = run_op(lambda i: tf.one_hot(i, 4, axis=axis), [idx])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    got = run_op(lambda i: tf.one_hot(i, 3, on_value=5, off_value=-1), [idx.astype(np.int64)])
    np.testing.assert_array_equal(got, np.where(idx[..., None] == np.arange(3), 5, -1).astype(np.int32))
    got = run_op(lambda i: tf.one_hot(i, 3, dtype=tf.float64), [idx])
    assert got.dtype == np.float64
    got = run_op(lambda i: tf.one_hot(i, 2, on_value="y", off_value="n"), [np.array([1, 0], np.int32)])
    assert got.tolist() == [[b"n", b"y"], [b"y", b"n"]]


@pytest.mark.parametrize("device", DEVICES)
def test_fill_zeros_ones(device):
    check_op(lambda v: tf.fill([2, 3], v), [np.array(1.25)], lambda v: np.full((2, 3), v), device=device)
    with tf.Graph().as_default():
        outs = [tf.zeros([2, 3]), tf.ones((2,), tf.int64), tf.zeros([1, 2], tf.bool), tf.fill([2], "ab"),
                tf.zeros(tf.TensorShape([3]), tf.string), tf.ones(tf.shape(tf.zeros([4, 1])), tf.float64)]
        got = run(outs)
    np.testing.assert_array_equal(got[0], np.zeros((2, 3), np.float32))
    assert got[0].dtype == np.float32 and got[1].dtype == np.int64 and got[2].dtype == np.bool_
    np.testing.assert_array_equal(got[1], [1, 1])
    assert got[3].tolist() == [b"ab", b"ab"] and got[4].tolist() == [b"", b"", b""]
    np.testing.assert_array_equal(got[5], np.ones((4, 1)))


def test_range():
    cases = [((5,), {}, np.arange(5, dtype=np.int32)), ((2, 11, 3), {}, np.arange(2, 11, 3, dtype=np.int32)),
             ((10, 1, -4), {}, np.arange(10, 1, -4, dtype=np.int32)), ((1.0, 2.0, 0.25), {}, np.arange(1, 2, 0.25)),
             ((3,), {"dtype": tf.float64}, np.arange(3.0)), ((0, 1, 0.3), {}, np.arange(0, 1, 0.3)),
             ((4, 4), {}, np.arange(4, 4, dtype=np.int32)), ((np.int64(3),), {}, np.arange(3))]
    with tf.Graph().as_default():
        ts = [tf.range(*a, **k) for a, k, _ in cases]
        assert ts[1].shape.as_list() == [3]
        got = run(ts)
    for (a, k, want), g in zip(cases, got):
        assert g.dtype == (np.float32 if want.dtype == np.float64 and "dtype" not in k else want.dtype), a
        np.testing.assert_allclose(g, want, rtol=1e-6)


# ---------------------------------------------------------------- dtypes and float32
def test_string_tensors():
    s = np.array([["a", "bb", "c"], ["d", "e", "ff"]], dtype=object)
    with tf.Graph().as_default():
        t = tf.constant(s)
        outs = [tf.concat([t, t], 0), tf.transpose(t), tf.tile(t, [1, 2]), tf.reverse(t, [1]),
                tf.stack([t[0], t[1]], 1), tf.split(t, 3, axis=1)[2], tf.slice(t, [0, 1], [2, 1]),
                tf.expand_dims(t, 0), tf.broadcast_to(t[0], [2, 3])]
        got = run(outs)
    b = np.vectorize(lambda v: v.encode(), otypes=[object])(s)
    for a, w in zip(got, [np.concatenate([b, b]), b.T, np.tile(b, [1, 2]), b[:, ::-1], np.stack([b[0], b[1]], 1),
                          b[:, 2:], b[:, 1:2], b[None], np.broadcast_to(b[0], (2, 3))]):
        assert a.tolist() == w.tolist()


def test_float32_spot_checks():
    x = np.random.default_rng(0).standard_normal((5, 7, 3)).astype(np.float32)
    kw = dict(grad=False, rtol=0, atol=0)
    check_op(lambda v: tf.concat([v, v[::-1]], 1), [x], lambda v: np.concatenate([v, v[::-1]], 1), **kw)
    check_op(lambda v: tf.transpose(v, [1, 2, 0]), [x], lambda v: v.transpose(1, 2, 0), **kw)
    check_op(lambda v: v[1:4, ::-3, 2], [x], lambda v: v[1:4, ::-3, 2], **kw)
    check_op(lambda v: tf.pad(v, [[1, 1], [0, 2], [2, 2]], "REFLECT"), [x],
             lambda v: np.pad(v, [[1, 1], [0, 2], [2, 2]], "reflect"), **kw)


# ---------------------------------------------------------------- errors
def test_errors_name_op_and_shapes():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [2, 3], name="a")
        b = tf.placeholder(tf.float32, [4, 2], name="b")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"'cat' \(concat\).*\(2, 3\), \(4, 2\)"):
            tf.concat([a, b], 0, name="cat")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"squeeze.*dim\[1\].*got 3"):
            tf.squeeze(a, [1])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"transpose.*\(1, 1\) is not a permutation of 0\.\.1"):
            tf.transpose(a, [1, 1])
        with pytest.raises(tf.errors.InvalidArgumentError, match="not a permutation"):
            tf.transpose(a, [0, 2])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"perm \(0, 1, 2\) must have 2 entries"):
            tf.transpose(a, [0, 1, 2])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"not evenly divisible by num_split 2"):
            tf.split(a, 2, axis=1)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"slice index 5 of dimension 1 out of bounds"):
            a[:, 5]
        with pytest.raises(tf.errors.InvalidArgumentError, match="Unable to broadcast"):
            tf.broadcast_to(a, [2, 4])
        with pytest.raises(tf.errors.InvalidArgumentError, match="REFLECT paddings must be at most 1"):
            tf.pad(a, [[2, 0], [0, 0]], "REFLECT")
        with pytest.raises(TypeError, match="valid indices"):
            a[1.5]


def test_runtime_errors():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [None, 3])
        i = tf.placeholder(tf.int32, [])
        b = tf.placeholder(tf.float32, [None, None])
        d = tf.placeholder(tf.int32, [])
        with tf.Session() as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match="slice index 4 of dimension 0 out of bounds"):
                s.run(a[i], {a: np.zeros((2, 3)), i: 4})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"squeeze.*dim\[0\].*got 2"):
                s.run(tf.squeeze(a, [0]), {a: np.zeros((2, 3))})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"concat.*\(1, 3\), \(1, 2\)"):
                s.run(tf.concat([a, b], 0), {a: np.zeros((1, 3)), b: np.zeros((1, 2))})
            with pytest.raises(tf.errors.InvalidArgumentError, match="delta != 0"):
                s.run(tf.range(0, 5, d), {d: 0})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"begin\[0\] in \[0, 2\]"):
                s.run(tf.slice(a, [1, 0], [2, -1]), {a: np.zeros((2, 3))})
