"""nestor.feature_column: the parts that need no feature-specific native op (numeric, identity,
embedding, indicator, weighted, shared embeddings, linear_model, DenseFeatures, sequences,
parse specs, names and errors). Reference values: tests/fixtures/feature_column.json
(from tests/fixtures/make_feature_column.py, TensorFlow 2.15)."""
import json
import os

import numpy as np
import pytest

import nestor as tf
from nestor.errors import InvalidArgumentError

fc = tf.feature_column
FIX = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "feature_column.json")))


@pytest.fixture(autouse=True)
def _graph():
    tf.reset_default_graph()
    yield


def _run(t, init=True):
    with tf.Session() as s:
        if init:
            s.run(tf.global_variables_initializer())
        return s.run(t)


def _sparse(rows, dtype=np.int64, width=None):
    """SparseTensor from a list of per-example lists (ragged input)."""
    ind = [[r, j] for r, row in enumerate(rows) for j in range(len(row))]
    val = np.array([v for row in rows for v in row], dtype=dtype)
    width = width or max(1, max(len(r) for r in rows))
    return tf.SparseTensor(np.array(ind, np.int64).reshape(-1, 2), val, [len(rows), width])


def test_numeric_shapes_normalizer_and_ordering():
    a = fc.numeric_column("a")
    b = fc.numeric_column("b", shape=(2, 3), normalizer_fn=lambda x: (x - 1.0) * 2.0)
    c = fc.numeric_column("c", shape=2, dtype=tf.int64)
    xa = np.array([1.5, -2.0], np.float32)
    xb = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    xc = np.array([[1, 2], [3, 4]], np.int64)
    out = fc.input_layer({"c": xc, "a": xa, "b": xb}, [c, b, a])
    want = np.concatenate([xa[:, None], ((xb - 1) * 2).reshape(2, 6), xc.astype(np.float32)], axis=1)
    assert out.shape.as_list() == [None, 9] or out.shape.as_list()[1] == 9
    np.testing.assert_allclose(_run(out, init=False), want, rtol=1e-6)


def test_input_layer_placeholder_batch_and_output_tensors():
    a = fc.numeric_column("a", shape=(2,))
    x = tf.placeholder(tf.float32, [None, 2])
    cots = {}
    out = fc.input_layer({"a": x}, [a], cols_to_output_tensors=cots)
    assert cots[a] is out
    with tf.Session() as s:
        np.testing.assert_allclose(s.run(out, {x: [[1, 2], [3, 4], [5, 6]]}), [[1, 2], [3, 4], [5, 6]])


def test_column_names_match_tensorflow():
    a = fc.numeric_column("a")
    b = fc.numeric_column("b", shape=(2, 3), default_value=1.5)
    c = fc.numeric_column("c", shape=2, default_value=[1, 2], dtype=tf.int64)
    vocab = fc.categorical_column_with_vocabulary_list("v", ["x", "y", "z"], num_oov_buckets=4)
    ivocab = fc.categorical_column_with_vocabulary_list("iv", [10, 20, 30])
    ident = fc.categorical_column_with_identity("i", 5)
    hashed = fc.categorical_column_with_hash_bucket("h", 100)
    ihashed = fc.categorical_column_with_hash_bucket("ih", 50, dtype=tf.int64)
    cross = fc.crossed_column(["h", ident], 1000)
    weighted = fc.weighted_categorical_column(ident, "w")
    bucket = fc.bucketized_column(a, [0., 5., 10.])
    seq = fc.sequence_numeric_column("s", shape=(2,))
    cols = [a, b, c, vocab, ivocab, ident, hashed, ihashed, cross, weighted, bucket,
            fc.embedding_column(vocab, 4), fc.indicator_column(hashed), seq]
    shared = fc.shared_embeddings([ident, fc.categorical_column_with_identity("j", 5)], 3)
    assert [x.name for x in cols] + [x.name for x in shared] == FIX["names"]
    spec = fc.make_parse_example_spec(cols)
    got = {}
    for k, v in sorted(spec.items()):
        if isinstance(v, fc.FixedLenFeature):
            got[k] = ["fixed", list(v.shape), v.dtype.name,
                      None if v.default_value is None else np.asarray(v.default_value).tolist()]
        else:
            assert isinstance(v, fc.VarLenFeature)
            got[k] = ["var", v.dtype.name]
    assert got == FIX["parse_spec"]
    assert vocab.num_buckets == 7 and bucket.num_buckets == 4 and cross.num_buckets == 1000


