"""One harness for every op on every device: forward against a NumPy float64 reference,
gradients against central finite differences of the op itself in float64."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

import nestor as tf


def available_devices() -> List[str]:
    """"cpu", plus "cuda" when the CUDA backend is built and a GPU is visible."""
    devs = ["cpu"]
    try:
        g = tf.Graph()
        tf.Session(graph=g, config=tf.ConfigProto(device="cuda"))
        devs.append("cuda")
    except Exception:
        pass
    return devs


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
        float_outs = [o for o in outs if o.dtype.is_floating]
        weights = [rng.standard_normal(np.shape(v)) for o, v in zip(outs, got) if o.dtype.is_floating]
        wphs = [tf.placeholder(o.dtype, np.shape(w)) for o, w in zip(float_outs, weights)]
        total = None
        for o, w in zip(float_outs, wphs):
            term = tf.reduce_sum(o * w)
            total = term if total is None else total + term
        idx = list(grad_inputs) if grad_inputs is not None else \
            [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
        grads = tf.gradients(total, [phs[i] for i in idx])
        feed_w = dict(zip(wphs, [w.astype(np.asarray(v).dtype) for w, v in
                                 zip(weights, [v for o, v in zip(outs, got) if o.dtype.is_floating])]))
        sym = sess.run([gr if gr is not None else tf.zeros_like(phs[i]) for gr, i in zip(grads, idx)],
                       {**feed, **feed_w})
        f = sess.make_callable(total, phs + wphs)
        wvals = list(feed_w.values())
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
                num.reshape(-1)[j] = (f(*args_p, *wvals) - f(*args_m, *wvals)) / (2 * eps)
            s = sym[gi]
            if hasattr(s, "indices"):  # IndexedSlicesValue -> dense
                dense = np.zeros_like(x)
                np.add.at(dense, s.indices, s.values)
                s = dense
            np.testing.assert_allclose(s, num, rtol=grad_rtol, atol=grad_atol,
                                       err_msg=f"gradient of input {i} vs finite differences")


def rand(*shape: int, seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape)
