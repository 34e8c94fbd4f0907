"""The CUDA plan fusions against the CPU: dense layers (relu and linear, every transpose)
forward and backward run as `_fused_matmul` (cuBLASLt epilogue, and its cuBLAS + bias
fallback) and `_fused_relu_bias_grad` on the GPU, a 2-hidden-layer MLP trained with Adagrad,
and the CUDA indexed_slices_to_dense (duplicate indices, the host-side errors).

The session profiler proves the fused ops ran, and that they ran on the GPU: a fused step
placed on the CPU would read the GPU values of its unfused chain through extra host copies,
so a fused CUDA run may copy no more than the same graph run unfused on CUDA.
float32 GEMMs agree to 1e-4 (relative). Every test skips, with the reason, where no GPU is
visible.
"""
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import pytest

import nestor as tf
from parity import REDUCTION, requires_gpu
from parity import compare as _compare, f32 as _f32, flat as _flat, op_counts as _op_counts, parity as _parity
from parity import run_graph as _run

pytestmark = requires_gpu

DEVICE = "cuda"


def _run_counted(fn: Callable, inputs: Sequence[np.ndarray], device: str,
                 fuse: bool = True) -> Tuple[List[np.ndarray], Dict[str, int]]:
    """fn(*placeholders) run once on `device` (variables initialized), and its op counts."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(x.dtype), x.shape) for x in inputs]
        outs = _flat(fn(*phs))
        init = tf.global_variables_initializer()
        with tf.Session(graph=g, config=tf.ConfigProto(device=device, fuse_kernels=fuse)) as s:
            s.run(init)
            feed = dict(zip(phs, inputs))
            vals = [np.asarray(v) for v in s.run(outs, feed)]
            return vals, _op_counts(s, outs, feed)


def _assert_fused_ran_on_device(fused: Dict[str, int], unfused: Dict[str, int]) -> None:
    for copy in ("_copy_to_host", "_copy_to_device"):
        assert fused.get(copy, 0) <= unfused.get(copy, 0), (copy, fused, unfused)


def _close(a: np.ndarray, b: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(b, a, rtol=REDUCTION, atol=REDUCTION * max(1.0, float(np.abs(a).max(initial=0))),
                               err_msg=what)


# ---------------------------------------------------------------- dense layers
LAYER = [(False, False, 37, 20, 24), (True, False, 16, 9, 33), (False, True, 5, 64, 7), (True, True, 130, 17, 65),
         (1, 0, 1, 3, 1)]


@pytest.mark.parametrize("activation", ["relu", None])
@pytest.mark.parametrize("ta,tb,m,k,n", LAYER)
@pytest.mark.parametrize("epilogue", ["1", "0"])  # "0": the cuBLAS GEMM + bias(+relu) fallback
def test_dense_layer_forward_and_backward(activation, ta, tb, m, k, n, epilogue, monkeypatch):
    monkeypatch.setenv("NESTOR_CUDA_EPILOGUE", epilogue)
    ta, tb = bool(ta), bool(tb)
    x = _f32(*((k, m) if ta else (m, k)), seed=1)
    w = (_f32(*((n, k) if tb else (k, n)), seed=2) / np.sqrt(k)).astype(np.float32)
    b = _f32(n, seed=3)
    c = _f32(m, n, seed=4)

    def fn(xp, wp, bp, cp):
        y = tf.nn.bias_add(tf.matmul(xp, wp, transpose_a=ta, transpose_b=tb), bp)
        if activation:
            y = tf.nn.relu(y)
        return [y] + tf.gradients(tf.reduce_sum(y * cp), [xp, wp, bp])

    inputs = [x, w, b, c]
    cpu, _ = _run_counted(fn, inputs, "cpu")
    gpu, counts = _run_counted(fn, inputs, DEVICE)
    _, unfused = _run_counted(fn, inputs, DEVICE, fuse=False)
    for i, (a, g) in enumerate(zip(cpu, gpu)):
        assert a.shape == g.shape and a.dtype == g.dtype
        _close(a, g, f"output {i}")
    assert counts.get("_fused_matmul") == 1, counts
    assert "bias_add" not in counts and "relu" not in counts, counts
    if activation:
        assert counts.get("_fused_relu_bias_grad") == 1, counts
        assert "relu_grad" not in counts and "bias_add_grad" not in counts, counts
    else:
        assert counts.get("bias_add_grad") == 1 and "_fused_relu_bias_grad" not in counts, counts
    _assert_fused_ran_on_device(counts, unfused)


@pytest.mark.parametrize("epilogue", ["1", "0"])
def test_dense_layer_with_variables_and_empty_or_thin_products(epilogue, monkeypatch):
    """Weights in GPU variables; k = 1, an empty batch and k = 0 (the output is act(bias))."""
    monkeypatch.setenv("NESTOR_CUDA_EPILOGUE", epilogue)
    rng = np.random.default_rng(5)
    for m, k, n in [(9, 1, 6), (0, 4, 3), (4, 0, 5)]:
        w0, b0 = rng.standard_normal((k, n)).astype(np.float32), rng.standard_normal(n).astype(np.float32)
        x = rng.standard_normal((m, k)).astype(np.float32)

        def fn(xp):
            wv, bv = tf.Variable(w0), tf.Variable(b0)
            return [tf.nn.relu(tf.nn.bias_add(tf.matmul(xp, wv), bv)), tf.nn.bias_add(tf.matmul(xp, wv), bv)]

        cpu, _ = _run_counted(fn, [x], "cpu")
        gpu, counts = _run_counted(fn, [x], DEVICE)
        _compare(cpu, gpu, REDUCTION)
        assert counts.get("_fused_matmul") == 2, (m, k, n, counts)


def _mlp(device: str, steps: int) -> Tuple[np.ndarray, list, Dict[str, int]]:
    rng = np.random.default_rng(16)
    X = rng.standard_normal((256, 20)).astype(np.float32)
    Y = (X[:, :3].sum(1) > 0).astype(np.int64) + (X[:, 3] > 1).astype(np.int64)
    g = tf.Graph()
    with g.as_default():
        x, y = tf.placeholder(tf.float32, (None, 20)), tf.placeholder(tf.int64, (None,))
        h = x
        for width in (48, 24):
            h = tf.layers.dense(h, width, activation=tf.nn.relu, kernel_initializer=tf.constant_initializer(
                rng.standard_normal((int(h.shape[-1]), width)).astype(np.float32) / np.sqrt(int(h.shape[-1]))),
                bias_initializer=tf.constant_initializer(rng.uniform(-0.1, 0.1, width).astype(np.float32)))
        logits = tf.layers.dense(h, 3, kernel_initializer=tf.constant_initializer(
            rng.standard_normal((24, 3)).astype(np.float32) * 0.2))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = tf.train.AdagradOptimizer(0.1).minimize(loss)
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            s.run(tf.global_variables_initializer())
            batch = lambda i: {x: X[i % 4 * 64:(i % 4 + 1) * 64], y: Y[i % 4 * 64:(i % 4 + 1) * 64]}
            losses = [s.run([train, loss], batch(i))[1] for i in range(steps)]
            weights = s.run(tf.trainable_variables())
            counts = _op_counts(s, [train, loss], batch(steps))
    return np.array(losses), weights, counts


def test_two_hidden_layer_mlp_adagrad_training_matches_cpu():
    cpu_losses, cpu_w, _ = _mlp("cpu", 15)
    gpu_losses, gpu_w, counts = _mlp(DEVICE, 15)
    assert gpu_losses[-1] < gpu_losses[0]
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=REDUCTION, atol=1e-5)
    assert len(gpu_w) == len(cpu_w) == 6
    for a, b in zip(gpu_w, cpu_w):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    # Three dense layers forward, two relu layers backward, all fused.
    assert counts.get("_fused_matmul") == 3 and counts.get("_fused_relu_bias_grad") == 2, counts
    assert "relu" not in counts and "relu_grad" not in counts and "bias_add" not in counts, counts
    assert counts.get("bias_add_grad") == 1, counts  # the linear logits layer's


# ---------------------------------------------------------------- indexed_slices_to_dense
def _to_dense(shape):
    return lambda v, i: tf.convert_to_tensor(tf.IndexedSlices(v, i, tf.constant(np.array(shape, np.int64))))


@pytest.mark.parametrize("values,indices,shape", [
    (_f32(6, 3, seed=6), np.array([2, 0, 2, 4, 2, 0], np.int64), [6, 3]),        # duplicates, empty rows
    (_f32(4, 2, 2, seed=7), np.array([3, 3, 3, 3], np.int32), [5, 2, 2]),        # one row named four times
    (np.random.default_rng(8).standard_normal((3, 5)), np.array([1, 0, 1], np.int64), [2, 5]),  # float64
    (_f32(0, 4, seed=9), np.array([], np.int64), [3, 4]),                        # no slices
])
def test_indexed_slices_to_dense(values, indices, shape):
    _parity(_to_dense(shape), [values, indices], 0, 0)  # the CPU's order of adds: the same bits
    _, counts = _run_counted(_to_dense(shape), [values, indices], DEVICE)
    assert counts.get("indexed_slices_to_dense") == 1


def test_indexed_slices_to_dense_of_a_gather_gradient():
    p = _f32(7, 4, seed=10)
    ind = np.array([[5, 1], [5, 5], [0, 6]], np.int64)
    w = _f32(3, 2, 4, seed=11)
    _parity(lambda x, i: tf.convert_to_tensor(tf.gradients(tf.reduce_sum(tf.gather(x, i) * w), [x])[0]),
            [p, ind], 0, 0)


@pytest.mark.parametrize("values,indices,match", [
    (_f32(3, 3), np.array([0, 6, 1], np.int64), r"index 6 is out of range \[0, 6\)"),
    (_f32(2, 3), np.array([-1, 2], np.int32), r"index -1 is out of range \[0, 6\)"),
    (_f32(4, 3), np.array([0, 1, 2], np.int64), r"values of shape \(4, 3\) do not match 3 indices of rows of 3"),
])
def test_indexed_slices_to_dense_errors(values, indices, match):
    for device in ("cpu", DEVICE):
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            _run(_to_dense([6, 3]), [values, indices], device)
