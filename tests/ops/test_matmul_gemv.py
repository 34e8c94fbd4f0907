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
