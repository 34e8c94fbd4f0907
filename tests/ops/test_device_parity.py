"""The CUDA kernels against the CPU kernels on the same random inputs (float32: 1e-5
relative for elementwise ops, 1e-4 for reductions and GEMMs), an MLP trained 20 steps on
both devices, and a checkpoint written on the GPU restored on the CPU and back.

Every test skips, with the reason, where no GPU is visible (see
nestor.config.device_unavailable_reason). The op tests in this folder also run on "cuda"
against their NumPy references through harness.available_devices().
"""
import numpy as np
import pytest

import nestor as tf
from nestor import checkpoint as ckpt
from parity import ELEMENTWISE, REDUCTION, requires_gpu
from parity import f32 as _f32, parity as _parity

pytestmark = requires_gpu


UNARY = ["relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softplus", "softsign", "swish"]


@pytest.mark.parametrize("name", UNARY)
def test_activations_and_their_gradients(name):
    op = getattr(tf.nn, name)
    x = _f32(33, 17, seed=1)
    _parity(lambda p: [op(p), tf.gradients(op(p) * 1.5, [p])[0]], [x], ELEMENTWISE)


def test_leaky_relu_with_alpha():
    x = _f32(64, 9, seed=2)
    _parity(lambda p: [tf.nn.leaky_relu(p, alpha=0.3), tf.gradients(tf.nn.leaky_relu(p, alpha=0.3), [p])[0]], [x],
            ELEMENTWISE)


@pytest.mark.parametrize("shapes", [((5, 7), (5, 7)), ((5, 7), (7,)), ((4, 1, 3), (1, 6, 1)), ((), (3, 2))])
@pytest.mark.parametrize("op", [tf.add, tf.subtract, tf.multiply, tf.divide])
def test_broadcasting_arithmetic_and_sum_to_gradients(op, shapes):
    a, b = _f32(*shapes[0], seed=3), _f32(*shapes[1], seed=4, low=0.5, high=2.0)
    _parity(lambda x, y: [op(x, y)] + tf.gradients(tf.reduce_sum(op(x, y) * 0.5), [x, y]), [a, b], REDUCTION)


def test_integer_ops_on_the_device_and_integer_divide_on_the_cpu():
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    b = np.array([1, 2, -3, 5], np.int32)
    _parity(lambda x, y: [x + y, x * y, x - y, x // y, tf.nn.relu(x)], [a, b], 0)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_transposes(ta, tb):
    a = _f32(*((48, 96) if ta else (96, 48)), seed=5)
    b = _f32(*((64, 48) if tb else (48, 64)), seed=6)
    _parity(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a, b], REDUCTION, 1e-5)


def test_matmul_batched_folded_and_float64():
    a, b = _f32(3, 20, 30, seed=7), _f32(3, 30, 10, seed=8)
    _parity(lambda x, y: tf.matmul(x, y), [a, b], REDUCTION, 1e-5)
    _parity(lambda x, y: tf.matmul(x, y), [a, _f32(30, 10, seed=9)], REDUCTION, 1e-5)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    _parity(lambda x, y: tf.matmul(x, y), [a64, b64], 1e-12, 1e-12)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ([0, 2], False), (-1, True)])
@pytest.mark.parametrize("red", [tf.reduce_sum, tf.reduce_mean, tf.reduce_max, tf.reduce_min])
def test_reductions(red, axis, keepdims):
    x = _f32(6, 5, 4, seed=10)
    _parity(lambda p: red(p, axis=axis, keepdims=keepdims), [x], REDUCTION)


def test_argmax_argmin_bias_add_and_grad():
    x, b = _f32(50, 12, seed=11), _f32(12, seed=12)
    _parity(lambda p, q: [tf.argmax(p, axis=1), tf.argmin(p, axis=0), tf.nn.bias_add(p, q)]
            + tf.gradients(tf.reduce_sum(tf.nn.bias_add(p, q) ** 2), [p, q]), [x, b], REDUCTION)


def test_softmax_family_and_cross_entropies():
    logits = _f32(40, 10, seed=13, low=-5, high=5)
    onehot = np.eye(10, dtype=np.float32)[np.random.default_rng(14).integers(0, 10, 40)]
    labels = np.argmax(onehot, axis=1).astype(np.int64)
    _parity(lambda x, z, y: [tf.nn.softmax(x), tf.nn.log_softmax(x),
                             tf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x),
                             tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x),
                             tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)]
            + tf.gradients(tf.reduce_sum(tf.nn.log_softmax(x) * z) + tf.reduce_sum(tf.nn.softmax(x) ** 2), [x]),
            [logits, onehot, labels], REDUCTION)


