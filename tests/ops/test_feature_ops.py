"""Feature-column ops (hash buckets, fingerprints, as_string, vocabulary lookups, bucketize,
hashed sparse crosses) against TensorFlow 2.15 reference values in tests/fixtures/feature_ops.json
(regenerate with /work/tfvenv/bin/python tests/fixtures/make_feature_ops.py)."""
import json
import os

import numpy as np
import pytest

import nestor as tf
from nestor.ops import feature_ops as fo

FIX = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "feature_ops.json"), encoding="utf-8"))


def run(fn, *feeds):
    """Builds fn(*placeholders) for the given numpy values and runs it."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(np.asarray(x).dtype), np.shape(x)) for x in feeds]
        out = fn(*phs)
        with tf.Session() as s:
            return s.run(out, dict(zip(phs, feeds)))


def strs(xs):
    return np.array([x.encode("utf-8") for x in xs], dtype=object)


def u64(x):
    return np.asarray(x, dtype=np.int64).view(np.uint64)


# ---------------------------------------------------------------- hashing
def test_fixture_covers_every_farmhash_length_branch():
    lens = {len(s.encode()) for s in FIX["strings"]}
    assert {0, 1, 3, 4, 8, 16, 17, 32, 33, 64, 65, 128, 129, 1000} <= lens


def test_fingerprint64_matches_tensorflow():
    got = run(fo.fingerprint, strs(FIX["strings"]))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(u64(got), np.array(FIX["fingerprint64"], dtype=np.uint64))


@pytest.mark.parametrize("nb", sorted(FIX["hash_buckets"], key=int))
def test_string_to_hash_bucket_fast_matches_tensorflow(nb):
    got = run(lambda x: fo.string_to_hash_bucket_fast(x, int(nb)), strs(FIX["strings"]))
    np.testing.assert_array_equal(got, np.array(FIX["hash_buckets"][nb], dtype=np.int64))


def test_hash_bucket_keeps_shape_and_accepts_python_lists():
    s = strs(FIX["strings"][:12]).reshape(3, 4)
    got = run(lambda x: fo.to_hash_bucket_fast(x, 1000), s)
    assert got.shape == (3, 4) and got.dtype == np.int64
    np.testing.assert_array_equal(got.reshape(-1), FIX["hash_buckets"]["1000"][:12])
    with tf.Graph().as_default():
        v = tf.Session().run(fo.string_to_hash_bucket_fast(FIX["strings"][:5], 7))
    np.testing.assert_array_equal(v, FIX["hash_buckets"]["7"][:5])


@pytest.mark.parametrize("dtype,key", [(np.int64, "ints"), (np.int32, "ints32")])
def test_as_string_ints_matches_tensorflow(dtype, key):
    got = run(fo.as_string, np.array(FIX[key], dtype=dtype))
    want = FIX["as_string_int64" if dtype == np.int64 else "as_string_int32"]
    assert [x.decode() for x in got] == want == [str(x) for x in FIX[key]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_as_string_floats_and_bools_match_tensorflow(dtype):
    got = run(fo.as_string, np.array([float(x) for x in FIX["floats"]], dtype=dtype))
    assert [x.decode() for x in got] == FIX[f"as_string_{dtype}"]
    assert [x.decode() for x in run(fo.as_string, np.array([True, False]))] == FIX["as_string_bool"]


def test_hash_bucket_of_as_string_ints_matches_tensorflow():
    got = run(lambda x: fo.string_to_hash_bucket_fast(fo.as_string(x), 100), np.array(FIX["ints"], np.int64))
    np.testing.assert_array_equal(got, FIX["int_hash_buckets_100"])


# ---------------------------------------------------------------- vocab_lookup
V = FIX["vocab"]


@pytest.mark.parametrize("oov", [1, 3, 10])
def test_vocab_lookup_string_oov_matches_tensorflow(oov):
    got = run(lambda x: fo.vocab_lookup(x, V["vocab"], num_oov_buckets=oov), strs(V["keys"]))
    np.testing.assert_array_equal(got, V[f"oov{oov}"])


@pytest.mark.parametrize("dflt", [-1, 99])
def test_vocab_lookup_string_default_value(dflt):
    got = run(lambda x: fo.vocab_lookup(x, V["vocab"], default_value=dflt), strs(V["keys"]))
    np.testing.assert_array_equal(got, V[f"default{dflt}"])


@pytest.mark.parametrize("oov", [0, 1, 4])
def test_vocab_lookup_int_keys(oov):
    keys = np.array(V["int_keys"], np.int64)
    got = run(lambda x: fo.vocab_lookup(x, V["int_vocab"], num_oov_buckets=oov), keys)
    np.testing.assert_array_equal(got, V[f"int_oov{oov}"] if oov else V["int_default-1"])
    k32 = keys[np.abs(keys) < 2 ** 31]  # int32 input: same ids as the int64 keys
    got32 = run(lambda x: fo.vocab_lookup(x, V["int_vocab"], num_oov_buckets=oov), k32.astype(np.int32))
    np.testing.assert_array_equal(got32, got[np.abs(keys) < 2 ** 31])


def test_vocab_lookup_matches_categorical_column_and_keeps_shape():
    col = V["column_oov3"]
    keys = [k for k in V["keys"] if k != ""]  # the column drops missing ('') entries
    got = run(lambda x: fo.vocab_lookup(x, V["vocab"], num_oov_buckets=3), strs(keys).reshape(1, -1))
    assert got.shape == (1, len(keys))
    np.testing.assert_array_equal(got[0], col["values"])


def test_vocab_lookup_table_is_cached_and_rebuilt_per_graph():
    for vocab, want in ((["a", "b"], [0, 1, -1]), (["b", "a"], [1, 0, -1]), (["c"], [-1, -1, 0])):
        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(tf.string, [3])
            y = fo.vocab_lookup(x, vocab)
            s = tf.Session()
            for _ in range(2):
                np.testing.assert_array_equal(s.run(y, {x: strs(["a", "b", "c"])}), want)
        del g, s, x, y


def test_vocab_lookup_empty_vocabulary():
    got = run(lambda x: fo.vocab_lookup(x, [], num_oov_buckets=2), strs(V["keys"]))
    want = np.array(run(lambda x: fo.string_to_hash_bucket_fast(x, 2), strs(V["keys"])))
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- bucketize
B = FIX["bucketize"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bucketize_floats_match_tensorflow(dtype):
    x = np.array([float(v) for v in B["x"]], dtype=dtype)  # -inf, boundaries exactly, +inf, NaN
    got = run(lambda t: fo.bucketize(t, B["boundaries"]), x)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, B[dtype])


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_bucketize_ints_match_tensorflow(dtype):
    x = np.array(B["int_x"][:len(B[dtype])], dtype=dtype)
    np.testing.assert_array_equal(run(lambda t: fo.bucketize(t, B["boundaries"]), x), B[dtype])


def test_bucketize_bisect_right_and_empty_boundaries():
    x = np.array([[-1.0, 0.0, 0.5], [1.0, 1.5, 9.0]])
    b = [0.0, 1.0, 1.0, 2.0]
    got = run(lambda t: fo.bucketize(t, b), x)
    np.testing.assert_array_equal(got, np.searchsorted(b, x, side="right"))
    np.testing.assert_array_equal(run(lambda t: fo.bucketize(t, []), np.array([1.0, -1.0], np.float32)),
                                  B["empty_boundaries"])
    with tf.Graph().as_default():  # integer boundaries are taken as floats
        np.testing.assert_array_equal(tf.Session().run(fo.bucketize(tf.constant([0, 5, 10]), [5, 10])), [0, 1, 2])


# ---------------------------------------------------------------- sparse_cross_hashed
def sparse_value(rows, kind):
    idx = [[b, j] for b, r in enumerate(rows) for j in range(len(r))]
    vals = [v for r in rows for v in r]
    width = max([len(r) for r in rows] + [1])
    values = strs(vals) if kind == "s" else np.array(vals, dtype=np.int64)
    return np.array(idx, np.int64).reshape(-1, 2), values, np.array([len(rows), width], np.int64)


def cross_of(columns, **kw):
    feeds = []
    for c in columns:
        feeds += list(sparse_value(c["rows"], c["kind"]))

    def build(*phs):
        sts = [tf.SparseTensor(phs[3 * i], phs[3 * i + 1], phs[3 * i + 2]) for i in range(len(columns))]
        out = fo.sparse_cross_hashed(sts, **kw)
        return [out.indices, out.values, out.dense_shape]
    return run(build, *feeds)


@pytest.mark.parametrize("case", FIX["crosses"], ids=lambda c: f"{c['name']}-nb{c['num_buckets']}-key{c['hash_key']}")
def test_sparse_cross_hashed_matches_tensorflow(case):
    ind, val, shp = cross_of(case["columns"], num_buckets=case["num_buckets"], hash_key=case["hash_key"])
    r = case["result"]
    np.testing.assert_array_equal(ind.reshape(-1, 2), np.array(r["indices"], np.int64).reshape(-1, 2))
    np.testing.assert_array_equal(val, r["values"])
    np.testing.assert_array_equal(shp, r["dense_shape"])


def test_sparse_cross_hashed_dense_inputs_go_after_sparse_ones():
    c = FIX["cross_dense_after_sparse"]
    i, v, s = sparse_value(c["sparse_rows"], "s")
    d = strs([x for r in c["dense"] for x in r]).reshape(len(c["dense"]), -1)

    def build(pi, pv, ps, pd):
        out = fo.sparse_cross_hashed([pd, tf.SparseTensor(pi, pv, ps)], num_buckets=c["num_buckets"])
        return [out.indices, out.values, out.dense_shape]
    ind, val, shp = run(build, i, v, s, d)
    np.testing.assert_array_equal(ind, c["result"]["indices"])
    np.testing.assert_array_equal(val, c["result"]["values"])
    np.testing.assert_array_equal(shp, c["result"]["dense_shape"])


def test_crossed_column_of_string_key_and_vocabulary_column():
    # TF: crossed_column(["k1", vocabulary_list column]) -> the vocabulary ids (sparse, '' dropped)
    # are crossed first, then the raw dense strings of k1 (every entry, '' included).
    c = FIX["crossed_column"]
    k2_rows = [[x for x in r if x] for r in c["k2"]]
    ids = run(lambda x: fo.vocab_lookup(x, c["vocab"], num_oov_buckets=c["num_oov_buckets"]),
              strs([x for r in k2_rows for x in r]))
    it = iter(ids.tolist())
    id_rows = [[next(it) for _ in r] for r in k2_rows]
    dense_rows = c["k1"]
    ind, val, shp = cross_of([{"kind": "i", "rows": id_rows}, {"kind": "s", "rows": dense_rows}],
                             num_buckets=c["hash_bucket_size"])
    np.testing.assert_array_equal(ind, c["result"]["indices"])
    np.testing.assert_array_equal(val, c["result"]["values"])
    np.testing.assert_array_equal(shp, c["result"]["dense_shape"])


def test_sparse_cross_hashed_unsorted_rows_and_empty_batch():
    # entries grouped by example, order within an example kept
    a = (np.array([[1, 0], [0, 0], [1, 1]], np.int64), strs(["b", "a", "c"]), np.array([2, 2], np.int64))
    b = (np.array([[0, 0], [1, 0]], np.int64), strs(["x", "y"]), np.array([2, 1], np.int64))

    def build(*p):
        out = fo.sparse_cross_hashed([tf.SparseTensor(*p[:3]), tf.SparseTensor(*p[3:])], num_buckets=1000)
        return [out.indices, out.values, out.dense_shape]
    ind, val, shp = run(build, *a, *b)
    ref = cross_of([{"kind": "s", "rows": [["a"], ["b", "c"]]}, {"kind": "s", "rows": [["x"], ["y"]]}],
                   num_buckets=1000)
    for x, y in zip((ind, val, shp), ref):
        np.testing.assert_array_equal(x, y)
    empty = cross_of([{"kind": "s", "rows": [[], []]}, {"kind": "i", "rows": [[1], [2]]}], num_buckets=10)
    assert empty[0].shape == (0, 2) and empty[1].shape == (0,) and list(empty[2]) == [2, 0]


# ---------------------------------------------------------------- errors
def test_errors():
    with tf.Graph().as_default():
        s = tf.constant(["a"])
        with pytest.raises(ValueError, match="num_buckets must be >= 1, got 0"):
            fo.string_to_hash_bucket_fast(s, 0)
        with pytest.raises(Exception, match="num_buckets must be >= 1, got -3"):
            tf.get_default_graph().create_op("string_to_hash_bucket_fast", [s], {"num_buckets": -3})
        with pytest.raises(Exception, match="input must be a string tensor, got float32"):
            tf.get_default_graph().create_op("string_to_hash_bucket_fast", [tf.constant([1.0])],
                                             {"num_buckets": 3})
        with pytest.raises(Exception, match="duplicate key 'a'"):
            fo.vocab_lookup(s, ["a", "b", "a"])
        with pytest.raises(Exception, match="string keys need a string input"):
            tf.get_default_graph().create_op("vocab_lookup", [tf.constant([1], tf.int64)], {"keys": ["a"]})
        with pytest.raises(Exception, match="boundaries must be sorted"):
            fo.bucketize(tf.constant([1.0]), [1.0, 0.0])
        with pytest.raises(Exception, match="column 0 has indices of shape \\(3, 2\\) but values of shape \\(2,\\)"):
            fo.sparse_cross_hashed([tf.SparseTensor(np.zeros((3, 2), np.int64), ["a", "b"], [1, 1]),
                                    tf.SparseTensor(np.zeros((1, 2), np.int64), ["x"], [1, 1])])
        with pytest.raises(ValueError, match="num_buckets must be >= 0"):
            fo.sparse_cross_hashed([tf.SparseTensor(np.zeros((1, 2), np.int64), ["a"], [1, 1])], num_buckets=-1)
        # mismatched sparse inputs at run time: an example index outside the batch
        i0 = tf.placeholder(tf.int64, [None, 2])
        out = fo.sparse_cross_hashed([tf.SparseTensor(i0, tf.constant(["a"]), [2, 1]),
                                      tf.SparseTensor(np.zeros((1, 2), np.int64), ["x"], [2, 1])], num_buckets=5)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[0, 0\] = 7 is outside the batch \[0, 2\)"):
            tf.Session().run(out.values, {i0: np.array([[7, 0]], np.int64)})
        i1 = tf.placeholder(tf.int64, [None, 2])
        out = fo.sparse_cross_hashed([tf.SparseTensor(i1, tf.constant(["a"]), [2, 1])], num_buckets=5)
        with pytest.raises(tf.errors.InvalidArgumentError, match="do not form a 2-D SparseTensor"):
            tf.Session().run(out.values, {i1: np.zeros((2, 2), np.int64)})


# ---------------------------------------------------------------- a million strings
def test_hashing_and_vocab_lookup_of_a_million_strings():
    # The strings are a graph constant behind placeholder_with_default (never folded). Their
    # speed is measured by benchmarks/feature_ops.py; here the results are checked.
    rng = np.random.default_rng(0)
    words = np.array([f"word{i}".encode() for i in range(1000)], dtype=object)
    pick = rng.integers(0, 1000, 900_000)
    data = np.concatenate([words[pick], np.array([f"oov{i}".encode() for i in range(100_000)], dtype=object)])
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder_with_default(tf.constant(data), [None])
        h = fo.string_to_hash_bucket_fast(x, 1 << 20)
        v = fo.vocab_lookup(x, [w.decode() for w in words], num_oov_buckets=10)
        word_h = fo.string_to_hash_bucket_fast(tf.constant(words), 1 << 20)
        s = tf.Session()
        hashes, ids, word_hashes = s.run([h, v, word_h])
    np.testing.assert_array_equal(ids[:900_000], pick)  # in-vocabulary: the word's index
    assert ((ids[900_000:] >= 1000) & (ids[900_000:] < 1010)).all()
    np.testing.assert_array_equal(hashes[:900_000], word_hashes[pick])  # same string, same bucket in a batch of 1e6
    assert ((hashes >= 0) & (hashes < 1 << 20)).all()
