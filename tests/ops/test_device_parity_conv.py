"""The CUDA kernels of conv2d / conv2d_backprop_input / conv2d_backprop_filter (cuda/kernels/
conv.cu: im2col + cuBLAS) and max_pool / avg_pool and their gradients (pool.cu) against the CPU
kernels on the same inputs. The GEMMs sum in another order, so float32 agrees to 1e-4 relative
and float64 to 1e-12; the pooling kernels add in the CPU's order.

Every test skips, with the reason, where no GPU is visible.
"""
import numpy as np
import pytest

import nestor as tf
from parity import REDUCTION, requires_gpu
from parity import f32 as _f32, parity as _parity

pytestmark = requires_gpu

FLOAT64 = 1e-12
CONV = [((2, 9, 7, 3), (3, 3, 3, 8), [1, 2, 2, 1], "SAME"),
        ((3, 8, 8, 4), (2, 4, 4, 5), [1, 1, 3, 1], "VALID"),
        ((4, 6, 6, 8), (1, 1, 8, 16), [1, 1, 1, 1], "VALID"),
        ((64, 28, 28, 1), (5, 5, 1, 32), [1, 1, 1, 1], "SAME")]  # the MNIST tutorial's first layer


def conv_and_grads(st, pad):
    def fn(x, f):
        y = tf.nn.conv2d(x, f, st, pad)
        return [y] + tf.gradients(tf.reduce_sum(tf.square(y)) * 0.5, [x, f])
    return fn


@pytest.mark.parametrize("xs,fs,st,pad", CONV)
def test_conv2d_and_gradients_float32(xs, fs, st, pad):
    _parity(conv_and_grads(st, pad), [_f32(*xs, seed=1), _f32(*fs, seed=2)], REDUCTION)


@pytest.mark.parametrize("xs,fs,st,pad", CONV[:3])
def test_conv2d_and_gradients_float64(xs, fs, st, pad):
    rng = np.random.default_rng(3)
    _parity(conv_and_grads(st, pad), [rng.uniform(-1, 1, xs), rng.uniform(-1, 1, fs)], FLOAT64)


POOL = [((2, 9, 7, 3), [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
        ((2, 8, 8, 4), [1, 2, 2, 1], [1, 2, 2, 1], "VALID"),
        ((1, 7, 5, 2), [1, 2, 3, 1], [1, 1, 2, 1], "SAME")]


@pytest.mark.parametrize("xs,k,st,pad", POOL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pools_and_gradients(xs, k, st, pad, dtype):
    x = np.random.default_rng(4).integers(0, 4, xs).astype(dtype)  # tied maxima: first one on both

    def fn(p):
        m = tf.nn.max_pool(p, k, st, pad)
        a = tf.nn.avg_pool(p, k, st, pad)
        w = np.random.default_rng(5).uniform(-1, 1, m.shape.as_list()).astype(dtype)
        return [m, a] + tf.gradients(tf.reduce_sum(m * w) + tf.reduce_sum(a * w * 2), [p])

    _parity(fn, [x], 1e-6 if dtype == np.float32 else FLOAT64)
