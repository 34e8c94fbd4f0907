"""gather, segment reductions, sparse-segment lookups, embeddings and SparseTensor ops."""

import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand
from nestor.framework.values import IndexedSlicesValue

DEVICES = available_devices()


def np_segment(data, ids, num, comb, rows=None, weights=None):
    data = np.asarray(data, dtype=np.float64)
    rows = np.arange(len(ids)) if rows is None else np.asarray(rows)
    w = np.ones(len(ids)) if weights is None else np.asarray(weights, dtype=np.float64)
    out = np.zeros((num,) + data.shape[1:])
    for s in range(num):
        sel = np.asarray(ids) == s
        if not sel.any():
            continue
        acc = np.tensordot(w[sel], data[rows[sel]], axes=1)
        if comb == "mean":
            acc = acc / (w[sel].sum() if weights is not None else sel.sum())
        elif comb == "sqrtn":
            acc = acc / np.sqrt((w[sel] ** 2).sum())
        out[s] = acc
    return out


# ---------------------------------------------------------------- gather
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis,pshape,ind", [
    (0, (5, 3), np.array([[4, 1], [1, 0]], np.int32)),
    (0, (4,), np.array([3, 3, 0], np.int64)),
    (1, (2, 4, 3), np.array([3, 0, 3], np.int32)),
    (-1, (3, 4), np.array([[2], [0]], np.int64)),
])
def test_gather(device, axis, pshape, ind):
    p = rand(*pshape, seed=1)
    check_op(lambda x, i: tf.gather(x, i, axis=axis), [p, ind], lambda x, i: np.take(x, i, axis=axis),
             device=device)


def test_gather_gradient_is_indexed_slices_along_axis0_only():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, [5, 3])
        g0, = tf.gradients(tf.gather(p, [[4, 1], [1, 1]]), [p])
        assert isinstance(g0, tf.IndexedSlices)
        g1, = tf.gradients(tf.gather(p, [2, 0], axis=1), [p])
        assert isinstance(g1, tf.Tensor)
        v = tf.Session().run(g0, {p: np.zeros((5, 3))})
        np.testing.assert_array_equal(v.indices, [4, 1, 1, 1])
        assert v.values.shape == (4, 3) and list(v.dense_shape) == [5, 3]


def test_gather_other_dtypes_and_float32():
    s = np.array(["a", "bb", "ccc"], dtype=object)
    check_op(lambda x: tf.gather(x, [2, 0, 2]), [s], lambda x: np.array([b"ccc", b"a", b"ccc"], object), grad=False)
    b = np.array([[True, False], [False, True]])
    check_op(lambda x: tf.gather(x, [1], axis=1), [b], lambda x: x[:, [1]], grad=False)
    f = np.random.default_rng(0).standard_normal((50, 7)).astype(np.float32)
    check_op(lambda x: tf.gather(x, [49, 0, 7]), [f], lambda x: x[[49, 0, 7]], grad=False)


def test_gather_errors():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [4, 2])
        i = tf.placeholder(tf.int32, [2, 2])
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError,
                                              match=r"indices\[1, 0\] = 7 is not in \[0, 4\)"):
            s.run(tf.gather(p, i), {p: np.zeros((4, 2)), i: [[0, 1], [7, 2]]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="axis 2 is out of range for rank 2"):
            tf.gather(p, [0], axis=2)
        with pytest.raises(tf.errors.InvalidArgumentError, match="indices must be int32 or int64, got float32"):
            tf.get_default_graph().create_op("gather", [p, p])


@pytest.mark.parametrize("device", DEVICES)
def test_gradient_ops_are_differentiable(device):
    """The ops that gradients are built from (gather_axis_grad, collapse_dims_like,
    segment_gather_grad) have gradients too: differentiate a gradient w.r.t. grad_ys."""
    c = np.arange(12.0).reshape(3, 4)
    ids = np.array([0, 0, 2], np.int32)

    def ref_axis1(g):
        out = np.zeros((3, 4))
        np.add.at(out.T, [3, 0, 3], g.T)
        return out

    def grad_of(fn):
        def build(g):
            x = tf.constant(c)
            d = tf.gradients(fn(x), [x], grad_ys=g)[0]
            return d.values if isinstance(d, tf.IndexedSlices) else d
        return build

    check_op(grad_of(lambda x: tf.gather(x, [3, 0, 3], axis=1)), [rand(3, 3, seed=12)], ref_axis1, device=device)
    check_op(grad_of(lambda x: tf.segment_mean(x, ids)), [rand(3, 4, seed=13)],
             lambda g: g[ids] / np.array([2.0, 2.0, 1.0])[:, None], device=device)
    check_op(grad_of(lambda x: tf.gather(x, [[2], [0]])), [rand(2, 1, 4, seed=14)],
             lambda g: g.reshape(2, 4), device=device)


# ---------------------------------------------------------------- segment reductions
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn,comb", [(tf.segment_sum, "sum"), (tf.segment_mean, "mean"),
                                     (tf.segment_sqrt_n, "sqrtn")])
