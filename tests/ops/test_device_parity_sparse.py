"""The CUDA kernels of the index-driven ops against the CPU kernels on the same inputs:
gather (axes, gradients), clip_rows_by_norm, segment and sparse-segment reductions
(empty segments, dropped ids, duplicates) and their gradients, embedding_lookup_sparse,
SparseTensor matmul / to_dense, the sparse optimizer updates with duplicate indices (and
the dense Ftrl / RMSProp updates), the seeded random ops, and the device-side errors
for bad indices.

float32 results agree to 1e-5 (relative) for elementwise ops and 1e-4 for sums and
multi-step training; integer results and the uniform/integer/dropout random streams
are exact. Every test skips, with the reason, where no GPU is visible.
"""
from typing import Callable, List, Sequence

import numpy as np
import pytest

import nestor as tf
from nestor.train import training_ops as T
from parity import REDUCTION, requires_gpu
from parity import compare as _compare, f32 as _f32, parity as _parity, run_graph as _run

pytestmark = requires_gpu


def _expect_error(fn: Callable, inputs: Sequence[np.ndarray], match: str) -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        _run(fn, inputs, "cuda")


# ---------------------------------------------------------------- gather
@pytest.mark.parametrize("axis,ind", [
    (0, np.array([[4, 1], [1, 1], [0, 5]], np.int32)),  # duplicates; 2-D indices (collapse_dims_like)
    (1, np.array([4, 0, 4, 2, 4], np.int64)),           # dense gradient: gather_axis_grad with duplicates
    (-1, np.array([[3], [0]], np.int64)),
    (2, np.array([], np.int32)),                        # empty indices
])
def test_gather_along_axes_and_its_gradients(axis, ind):
    p = _f32(6, 5, 4, seed=1)
    w = _f32(*np.take(p, ind, axis=axis).shape, seed=2)

    def fn(x, i):
        y = tf.gather(x, i, axis=axis)
        return [y] + tf.gradients(tf.reduce_sum(y * w) + tf.reduce_sum(tf.square(y)), [x])

    _parity(fn, [p, ind], REDUCTION)


def test_gather_float64_and_integer_params():
    p64 = np.random.default_rng(3).standard_normal((7, 3))
    pint = np.arange(21, dtype=np.int32).reshape(7, 3)
    ind = np.array([6, 0, 6, 3], np.int64)
    _parity(lambda x, i: [tf.gather(x, i), tf.gather(x, i, axis=1)], [p64, ind[:2] % 3], 1e-12, 1e-12)
    _parity(lambda x, i: [tf.gather(x, i), tf.gather(x, i % 3, axis=1)], [pint, ind], 0)


def test_gather_rejects_out_of_range_indices_on_the_device():
    p = _f32(5, 2)
    _expect_error(lambda x, i: tf.gather(x, i), [p, np.array([[0, 1], [7, 2]], np.int32)],
                  r"indices\[1, 0\] = 7 is not in \[0, 5\)")
    _expect_error(lambda x, i: tf.gradients(tf.reduce_sum(tf.gather(x, i, axis=1)), [x])[0],
                  [p, np.array([1, -1], np.int64)], r"is not in \[0, 2\)")


def test_embedding_lookup_max_norm_and_its_gradient():
    p = _f32(6, 5, seed=4)
    p[2] *= 0.05  # a row inside the norm
    ids = np.array([[2, 5], [5, 0], [3, 3]], np.int64)
    w = _f32(3, 2, 5, seed=5)

    def fn(x, i):
        y = tf.nn.embedding_lookup(x, i, max_norm=1.5)
        return [y] + tf.gradients(tf.reduce_sum(y * w), [x])

    _parity(fn, [p, ids], REDUCTION)


# ---------------------------------------------------------------- segment reductions
SORTED_IDS = np.array([0, 0, 2, 2, 2, 5], np.int64)  # segments 1, 3 and 4 are empty


