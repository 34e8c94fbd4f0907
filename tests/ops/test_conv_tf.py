"""conv2d, max_pool2d and avg_pool2d against TensorFlow 2.15's recorded outputs and gradients
(tests/fixtures/conv_pool.json, made by tests/fixtures/make_conv_pool.py): SAME padding with
stride 2 on odd sizes, even filters, and max pooling over tied maxima."""
import json
import os

import numpy as np
import pytest

import nestor as tf
from harness import available_devices

FIX = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "conv_pool.json")))
DEVICES = available_devices()


def run(build, arrays, device):
    """Runs build(*constants) -> (y, loss) and d loss / d constants."""
    with tf.Graph().as_default():
        ts = [tf.constant(np.array(a, dtype=np.float64)) for a in arrays]
        y, loss = build(*ts)
        grads = tf.gradients(loss, ts)
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            return s.run([y] + grads)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", FIX["conv2d"], ids=lambda c: f"{c['padding']}{c['strides']}")
def test_conv2d_matches_tensorflow(device, case):
    w = np.array(case["weights"])

    def build(x, f):
        y = tf.nn.conv2d(x, f, case["strides"], case["padding"])
        return y, tf.reduce_sum(y * w)

    y, gx, gf = run(build, [case["x"], case["filter"]], device)
    np.testing.assert_allclose(y, case["y"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, case["grad_x"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gf, case["grad_filter"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", FIX["pool"], ids=lambda c: f"{c['kind']}{c['ksize']}{c['padding']}")
def test_pool_matches_tensorflow(device, case):
    w = np.array(case["weights"])
    op = tf.nn.max_pool2d if case["kind"] == "max" else tf.nn.avg_pool2d

    def build(x):
        y = op(x, case["ksize"], case["strides"], case["padding"])
        return y, tf.reduce_sum(y * w)

    y, gx = run(build, [case["x"]], device)
    np.testing.assert_allclose(y, case["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, case["grad_x"], rtol=1e-12, atol=1e-12)
