"""gather_nd, scatter_nd, tensor_scatter_nd_update and tensor_scatter_nd_add: forward against
NumPy references (element-by-element loops), gradients against central finite differences, on
every available device; index depth below and equal to the rank, batch_dims, duplicates,
dtypes, empty inputs, static shapes and error messages."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand

DEVICES = available_devices()


# ---------------------------------------------------------------- references
def np_gather_nd(p, ind, b=0):
    p, ind = np.asarray(p), np.asarray(ind)
    if b:
        parts = [np_gather_nd(p[i], ind[i], b - 1) for i in range(p.shape[0])]
        return np.stack(parts) if parts else np.zeros(ind.shape[:-1] + p.shape[b + ind.shape[-1]:], p.dtype)
    depth = ind.shape[-1]
    rows = ind.reshape(int(np.prod(ind.shape[:-1])), depth)
    out = np.zeros((rows.shape[0],) + p.shape[depth:], p.dtype)
    for r, i in enumerate(rows):
        out[r] = p[tuple(i)]
    return out.reshape(ind.shape[:-1] + p.shape[depth:])


def np_scatter(base, ind, upd, add):
    out = np.array(base, copy=True)
    ind, upd = np.asarray(ind), np.asarray(upd)
    depth = ind.shape[-1]
    rows = ind.reshape(int(np.prod(ind.shape[:-1])), depth)
    ups = upd.reshape((rows.shape[0],) + out.shape[depth:])
    for i, u in zip(rows, ups):
        if add:
            out[tuple(i)] += u
        else:
            out[tuple(i)] = u
    return out


def test_references_on_hand_worked_examples():
    p = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(np_gather_nd(p, [[1, 2], [0, 1]]), [5, 1])
    np.testing.assert_array_equal(np_gather_nd(p, [[1]]), [[3, 4, 5]])
    np.testing.assert_array_equal(np_gather_nd(p, [[2], [0]], b=1), [2, 3])
    np.testing.assert_array_equal(np_scatter(np.zeros(4), [[1], [1], [3]], [1.0, 2.0, 3.0], True), [0, 3, 0, 3])
    np.testing.assert_array_equal(np_scatter(np.zeros(4), [[1], [1]], [1.0, 2.0], False), [0, 2, 0, 0])


# ---------------------------------------------------------------- gather_nd
P_SHAPE = (3, 4, 5)
GATHER_CASES = [  # (indices shape, batch_dims); depth == rank, < rank, 0, several leading index dims
    ((6, 3), 0), ((6, 2), 0), ((6, 1), 0), ((2, 3, 2), 0), ((3,), 0), ((2,), 0), ((4, 0), 0), ((0, 2), 0),
    ((3, 2), 1), ((3, 1), 1), ((3, 4, 1), 2), ((3, 2, 2), 1), ((3, 0), 1),
]


def _indices(shape, b, seed, dims=P_SHAPE):
    """Random in-range indices of `shape` for a tensor of `dims` with b batch dims (with repeats)."""
    rng = np.random.default_rng(seed)
    depth = shape[-1]
    cols = [rng.integers(0, dims[b + k], size=shape[:-1]) for k in range(depth)]
    ind = np.stack(cols, -1) if depth else np.zeros(shape, np.int64)
    if b:  # batch positions must match params': indices[i, ...] belong to batch i
        assert shape[:b] == dims[:b]
    return ind.astype(np.int32).reshape(shape)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ishape,b", GATHER_CASES, ids=[f"{s}-b{b}" for s, b in GATHER_CASES])
def test_gather_nd_forward_and_grad(device, ishape, b):
    p = rand(*P_SHAPE, seed=1)
    ind = _indices(ishape, b, seed=2)
    check_op(lambda x, i: tf.gather_nd(x, i, batch_dims=b), [p, ind], lambda x, i: np_gather_nd(x, i, b),
             device=device, grad_inputs=[0])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.bool_])
def test_gather_nd_dtypes_and_int64_indices(device, dtype):
    vals = np.random.default_rng(3).integers(-5, 5, size=(4, 3, 2))
    p = (vals > 0) if dtype == np.bool_ else vals.astype(dtype)
    for ind in (np.array([[3, 2, 1], [0, 0, 0], [3, 2, 1]], np.int64), np.array([[2, 1], [0, 2]], np.int64),
                np.array([[1], [3], [1]], np.int32)):
        check_op(lambda x, i: tf.gather_nd(x, i), [p, ind], np_gather_nd, device=device, grad=False)


def test_gather_nd_strings():
    with tf.Graph().as_default():
        p = tf.constant([["a", "b"], ["c", "d"]])
        with tf.Session() as s:
            got = s.run([tf.gather_nd(p, [[1, 0], [0, 1]]), tf.gather_nd(p, [[1]])])
    assert [v.decode() for v in got[0]] == ["c", "b"]
    assert [v.decode() for v in got[1][0]] == ["c", "d"]


@pytest.mark.parametrize("device", DEVICES)
def test_gather_nd_empty_params_dimension(device):
    p = np.zeros((0, 3))
    check_op(lambda x, i: tf.gather_nd(x, i), [p, np.zeros((0, 1), np.int32)], np_gather_nd, device=device)
    p2 = rand(2, 0, seed=4)
    check_op(lambda x, i: tf.gather_nd(x, i), [p2, np.array([[1], [0]], np.int32)], np_gather_nd, device=device)


def test_gather_nd_static_shapes():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 4, 5])
        assert tf.gather_nd(p, tf.placeholder(tf.int32, [7, 2])).shape.as_list() == [7, 5]
        assert tf.gather_nd(p, tf.placeholder(tf.int64, [None, 2, 3])).shape.as_list() == [None, 2]
        assert tf.gather_nd(p, tf.placeholder(tf.int32, [None, 1]), batch_dims=1).shape.as_list() == [None, 5]
        assert tf.gather_nd(p, tf.placeholder(tf.int32, [2, None])).shape.ndims is None
        assert tf.gather_nd(tf.placeholder(tf.float32), tf.placeholder(tf.int32, [3, 1])).shape.ndims is None
        assert tf.gather_nd(p, [[0, 1]], name="gnd").op.name == "gnd"


# ---------------------------------------------------------------- scatter_nd
SCATTER_CASES = [((6, 3), (3, 4, 5)), ((6, 1), (3, 4, 5)), ((2, 3, 2), (3, 4, 5)), ((5, 1), (4,)),
                 ((0, 2), (3, 4)), ((4, 0), (2, 3))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ishape,shape", SCATTER_CASES, ids=[f"{a}-{b}" for a, b in SCATTER_CASES])
def test_scatter_nd_forward_and_grad_with_duplicates(device, ishape, shape):
    ind = _indices(ishape, 0, seed=5, dims=shape)
    if ind.shape[0] > 2 and ind.shape[-1]:
        ind[1] = ind[0]  # a duplicate: both updates add up
    upd = rand(*(ishape[:-1] + shape[ishape[-1]:]), seed=6)
    check_op(lambda i, u: tf.scatter_nd(i, u, shape), [ind, upd],
             lambda i, u: np_scatter(np.zeros(shape), i, u, True), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_scatter_nd_dtypes(device, dtype):
    ind = np.array([[1, 0], [2, 2], [1, 0], [0, 1]], np.int64)
    upd = np.array([3, -4, 5, 7], dtype)
    check_op(lambda i, u: tf.scatter_nd(i, u, [3, 3]), [ind, upd],
             lambda i, u: np_scatter(np.zeros((3, 3), dtype), i, u, True), device=device, grad=False)


def test_scatter_nd_shape_inputs_and_static_shapes():
    with tf.Graph().as_default():
        i = tf.placeholder(tf.int32, [None, 1])
        u = tf.placeholder(tf.float32, [None, 3])
        assert tf.scatter_nd(i, u, [4, 3]).shape.as_list() == [4, 3]
        assert tf.scatter_nd(i, u, tf.TensorShape([4, 3])).shape.as_list() == [4, 3]
        x = tf.placeholder(tf.float32, [5, 3])
        assert tf.scatter_nd(i, u, tf.shape(x)).shape.as_list() == [5, 3]
        s = tf.placeholder(tf.int64, [2])
        y = tf.scatter_nd(i, u, s)
        assert y.shape.as_list() == [None, None]
        with tf.Session() as sess:
            got = sess.run(y, {i: [[2], [0]], u: np.ones((2, 3)), s: [3, 3]})
        np.testing.assert_array_equal(got, [[1, 1, 1], [0, 0, 0], [1, 1, 1]])


# ---------------------------------------------------------------- tensor_scatter_nd_update / add
TS_CASES = [((4, 2), (3, 4, 5)), ((3, 3), (3, 4, 5)), ((2, 2, 1), (4, 3, 2)), ((3, 1), (6,)), ((0, 1), (3, 2))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ishape,shape", TS_CASES, ids=[f"{a}-{b}" for a, b in TS_CASES])
def test_tensor_scatter_nd_add_forward_and_grad(device, ishape, shape):
    ind = _indices(ishape, 0, seed=7, dims=shape)
    if ind.shape[0] > 2:
        ind[2] = ind[0]
    t, upd = rand(*shape, seed=8), rand(*(ishape[:-1] + shape[ishape[-1]:]), seed=9)
    check_op(lambda x, i, u: tf.tensor_scatter_nd_add(x, i, u), [t, ind, upd],
             lambda x, i, u: np_scatter(x, i, u, True), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ishape,shape", TS_CASES, ids=[f"{a}-{b}" for a, b in TS_CASES])
def test_tensor_scatter_nd_update_forward_and_grad(device, ishape, shape):
    rng = np.random.default_rng(10)
    rows = int(np.prod(ishape[:-1]))
    flat = rng.choice(int(np.prod(shape[:ishape[-1]])), size=rows, replace=False)  # distinct: differentiable
    ind = np.stack(np.unravel_index(flat, shape[:ishape[-1]]), -1).reshape(ishape).astype(np.int32)
    t, upd = rand(*shape, seed=11), rand(*(ishape[:-1] + shape[ishape[-1]:]), seed=12)
    check_op(lambda x, i, u: tf.tensor_scatter_nd_update(x, i, u), [t, ind, upd],
             lambda x, i, u: np_scatter(x, i, u, False), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_tensor_scatter_nd_update_duplicates_last_wins_and_tf_gradient(device):
    t = rand(4, 2, seed=13)
    ind = np.array([[1], [3], [1]], np.int32)
    upd = rand(3, 2, seed=14)
    w = rand(4, 2, seed=15)
    check_op(lambda x, i, u: tf.tensor_scatter_nd_update(x, i, u), [t, ind, upd],
             lambda x, i, u: np_scatter(x, i, u, False), device=device, grad=False)
    g = tf.Graph()
    with g.as_default():
        x, u = tf.placeholder(tf.float64, [4, 2]), tf.placeholder(tf.float64, [3, 2])
        y = tf.tensor_scatter_nd_update(x, ind, u)
        gx, gu = tf.gradients(y, [x, u], grad_ys=[tf.constant(w)])
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            rx, ru = s.run([gx, gu], {x: t, u: upd})
    np.testing.assert_array_equal(rx, w * np.array([[1], [0], [1], [0]]))
    np.testing.assert_array_equal(ru, w[[1, 3, 1]])  # TensorFlow's: each duplicate gets the slice's gradient


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.bool_])
def test_tensor_scatter_dtypes(device, dtype):
    rng = np.random.default_rng(16)
    t = rng.integers(-4, 4, size=(3, 4)).astype(dtype)
    ind = np.array([[2, 1], [0, 3], [2, 1]], np.int64)
    upd = rng.integers(-4, 4, size=3).astype(dtype)
    check_op(lambda x, i, u: tf.tensor_scatter_nd_update(x, i, u), [t, ind, upd],
             lambda x, i, u: np_scatter(x, i, u, False), device=device, grad=False)
    if dtype != np.bool_:
        check_op(lambda x, i, u: tf.tensor_scatter_nd_add(x, i, u), [t, ind, upd],
                 lambda x, i, u: np_scatter(x, i, u, True), device=device, grad=False)


def test_tensor_scatter_nd_update_strings_and_static_shape():
    with tf.Graph().as_default():
        t = tf.constant(["a", "b", "c"])
        y = tf.tensor_scatter_nd_update(t, [[2], [0]], ["z", "y"])
        p = tf.placeholder(tf.float32, [None, 3])
        assert tf.tensor_scatter_nd_add(p, [[0]], [[1.0, 2.0, 3.0]]).shape.as_list() == [None, 3]
        assert tf.tensor_scatter_nd_update(p, [[0, 1]], [5.0]).shape.as_list() == [None, 3]
        with tf.Session() as s:
            assert [v.decode() for v in s.run(y)] == ["y", "b", "z"]


# ---------------------------------------------------------------- errors
def _run(fetch, feed=None):
    with tf.Session() as s:
        return s.run(fetch, feed)


def test_out_of_range_indices_name_op_index_and_range():
    with tf.Graph().as_default():
        p = tf.constant(np.zeros((2, 3, 4), np.float32))
        i = tf.placeholder(tf.int32, [None, 2])
        cases = [
            (tf.gather_nd(p, i, name="g"), [[1, 0], [1, 3]],
             r"'g' \(gather_nd\): indices\[1\] = \[1, 3\] does not index into params of shape \(2, 3, 4\): 3 is "
             r"not in \[0, 3\) \(dimension 1\)"),
            (tf.gather_nd(p, i), [[-1, 0]], r"indices\[0\] = \[-1, 0\] does not index into params .*-1 is not in "
                                            r"\[0, 2\) \(dimension 0\)"),
            (tf.scatter_nd(i, tf.ones([2, 4]), [2, 3, 4], name="s"), [[0, 0], [2, 1]],
             r"'s' \(scatter_nd\): indices\[1\] = \[2, 1\] does not index into shape of shape \(2, 3, 4\): 2 is not "
             r"in \[0, 2\)"),
            (tf.tensor_scatter_nd_update(p, i, tf.ones([1, 4])), [[1, 5]],
             r"\(tensor_scatter_nd_update\): indices\[0\] = \[1, 5\] does not index into tensor .*5 is not in "
             r"\[0, 3\)"),
            (tf.tensor_scatter_nd_add(p, i, tf.ones([1, 4])), [[0, -2]],
             r"\(tensor_scatter_nd_add\): indices\[0\] = \[0, -2\] .*-2 is not in \[0, 3\)"),
        ]
        for fetch, ind, msg in cases:
            with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
                _run(fetch, {i: ind})
        b = tf.placeholder(tf.int64, [2, 2, 1])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1, 0\] = \[4\] does not index into "
                                                                 r"params .*4 is not in \[0, 3\) \(dimension 1\)"):
            _run(tf.gather_nd(p, b, batch_dims=1), {b: [[[0], [2]], [[4], [0]]]})


def test_index_depth_and_batch_dims_errors():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [2, 3])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(gather_nd\): index depth \(the last dimension "
                                                                 r"of indices, shape \(1, 3\)\) 3 exceeds the rank 2"):
            tf.gather_nd(p, [[0, 0, 0]])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"index depth .* 2 plus batch_dims 1 exceeds the "
                                                                 r"rank 2 of params"):
            tf.gather_nd(p, [[0, 0], [1, 1]], batch_dims=1)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices must be at least 1-D, got a scalar"):
            tf.gather_nd(p, 1)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"batch_dims 1 must be in \[0, rank\(indices\) = 1\)"):
            tf.gather_nd(p, [1], batch_dims=1)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"the first batch_dims = 1 dimensions of params "
                                                                 r"\(shape \(2, 3\)\) and indices \(shape \(3, 1\)\)"):
            tf.gather_nd(p, [[0], [1], [2]], batch_dims=1)
        with pytest.raises(ValueError, match="does not allow negative batch_dims"):
            tf.gather_nd(p, [[0]], batch_dims=-1)
        with pytest.raises(ValueError, match="batch_dims must be a Python int"):
            tf.gather_nd(p, [[0]], batch_dims=tf.constant(0))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"index depth .* 2 exceeds the rank 1 of shape"):
            tf.scatter_nd([[0, 0]], [1.0], [4])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"updates must have shape \(2, 3\) \(indices.shape"
                                                                 r"\[:-1\] \+ shape\[depth:\]\), got \(2, 2\)"):
            tf.scatter_nd([[0], [1]], np.ones((2, 2), np.float32), [4, 3])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape must be non-negative, got \[-1, 3\]"):
            tf.scatter_nd([[0]], [[1.0, 2.0, 3.0]], [-1, 3])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"updates must have shape \(1,\)"):
            tf.tensor_scatter_nd_update(p, [[0, 1]], [1.0, 2.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"tensor must be numeric, got string"):
            tf.tensor_scatter_nd_add(tf.constant(["a"]), [[0]], ["b"])
        with pytest.raises(TypeError, match="indices must be int32 or int64"):
            tf.gather_nd(p, [[0.5]])
        # The same checks at run time, with shapes unknown when the graph is built.
        q = tf.placeholder(tf.float32, None)
        i = tf.placeholder(tf.int32, None)
        u = tf.placeholder(tf.float32, None)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"index depth .* 3 exceeds the rank 2 of params"):
            _run(tf.gather_nd(q, i), {q: np.zeros((2, 3)), i: [[0, 0, 0]]})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"updates must have shape \(1, 3\).*got \(1, 2\)"):
            _run(tf.tensor_scatter_nd_add(q, i, u), {q: np.zeros((2, 3)), i: [[0]], u: np.zeros((1, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices must be at least 1-D, got a scalar"):
            _run(tf.scatter_nd(i, u, [3]), {i: 1, u: 1.0})
