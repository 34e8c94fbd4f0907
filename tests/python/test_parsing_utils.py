"""tf.estimator.classifier_parse_example_spec / regressor_parse_example_spec: the specs equal
TensorFlow 2.15's (the literals below were printed by TF 2.15 for the same columns), the errors
are TF's, and tf.Examples written by nestor.serving.serialize_example parse with the spec into the
values put in, and train/evaluate a LinearClassifier as the same rows given as arrays do."""
import numpy as np
import pytest

import nestor as tf
from nestor.serving import serialize_example

fc = tf.feature_column
FixedLen, VarLen = tf.io.FixedLenFeature, tf.io.VarLenFeature


def _columns():
    return [fc.numeric_column("a", shape=(2,)), fc.categorical_column_with_hash_bucket("b", 10)]


def test_classifier_spec_matches_tf():
    assert tf.estimator.classifier_parse_example_spec(_columns(), "y") == {
        "a": FixedLen((2,), tf.float32, None), "b": VarLen(tf.string), "y": FixedLen((1,), tf.int64, None)}
    spec = tf.estimator.classifier_parse_example_spec(_columns(), "y", label_dtype=tf.string, label_default="no",
                                                      weight_column="w")
    assert spec["y"] == FixedLen((1,), tf.string, "no")
    assert spec["w"] == FixedLen((1,), tf.float32, None)
    weight = fc.numeric_column("w", dtype=tf.float64, default_value=1.0)
    spec = tf.estimator.classifier_parse_example_spec(_columns(), "y", weight_column=weight)
    assert spec["w"] == FixedLen((1,), tf.float64, (1.0,))
    assert list(spec) == ["a", "b", "y", "w"]


def test_regressor_spec_matches_tf():
    spec = tf.estimator.regressor_parse_example_spec(_columns(), "y", label_dimension=3, label_default=[0., 0., 0.],
                                                     weight_column="w")
    assert spec == {"a": FixedLen((2,), tf.float32, None), "b": VarLen(tf.string),
                    "y": FixedLen((3,), tf.float32, [0., 0., 0.]), "w": FixedLen((1,), tf.float32, None)}
    assert tf.estimator.regressor_parse_example_spec(_columns(), "y")["y"] == FixedLen((1,), tf.float32, None)
    assert tf.estimator.regressor_parse_example_spec(
        _columns(), "y", label_dtype=tf.float64, label_dimension=np.int64(2))["y"] == FixedLen((2,), tf.float64, None)


@pytest.mark.parametrize("kwargs, message", [
    (dict(label_key="a"), r"label should not be used as feature. label_key: a, features: \['a', 'b'\]"),
    (dict(label_key="y", weight_column="a"), "weight_column should not be used as feature. weight_column: a"),
    (dict(label_key="y", weight_column="y"), "weight_column should not be used as feature. weight_column: y"),
    (dict(label_key="y", weight_column=fc.categorical_column_with_hash_bucket("w", 3)),
     "weight_column should be an instance of tf.feature_column.numeric_column. Given type: .*HashedCategorical"),
    (dict(label_key="y", weight_column=3),
     "weight_column should be an instance of tf.feature_column.numeric_column. Given type: <class 'int'>"),
    (dict(label_key=None), "label_key must be a non-empty string"),
    (dict(label_key=""), "label_key must be a non-empty string"),
])
def test_spec_errors(kwargs, message):
    for fn in (tf.estimator.classifier_parse_example_spec, tf.estimator.regressor_parse_example_spec):
        with pytest.raises(ValueError, match=message):
            fn(_columns(), **kwargs)


def test_spec_errors_columns_and_label_dimension():
    with pytest.raises(ValueError, match="All feature_columns must be FeatureColumn instances. Given: 1"):
        tf.estimator.classifier_parse_example_spec([1], "y")
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="label_dimension must be a positive integer"):
            tf.estimator.regressor_parse_example_spec(_columns(), "y", label_dimension=bad)


