"""nestor.feature_column columns that need the feature ops (vocab_lookup, string_to_hash_bucket_fast,
as_string, bucketize, sparse_cross_hashed): outputs compared with TensorFlow 2.15's
(tests/fixtures/feature_column.json, from tests/fixtures/make_feature_column.py)."""
import json
import os

import numpy as np
import pytest

import nestor as tf

fc = tf.feature_column
FIX = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "feature_column.json")))


@pytest.fixture(autouse=True)
def _graph():
    tf.reset_default_graph()
    yield


def _features():
    return {
        "a": np.array([[-1.], [1.], [5.], [10.]], np.float32),
        "v": np.array([["x", "q"], ["z", ""], ["", ""], ["w", "y"]], dtype=object),
        "h": np.array([["alpha", "beta"], ["gamma", ""], ["", ""], ["delta", "alpha"]], dtype=object),
        "ih": np.array([[7, -1], [123456789, 3], [-1, -1], [0, 42]], np.int64),
        "i": np.array([[1, 3], [4, -1], [-1, -1], [0, 0]], np.int64),
        "iv": np.array([[10, 99], [30, -1], [-1, -1], [20, 20]], np.int64),
    }


def _want(name):
    d = FIX[name]
    out = np.zeros(d["shape"], np.float32)
    for r, c, v in d["nonzero"]:
        out[r, c] = v
    return out


def _dense(col):
    out = fc.input_layer(_features(), [col])
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        return s.run(out)


def _ident():
    return fc.categorical_column_with_identity("i", 5)


@pytest.mark.parametrize("name,make", [
    ("bucketized", lambda: fc.bucketized_column(fc.numeric_column("a"), [0., 5., 10.])),
    ("vocab_oov", lambda: fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("v", ["x", "y", "z"], num_oov_buckets=4))),
    ("int_vocab", lambda: fc.indicator_column(fc.categorical_column_with_vocabulary_list("iv", [10, 20, 30]))),
    ("hash", lambda: fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 100))),
    ("int_hash", lambda: fc.indicator_column(fc.categorical_column_with_hash_bucket("ih", 50, dtype=tf.int64))),
    ("cross", lambda: fc.indicator_column(fc.crossed_column(["h", _ident()], 1000))),
    ("cross_names", lambda: fc.indicator_column(fc.crossed_column(["h", "v"], 97, hash_key=123))),
])
def test_matches_tensorflow(name, make):
    np.testing.assert_allclose(_dense(make()), _want(name))


def test_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\nextra\n")
    col = fc.categorical_column_with_vocabulary_file("v", str(path), vocabulary_size=3, num_oov_buckets=4)
    assert col.num_buckets == 7
    np.testing.assert_allclose(_dense(fc.indicator_column(col)), _want("vocab_oov"))
    tf.reset_default_graph()
    col = fc.categorical_column_with_vocabulary_file("v", str(path), default_value=3)
    assert col.num_buckets == 4
    np.testing.assert_allclose(_dense(fc.indicator_column(col)),
                               [[1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]])


def test_vocabulary_file_removed_before_build(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\n")
    col = fc.categorical_column_with_vocabulary_file("v", str(path))
    os.remove(path)
    with pytest.raises(ValueError, match=f"column 'v' not found: {path}"):
        fc.input_layer(_features(), [fc.indicator_column(col)])


@pytest.mark.parametrize("combiner", ["mean", "sum", "sqrtn"])
def test_embedding_of_hashed_column_vs_table_rows(combiner):
    col = fc.embedding_column(fc.categorical_column_with_hash_bucket("h", 100), 4, combiner=combiner)
    out = fc.input_layer(_features(), [col])
    var = tf.global_variables()[0]
    assert var.name == "input_layer/h_embedding/embedding_weights:0"
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got, table = s.run([out, var])
    multi_hot = _want("hash")  # ids (with counts) per example, from TensorFlow
    counts = multi_hot.sum(1, keepdims=True)
    summed = multi_hot @ table
    scale = {"sum": np.ones_like(counts), "mean": np.maximum(counts, 1),
             "sqrtn": np.sqrt(np.maximum((multi_hot ** 2).sum(1, keepdims=True), 1))}[combiner]
    np.testing.assert_allclose(got, summed / scale, rtol=1e-5, atol=1e-6)


def test_linear_model_categorical_and_bucketized_vs_numpy():
    hashed = fc.categorical_column_with_hash_bucket("h", 100)
    bucket = fc.bucketized_column(fc.numeric_column("a"), [0., 5., 10.])
    cross = fc.crossed_column(["h", "v"], 97, hash_key=123)
    ctv = {}
    out = fc.linear_model(_features(), [hashed, bucket, cross], cols_to_vars=ctv)
    assert sorted(v.name for v in tf.global_variables()) == [
        "linear_model/a_bucketized/weights:0", "linear_model/bias_weights:0", "linear_model/h/weights:0",
        "linear_model/h_X_v/weights:0"]
    rng = np.random.RandomState(1)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        vals = {}
        for v in tf.global_variables():
            vals[v.name] = rng.randn(*v.shape.as_list()).astype(np.float32)
            v.load(vals[v.name], s)
        got = s.run(out)
    want = (_want("hash") @ vals["linear_model/h/weights:0"] + _want("bucketized") @
            vals["linear_model/a_bucketized/weights:0"] + _want("cross_names") @ vals["linear_model/h_X_v/weights:0"]
            + vals["linear_model/bias_weights:0"])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
