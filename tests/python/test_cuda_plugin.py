"""The CUDA plugin as this machine sees it: loaded or not, GPUs visible or not, and why.

On a machine with the plugin built but no GPU (or no driver), the GPU list is empty and the
reason names the CUDA runtime's error; only where the plugin was not built at all do the
plugin tests skip. TF32 switching works everywhere (it is a process-wide setting).
"""
import os

import numpy as np
import pytest

import nestor as tf
from nestor import _native


def _plugin_built() -> bool:
    reason = tf.config.device_unavailable_reason("cuda")
    return not (reason.startswith("cannot load") and "No such file" in reason)


def test_reason_is_empty_exactly_when_a_gpu_is_listed():
    gpus = tf.config.list_physical_devices("GPU")
    reason = tf.config.device_unavailable_reason("cuda")
    assert (reason == "") == bool(gpus), (gpus, reason)


def test_no_gpu_reported_with_the_cuda_error():
    if not _plugin_built():
        pytest.skip("libnestor_cuda.so is not built here: " + tf.config.device_unavailable_reason("cuda"))
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible: covered by test_gpu_runs_a_matmul")
    reason = tf.config.device_unavailable_reason("cuda")
    assert reason.startswith("libnestor_cuda.so loaded, but"), reason
    # The runtime's own error name (cudaErrorNoDevice, cudaErrorInsufficientDriver, ...).
    assert "cudaGetDeviceCount failed: cudaError" in reason or "reports no GPU" in reason, reason
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0)
    with pytest.raises(tf.errors.NotFoundError, match="cuda:0 is not available.*cuda"):
        tf.Session(graph=g, config=tf.ConfigProto(device="cuda"))


def test_gpu_runs_a_matmul():
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible: " + tf.config.device_unavailable_reason("cuda"))
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 32)), rng.standard_normal((32, 16))
    g = tf.Graph()
    with g.as_default():
        pa, pb = tf.placeholder(tf.float64, a.shape), tf.placeholder(tf.float64, b.shape)
        y = tf.matmul(pa, pb)
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            got = s.run(y, {pa: a, pb: b})
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)


def test_tensor_float_32_switch_round_trips():
    initial = os.environ.get("NESTOR_ALLOW_TF32") == "1"  # off by default
    assert tf.config.experimental.tensor_float_32_execution_enabled() is initial
    try:
        tf.config.experimental.enable_tensor_float_32_execution(True)
        assert tf.config.experimental.tensor_float_32_execution_enabled() is True
        assert _native.allow_tf32() is True
        tf.config.experimental.enable_tensor_float_32_execution(False)
        assert tf.config.experimental.tensor_float_32_execution_enabled() is False
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(initial)