@pytest.mark.parametrize("op", [tf.segment_sum, tf.segment_mean, tf.segment_sqrt_n])
def test_sorted_segment_ops_with_empty_segments_and_gradients(op):
    x = _f32(6, 3, seed=6)
    w = _f32(6, 3, seed=7)

    def fn(d, s):
        y = op(d, s)
        return [y] + tf.gradients(tf.reduce_sum(y * w), [d])

    _parity(fn, [x, SORTED_IDS], REDUCTION)


def test_integer_segment_sum_and_empty_data():
    xi = np.arange(18, dtype=np.int32).reshape(6, 3)
    _parity(lambda d, s: tf.segment_sum(d, s), [xi, SORTED_IDS], 0)
    _parity(lambda d, s: [tf.segment_sum(d, s), tf.segment_mean(d, s)],
            [np.zeros((0, 3), np.float32), np.zeros((0,), np.int32)], 0)


def test_unsorted_segment_sum_drops_negative_ids_and_gradients():
    x = _f32(7, 2, 3, seed=8)
    ids = np.array([3, -1, 0, 3, 3, -1, 5], np.int32)
    w = _f32(8, 2, 3, seed=9)

    def fn(d, s):
        y = tf.unsorted_segment_sum(d, s, 8)
        return [y] + tf.gradients(tf.reduce_sum(y * w), [d])

    _parity(fn, [x, ids], REDUCTION)
    ids2 = np.array([[1, -1], [0, 1], [1, 1], [4, -1], [0, 0], [2, 2], [-1, 4]], np.int64)  # rank-2 ids
    _parity(lambda d, s: tf.unsorted_segment_sum(d, s, 6), [x, ids2], REDUCTION)


def test_segment_mean_second_order_gradient_uses_dim_size_and_combiners():
    x = _f32(6, 3, seed=10)
    c = _f32(6, 3, seed=11)

    def fn(d, s):
        g, = tf.gradients(tf.reduce_sum(tf.square(tf.segment_mean(d, s))), [d])
        return [g] + tf.gradients(tf.reduce_sum(g * c), [d])

    _parity(fn, [x, SORTED_IDS], REDUCTION)


@pytest.mark.parametrize("op", [tf.sparse.segment_sum, tf.sparse.segment_mean, tf.sparse.segment_sqrt_n])
@pytest.mark.parametrize("num_segments", [None, 7])
def test_sparse_segment_ops_with_duplicates_empty_segments_and_gradients(op, num_segments):
    x = _f32(5, 4, seed=12)
    idx = np.array([4, 1, 1, 0, 4, 4], np.int32)
    seg = np.array([0, 0, 2, 2, 2, 5], np.int32)  # unsorted order is allowed too on the CPU
    rows = 6 if num_segments is None else num_segments
    w = _f32(rows, 4, seed=13)

    def fn(d, i, s):
        y = op(d, i, s, num_segments=num_segments)
        return [y] + tf.gradients(tf.reduce_sum(y * w), [d])

    _parity(fn, [x, idx, seg], REDUCTION)


SP_INDICES = np.array([[0, 0], [0, 1], [0, 2], [2, 0], [3, 0], [3, 1], [3, 2]], np.int64)
SP_IDS = np.array([1, 4, 1, 0, 2, 3, 2], np.int64)  # duplicate ids inside rows 0 and 3; rows 1, 4 empty
SP_W = np.array([0.5, 2.0, 1.5, -1.0, 0.7, 1.3, 0.2], np.float32)


@pytest.mark.parametrize("comb", ["sum", "mean", "sqrtn"])
@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_lookup_sparse_and_gradients(comb, weighted):
    table = _f32(5, 3, seed=14)
    w_out = _f32(5, 3, seed=15)

    def fn(p, ind, ids, w):
        sp_ids = tf.SparseTensor(ind, ids, [5, 3])
        sp_w = tf.SparseTensor(ind, w, [5, 3]) if weighted else None
        y = tf.nn.embedding_lookup_sparse(p, sp_ids, sp_w, combiner=comb)
        loss = tf.reduce_sum(y * w_out)
        return [y] + tf.gradients(loss, [p, w] if weighted else [p])

    _parity(fn, [table, SP_INDICES, SP_IDS, SP_W], REDUCTION)


