"""One harness for every op on every device: forward against a NumPy float64 reference,
gradients against central finite differences of the op itself in float64."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

import nestor as tf


def available_devices() -> List[str]:
    """"cpu", plus "cuda" when the CUDA backend is built and a GPU is visible."""
    return ["cpu"] + (["cuda"] if tf.config.list_physical_devices("GPU") else [])


def _session(g: tf.Graph, device: str) -> tf.Session:
    return tf.Session(graph=g, config=tf.ConfigProto(device=device))


def run_op(fn: Callable[..., Any], inputs: Sequence[np.ndarray], device: str = "cpu") -> Any:
    """Builds fn(*placeholders) in a fresh graph and runs it on `inputs`."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(np.asarray(x).dtype), np.shape(x)) for x in inputs]
        y = fn(*phs)
        with _session(g, device) as s:
            return s.run(y, dict(zip(phs, inputs)))


def check_op(fn: Callable[..., Any], inputs: Sequence[np.ndarray], ref: Optional[Callable[..., Any]] = None,
             device: str = "cpu", grad: bool = True, grad_inputs: Optional[Sequence[int]] = None,
             rtol: float = 1e-6, atol: float = 1e-9, grad_rtol: float = 1e-5, grad_atol: float = 1e-7,
             eps: float = 1e-6, seed: int = 0) -> None:
    """Checks op `fn` on `inputs`.

    Args:
      fn: builds the op from placeholders, e.g. `lambda x: tf.exp(x)`. May return a list.
      inputs: numpy arrays (float64 for the differentiable ones).
      ref: NumPy reference of the same math; compared in float64.
      grad: also check d(sum(w * fn))/d(input) against central differences, w random.
      grad_inputs: which inputs to differentiate (default: all floating ones).
    """
    inputs = [np.asarray(x) for x in inputs]
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(x.dtype), x.shape, name=f"in{i}") for i, x in enumerate(inputs)]
        out = fn(*phs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        sess = _session(g, device)
        feed = dict(zip(phs, inputs))
        got = sess.run(outs, feed)
        if ref is not None:
            want = ref(*inputs)
            want = list(want) if isinstance(want, (list, tuple)) else [want]
            assert len(want) == len(got), f"op gave {len(got)} outputs, reference {len(want)}"
            for i, (a, b) in enumerate(zip(got, want)):
                b = np.asarray(b)
                assert a.shape == b.shape, f"output {i}: shape {a.shape}, reference {b.shape}"
                if a.dtype.kind in "fc":
                    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"output {i}")
                else:
                    np.testing.assert_array_equal(a, b, err_msg=f"output {i}")
        if not grad:
            return
        rng = np.random.default_rng(seed)
        fl = [k for k, o in enumerate(outs) if o.dtype.is_floating]
        weights = [rng.standard_normal(np.shape(got[k])).astype(np.asarray(got[k]).dtype) for k in fl]
        idx = list(grad_inputs) if grad_inputs is not None else \
            [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
        # d/dx sum_k sum(w_k * out_k) == gradients(outs, x, grad_ys=w)
        grads = tf.gradients([outs[k] for k in fl], [phs[i] for i in idx],
                             grad_ys=[tf.constant(w) for w in weights])
        sym = sess.run([gr if gr is not None else tf.zeros_like(phs[i]) for gr, i in zip(grads, idx)], feed)
        f = sess.make_callable([outs[k] for k in fl], phs)

        def total(args: List[np.ndarray]) -> float:
            return float(sum(np.sum(w * o) for w, o in zip(weights, f(*args))))

        for gi, i in enumerate(idx):
            x = inputs[i]
            assert x.dtype == np.float64, f"gradient checks need float64 inputs (input {i} is {x.dtype})"
            num = np.zeros_like(x)
            flat = x.reshape(-1)
            for j in range(flat.size):
                xp, xm = flat.copy(), flat.copy()
                xp[j] += eps
                xm[j] -= eps
                args_p = list(inputs)
                args_p[i] = xp.reshape(x.shape)
                args_m = list(inputs)
                args_m[i] = xm.reshape(x.shape)
                num.reshape(-1)[j] = (total(args_p) - total(args_m)) / (2 * eps)
            s = sym[gi]
            if hasattr(s, "indices"):  # IndexedSlicesValue -> dense
                dense = np.zeros_like(x)
                np.add.at(dense, s.indices, s.values)
                s = dense
            np.testing.assert_allclose(s, num, rtol=grad_rtol, atol=grad_atol,
                                       err_msg=f"gradient of input {i} vs finite differences")


def rand(*shape: int, seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape)