RNG = np.random.RandomState(3)
N = 40
A = RNG.uniform(-1, 1, (N, 2)).astype(np.float32)
B = np.array([f"u{RNG.randint(0, 6)}" for _ in range(N)])
Y = ((A[:, 0] + A[:, 1] > 0) ^ (B == "u1")).astype(np.int64)
WT = RNG.uniform(0.5, 2.0, N).astype(np.float32)


def _examples(drop_label=()):
    out = []
    for i in range(N):
        e = {"a": [float(v) for v in A[i]], "b": str(B[i]), "w": float(WT[i])}
        if i not in drop_label:
            e["y"] = int(Y[i])
        out.append(serialize_example(e))
    return out


def _parse(serialized, spec):
    g = tf.Graph()
    with g.as_default():
        parsed = tf.io.parse_example(tf.constant(np.array(serialized, dtype=object)), spec)
        with tf.compat.v1.Session() as sess:
            return sess.run(parsed)


def test_parse_examples_with_classifier_spec():
    spec = tf.estimator.classifier_parse_example_spec(_columns(), "y", label_default=1, weight_column="w")
    out = _parse(_examples(drop_label=(4, 9)), spec)
    np.testing.assert_array_equal(out["a"], A)
    want_y = Y.copy()
    want_y[[4, 9]] = 1  # label_default for the Examples without a label
    np.testing.assert_array_equal(out["y"], want_y.reshape(-1, 1))
    assert out["y"].dtype == np.int64
    np.testing.assert_array_equal(out["w"], WT.reshape(-1, 1))
    b = out["b"]
    np.testing.assert_array_equal(b.indices, np.stack([np.arange(N), np.zeros(N, np.int64)], 1))
    assert [v.decode() for v in b.values] == list(B)


def test_parse_examples_with_regressor_spec():
    spec = tf.estimator.regressor_parse_example_spec([fc.numeric_column("w")], "a", label_dimension=2)
    out = _parse(_examples(), spec)
    np.testing.assert_array_equal(out["a"], A)
    np.testing.assert_array_equal(out["w"], WT.reshape(-1, 1))
    spec = tf.estimator.classifier_parse_example_spec(_columns(), "y")  # no default: the label is required
    with pytest.raises(tf.errors.InvalidArgumentError, match="y"):
        _parse(_examples(drop_label=(2,)), spec)


def test_linear_classifier_trained_on_parsed_examples(tmp_path):
    columns = _columns()
    spec = tf.estimator.classifier_parse_example_spec(columns, "y", weight_column="w")
    serialized = np.array(_examples(), dtype=object)

    def parsed_input():
        features = tf.io.parse_example(tf.constant(serialized), spec)
        labels = features.pop("y")
        return features, labels

    def array_input():
        return tf.data.Dataset.from_tensor_slices(({"a": A, "b": B, "w": WT.reshape(-1, 1)},
                                                   Y.reshape(-1, 1))).batch(N)

    def make(d):
        return tf.estimator.LinearClassifier(columns, model_dir=str(tmp_path / d), weight_column="w",
                                             config=tf.estimator.RunConfig(tf_random_seed=5))
    parsed_est, array_est = make("parsed"), make("array")
    parsed_est.train(parsed_input, steps=15)
    array_est.train(lambda: array_input().repeat(), steps=15)
    for name in array_est.get_variable_names():
        np.testing.assert_allclose(parsed_est.get_variable_value(name), array_est.get_variable_value(name),
                                   rtol=1e-6, atol=1e-7, err_msg=name)
    ev = parsed_est.evaluate(parsed_input)
    ref = array_est.evaluate(array_input)
    for k in ("accuracy", "average_loss", "loss", "auc"):
        np.testing.assert_allclose(ev[k], ref[k], rtol=1e-5, err_msg=k)
    # the weighted accuracy from the model's own predictions, in float64
    probs = np.array([p["logistic"][0] for p in parsed_est.predict(
        lambda: tf.data.Dataset.from_tensor_slices({"a": A, "b": B}).batch(N))], np.float64)
    correct = ((probs > 0.5).astype(np.int64) == Y).astype(np.float64)
    np.testing.assert_allclose(ev["accuracy"], (correct * WT).sum() / WT.sum(), rtol=1e-5)