def test_segment_ops_reject_bad_ids_on_the_device():
    x = _f32(4, 2)
    _expect_error(lambda d, s: tf.unsorted_segment_sum(d, s, 3), [x, np.array([0, 3, 1, 1], np.int32)],
                  r"segment_ids\[1\] = 3 is out of range \[0, 3\)")
    _expect_error(lambda d, s: tf.segment_sum(d, s), [x, np.array([0, 2, 1, 1], np.int64)],
                  "segment ids are not increasing")
    _expect_error(lambda d, i, s: tf.sparse.segment_sum(d, i, s), [x, np.array([0, 4], np.int32),
                                                                   np.array([0, 0], np.int32)],
                  r"indices\[1\] = 4 is not in \[0, 4\)")


# ---------------------------------------------------------------- SparseTensor ops
@pytest.mark.parametrize("adj_a,adj_b", [(False, False), (True, False), (False, True), (True, True)])
def test_sparse_tensor_dense_matmul_and_gradients(adj_a, adj_b):
    ind = np.array([[0, 1], [0, 3], [2, 0], [2, 3], [3, 2], [0, 1]], np.int64)  # a repeated entry sums
    vals = _f32(6, seed=16)
    shape = [4, 5]
    k = shape[0] if adj_a else shape[1]
    b = _f32(*((6, k) if adj_b else (k, 6)), seed=17)

    def fn(v, bb):
        sp = tf.SparseTensor(ind, v, shape)
        y = tf.sparse_tensor_dense_matmul(sp, bb, adjoint_a=adj_a, adjoint_b=adj_b)
        return [y] + tf.gradients(tf.reduce_sum(tf.square(y)), [v, bb])

    _parity(fn, [vals, b], REDUCTION)


def test_sparse_tensor_to_dense_ordered_and_with_repeats():
    ind = np.array([[0, 1], [1, 0], [2, 3]], np.int64)
    vals = _f32(3, seed=18)
    _parity(lambda v: tf.sparse_tensor_to_dense(tf.SparseTensor(ind, v, [3, 4]), default_value=-1.5), [vals], 0)
    rep = np.array([[2, 3], [0, 1], [2, 3], [1, 1]], np.int64)  # unordered, repeated: the last value wins
    _parity(lambda v: tf.sparse_tensor_to_dense(tf.SparseTensor(rep, v, [3, 4]), validate_indices=False),
            [_f32(4, seed=19)], 0)
    _expect_error(lambda v: tf.sparse_tensor_to_dense(tf.SparseTensor(rep, v, [3, 4])), [_f32(4, seed=19)],
                  "out of order")


# ---------------------------------------------------------------- optimizer updates
DUP_IDS = [np.array([3, 7, 3, 3, 0, 19, 7], np.int64), np.array([5, 5, 5, 5], np.int64),
           np.array([19, 0, 1, 0], np.int64), np.array([], np.int64)]

OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: tf.train.MomentumOptimizer(0.05, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
    "ftrl": lambda: tf.compat.v1.train.FtrlOptimizer(0.2),
    "ftrl_l1_l2_shrinkage": lambda: tf.compat.v1.train.FtrlOptimizer(
        0.2, l1_regularization_strength=0.01, l2_regularization_strength=0.05,
        l2_shrinkage_regularization_strength=0.02),
    "ftrl_power": lambda: tf.compat.v1.train.FtrlOptimizer(0.2, learning_rate_power=-0.3),
    "rmsprop": lambda: tf.compat.v1.train.RMSPropOptimizer(0.01),
    "rmsprop_momentum": lambda: tf.compat.v1.train.RMSPropOptimizer(0.01, momentum=0.5),
    "rmsprop_centered": lambda: tf.compat.v1.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
}