def test_segment_reductions(device, fn, comb):
    ids = np.array([0, 0, 2, 2, 2, 3], np.int32)  # segment 1 empty
    x = rand(6, 2, seed=3)
    check_op(lambda d: fn(d, ids), [x], lambda d: np_segment(d, ids, 4, comb), device=device)


def test_segment_sum_integers_and_errors():
    check_op(lambda d: tf.segment_sum(d, [0, 1, 1]), [np.array([1, 2, 3], np.int64)],
             lambda d: np.array([1, 5]), grad=False)
    with tf.Graph().as_default():
        d = tf.placeholder(tf.float32, [3])
        i = tf.placeholder(tf.int32, [3])
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError,
                                              match=r"not increasing: segment_ids\[2\] = 0 < segment_ids\[1\] = 1"):
            s.run(tf.segment_sum(d, i), {d: np.zeros(3), i: [0, 1, 0]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="should have as many entries"):
            tf.segment_sum(d, [0, 1])


@pytest.mark.parametrize("device", DEVICES)
def test_unsorted_segment_sum(device):
    ids = np.array([[2, -1], [0, 2], [2, 1]], np.int64)  # -1 is dropped

    def ref(d):
        out = np.zeros((4, 3))
        for a in range(3):
            for b in range(2):
                if ids[a, b] >= 0:
                    out[ids[a, b]] += d[a, b]
        return out

    check_op(lambda d: tf.unsorted_segment_sum(d, ids, 4), [rand(3, 2, 3, seed=4)], ref, device=device)
    with tf.Graph().as_default():
        d = tf.placeholder(tf.float32, [3])
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError,
                                              match=r"segment_ids\[1\] = 5 is out of range \[0, 3\)"):
            s.run(tf.unsorted_segment_sum(d, tf.constant([0, 5, 1]), 3), {d: np.zeros(3)})


# ---------------------------------------------------------------- sparse segment lookups
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn,comb", [(tf.sparse.segment_sum, "sum"), (tf.sparse_segment_mean, "mean"),
                                     (tf.sparse_segment_sqrt_n, "sqrtn")])
def test_sparse_segment(device, fn, comb):
    idx = np.array([3, 0, 3, 1, 4], np.int32)
    seg = np.array([0, 0, 1, 3, 3], np.int64)
    x = rand(5, 2, seed=5)
    check_op(lambda d: fn(d, idx, seg), [x], lambda d: np_segment(d, seg, 4, comb, rows=idx), device=device)
    check_op(lambda d: fn(d, idx, seg, num_segments=6), [x], lambda d: np_segment(d, seg, 6, comb, rows=idx),
             device=device)


def test_sparse_segment_gradient_is_sparse_and_errors():
    with tf.Graph().as_default():
        d = tf.placeholder(tf.float32, [5, 2])
        out = tf.sparse_segment_sum(d, [3, 7], [0, 0])
        g, = tf.gradients(out, [d])
        assert isinstance(g, tf.IndexedSlices)
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = 7 is not in \[0, 5\)"):
            s.run(out, {d: np.zeros((5, 2))})


