"""The CUDA kernels of the array ops (cuda/kernels/array.cu, slice.cu), the reductions and
gradient helpers added to reduce.cu (prod, any, all, logsumexp, l2_loss, broadcast_reduced,
reduce_extremum_grad, reduce_prod_grad, reduce_logsumexp_grad, range_of_rank) and gelu
against the CPU kernels on the same inputs: copies and views exactly, float32 elementwise
within 1e-5 relative, reductions within 1e-4.

Each case lists the op types it must run (checked on the CPU session, where every op runs:
a case that constant folding or a rewrite left without its op fails instead of passing
without testing it), and the training-step case checks that a CUDA step of an MLP with
these ops copies nothing to the host but the fetched loss.

Every test skips, with the reason, where no GPU is visible (see
nestor.config.device_unavailable_reason).
"""
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import pytest

import nestor as tf
from parity import ELEMENTWISE, REDUCTION, requires_gpu
from parity import compare as _compare, f32 as _f32, flat as _flat, op_counts as _op_counts

pytestmark = requires_gpu


def _run_counted(fn: Callable, inputs: Sequence[np.ndarray], device: str) -> Tuple[List[np.ndarray], Dict[str, int]]:
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(x.dtype), x.shape) for x in inputs]
        outs = _flat(fn(*phs))
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            feed = dict(zip(phs, inputs))
            vals = [np.asarray(v) for v in s.run(outs, feed)]
            return vals, _op_counts(s, outs, feed)


def _parity(fn: Callable, inputs: Sequence[np.ndarray], rtol: float, ops: Sequence[str], atol: float = 1e-6):
    cpu, cpu_counts = _run_counted(fn, inputs, "cpu")
    missing = [op for op in ops if not cpu_counts.get(op)]
    assert not missing, (missing, cpu_counts)
    gpu, _ = _run_counted(fn, inputs, "cuda")
    _compare(cpu, gpu, rtol, atol)


def _grads(y, xs, seed: int = 0):
    """Gradients of sum(y * w) for a fixed random w (so they are not all ones)."""
    w = np.random.default_rng(seed).uniform(0.5, 1.5, size=y.shape.as_list()).astype(y.dtype.as_numpy_dtype)
    return tf.gradients(tf.reduce_sum(y * w), xs)


# ---------------------------------------------------------------- reductions and their gradients
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ([0, 2], False), (-1, True)])
def test_reduce_mean_sum_gradients_broadcast_reduced(axis, keepdims):
    x = _f32(6, 5, 4, seed=1)
    _parity(lambda p: tf.gradients(tf.reduce_mean(p, axis=axis, keepdims=keepdims) ** 2, [p])
            + tf.gradients(tf.reduce_sum(p * p, axis=axis, keepdims=keepdims), [p]), [x], REDUCTION,
            ["broadcast_reduced"])


@pytest.mark.parametrize("red", ["max", "min"])
def test_reduce_extremum_gradients_split_ties(red):
    x = np.round(_f32(8, 6, seed=2) * 2) / 2  # ties
    op = {"max": tf.reduce_max, "min": tf.reduce_min}[red]
    _parity(lambda p: [op(p, axis=1)] + tf.gradients(tf.reduce_sum(op(p, axis=1) * 3.0), [p])
            + tf.gradients(tf.reduce_sum(op(p, axis=[0, 1])), [p]), [x], REDUCTION, ["reduce_extremum_grad"])


@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), ([0, 2], True)])
def test_prod_and_its_gradient_with_zeros(axis, keepdims):
    x = _f32(4, 3, 5, seed=3, low=0.5, high=1.5)
    x[0, 1, 2] = 0.0
    x[1, :, 0] = 0.0
    _parity(lambda p: [tf.reduce_prod(p, axis=axis, keepdims=keepdims)]
            + tf.gradients(tf.reduce_sum(tf.reduce_prod(p, axis=axis, keepdims=keepdims)), [p]), [x], REDUCTION,
            ["prod", "reduce_prod_grad"])


def test_prod_integer_exact():
    x = np.random.default_rng(4).integers(-3, 4, size=(5, 6)).astype(np.int64)
    _parity(lambda p: [tf.reduce_prod(p, axis=1), tf.reduce_prod(p, axis=0)], [x], 0, ["prod"])


@pytest.mark.parametrize("axis", [None, 0, 1, [0, 1]])
def test_any_all(axis):
    b = np.random.default_rng(5).uniform(size=(7, 9)) > 0.7
    b[3, :] = True
    _parity(lambda p: [tf.reduce_any(p, axis=axis), tf.reduce_all(p, axis=axis),
                       tf.reduce_all(tf.logical_not(p), axis=axis)], [b], 0, ["any", "all"])


