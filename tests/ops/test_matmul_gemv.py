"""matmul with one row or one column (run as a matrix-vector product by the CPU BLAS binding),
every transpose combination, float64 and float32, against numpy with finite-difference gradients."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("m,k,n", [(1, 3, 5), (4, 3, 1), (1, 6, 1), (1, 1, 4)])
def test_matmul_row_or_column(device, ta, tb, m, k, n):
    a = rand(m, k, seed=1)
    b = rand(k, n, seed=2)
    a_in = a.T.copy() if ta else a
    b_in = b.T.copy() if tb else b
    check_op(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a_in, b_in], lambda x, y: a @ b,
             device=device)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_row_or_column_float32(ta, tb):
    rng = np.random.default_rng(0)
    for m, k, n in [(1, 300, 257), (129, 70, 1)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        a_in = a.T.copy() if ta else a
        b_in = b.T.copy() if tb else b
        check_op(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a_in, b_in],
                 lambda x, y: a.astype(np.float64) @ b.astype(np.float64), grad=False, rtol=1e-5, atol=1e-4)


def test_matmul_batched_rows():
    a = rand(3, 1, 4, seed=1)  # each batch entry is one row
    b = rand(3, 4, 2, seed=2)
    check_op(tf.matmul, [a, b], np.matmul)


def _product(a, b, threads):
    with tf.Graph().as_default():
        x = tf.placeholder(a.dtype, a.shape)
        y = tf.placeholder(b.dtype, b.shape)
        out = tf.matmul(x, y)
        with tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=threads)) as sess:
            return sess.run(out, {x: a, y: b})


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("m,k,n", [(1, 517, 2089), (2091, 517, 1), (1, 517, 1001), (300, 130, 257)])
def test_matmul_split_over_session_threads(threads, m, k, n):
    """Matrix-vector products cut over the session's threads (ragged last part; above 2^20
    multiply-adds, blas::kSplitGemv), one below that size, and a GEMM large enough for
    OpenBLAS to thread, whose parts run on the same pool."""
    rng = np.random.default_rng(m + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    np.testing.assert_allclose(_product(a, b, threads), a.astype(np.float64) @ b.astype(np.float64),
                               rtol=1e-4, atol=1e-3 * np.sqrt(k))


def test_threaded_matmuls_in_concurrent_sessions():
    """Sessions on several Python threads (the GIL is released while they run) each put their
    products on their own pool; results stay exact and nothing waits on another session."""
    import threading
    rng = np.random.default_rng(7)
    cases = [(rng.standard_normal((256, 200)).astype(np.float32), rng.standard_normal((200, 300)).astype(np.float32))
             for _ in range(4)]
    results, errors = {}, []

    def worker(i):
        try:
            a, b = cases[i]
            for _ in range(5):
                results[i] = _product(a, b, 2)
        except Exception as e:  # reported below with the case number
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "a session never finished"
    for i, (a, b) in enumerate(cases):
        np.testing.assert_allclose(results[i], a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-3)