def _train(device: str, opt: str, lookup: str):
    """A table trained through lookups with duplicate ids (sparse updates) and a dense
    kernel (dense updates); returns the losses and every variable (slots included)."""
    rng = np.random.default_rng(20)
    table0 = rng.uniform(-1, 1, (20, 4)).astype(np.float32)
    kernel0 = rng.uniform(-1, 1, (4, 2)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        table = tf.Variable(table0, name="table")
        kernel = tf.Variable(kernel0, name="kernel")
        ids = tf.placeholder(tf.int64, [None])
        if lookup == "gather":
            emb = tf.gather(table, ids)
        else:  # every id of the step in one example row, weighted: sparse_segment_weighted_sum
            n = tf.shape(ids, out_type=tf.int64)[0]
            ind = tf.stack([tf.zeros_like(ids), tf.range(n)], axis=1)
            sp_ids = tf.SparseTensor(ind, ids, tf.stack([tf.constant(1, tf.int64), n]))
            sp_w = tf.SparseTensor(ind, tf.cast(ids, tf.float32) * 0.1 + 0.5, sp_ids.dense_shape)
            emb = tf.nn.embedding_lookup_sparse(table, sp_ids, sp_w, combiner="sqrtn")
        loss = tf.reduce_sum(tf.square(tf.matmul(emb, kernel) - 0.5))
        optimizer = OPTIMIZERS[opt]()
        train = optimizer.minimize(loss)
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            s.run(tf.global_variables_initializer())
            losses = [s.run([train, loss], {ids: DUP_IDS[k % len(DUP_IDS)]})[1] for k in range(6)
                      if len(DUP_IDS[k % len(DUP_IDS)]) or lookup == "gather"]
            values = s.run([table, kernel] + optimizer.variables())
    return np.array(losses, np.float32), values


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_sparse_and_dense_updates_with_duplicate_indices_match_cpu(opt):
    cpu_losses, cpu_vals = _train("cpu", opt, "gather")
    gpu_losses, gpu_vals = _train("cuda", opt, "gather")
    _compare([cpu_losses] + cpu_vals, [gpu_losses] + gpu_vals, REDUCTION, 1e-5)


@pytest.mark.parametrize("opt", ["adagrad", "adam", "ftrl", "rmsprop_centered"])
def test_embedding_lookup_sparse_training_matches_cpu(opt):
    cpu_losses, cpu_vals = _train("cpu", opt, "sparse")
    gpu_losses, gpu_vals = _train("cuda", opt, "sparse")
    _compare([cpu_losses] + cpu_vals, [gpu_losses] + gpu_vals, REDUCTION, 1e-5)


SPARSE_OPS = {
    "gradient_descent": (0, lambda v, g, i: T.sparse_apply_gradient_descent(v[0], 0.3, g, i)),
    "momentum": (1, lambda v, g, i: T.sparse_apply_momentum(v[0], v[1], 0.1, g, i, 0.9)),
    "adagrad": (1, lambda v, g, i: T.sparse_apply_adagrad(v[0], v[1], 0.2, g, i)),
    "adam": (2, lambda v, g, i: T.sparse_apply_adam(v[0], v[1], v[2], 0.9, 0.999, 0.01, 0.9, 0.999, 1e-8, g, i)),
    "ftrl": (2, lambda v, g, i: T.sparse_apply_ftrl(v[0], v[1], v[2], g, i, 0.5, 0.3, 0.2, 0.1, -0.5)),
    "rms_prop": (2, lambda v, g, i: T.sparse_apply_rms_prop(v[0], v[1], v[2], 0.01, 0.9, 0.5, 1e-6, g, i)),
    "centered_rms_prop": (3, lambda v, g, i: T.sparse_apply_centered_rms_prop(v[0], v[1], v[2], v[3], 0.01, 0.9,
                                                                              0.5, 1e-6, g, i)),
}


def _sparse_op_steps(device: str, name: str, dtype, indices: List[np.ndarray]):
    nslots, build = SPARSE_OPS[name]
    rng = np.random.default_rng(21)
    init = [rng.uniform(-1, 1, (8, 3))] + [rng.uniform(0.1, 1, (8, 3)) for _ in range(nslots)]
    grads = [rng.uniform(-1, 1, (len(i), 3)).astype(dtype) for i in indices]
    g = tf.Graph()
    with g.as_default():
        vs = [tf.Variable(x.astype(dtype), name=f"v{k}") for k, x in enumerate(init)]
        gp = tf.placeholder(tf.as_dtype(dtype), [None, 3])
        ip = tf.placeholder(tf.int32, [None])
        op = build(vs, gp, ip)
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            s.run(tf.global_variables_initializer())
            outs = [s.run(op, {gp: gr, ip: i}) for gr, i in zip(grads, indices)]
            return outs + s.run(vs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(SPARSE_OPS))
def test_sparse_apply_ops_sum_duplicate_rows_like_the_cpu(name, dtype):
    indices = [np.array([2, 5, 2, 2, 7, 5], np.int32), np.array([0, 0], np.int32), np.array([], np.int32)]
    tol = REDUCTION if dtype == np.float32 else 1e-12
    _compare(_sparse_op_steps("cpu", name, dtype, indices), _sparse_op_steps("cuda", name, dtype, indices), tol,
             1e-6 if dtype == np.float32 else 1e-14)


def test_sparse_apply_rejects_out_of_range_indices_and_bad_ftrl_hyperparameters_on_the_device():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[2\] = 8 is not in \[0, 8\)"):
        _sparse_op_steps("cuda", "adagrad", np.float32, [np.array([1, 2, 8], np.int32)])
    g = tf.Graph()
    with g.as_default():
        vs = [tf.Variable(np.ones((2, 2), np.float32)) for _ in range(3)]
        op = T.apply_ftrl(vs[0], vs[1], vs[2], tf.ones((2, 2)), -0.5, 0.0, 0.0, 0.0, -0.5)
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            s.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.InvalidArgumentError, match="lr must be a positive scalar"):
                s.run(op)