def test_sparse_cross_entropy_rejects_out_of_range_labels_on_the_device():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (2, 3))
        y = tf.placeholder(tf.int32, (2,))
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
        with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 3"):
                s.run(loss, {x: np.zeros((2, 3), np.float32), y: np.array([0, 3], np.int32)})


def test_cast_fill_like_reshape():
    x = _f32(4, 6, seed=15)
    _parity(lambda p: [tf.cast(p, tf.int32), tf.cast(p > 0, tf.float32), tf.zeros_like(p), tf.ones_like(p),
                       tf.reshape(p, [-1, 3]), tf.cast(p, tf.float64)], [x], 0)


def _mlp_train(device: str, steps: int, opt: str):
    rng = np.random.default_rng(16)
    X = rng.standard_normal((256, 20)).astype(np.float32)
    Y = (X[:, :3].sum(1) > 0).astype(np.int64) + (X[:, 3] > 1).astype(np.int64)
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(0)
        x, y = tf.placeholder(tf.float32, (None, 20)), tf.placeholder(tf.int64, (None,))
        h = tf.layers.dense(x, 32, activation=tf.nn.relu, kernel_initializer=tf.constant_initializer(
            rng.standard_normal((20, 32)).astype(np.float32) * 0.2))
        logits = tf.layers.dense(h, 3, kernel_initializer=tf.constant_initializer(
            rng.standard_normal((32, 3)).astype(np.float32) * 0.2))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        optimizer = {"sgd": tf.train.GradientDescentOptimizer(0.1), "adam": tf.train.AdamOptimizer(0.01),
                     "momentum": tf.train.MomentumOptimizer(0.05, 0.9), "adagrad": tf.train.AdagradOptimizer(0.1)}[opt]
        train = optimizer.minimize(loss)
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            s.run(tf.global_variables_initializer())
            losses = [s.run([train, loss], {x: X[i % 4 * 64:(i % 4 + 1) * 64], y: Y[i % 4 * 64:(i % 4 + 1) * 64]})[1]
                      for i in range(steps)]
            weights = s.run(tf.trainable_variables())
    return np.array(losses), weights


@pytest.mark.parametrize("opt", ["sgd", "adam", "momentum", "adagrad"])
def test_mlp_training_20_steps_matches_cpu(opt):
    cpu_losses, cpu_w = _mlp_train("cpu", 20, opt)
    gpu_losses, gpu_w = _mlp_train("cuda", 20, opt)
    assert gpu_losses[-1] < gpu_losses[0]
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-4, atol=1e-5)
    for a, b in zip(gpu_w, cpu_w):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_checkpoint_written_on_gpu_restores_on_cpu_and_back(tmp_path):
    def build():
        g = tf.Graph()
        with g.as_default():
            w = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="w")
            step = tf.Variable(np.int64(5), name="global_step", trainable=False)
            bump = tf.group(tf.assign_add(w, tf.ones_like(w) * 0.5), tf.assign_add(step, 1))
        return g, w, step, bump

    g, w, step, bump = build()
    with g.as_default(), tf.Session(config=tf.ConfigProto(device="cuda")) as s:
        s.run(tf.global_variables_initializer())
        s.run(bump)
        prefix = ckpt.Saver().save(s, str(tmp_path / "model.ckpt"), global_step=step)
    want = np.arange(12, dtype=np.float32).reshape(3, 4) + 0.5
    np.testing.assert_array_equal(ckpt.load_variable(str(tmp_path), "w"), want)
    g, w, step, bump = build()
    with g.as_default(), tf.Session(config=tf.ConfigProto(device="cpu")) as s:
        ckpt.Saver().restore(s, prefix)
        np.testing.assert_array_equal(s.run(w), want)
        s.run(bump)
        prefix2 = ckpt.Saver().save(s, str(tmp_path / "cpu.ckpt"), global_step=step)
    g, w, step, bump = build()
    with g.as_default(), tf.Session(config=tf.ConfigProto(device="cuda")) as s:
        ckpt.Saver().restore(s, prefix2)
        np.testing.assert_array_equal(s.run(w), want + 0.5)
        assert s.run(step) == 7
