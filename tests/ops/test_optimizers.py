"""Fused optimizer update ops (dense and sparse) against NumPy float64 versions of
TensorFlow's update formulas, run for several steps; plus their error messages."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices
from nestor.train import training_ops as T


# ---------------------------------------------------------------- NumPy references (TF's formulas)
# Each takes the list [var, slot...] and the gradient, returns the updated list.
def ref_gd(v, g, alpha):
    return [v[0] - alpha * g]


def ref_momentum(v, g, lr, momentum, nesterov=False):
    var, accum = v
    accum = accum * momentum + g
    var = var - (g * lr + accum * momentum * lr) if nesterov else var - lr * accum
    return [var, accum]


def ref_adagrad(v, g, lr):
    var, accum = v
    accum = accum + g * g
    return [var - lr * g / np.sqrt(accum), accum]


def ref_adam(v, g, b1p, b2p, lr, b1, b2, eps, nesterov=False):
    var, m, s = v
    lr_t = lr * np.sqrt(1 - b2p) / (1 - b1p)
    m = b1 * m + (1 - b1) * g
    s = b2 * s + (1 - b2) * g * g
    step = (b1 * m + (1 - b1) * g) if nesterov else m
    return [var - lr_t * step / (np.sqrt(s) + eps), m, s]


def ref_adam_sparse(v, rows, g, b1p, b2p, lr, b1, b2, eps):
    """TF1 AdamOptimizer._apply_sparse: dense decay, scatter-add, dense var update."""
    var, m, s = v
    lr_t = lr * np.sqrt(1 - b2p) / (1 - b1p)
    m = m * b1
    s = s * b2
    m[rows] += (1 - b1) * g
    s[rows] += (1 - b2) * g * g
    return [var - lr_t * m / (np.sqrt(s) + eps), m, s]


def ref_ftrl(v, g, lr, l1, l2, l2_shrinkage, lr_power):
    var, accum, linear = v
    g_shrunk = g + 2 * l2_shrinkage * var
    new_accum = accum + g * g
    linear = linear + g_shrunk - (new_accum ** -lr_power - accum ** -lr_power) / lr * var
    quadratic = new_accum ** -lr_power / lr + 2 * l2
    var = np.where(np.abs(linear) > l1, (np.sign(linear) * l1 - linear) / quadratic, 0.0)
    return [var, new_accum, linear]


def ref_rms(v, g, lr, rho, momentum, eps):
    var, ms, mom = v
    ms = rho * ms + (1 - rho) * g * g
    mom = momentum * mom + lr * g / np.sqrt(ms + eps)
    return [var - mom, ms, mom]


def ref_centered_rms(v, g, lr, rho, momentum, eps):
    var, mg, ms, mom = v
    ms = rho * ms + (1 - rho) * g * g
    mg = rho * mg + (1 - rho) * g
    mom = momentum * mom + lr * g / np.sqrt(ms - mg * mg + eps)
    return [var - mom, mg, ms, mom]


def dedup(indices, values):
    """Unique rows (first-occurrence order) and their summed gradient rows."""
    rows, sums = [], []
    for i, r in enumerate(indices):
        if r in rows:
            sums[rows.index(r)] = sums[rows.index(r)] + values[i]
        else:
            rows.append(int(r))
            sums.append(values[i].copy())
    return np.array(rows), np.array(sums)


def ref_sparse(ref, v, indices, values, *h):
    rows, g = dedup(indices, values)
    out = [x.copy() for x in v]
    new = ref([x[rows] for x in v], g, *h)
    for o, n in zip(out, new):
        o[rows] = n
    return out


# ---------------------------------------------------------------- cases
ADAM = (0.01, 0.9, 0.999, 1e-8)


def adam_powers(step):
    return 0.9 ** (step + 1), 0.999 ** (step + 1)


# name -> (slot initial values (low, high) per slot, dense builder, sparse builder, dense ref, sparse ref)
# builders get (vars, grad[, indices], step); refs get (values, grad[, indices], step).
CASES = {
    "gradient_descent": (
        [], lambda v, g, k: T.apply_gradient_descent(v[0], 0.3, g),
        lambda v, g, i, k: T.sparse_apply_gradient_descent(v[0], 0.3, g, i),
        lambda x, g, k: ref_gd(x, g, 0.3), None),
    "momentum": (
        [(-1, 1)], lambda v, g, k: T.apply_momentum(v[0], v[1], 0.1, g, 0.9),
        lambda v, g, i, k: T.sparse_apply_momentum(v[0], v[1], 0.1, g, i, 0.9),
        lambda x, g, k: ref_momentum(x, g, 0.1, 0.9), None),
    "momentum_nesterov": (
        [(-1, 1)], lambda v, g, k: T.apply_momentum(v[0], v[1], 0.1, g, 0.9, use_nesterov=True),
        lambda v, g, i, k: T.sparse_apply_momentum(v[0], v[1], 0.1, g, i, 0.9, use_nesterov=True),
        lambda x, g, k: ref_momentum(x, g, 0.1, 0.9, nesterov=True), None),
    "adagrad": (
        [(0.1, 1)], lambda v, g, k: T.apply_adagrad(v[0], v[1], 0.2, g),
        lambda v, g, i, k: T.sparse_apply_adagrad(v[0], v[1], 0.2, g, i),
        lambda x, g, k: ref_adagrad(x, g, 0.2), None),
    "adam": (
        [(-0.5, 0.5), (0.01, 1)], lambda v, g, k: T.apply_adam(v[0], v[1], v[2], *adam_powers(k), *ADAM, g),
        lambda v, g, i, k: T.sparse_apply_adam(v[0], v[1], v[2], *adam_powers(k), *ADAM, g, i),
        lambda x, g, k: ref_adam(x, g, *adam_powers(k), *ADAM), "adam"),
    "adam_nesterov": (
        [(-0.5, 0.5), (0.01, 1)],
        lambda v, g, k: T.apply_adam(v[0], v[1], v[2], *adam_powers(k), *ADAM, g, use_nesterov=True),
        None, lambda x, g, k: ref_adam(x, g, *adam_powers(k), *ADAM, nesterov=True), None),
    "ftrl": (
        [(0.1, 1), (-1, 1)], lambda v, g, k: T.apply_ftrl(v[0], v[1], v[2], g, 0.5, 0.0, 0.0, 0.0, -0.5),
        lambda v, g, i, k: T.sparse_apply_ftrl(v[0], v[1], v[2], g, i, 0.5, 0.0, 0.0, 0.0, -0.5),
        lambda x, g, k: ref_ftrl(x, g, 0.5, 0.0, 0.0, 0.0, -0.5), None),
    "ftrl_l1_l2_shrinkage": (
        [(0.1, 1), (-1, 1)], lambda v, g, k: T.apply_ftrl(v[0], v[1], v[2], g, 0.5, 0.3, 0.2, 0.1, -0.5),
        lambda v, g, i, k: T.sparse_apply_ftrl(v[0], v[1], v[2], g, i, 0.5, 0.3, 0.2, 0.1, -0.5),
        lambda x, g, k: ref_ftrl(x, g, 0.5, 0.3, 0.2, 0.1, -0.5), None),
    "ftrl_lr_power": (
        [(0.1, 1), (-1, 1)], lambda v, g, k: T.apply_ftrl(v[0], v[1], v[2], g, 0.3, 0.1, 0.05, 0.2, -0.3),
        lambda v, g, i, k: T.sparse_apply_ftrl(v[0], v[1], v[2], g, i, 0.3, 0.1, 0.05, 0.2, -0.3),
        lambda x, g, k: ref_ftrl(x, g, 0.3, 0.1, 0.05, 0.2, -0.3), None),
    "rms_prop": (
        [(0.5, 1.5), (-0.2, 0.2)], lambda v, g, k: T.apply_rms_prop(v[0], v[1], v[2], 0.01, 0.9, 0.5, 1e-6, g),
        lambda v, g, i, k: T.sparse_apply_rms_prop(v[0], v[1], v[2], 0.01, 0.9, 0.5, 1e-6, g, i),
        lambda x, g, k: ref_rms(x, g, 0.01, 0.9, 0.5, 1e-6), None),
    "centered_rms_prop": (
        [(-0.5, 0.5), (1, 2), (-0.2, 0.2)],
        lambda v, g, k: T.apply_centered_rms_prop(v[0], v[1], v[2], v[3], 0.01, 0.9, 0.5, 1e-6, g),
        lambda v, g, i, k: T.sparse_apply_centered_rms_prop(v[0], v[1], v[2], v[3], 0.01, 0.9, 0.5, 1e-6, g, i),
        lambda x, g, k: ref_centered_rms(x, g, 0.01, 0.9, 0.5, 1e-6), None),
}


def initial_values(case, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    vals = [rng.uniform(-1, 1, shape)] + [rng.uniform(lo, hi, shape) for lo, hi in CASES[case][0]]
    return [x.astype(dtype) for x in vals]


def _session(g, device):
    return tf.Session(graph=g, config=tf.ConfigProto(device=device))


def run_steps(case, shape, grads, indices=None, dtype=np.float64, device="cpu", seed=0):
    """Runs the op of `case` once per gradient; returns the values of all variables after each step."""
    _, dense, sparse, _, _ = CASES[case]
    init = initial_values(case, shape, dtype, seed)
    g = tf.Graph()
    history = []
    with g.as_default():
        vs = [tf.Variable(x, name=f"v{i}") for i, x in enumerate(init)]
        gp = tf.placeholder(tf.as_dtype(dtype), None, name="grad")
        ip = tf.placeholder(tf.as_dtype(np.asarray(indices[0]).dtype), [None], name="idx") if indices else None
        ops = [dense(vs, gp, k) if indices is None else sparse(vs, gp, ip, k) for k in range(len(grads))]
        with _session(g, device) as s:
            s.run(tf.global_variables_initializer())
            for k, gr in enumerate(grads):
                feed = {gp: gr} if indices is None else {gp: gr, ip: indices[k]}
                out = s.run(ops[k], feed)
                now = s.run(vs)
                np.testing.assert_array_equal(out, now[0], err_msg="output is the updated var")
                history.append(now)
    return init, history


# ---------------------------------------------------------------- forward vs NumPy
@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("case", sorted(CASES))
def test_dense_update_matches_numpy(device, case):
    rng = np.random.default_rng(1)
    grads = [rng.uniform(-1, 1, (3, 4)) for _ in range(4)]
    init, history = run_steps(case, (3, 4), grads, device=device)
    want = [x.astype(np.float64) for x in init]
    for k, gr in enumerate(grads):
        want = CASES[case][3](want, gr, k)
        for j, (a, b) in enumerate(zip(history[k], want)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {k}, variable {j}")


SPARSE_CASES = sorted(c for c in CASES if CASES[c][2] is not None)


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("case", SPARSE_CASES)
def test_sparse_update_matches_numpy(device, index_dtype, case):
    rng = np.random.default_rng(2)
    indices = [np.array(i, index_dtype) for i in ([4, 0, 4, 2], [1, 1, 5], [3], [5, 0, 5, 5, 2])]
    grads = [rng.uniform(-1, 1, (len(i), 3)) for i in indices]
    init, history = run_steps(case, (6, 3), grads, indices=indices, device=device)
    want = [x.copy() for x in init]
    for k, (ix, gr) in enumerate(zip(indices, grads)):
        if CASES[case][4] == "adam":
            rows, summed = dedup(ix, gr)
            want = ref_adam_sparse([x.copy() for x in want], rows, summed, *adam_powers(k), *ADAM)
        else:
            want = ref_sparse(lambda x, g: CASES[case][3](x, g, k), want, ix, gr)
        for j, (a, b) in enumerate(zip(history[k], want)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {k}, variable {j}")
    if CASES[case][4] != "adam":  # rows never indexed keep their values
        untouched = [r for r in range(6) if all(r not in ix for ix in indices)]
        for a, b in zip(history[-1], init):
            np.testing.assert_array_equal(a[untouched], b[untouched])


def test_sparse_rank3_variable_updates_whole_rows():
    rng = np.random.default_rng(3)
    indices = [np.array([2, 0, 2], np.int64)]
    grads = [rng.uniform(-1, 1, (3, 2, 3))]
    init, history = run_steps("adagrad", (4, 2, 3), grads, indices=indices)
    want = ref_sparse(lambda x, g: ref_adagrad(x, g, 0.2), init, indices[0], grads[0])
    for a, b in zip(history[0], want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("case", ["adam", "ftrl_l1_l2_shrinkage", "centered_rms_prop", "momentum_nesterov"])
def test_float32_large_parallel(case):
    """float32, big enough for the thread pool (dense: 80k elements; sparse: 3000 rows of 40)."""
    rng = np.random.default_rng(4)
    grads = [rng.uniform(-1, 1, (2000, 40)).astype(np.float32) for _ in range(2)]
    init, history = run_steps(case, (2000, 40), grads, dtype=np.float32)
    want = [x.astype(np.float64) for x in init]
    for k, gr in enumerate(grads):
        want = CASES[case][3](want, gr.astype(np.float64), k)
    for a, b in zip(history[-1], want):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    idx = [rng.integers(0, 2000, 3000).astype(np.int64)]
    sg = [rng.uniform(-1, 1, (3000, 40)).astype(np.float32)]
    init, history = run_steps(case, (2000, 40), sg, indices=idx, dtype=np.float32)
    if CASES[case][4] == "adam":
        rows, summed = dedup(idx[0], sg[0].astype(np.float64))
        want = ref_adam_sparse([x.astype(np.float64) for x in init], rows, summed, *adam_powers(0), *ADAM)
    else:
        want = ref_sparse(lambda x, g: CASES[case][3](x, g, 0), [x.astype(np.float64) for x in init], idx[0],
                          sg[0].astype(np.float64))
    for a, b in zip(history[0], want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


# ---------------------------------------------------------------- errors
def test_uninitialized_variable_fails():
    with tf.Graph().as_default() as g:
        var = tf.Variable(np.zeros(3), name="w")
        acc = tf.Variable(np.ones(3), name="acc")
        up = T.apply_adagrad(var, acc, 0.1, np.ones(3))
        with _session(g, "cpu") as s:
            s.run(var.initializer)
            with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value acc"):
                s.run(up)


def test_bad_index_names_index_and_first_dimension():
    with tf.Graph().as_default() as g:
        var = tf.Variable(np.zeros((6, 2)), name="emb")
        ip = tf.placeholder(tf.int32, [None])
        up = T.sparse_apply_gradient_descent(var, 0.1, np.ones((3, 2)), ip)
        with _session(g, "cpu") as s:
            s.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"indices\[2\] = 7 is not in \[0, 6\).*emb is 6"):
                s.run(up, {ip: [1, 5, 7]})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[0\] = -1 is not in \[0, 6\)"):
                s.run(up, {ip: [-1, 0, 1]})
            np.testing.assert_array_equal(s.run(var), np.zeros((6, 2)))  # nothing applied


def test_build_time_errors_name_the_input():
    with tf.Graph().as_default():
        var = tf.Variable(np.zeros((3, 2)), name="w")
        acc = tf.Variable(np.zeros((3, 2)), name="acc")
        bad_slot = tf.Variable(np.zeros((2, 2)), name="bad")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"grad has shape \(3, 3\).*\(3, 2\)"):
            T.apply_momentum(var, acc, 0.1, np.ones((3, 3)), 0.9)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"accum has shape \(2, 2\)"):
            T.apply_adagrad(var, bad_slot, 0.1, np.ones((3, 2)))
        lr = tf.placeholder(tf.float64, [2])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"lr must be a scalar, got shape \(2,\)"):
            T.apply_adagrad(var, acc, lr, np.ones((3, 2)))
        with pytest.raises(tf.errors.InvalidArgumentError, match="lr has dtype float32 but var has dtype float64"):
            T.apply_adagrad(var, acc, tf.placeholder(tf.float32, []), np.ones((3, 2)))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"grad has 2 rows but indices has 3"):
            T.sparse_apply_adagrad(var, acc, 0.1, np.ones((2, 2)), np.array([0, 1, 2], np.int32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="indices must be int32 or int64"):
            T.sparse_apply_adagrad(var, acc, 0.1, np.ones((2, 2)), np.array([0.0, 1.0]))
        with pytest.raises(TypeError, match="is not a Variable"):
            T.apply_gradient_descent(tf.constant(np.zeros(2)), 0.1, np.ones(2))


def test_ftrl_rejects_bad_hyperparameters_at_run_time():
    with tf.Graph().as_default() as g:
        var, acc, lin = (tf.Variable(np.full(2, x), name=n) for x, n in ((0.0, "w"), (0.1, "a"), (0.0, "l")))
        lr = tf.placeholder(tf.float64, [])
        l1 = tf.placeholder(tf.float64, [])
        up = T.apply_ftrl(var, acc, lin, np.ones(2), lr, l1, 0.0, 0.0, -0.5)
        with _session(g, "cpu") as s:
            s.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.InvalidArgumentError, match="lr must be a positive scalar"):
                s.run(up, {lr: 0.0, l1: 0.0})
            with pytest.raises(tf.errors.InvalidArgumentError, match="l1 must be a non-negative scalar"):
                s.run(up, {lr: 0.1, l1: -1.0})
