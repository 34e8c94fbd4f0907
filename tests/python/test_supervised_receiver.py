"""tf.estimator.experimental.build_raw_supervised_input_receiver_fn: placeholders of the given
dtypes and shapes [default_batch_size] + shape[1:] for features and labels, passed through to the
model_fn; fed with the eval data in a graph restored from the checkpoint, the model_fn's EVAL loss
equals evaluate()'s and numpy's. SupervisedInputReceiver validates its parts as TensorFlow's."""
import numpy as np
import pytest

import nestor as tf
from nestor.estimator.export import SupervisedInputReceiver

RNG = np.random.RandomState(11)
X = RNG.uniform(-1, 1, (24, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.25).astype(np.float32)


def _model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", [3, 1], initializer=tf.compat.v1.zeros_initializer())
    b = tf.compat.v1.get_variable("b", [1], initializer=tf.compat.v1.zeros_initializer())
    pred = tf.matmul(features["x"], w) + b
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.reduce_mean(tf.square(pred - labels))
    train_op = tf.train.GradientDescentOptimizer(0.2).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, predictions={"y": pred})


def test_placeholders_dtypes_shapes_and_names():
    g = tf.Graph()
    with g.as_default():
        fn = tf.estimator.experimental.build_raw_supervised_input_receiver_fn(
            {"x": tf.zeros([5, 3]), "ids": tf.zeros([5], tf.int64)}, tf.zeros([5, 1], tf.int32), default_batch_size=4)
        rec = fn()
    assert isinstance(rec, SupervisedInputReceiver)
    assert sorted(rec.receiver_tensors) == ["ids", "label", "x"]
    assert rec.features["x"].shape.as_list() == [4, 3] and rec.features["x"].dtype == tf.float32
    assert rec.features["ids"].shape.as_list() == [4] and rec.features["ids"].dtype == tf.int64
    assert rec.labels.shape.as_list() == [4, 1] and rec.labels.dtype == tf.int32
    assert rec.receiver_tensors["label"] is rec.labels and rec.receiver_tensors["x"] is rec.features["x"]
    assert rec.labels.op.type == "placeholder" and rec.labels.op.name == "label"
    with tf.Graph().as_default():
        rec = tf.estimator.experimental.build_raw_supervised_input_receiver_fn(
            np.zeros((2, 7), np.float64), {"y": np.zeros((2,), np.int64)})()
    assert rec.features.shape.as_list() == [None, 7] and rec.features.dtype == tf.float64
    assert sorted(rec.receiver_tensors) == ["input", "y"] and rec.labels["y"].shape.as_list() == [None]


def test_feeds_the_model_fn_like_evaluate(tmp_path):
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path))

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(24)
    est.train(lambda: input_fn().repeat(), steps=30)
    ev = est.evaluate(input_fn)
    fn = tf.estimator.experimental.build_raw_supervised_input_receiver_fn({"x": tf.zeros([1, 3])}, tf.zeros([1, 1]))
    g = tf.Graph()
    with g.as_default():
        tf.train.get_or_create_global_step()
        rec = fn()
        spec = est.model_fn(rec.features, rec.labels, tf.estimator.ModeKeys.EVAL, est.config)
        with tf.compat.v1.Session() as sess:
            tf.train.Saver().restore(sess, est.latest_checkpoint())
            loss, pred = sess.run([spec.loss, spec.predictions["y"]],
                                  {rec.receiver_tensors["x"]: X, rec.receiver_tensors["label"]: Y})
    w = est.get_variable_value("w").astype(np.float64)
    b = est.get_variable_value("b").astype(np.float64)
    want = X.astype(np.float64) @ w + b
    np.testing.assert_allclose(pred, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, np.mean((want - Y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(loss, ev["loss"], rtol=1e-6)


def test_errors():
    make = tf.estimator.experimental.build_raw_supervised_input_receiver_fn
    with pytest.raises(ValueError, match=r"Features and labels must have distinct keys. Found overlapping keys: "
                                         r"\{'x'\}"):
        make({"x": np.zeros((1, 1))}, {"x": np.zeros((1, 1))})
    with pytest.raises(ValueError, match="Found overlapping keys: {'label'}"):
        make({"label": np.zeros((1, 1))}, np.zeros((1, 1)))
    with tf.Graph().as_default():
        t = tf.zeros([2, 1])
        with pytest.raises(ValueError, match="labels must be defined"):
            SupervisedInputReceiver({"x": t}, None, {"x": t})
        with pytest.raises(ValueError, match="feature x must be a Tensor or SparseTensor"):
            SupervisedInputReceiver({"x": [1.0]}, t, {"x": t})
        with pytest.raises(ValueError, match="label keys must be strings or ints: 1.5"):
            SupervisedInputReceiver({"x": t}, {1.5: t}, {"x": t})
        with pytest.raises(ValueError, match="receiver_tensors keys must be strings"):
            SupervisedInputReceiver({"x": t}, t, {3: t})
        rec = SupervisedInputReceiver({0: t}, t, t)  # int keys are allowed for features/labels, as in TF
        assert rec.receiver_tensors == {"input": t}