# ---------------------------------------------------------------- random ops (Philox streams)
def _random_values(device: str, runs: int = 2) -> List[np.ndarray]:
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(7)
        ops = [tf.random_uniform([5, 7], seed=1), tf.random_uniform([9], dtype=tf.float64, seed=2),
               tf.random_uniform([6, 3], minval=-4, maxval=9, dtype=tf.int32, seed=3),
               tf.random_uniform([5], minval=-(2 ** 40), maxval=2 ** 41, dtype=tf.int64, seed=4),
               tf.nn.dropout(tf.ones([4, 9]), rate=0.3, seed=5),
               tf.nn.dropout(tf.ones([3, 5], tf.float64), rate=0.6, seed=6),
               tf.random_normal([7, 5], seed=7), tf.random_normal([5], dtype=tf.float64, seed=8),
               tf.truncated_normal([9, 9], seed=9), tf.truncated_normal([11], dtype=tf.float64, seed=10)]
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            return [v for _ in range(runs) for v in s.run(ops)]  # the second run continues each stream


def test_seeded_random_streams_match_the_cpu():
    cpu, gpu = _random_values("cpu"), _random_values("cuda")
    n = len(cpu) // 2
    for run in range(2):
        for k in range(n):
            a, b = cpu[run * n + k], gpu[run * n + k]
            assert a.shape == b.shape and a.dtype == b.dtype, (k, a.shape, b.shape)
            if k < 6:  # uniform floats, integers, dropout masks: bit-identical
                np.testing.assert_array_equal(b, a, err_msg=f"op {k}, run {run}")
            else:  # Box-Muller through the device's log/sin/cos (last-bit differences at most)
                np.testing.assert_allclose(b, a, rtol=1e-6 if a.dtype == np.float32 else 1e-13, atol=1e-7,
                                           err_msg=f"op {k}, run {run}")
    assert not np.array_equal(cpu[0], cpu[n])  # the streams advanced between runs


def test_random_ops_check_their_arguments_on_the_device():
    g = tf.Graph()
    with g.as_default():
        rate = tf.placeholder(tf.float32, [])
        mask = tf.nn.dropout(tf.ones([3]), rate=rate, seed=1)
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"rate must be a scalar tensor in the range"):
                s.run(mask, {rate: 1.5})
