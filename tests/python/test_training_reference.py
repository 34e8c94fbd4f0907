"""Acceptance: models trained through the graph API follow an independent reference of
the same math step for step (NumPy float64; PyTorch where installed)."""
import numpy as np
import pytest

import nestor as tf


def _logreg_data(n=64, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = (x @ w_true + 0.3 * rng.standard_normal(n) > 0).astype(np.float64)
    return x, y


def _numpy_logreg(x, y, w, b, lr, steps):
    losses = []
    for _ in range(steps):
        z = x @ w + b
        loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
        losses.append(loss)
        p = 1 / (1 + np.exp(-z))
        gz = (p - y) / len(y)
        w = w - lr * (x.T @ gz)
        b = b - lr * gz.sum()
    return np.array(losses), w, b


@pytest.mark.parametrize("dtype,rtol", [(tf.float64, 1e-10), (tf.float32, 1e-4)])
def test_logistic_regression_matches_numpy(dtype, rtol):
    x, y = _logreg_data()
    w0 = np.random.default_rng(1).standard_normal(5) * 0.1
    want, w_want, _ = _numpy_logreg(x, y, w0.copy(), 0.0, 0.5, 100)
    npdt = dtype.as_numpy_dtype
    with tf.Graph().as_default():
        xp = tf.placeholder(dtype, [None, 5])
        yp = tf.placeholder(dtype, [None])
        w = tf.Variable(w0.astype(npdt))
        b = tf.Variable(np.array(0.0, npdt))
        logits = tf.reshape(tf.matmul(xp, tf.reshape(w, [5, 1])), [-1]) + b
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=yp, logits=logits))
        train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = [sess.run([loss, train], {xp: x, yp: y})[0] for _ in range(100)]
            w_got = sess.run(w)
    np.testing.assert_allclose(got, want, rtol=rtol)
    np.testing.assert_allclose(w_got, w_want, rtol=rtol * 10, atol=rtol)


DIMS = [100, 1024, 512, 256, 10]


def _mlp_init(seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(-1, 1, (a, b)) * np.sqrt(6.0 / (a + b)) for a, b in zip(DIMS[:-1], DIMS[1:])]
    bs = [np.zeros(b) for b in DIMS[1:]]
    return ws, bs


def _numpy_mlp_adagrad(x, y, ws, bs, lr, steps, acc0=0.1):
    ws = [w.copy() for w in ws]
    bs = [b.copy() for b in bs]
    acc_w = [np.full_like(w, acc0) for w in ws]
    acc_b = [np.full_like(b, acc0) for b in bs]
    n = len(y)
    losses = []
    for _ in range(steps):
        hs = [x]
        for i, (w, b) in enumerate(zip(ws, bs)):
            z = hs[-1] @ w + b
            hs.append(np.maximum(z, 0) if i < len(ws) - 1 else z)
        z = hs[-1]
        zmax = z.max(1, keepdims=True)
        lse = np.log(np.exp(z - zmax).sum(1, keepdims=True)) + zmax
        losses.append(np.mean(lse[:, 0] - z[np.arange(n), y]))
        g = np.exp(z - lse)
        g[np.arange(n), y] -= 1
        g /= n
        for i in reversed(range(len(ws))):
            gw = hs[i].T @ g
            gb = g.sum(0)
            if i > 0:
                g = (g @ ws[i].T) * (hs[i] > 0)
            acc_w[i] += gw * gw
            acc_b[i] += gb * gb
            ws[i] -= lr * gw / np.sqrt(acc_w[i])
            bs[i] -= lr * gb / np.sqrt(acc_b[i])
    return np.array(losses)


def _nestor_mlp(x, y, ws, bs, lr, steps, dtype):
    npdt = dtype.as_numpy_dtype
    with tf.Graph().as_default():
        xp = tf.placeholder(dtype, [None, DIMS[0]])
        yp = tf.placeholder(tf.int64, [None])
        h = xp
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = tf.nn.bias_add(tf.matmul(h, tf.Variable(w.astype(npdt))), tf.Variable(b.astype(npdt)))
            if i < len(ws) - 1:
                h = tf.nn.relu(h)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yp, logits=h))
        train = tf.train.AdagradOptimizer(lr).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return np.array([sess.run([loss, train], {xp: x, yp: y})[0] for _ in range(steps)])


def _mlp_problem(batch=64):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, DIMS[0]))
    y = rng.integers(0, 10, batch)
    return x, y


def test_mlp_adagrad_matches_numpy_float64():
    x, y = _mlp_problem()
    ws, bs = _mlp_init()
    want = _numpy_mlp_adagrad(x, y, ws, bs, 0.05, 100)
    got = _nestor_mlp(x, y, ws, bs, 0.05, 100, tf.float64)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert want[-1] < 0.5 * want[0]  # it learns


def test_mlp_adagrad_float32_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, y = _mlp_problem()
    ws, bs = _mlp_init()
    got = _nestor_mlp(x.astype(np.float32), y, ws, bs, 0.05, 100, tf.float32)
    params = []
    for w, b in zip(ws, bs):
        params += [torch.tensor(w, dtype=torch.float32, requires_grad=True),
                   torch.tensor(b, dtype=torch.float32, requires_grad=True)]
    opt = torch.optim.Adagrad(params, lr=0.05, initial_accumulator_value=0.1, eps=0.0)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    want = []
    for _ in range(100):
        h = xt
        for i in range(len(ws)):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < len(ws) - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, yt)
        want.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    # Acceptance: the loss after 100 steps agrees within 1e-4 relative. Along the way float32
    # GEMMs of different libraries (MKL here, OpenBLAS in nestor) round differently.
    np.testing.assert_allclose(got[-1], want[-1], rtol=1e-4)
    np.testing.assert_allclose(got, want, rtol=1e-3)