# ---------------------------------------------------------------- embeddings
@pytest.mark.parametrize("device", DEVICES)
def test_embedding_lookup(device):
    ids = np.array([[1, 3], [3, 0]], np.int64)
    check_op(lambda p: tf.nn.embedding_lookup(p, ids), [rand(4, 3, seed=6)], lambda p: p[ids], device=device)
    check_op(lambda p: tf.nn.embedding_lookup([p], ids, max_norm=1.5), [rand(4, 3, seed=7)],
             lambda p: np.stack([r * min(1.0, 1.5 / np.linalg.norm(r)) for r in p.reshape(-1, 3)]).reshape(4, 3)[ids],
             device=device)


SP_INDICES = np.array([[0, 0], [0, 1], [0, 2], [2, 0], [3, 0], [3, 1]], np.int64)
SP_IDS = np.array([1, 4, 1, 0, 2, 3], np.int64)
SP_W = np.array([0.5, 2.0, 1.5, -1.0, 0.7, 1.3])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("comb", ["sum", "mean", "sqrtn"])
@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_lookup_sparse(device, comb, weighted):
    seg = SP_INDICES[:, 0]

    def fn(p, w):
        sp_ids = tf.SparseTensor(SP_INDICES, SP_IDS, [5, 3])
        sp_w = tf.SparseTensor(SP_INDICES, w, [5, 3]) if weighted else None
        return tf.nn.embedding_lookup_sparse(p, sp_ids, sp_w, combiner=comb)

    def ref(p, w):  # row 1 and row 4 are empty -> zeros
        return np_segment(p, seg, 5, comb, rows=SP_IDS, weights=w if weighted else None)

    check_op(fn, [rand(5, 2, seed=8), SP_W], ref, device=device, grad_inputs=[0, 1] if weighted else [0])


def test_embedding_lookup_sparse_default_combiner_is_mean_float32():
    p = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    with tf.Graph().as_default():
        sp = tf.sparse_placeholder(tf.int64, name="ids")
        out = tf.nn.embedding_lookup_sparse(tf.constant(p), sp, None)
        got = tf.Session().run(out, {sp: ([[0, 0], [0, 1], [1, 0]], [5, 2, 5], [2, 2])})
    np.testing.assert_allclose(got, [(p[5] + p[2]) / 2, p[5]], rtol=1e-6)


def test_embedding_lookup_sparse_million_row_gradient_stays_sparse():
    rows, dim = 1_000_000, 8
    with tf.Graph().as_default():
        table = tf.Variable(np.zeros((rows, dim), np.float32))
        sp = tf.sparse_placeholder(tf.int64, [3, 4])
        sp_w = tf.sparse_placeholder(tf.float32, [3, 4])
        emb = tf.nn.embedding_lookup_sparse(table, sp, sp_w, combiner="sqrtn")
        g, = tf.gradients(emb, [table])
        assert isinstance(g, tf.IndexedSlices)
        with tf.Session() as s:
            s.run(table.initializer)
            ind = [[0, 0], [0, 1], [2, 3]]
            feed = {sp: (ind, [999_999, 7, 7], [3, 4]), sp_w: tf.SparseTensorValue(ind, [3.0, 4.0, 2.0], [3, 4])}
            v = s.run(g, feed)
        # No op of the gradient produces a table-sized tensor.
        big = [op.name for op in tf.get_default_graph().get_operations() if op.name.startswith("gradients")
               for t in op.outputs if t.shape.rank and t.shape[0] == rows]
        assert big == [], f"gradient ops with table-sized outputs: {big}"
    assert isinstance(v, IndexedSlicesValue)
    np.testing.assert_array_equal(v.indices, [999_999, 7, 7])
    assert v.values.shape == (3, dim) and list(v.dense_shape) == [rows, dim]
    np.testing.assert_allclose(v.values[:, 0], [0.6, 0.8, 1.0], rtol=1e-6)  # w / sqrt(sum w^2) per row


def test_embedding_lookup_errors():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [4, 2])
        sp = tf.SparseTensor([[0, 0]], tf.constant([1], tf.int64), [1, 1])
        with pytest.raises(ValueError, match="combiner must be one of"):
            tf.nn.embedding_lookup_sparse(p, sp, None, combiner="max")
        with pytest.raises(ValueError, match="list of 2 shards"):
            tf.nn.embedding_lookup([p, p], [0])


