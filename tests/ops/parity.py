"""Helpers of the CUDA-against-CPU parity tests (test_device_parity*.py): run one graph on a
device, compare the CPU's and the GPU's outputs, and the module-level skip where no GPU is
visible (with nestor's reason). op_counts is shared with the fusion tests."""
from typing import Callable, Dict, List, Sequence

import numpy as np
import pytest

import nestor as tf

requires_gpu = pytest.mark.skipif(
    not tf.config.list_physical_devices("GPU"),
    reason="no GPU visible: " + tf.config.device_unavailable_reason("cuda"))

ELEMENTWISE = 1e-5  # float32 relative tolerance, elementwise ops
REDUCTION = 1e-4    # float32 relative tolerance, reductions and GEMMs


def op_counts(sess, fetches, feed) -> Dict[str, int]:
    """Kernel calls per op type in one run (the session profile accumulates: take the difference)."""
    before = {k: v[1] for k, v in sess._native.profile().items()}
    sess._native.set_profiling(True)
    sess.run(fetches, feed)
    sess._native.set_profiling(False)
    counts = {k: v[1] - before.get(k, 0) for k, v in sess._native.profile().items()}
    return {k: n for k, n in counts.items() if n}


def flat(outs) -> list:
    """Fetchable tensors: IndexedSlices become (values, indices, dense_shape)."""
    out = []
    for o in (list(outs) if isinstance(outs, (list, tuple)) else [outs]):
        if isinstance(o, tf.IndexedSlices):
            out += [o.values, o.indices, o.dense_shape]
        else:
            out.append(o)
    return out


def run_graph(fn: Callable, inputs: Sequence[np.ndarray], device: str) -> List[np.ndarray]:
    """fn(*placeholders) built in a fresh graph and run once on `device` with `inputs` fed."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(x.dtype), x.shape) for x in inputs]
        outs = flat(fn(*phs))
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            return [np.asarray(v) for v in s.run(outs, dict(zip(phs, inputs)))]


def compare(cpu: Sequence[np.ndarray], gpu: Sequence[np.ndarray], rtol: float, atol: float = 1e-6) -> None:
    """Same shapes and dtypes; floats within rtol/atol, everything else equal."""
    assert len(cpu) == len(gpu)
    for i, (a, b) in enumerate(zip(cpu, gpu)):
        assert a.shape == b.shape and a.dtype == b.dtype, (i, a.shape, b.shape, a.dtype, b.dtype)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, err_msg=f"output {i}")
        else:
            np.testing.assert_array_equal(b, a, err_msg=f"output {i}")


def parity(fn: Callable, inputs: Sequence[np.ndarray], rtol: float, atol: float = 1e-6) -> None:
    compare(run_graph(fn, inputs, "cpu"), run_graph(fn, inputs, "cuda"), rtol, atol)


def f32(*shape: int, seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)