def test_make_parse_example_spec_conflict_and_type():
    with pytest.raises(ValueError, match="different parse_spec for key a"):
        fc.make_parse_example_spec([fc.numeric_column("a"), fc.categorical_column_with_identity("a", 3)])
    with pytest.raises(ValueError, match="FeatureColumn instances"):
        fc.make_parse_example_spec(["a"])


def test_constructor_errors():
    with pytest.raises(ValueError, match="shape dimensions"):
        fc.numeric_column("a", shape=(0,))
    with pytest.raises(ValueError, match="convertible to float"):
        fc.numeric_column("a", dtype=tf.string)
    with pytest.raises(ValueError, match="Can't specify both default_value 3 and num_oov_buckets 2"):
        fc.categorical_column_with_vocabulary_list("v", ["a", "b"], default_value=3, num_oov_buckets=2)
    with pytest.raises(ValueError, match="Duplicate keys"):
        fc.categorical_column_with_vocabulary_list("v", ["a", "a"])
    with pytest.raises(ValueError, match="not found: /no/such/vocab.txt"):
        fc.categorical_column_with_vocabulary_file("words", "/no/such/vocab.txt")
    with pytest.raises(ValueError, match="not supported for crossing"):
        fc.crossed_column([fc.categorical_column_with_hash_bucket("h", 10), "x"], 10)
    with pytest.raises(ValueError, match="length > 1"):
        fc.crossed_column(["x"], 10)
    with pytest.raises(ValueError, match="sorted"):
        fc.bucketized_column(fc.numeric_column("a"), [1., 0.])
    with pytest.raises(ValueError, match="same number of buckets"):
        fc.shared_embeddings([fc.categorical_column_with_identity("a", 3),
                              fc.categorical_column_with_identity("b", 4)], 2)
    with pytest.raises(ValueError, match="combiner"):
        fc.embedding_column(fc.categorical_column_with_identity("a", 3), 2, combiner="max")


def test_missing_and_mistyped_features_name_the_feature():
    a = fc.numeric_column("age")
    with pytest.raises(ValueError, match=r"Feature 'age'.*Available keys: \['height'\]"):
        fc.input_layer({"height": [1.0]}, [a])
    with pytest.raises(ValueError, match="age.*string"):
        fc.input_layer({"age": ["x"]}, [a])
    ident = fc.categorical_column_with_identity("user", 4)
    with pytest.raises(ValueError, match="key: user.*float32"):
        fc.input_layer({"user": np.array([1.0, 2.0], np.float32)}, [fc.indicator_column(ident)])
    with pytest.raises(ValueError, match="DenseColumn"):
        fc.input_layer({"user": [1]}, [ident])


def test_identity_out_of_range_fails_naming_feature_or_uses_default():
    ident = fc.categorical_column_with_identity("user", 4)
    x = tf.placeholder(tf.int64, [None])
    out = fc.input_layer({"user": x}, [fc.indicator_column(ident)])
    with tf.Session() as s:
        with pytest.raises(InvalidArgumentError, match="check_user_ids_in_0_4.*7"):
            s.run(out, {x: [1, 7]})
    tf.reset_default_graph()
    ident = fc.categorical_column_with_identity("user", 4, default_value=0)
    out = fc.input_layer({"user": np.array([1, 7, -1], np.int64)}, [fc.indicator_column(ident)])
    np.testing.assert_allclose(_run(out), [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])