# ---------------------------------------------------------------- SparseTensor ops
A_IND = np.array([[0, 1], [1, 0], [1, 2], [2, 2]], np.int64)
A_SHAPE = (3, 3)


def dense_a(v):
    a = np.zeros(A_SHAPE)
    a[tuple(A_IND.T)] = v
    return a


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("adj_a", [False, True])
@pytest.mark.parametrize("adj_b", [False, True])
def test_sparse_tensor_dense_matmul(device, adj_a, adj_b):
    vals = rand(4, seed=9)
    b = rand(2, 3, seed=10) if adj_b else rand(3, 2, seed=10)

    def fn(v, bb):
        return tf.sparse_tensor_dense_matmul(tf.SparseTensor(A_IND, v, A_SHAPE), bb, adjoint_a=adj_a, adjoint_b=adj_b)

    def ref(v, bb):
        a = dense_a(v)
        return (a.T if adj_a else a) @ (bb.T if adj_b else bb)

    check_op(fn, [vals, b], ref, device=device)


def test_sparse_tensor_dense_matmul_errors():
    with tf.Graph().as_default():
        sp = tf.SparseTensor(A_IND, tf.constant(np.ones(4)), A_SHAPE)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"dense_shape \(3, 3\) by b of shape \(4, 2\)"):
            tf.sparse_tensor_dense_matmul(sp, tf.constant(np.ones((4, 2))))
        bad = tf.SparseTensor([[0, 5]], tf.constant([1.0], tf.float64), [3, 3])
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError,
                                              match=r"sp_indices\[0, 1\] = 5 is out of bounds \[0, 3\)"):
            s.run(tf.sparse_tensor_dense_matmul(bad, tf.constant(np.ones((3, 2)))))


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_to_dense_and_reorder(device):
    vals = rand(4, seed=11)
    check_op(lambda v, d: tf.sparse.to_dense(tf.SparseTensor(A_IND, v, A_SHAPE), default_value=d),
             [vals, np.array(0.25)], lambda v, d: np.where(dense_a(np.ones(4)) > 0, dense_a(v), d), device=device)
    perm = [2, 0, 3, 1]
    check_op(lambda v: tf.sparse.to_dense(tf.sparse.reorder(tf.SparseTensor(A_IND[perm], v, A_SHAPE))),
             [vals[perm]], lambda v: dense_a(v[np.argsort(perm)]), device=device)
    with tf.Graph().as_default():
        sp = tf.SparseTensor(A_IND[perm], tf.constant(vals[perm]), A_SHAPE)
        with tf.Session() as s, pytest.raises(tf.errors.InvalidArgumentError, match="out of order"):
            s.run(tf.sparse_tensor_to_dense(sp))
        r = tf.sparse.reorder(sp)
        ind, v = tf.Session().run([r.indices, r.values])
    np.testing.assert_array_equal(ind, A_IND)
    np.testing.assert_allclose(v, vals)


def test_sparse_placeholder_feeds_and_eval():
    with tf.Graph().as_default():
        sp = tf.sparse_placeholder(tf.float32, [None, 4], name="sp")
        assert sp.shape.as_list() == [None, 4] and sp.dtype == tf.float32
        sp2 = tf.sparse_placeholder(tf.int32, [2, 3])
        assert sp2.shape.as_list() == [2, 3]
        dense = tf.sparse.to_dense(sp)
        with tf.Session() as s:
            value = tf.SparseTensorValue([[0, 3], [2, 1]], [1.5, -2.0], [3, 4])
            want = np.zeros((3, 4), np.float32)
            want[0, 3], want[2, 1] = 1.5, -2.0
            np.testing.assert_array_equal(s.run(dense, {sp: value}), want)
            np.testing.assert_array_equal(s.run(dense, {sp: tuple(value)}), want)
            got = sp.eval({sp: value}, session=s)
            assert isinstance(got, tf.SparseTensorValue)
            np.testing.assert_array_equal(got.dense_shape, [3, 4])
            with pytest.raises(ValueError, match=r"dense_shape \[3, 3\]"):
                s.run(tf.sparse.to_dense(sp2), {sp2: ([[0, 0]], [1], [3, 3])})