@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), (0, True), ([0, 2], False)])
def test_logsumexp_and_gradient(axis, keepdims):
    x = _f32(5, 6, 4, seed=6, low=-20, high=20)
    _parity(lambda p: [tf.reduce_logsumexp(p, axis=axis, keepdims=keepdims)]
            + tf.gradients(tf.reduce_sum(tf.reduce_logsumexp(p, axis=axis, keepdims=keepdims)), [p]), [x], REDUCTION,
            ["logsumexp", "reduce_logsumexp_grad"])


def test_logsumexp_infinities():
    x = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [0.0, -np.inf, 1.0]], np.float32)
    _parity(lambda p: tf.reduce_logsumexp(p, axis=1), [x], REDUCTION, ["logsumexp"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l2_loss_and_gradient(dtype):
    x = _f32(300, 70, seed=7).astype(dtype)
    _parity(lambda p: [tf.nn.l2_loss(p)] + tf.gradients(tf.nn.l2_loss(p) * 0.1, [p]), [x],
            REDUCTION if dtype == np.float32 else 1e-12, ["l2_loss"])


def test_reduce_everything_of_an_unknown_rank_uses_range_of_rank():
    x = _f32(3, 4, seed=8)

    def fn(p):
        q = tf.placeholder_with_default(p, shape=None)  # rank unknown at build time
        return [tf.reduce_sum(q), tf.reduce_mean(q)] + tf.gradients(tf.reduce_mean(q * q), [p])

    _parity(fn, [x], REDUCTION, ["range_of_rank"])


# ---------------------------------------------------------------- gelu
@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_and_gradient(approximate, dtype):
    x = _f32(40, 13, seed=9, low=-6, high=6).astype(dtype)
    tol = ELEMENTWISE if dtype == np.float32 else 1e-12
    _parity(lambda p: [tf.nn.gelu(p, approximate=approximate)]
            + _grads(tf.nn.gelu(p, approximate=approximate), [p], seed=10), [x], tol, ["gelu", "gelu_grad"])


# ---------------------------------------------------------------- concat / split / stack / unstack
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_and_its_gradient(axis):
    a, b, c = _f32(4, 3, 5, seed=11), _f32(4, 3, 5, seed=12), _f32(4, 3, 5, seed=13)
    _parity(lambda x, y, z: [tf.concat([x, y, z], axis=axis)] + _grads(tf.concat([x, y, z], axis=axis), [x, y, z]),
            [a, b, c], 0, ["concat", "split"] if axis else ["concat"])


def test_concat_of_many_narrow_columns_and_empty_parts():
    cols = [_f32(9, 1 + i % 3, seed=20 + i) for i in range(40)] + [np.zeros((9, 0), np.float32)]
    _parity(lambda *xs: [tf.concat(list(xs), axis=1)] + _grads(tf.concat(list(xs), axis=1), list(xs)[:3]),
            cols, 0, ["concat"])


@pytest.mark.parametrize("dtype", [np.float64, np.bool_])
def test_concat_dtypes(dtype):
    a, b = _f32(3, 4, seed=14) > 0, _f32(3, 2, seed=15) > 0
    _parity(lambda x, y: tf.concat([x, y], axis=1), [a.astype(dtype), b.astype(dtype)], 0, ["concat"])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_split_unstack_stack(axis):
    x = _f32(6, 6, 6, seed=16)
    _parity(lambda p: tf.split(p, 3, axis=axis) + tf.split(p, [1, -1, 2], axis=axis) + tf.unstack(p, axis=axis)
            + [tf.stack(tf.unstack(p, axis=axis)[::-1], axis=axis)]
            + _grads(tf.stack([p, p * 2.0], axis=axis), [p]), [x], 0, ["split", "unstack", "stack"])


# ---------------------------------------------------------------- views
def test_expand_dims_squeeze_views_and_gradients():
    x = _f32(3, 1, 4, seed=17)
    _parity(lambda p: [tf.expand_dims(p, 0), tf.expand_dims(p, -1), tf.squeeze(p), tf.squeeze(p, axis=[1]),
                       tf.squeeze(tf.expand_dims(p, 2) * 2.0, axis=2)]
            + _grads(tf.squeeze(tf.expand_dims(p, 1), axis=[1, 2]), [p]), [x], 0, ["expand_dims", "squeeze"])


# ---------------------------------------------------------------- transpose / slice / strided_slice / tile
@pytest.mark.parametrize("perm", [[1, 0, 2], [2, 0, 1], [0, 2, 1], [2, 1, 0], [0, 1, 2]])
def test_transpose_and_gradient(perm):
    x = _f32(3, 5, 4, seed=18)
    _parity(lambda p: [tf.transpose(p, perm)] + _grads(tf.transpose(p, perm), [p]), [x], 0, ["transpose"])


def test_transpose_dtypes():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    _parity(lambda p: [tf.transpose(p, [2, 0, 1]), tf.transpose(p > 5.0, [1, 2, 0])], [x], 0, ["transpose"])


@pytest.mark.parametrize("begin,size", [([1, 0, 0], [2, -1, -1]), ([0, 1, 2], [3, 2, 1]), ([1, 2, 0], [0, 1, 4])])
def test_slice_and_gradient(begin, size):
    x = _f32(3, 4, 4, seed=19)
    _parity(lambda p: [tf.slice(p, begin, size)] + _grads(tf.slice(p, begin, size), [p]), [x], 0, ["slice"])


SLICES = {
    "rows": lambda p: p[1:3],
    "cols": lambda p: p[:, 1],
    "stride": lambda p: p[::2, ::-1],
    "negative": lambda p: p[-1:0:-2, 2:],
    "ellipsis_newaxis": lambda p: p[..., None, 1:3],
    "shrink_all": lambda p: p[2, 3],
}


@pytest.mark.parametrize("name", sorted(SLICES))
def test_strided_slice_and_gradient(name):
    x = _f32(5, 6, seed=21)
    sl = SLICES[name]
    _parity(lambda p: [sl(p)] + _grads(sl(p) * 1.0, [p]), [x], 0, ["strided_slice", "strided_slice_grad"])


@pytest.mark.parametrize("mult", [[1, 1], [2, 3], [3, 1], [1, 0]])
def test_tile_and_gradient(mult):
    x = _f32(3, 4, seed=22)
    _parity(lambda p: [tf.tile(p, mult)] + _grads(tf.tile(p, mult), [p]), [x], REDUCTION,
            ["tile", "tile_grad"] if mult != [1, 1] else ["tile"])


# ---------------------------------------------------------------- fill / range / one_hot
def test_fill_and_range():
    x = _f32(4, 3, seed=23)
    _parity(lambda p: [tf.fill(tf.shape(p), p[0, 0]), tf.fill(tf.shape(p), tf.reduce_max(p) > 0.0),
                       tf.range(p[0, 0], 50.0, 1.5), tf.range(tf.cast(tf.reduce_max(p), tf.float64), -3.0, -0.25)],
            [x], 0, ["fill", "range"])


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_one_hot(axis, dtype):
    idx = np.array([[0, 3, 9], [-1, 2, 4]], dtype)  # -1 and 9 are out of range: off rows
    _parity(lambda p: [tf.one_hot(p, 5, axis=axis), tf.one_hot(p, 4, on_value=2.5, off_value=-1.0, axis=axis,
                                                               dtype=tf.float64)], [idx], 0, ["one_hot"])


# ---------------------------------------------------------------- a training step stays on the GPU
def test_mlp_step_with_these_ops_copies_only_the_fetched_loss_to_the_host():
    rng = np.random.default_rng(24)
    X = rng.standard_normal((64, 12)).astype(np.float32)
    Y = rng.integers(0, 3, 64).astype(np.int64)
    W1 = rng.standard_normal((12, 16)).astype(np.float32) * 0.3
    W2 = rng.standard_normal((24, 3)).astype(np.float32) * 0.3

    def run(device: str):
        g = tf.Graph()
        with g.as_default():
            x, y = tf.placeholder(tf.float32, (64, 12)), tf.placeholder(tf.int64, (64,))
            w1, w2 = tf.Variable(W1), tf.Variable(W2)
            h = tf.nn.gelu(tf.matmul(x, w1))
            h = tf.concat([h, tf.transpose(tf.slice(tf.transpose(h), [0, 0], [8, -1]))], axis=1)
            logits = tf.squeeze(tf.expand_dims(tf.matmul(h, w2), 1), axis=1)
            onehot = tf.one_hot(y, 3)
            loss = (tf.reduce_mean(tf.reduce_logsumexp(logits, axis=1) - tf.reduce_sum(onehot * logits, axis=1))
                    + 1e-3 * tf.nn.l2_loss(w1) + 1e-3 * tf.reduce_max(tf.abs(w2)))
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
            with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
                s.run(tf.global_variables_initializer())
                losses = [s.run([train, loss], {x: X, y: Y})[1] for _ in range(5)]
                counts = _op_counts(s, [train, loss], {x: X, y: Y})
        return np.array(losses), counts

    cpu_losses, cpu_counts = run("cpu")
    for op in ("gelu", "gelu_grad", "concat", "split", "transpose", "slice", "strided_slice_grad", "squeeze",
               "expand_dims", "one_hot", "logsumexp", "reduce_logsumexp_grad", "broadcast_reduced", "l2_loss",
               "reduce_extremum_grad"):
        assert cpu_counts.get(op), (op, cpu_counts)
    gpu_losses, counts = run("cuda")
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=REDUCTION, atol=1e-5)
    assert counts.get("_copy_to_host", 0) <= 1, counts  # the fetched loss