def test_indicator_multi_hot_dense_and_sparse_weighted():
    ident = fc.categorical_column_with_identity("i", 5)
    dense = np.array([[1, 3, 1], [4, -1, -1], [-1, -1, -1]], np.int64)
    out = fc.input_layer({"i": dense}, [fc.indicator_column(ident)])
    np.testing.assert_allclose(_run(out), [[0, 2, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5])
    tf.reset_default_graph()
    w = fc.weighted_categorical_column(ident, "w")
    feats = {"i": _sparse([[1, 3, 1], [4], []]), "w": _sparse([[0.5, 2.0, 1.0], [3.0], []], np.float32)}
    out = fc.input_layer(feats, [fc.indicator_column(w)])
    np.testing.assert_allclose(_run(out), [[0, 1.5, 0, 2, 0], [0, 0, 0, 0, 3], [0] * 5])


def _emb_reference(table, rows, weights, combiner):
    out = np.zeros((len(rows), table.shape[1]))
    for r, ids in enumerate(rows):
        ws = np.ones(len(ids)) if weights is None else np.asarray(weights[r], np.float64)
        if len(ids) == 0:
            continue
        s = (table[ids] * ws[:, None]).sum(0)
        out[r] = s if combiner == "sum" else s / ws.sum() if combiner == "mean" else s / np.sqrt((ws ** 2).sum())
    return out


@pytest.mark.parametrize("combiner", ["mean", "sum", "sqrtn"])
@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_combiners_vs_numpy(combiner, weighted):
    ident = fc.categorical_column_with_identity("i", 6)
    cat = fc.weighted_categorical_column(ident, "w") if weighted else ident
    col = fc.embedding_column(cat, 3, combiner=combiner)
    rows = [[1, 5, 1], [], [0], [2, 3]]
    ws = [[0.5, 2.0, 1.0], [], [3.0], [1.0, 0.25]]
    feats = {"i": _sparse(rows), "w": _sparse(ws, np.float32)}
    out = fc.input_layer(feats, [col])
    var = tf.global_variables()[0]
    assert var.name == "input_layer/i_embedding/embedding_weights:0" if not weighted else \
        var.name == "input_layer/i_weighted_by_w_embedding/embedding_weights:0"
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got, table = s.run([out, var])
    np.testing.assert_allclose(got, _emb_reference(table.astype(np.float64), rows, ws if weighted else None,
                                                   combiner), rtol=1e-5, atol=1e-6)


def test_embedding_init_gradient_sparse_and_max_norm():
    ident = fc.categorical_column_with_identity("i", 1000)
    col = fc.embedding_column(ident, 16)
    out = fc.input_layer({"i": np.array([[3, 7], [7, -1]], np.int64)}, [col])
    var = tf.global_variables()[0]
    g = tf.gradients(tf.reduce_sum(out), [var])[0]
    assert isinstance(g, tf.IndexedSlices)
    table = _run(var)
    assert abs(table.std() - 0.25 * 0.88) < 0.03 and np.abs(table).max() <= 0.5 + 1e-6
    tf.reset_default_graph()
    col = fc.embedding_column(ident, 4, combiner="sum", max_norm=0.1, initializer=tf.ones_initializer())
    out = fc.input_layer({"i": np.array([[3, 7], [5, -1]], np.int64)}, [col])
    np.testing.assert_allclose(_run(out), [[0.1] * 4, [0.05] * 4], rtol=1e-5)


def test_shared_embeddings_share_one_variable():
    a = fc.categorical_column_with_identity("a", 4)
    b = fc.categorical_column_with_identity("b", 4)
    ea, eb = fc.shared_embeddings([a, b], 2, combiner="sum")
    out = fc.input_layer({"a": np.array([1, 2], np.int64), "b": np.array([3, -1], np.int64)}, [eb, ea])
    vs = tf.global_variables()
    assert [v.name for v in vs] == ["input_layer/a_b_shared_embedding/embedding_weights:0"]
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got, t = s.run([out, vs[0]])
    np.testing.assert_allclose(got, np.concatenate([t[[1, 2]], np.stack([t[3], np.zeros(2)])], 1), rtol=1e-6)
    fc.input_layer({"a": np.array([1], np.int64), "b": np.array([1], np.int64)}, fc.shared_embedding_columns([a, b], 2))
    assert len(tf.global_variables()) == 1  # same default collection name: the same table


def test_linear_model_vs_numpy():
    ident = fc.categorical_column_with_identity("i", 4)
    w = fc.weighted_categorical_column(fc.categorical_column_with_identity("j", 3), "jw")
    num = fc.numeric_column("x", shape=(2,))
    feats = {"i": np.array([[1, 3], [2, -1], [-1, -1]], np.int64), "x": np.array([[1, 2], [3, 4], [5, 6]], np.float32),
             "j": _sparse([[0, 2], [1], []]), "jw": _sparse([[2.0, 0.5], [4.0], []], np.float32)}
    ctv = {}
    with tf.variable_scope("linear"):
        out = fc.linear_model(feats, [num, w, ident], units=2, sparse_combiner="mean", cols_to_vars=ctv,
                              weight_collections=["my_weights"])
    names = sorted(v.name for v in tf.global_variables())
    assert names == ["linear/linear_model/bias_weights:0", "linear/linear_model/i/weights:0",
                     "linear/linear_model/j_weighted_by_jw/weights:0", "linear/linear_model/x/weights:0"]
    assert len(tf.get_collection("my_weights")) == 4 and ctv["bias"][0].name.endswith("bias_weights:0")
    rng = np.random.RandomState(0)
    vals = {v: rng.randn(*v.shape.as_list()).astype(np.float32) for v in tf.global_variables()}
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        assert np.all(s.run(out) == 0)
        for v, a in vals.items():
            v.load(a, s)
        got = s.run(out)
    wi, wj, wx, b = vals[ctv[ident][0]], vals[ctv[w][0]], vals[ctv[num][0]], vals[ctv["bias"][0]]
    want = feats["x"] @ wx + b
    want += np.stack([(wi[1] + wi[3]) / 2, wi[2], np.zeros(2)])
    want += np.stack([(2 * wj[0] + 0.5 * wj[2]) / 2.5, wj[1], np.zeros(2)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_dense_features_reuses_variables():
    col = fc.embedding_column(fc.categorical_column_with_identity("i", 5), 3)
    layer = fc.DenseFeatures([col, fc.numeric_column("x")])
    o1 = layer({"i": np.array([1, 2], np.int64), "x": [1.0, 2.0]})
    o2 = layer({"i": np.array([1, 2], np.int64), "x": [1.0, 2.0]})
    assert [v.name for v in tf.global_variables()] == ["dense_features/i_embedding/embedding_weights:0"]
    assert len(layer.trainable_variables) == 1
    a, b = _run([o1, o2])
    np.testing.assert_allclose(a, b)
    assert a.shape == (2, 4)


def test_sequence_input_layer():
    s = fc.sequence_numeric_column("s", shape=(2,), default_value=-1.0)
    e = fc.embedding_column(fc.sequence_categorical_column_with_identity("t", 4), 2)
    feats = {"s": _sparse([[1, 2, 3, 4], [5, 6]], np.float32, width=4), "t": _sparse([[1, 3], [2]], width=2)}
    out, lengths = fc.sequence_input_layer(feats, [s, e])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got, n, table = sess.run([out, lengths, tf.global_variables()[0]])
    np.testing.assert_allclose(got[..., :2], [[[1, 2], [3, 4]], [[5, 6], [-1, -1]]])
    np.testing.assert_allclose(got[..., 2:], [[table[1], table[3]], [table[2], [0, 0]]], rtol=1e-6)
    assert n.tolist() == [2, 1]
    with pytest.raises(ValueError, match="SequenceCategoricalColumn"):
        fc.input_layer(feats, [e])
