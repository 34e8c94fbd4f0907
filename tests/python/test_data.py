"""nestor.data: datasets, transformations, TF1 iterators, readers."""
import collections
import random
import threading
import time

import numpy as np
import pandas as pd
import pytest

import nestor as tf
from nestor import data
from nestor.data import Dataset, TensorSpec


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def rows(ds):
    return list(ds)


def test_from_tensor_slices_values_and_dtypes():
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    assert [r.tolist() for r in rows(Dataset.from_tensor_slices(x))] == x.tolist()
    spec = Dataset.from_tensor_slices(x).element_spec
    assert spec == TensorSpec([2], tf.float64)
    assert Dataset.from_tensor_slices([1.5, 2.5]).element_spec.dtype == tf.float32
    assert Dataset.from_tensor_slices([1, 2]).element_spec.dtype == tf.int32
    s = rows(Dataset.from_tensor_slices(["a", "bc"]))
    assert s == ["a", "bc"] and Dataset.from_tensor_slices(["a"]).element_spec.dtype == tf.string


def test_structures_tuple_dict_namedtuple_dataframe():
    feats = {"a": np.arange(4), "b": np.arange(4) * 1.5}
    ds = Dataset.from_tensor_slices((feats, np.arange(4) % 2))
    out = rows(ds)
    assert out[3][0]["a"] == 3 and out[3][0]["b"] == 4.5 and out[3][1] == 1
    assert isinstance(ds.output_types, tuple) and ds.output_types[0]["b"] == tf.float64
    Pt = collections.namedtuple("Pt", "x y")
    p = rows(Dataset.from_tensor_slices(Pt(np.arange(3), np.arange(3) * 2)))
    assert isinstance(p[2], Pt) and p[2].y == 4
    df = pd.DataFrame({"u": [1.0, 2.0], "s": ["p", "q"]})
    d = rows(Dataset.from_tensor_slices(dict(df)))
    assert d[1]["u"] == 2.0 and d[1]["s"] == "q"
    d2 = rows(Dataset.from_tensor_slices(df))
    assert d2[0] == {"u": 1.0, "s": "p"}
    assert rows(Dataset.from_tensor_slices(pd.Series([3, 4]))) == [3, 4]


def test_from_tensor_slices_length_mismatch():
    with pytest.raises(ValueError, match="same number of rows"):
        Dataset.from_tensor_slices((np.arange(3), np.arange(4)))


def test_from_tensors_and_range_and_zip():
    t = rows(Dataset.from_tensors((np.arange(3), 1.0)))
    assert len(t) == 1 and t[0][0].tolist() == [0, 1, 2]
    assert rows(Dataset.range(2, 11, 3)) == [2, 5, 8]
    assert Dataset.range(3).element_spec == TensorSpec([], tf.int64)
    z = rows(Dataset.zip((Dataset.range(5), Dataset.from_tensor_slices(np.arange(3) * 10.0))))
    assert z == [(0, 0.0), (1, 10.0), (2, 20.0)]
    zd = rows(Dataset.zip({"a": Dataset.range(2), "b": Dataset.range(10, 12)}))
    assert zd == [{"a": 0, "b": 10}, {"a": 1, "b": 11}]


def test_batch_and_drop_remainder():
    x = np.arange(10)
    b = rows(Dataset.from_tensor_slices(x).batch(4))
    assert [v.tolist() for v in b] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert Dataset.from_tensor_slices(x).batch(4).element_spec.shape.as_list() == [None]
    d = Dataset.from_tensor_slices(x).batch(4, drop_remainder=True)
    assert [v.tolist() for v in rows(d)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert d.element_spec.shape.as_list() == [4]
    nested = rows(Dataset.from_tensor_slices(x).batch(2).batch(2))
    assert nested[0].tolist() == [[0, 1], [2, 3]] and nested[2].tolist() == [[8, 9]]


def test_repeat_and_batch_cross_epoch_boundaries():
    x = np.arange(5)
    b = rows(Dataset.from_tensor_slices(x).repeat(3).batch(4))
    flat = np.concatenate(b)
    assert flat.tolist() == list(range(5)) * 3
    assert [len(v) for v in b] == [4, 4, 4, 3]
    inf = Dataset.from_tensor_slices(x).repeat().batch(3)
    it = iter(inf)
    got = np.concatenate([next(it) for _ in range(7)])
    assert got.tolist() == (list(range(5)) * 5)[:21]
    assert rows(Dataset.from_tensor_slices(np.arange(0)).repeat()) == []


def test_shuffle_is_seeded_permutation_and_reshuffles():
    x = np.arange(100)
    ds = Dataset.from_tensor_slices(x).shuffle(1000, seed=7)
    e1, e2 = np.array(rows(ds)), np.array(rows(ds))
    assert sorted(e1.tolist()) == list(range(100)) and sorted(e2.tolist()) == list(range(100))
    assert e1.tolist() != x.tolist() and e1.tolist() != e2.tolist()
    again = np.array(rows(Dataset.from_tensor_slices(x).shuffle(1000, seed=7)))
    assert again.tolist() == e1.tolist()
    fixed = Dataset.from_tensor_slices(x).shuffle(1000, seed=3, reshuffle_each_iteration=False)
    assert rows(fixed) == rows(fixed)
    ep = np.concatenate(rows(Dataset.from_tensor_slices(x).shuffle(100, seed=1).repeat(2).batch(30)))
    assert sorted(ep[:100].tolist()) == list(range(100)) and sorted(ep[100:].tolist()) == list(range(100))
    assert ep[:100].tolist() != ep[100:].tolist()


def test_small_shuffle_buffer_is_local():
    x = np.arange(5000)
    out = np.array(rows(Dataset.from_tensor_slices(x).shuffle(10, seed=0)))
    assert sorted(out.tolist()) == x.tolist()
    # an element can't be emitted before it entered the buffer: position >= value - buffer_size
    assert np.all(np.arange(5000) >= out - 10)
    assert not np.array_equal(out, x)


def test_shuffle_keeps_rows_of_components_together():
    x = np.arange(300)
    out = rows(Dataset.from_tensor_slices({"a": x, "b": x * 2.0, "s": x.astype(str)}).shuffle(50, seed=2).batch(64))
    for b in out:
        assert np.array_equal(b["b"], b["a"] * 2.0) and b["s"].tolist() == [str(v) for v in b["a"]]


def test_map_filter_take_skip():
    ds = Dataset.range(10)
    assert rows(ds.map(lambda v: v * 2)) == [2 * i for i in range(10)]
    assert rows(ds.filter(lambda v: v % 3 == 0)) == [0, 3, 6, 9]
    assert rows(ds.take(3)) == [0, 1, 2] and rows(ds.skip(7)) == [7, 8, 9]
    assert rows(ds.take(-1)) == list(range(10)) and rows(ds.skip(-1)) == []
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10)).map(lambda a, b: {"s": a + b})
    assert [r["s"] for r in rows(pairs)] == [0, 11, 22, 33]
    batched = Dataset.from_tensor_slices(np.arange(10.0)).batch(4).map(lambda v: v.sum())
    assert rows(batched) == [6.0, 22.0, 17.0]
    spec = Dataset.from_tensor_slices(np.ones((10, 3))).batch(4).map(lambda v: v * 2).element_spec
    assert spec.shape.as_list() == [None, 3] and spec.dtype == tf.float64
    par = rows(Dataset.range(50).map(lambda v: v + 1, num_parallel_calls=4))
    assert par == list(range(1, 51))


def test_map_with_nestor_ops_is_traced_and_filter_with_them_explains():
    # A map function built from nestor ops runs as a graph per element (see test_tfrecord.py for more).
    assert rows(Dataset.range(3).map(lambda v: tf.cast(v, tf.float32) * 2.0 + tf.constant(1.0))) == [1.0, 3.0, 5.0]
    with pytest.raises(TypeError, match="receives numpy values"):
        rows(Dataset.range(3).filter(lambda v: tf.constant(True)))


def test_from_generator():
    def gen(n):
        for i in range(int(n)):
            yield i, [float(i)] * 2

    ds = Dataset.from_generator(gen, output_types=(tf.int64, tf.float32), output_shapes=((), (2,)), args=(3,))
    out = rows(ds)
    assert [o[0] for o in out] == [0, 1, 2] and out[2][1].tolist() == [2.0, 2.0]
    assert out[0][1].dtype == np.float32 and ds.element_spec[1] == TensorSpec([2], tf.float32)
    sig = Dataset.from_generator(lambda: iter([np.ones(2), np.ones(3)]),
                                 output_signature=TensorSpec([None], tf.float64))
    assert [len(v) for v in rows(sig)] == [2, 3]
    bad = Dataset.from_generator(lambda: iter([[1, 2, 3]]), output_types=tf.int32, output_shapes=[2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="shape"):
        rows(bad)
    batched = rows(Dataset.from_generator(lambda: iter(range(7)), output_types=tf.int64).batch(3))
    assert [b.tolist() for b in batched] == [[0, 1, 2], [3, 4, 5], [6]]


def test_cache_concatenate_unbatch():
    calls = []

    def gen():
        calls.append(1)
        yield from range(3)

    c = Dataset.from_generator(gen, output_types=tf.int64).cache()
    assert rows(c) == [0, 1, 2] and rows(c) == [0, 1, 2] and len(calls) == 1
    assert rows(Dataset.range(2).concatenate(Dataset.range(5, 7))) == [0, 1, 5, 6]
    assert rows(Dataset.range(5).batch(2).unbatch()) == [0, 1, 2, 3, 4]


def test_prefetch_propagates_exceptions_and_stops():
    def gen():
        yield 1
        yield 2
        raise RuntimeError("boom in generator")

    ds = Dataset.from_generator(gen, output_types=tf.int32).prefetch(2)
    it = iter(ds)
    with pytest.raises(RuntimeError, match="boom"):
        for _ in range(5):
            next(it)
    before = {t for t in threading.enumerate() if t.name.startswith("nestor.data")}
    inf = iter(Dataset.range(10**9).prefetch(4))
    assert next(inf) == 0
    inf.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        alive = {t for t in threading.enumerate() if t.name.startswith("nestor.data") and t.is_alive()} - before
        if not alive:
            break
        time.sleep(0.02)
    assert not alive
    assert rows(Dataset.range(1000).batch(7).prefetch(1).unbatch()) == list(range(1000))


def test_one_shot_iterator_feeds_session():
    ds = Dataset.from_tensor_slices(({"x": np.arange(5.0)}, np.arange(5))).batch(2)
    it = data.make_one_shot_iterator(ds)
    feats, label = it.get_next()
    assert feats["x"].dtype == tf.float64 and feats["x"].shape.as_list() == [None]
    y = feats["x"] * 2.0
    g = tf.get_default_graph()
    with tf.Session() as sess:
        got = []
        while True:
            try:
                got.append(sess.run((y, label), feed_dict=data.iterator_feeds(g, [y, label])))
            except tf.errors.OutOfRangeError as e:
                assert "End of sequence" in str(e)
                break
    assert [v[0].tolist() for v in got] == [[0.0, 2.0], [4.0, 6.0], [8.0]]
    assert [v[1].tolist() for v in got] == [[0, 1], [2, 3], [4]]
    assert data.iterator_feeds(g, [tf.constant(1.0)]) == {}


def test_initializable_iterator_restarts():
    ds = Dataset.range(3)
    it = ds.make_initializable_iterator()
    nxt = it.get_next()
    g = tf.get_default_graph()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            data.iterator_feeds(g, [nxt])
        for _ in range(2):
            sess.run(it.initializer, feed_dict=data.iterator_feeds(g, [it.initializer]))
            vals = [sess.run(nxt, feed_dict=data.iterator_feeds(g, [nxt])) for _ in range(3)]
            assert vals == [0, 1, 2]
            with pytest.raises(tf.errors.OutOfRangeError):
                data.iterator_feeds(g, [nxt])
    fed = data.iterator_feeds(g, [nxt * 2], feed_dict={nxt: 5})
    assert fed == {}


def test_csv_reads_back(tmp_path):
    df = pd.DataFrame({"i": [1, 2, 3, 4, 5], "f": [0.5, 1.25, -2.0, 3.0, 4.5],
                       "s": ["a", "b,c", "d", "true", "2020-01-01"], "flag": ["true", "false", "true", "true", "false"],
                       "label": [0, 1, 0, 1, 1]})
    df.iloc[:3].to_csv(tmp_path / "a.csv", index=False)
    df.iloc[3:].to_csv(tmp_path / "b.csv", index=False)
    ds = data.experimental.make_csv_dataset(str(tmp_path / "*.csv"), batch_size=2, label_name="label",
                                            num_epochs=1, shuffle=False)
    spec = ds.element_spec
    assert spec[0]["i"].dtype == tf.int32 and spec[0]["f"].dtype == tf.float32
    assert spec[0]["s"].dtype == tf.string and spec[0]["flag"].dtype == tf.string and spec[1].dtype == tf.int32
    out = rows(ds)
    feats = {k: np.concatenate([b[0][k] for b in out]) for k in spec[0]}
    assert feats["i"].tolist() == df["i"].tolist() and feats["f"].tolist() == df["f"].tolist()
    assert feats["s"].tolist() == df["s"].tolist() and feats["flag"].tolist() == df["flag"].tolist()
    assert np.concatenate([b[1] for b in out]).tolist() == df["label"].tolist()
    shuffled = rows(data.experimental.make_csv_dataset(str(tmp_path / "*.csv"), batch_size=10, label_name="label",
                                                       num_epochs=2, shuffle_seed=1))
    assert sorted(np.concatenate([b[0]["i"] for b in shuffled]).tolist()) == sorted(df["i"].tolist() * 2)


def test_csv_defaults_missing_values_and_errors(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("x;y;z\n1;;q\n2;3.5;\n")
    ds = data.experimental.make_csv_dataset(str(p), 4, column_defaults=[0, -1.0, "dflt"], field_delim=";",
                                            select_columns=["x", "y", "z"], num_epochs=1, shuffle=False)
    (b,) = rows(ds)
    assert b["y"].tolist() == [-1.0, 3.5] and b["z"].tolist() == ["q", ""]
    with pytest.raises(tf.errors.InvalidArgumentError, match="required but missing"):
        rows(data.experimental.make_csv_dataset(str(p), 4, field_delim=";", num_epochs=1, shuffle=False))
    with pytest.raises(ValueError, match="label_name"):
        data.experimental.make_csv_dataset(str(p), 4, field_delim=";", label_name="nope")
    with pytest.raises(ValueError, match="column names"):
        data.experimental.make_csv_dataset(str(p), 4, header=False)
    with pytest.raises(tf.errors.NotFoundError):
        data.experimental.make_csv_dataset(str(tmp_path / "none*.csv"), 4)


def test_parquet_reads_back(tmp_path):
    n = 23
    df = pd.DataFrame({"a": np.arange(n, dtype=np.int64), "f": np.linspace(0, 1, n),
                       "g": np.arange(n, dtype=np.float32), "s": [f"r{i}" for i in range(n)],
                       "v": [np.arange(3) + i for i in range(n)], "lab": np.arange(n) % 2 == 0})
    df.to_parquet(tmp_path / "d.parquet", row_group_size=5)
    ds = data.experimental.make_parquet_dataset(str(tmp_path / "d.parquet"), 8, label_name="lab", num_epochs=1,
                                                shuffle=False)
    spec = ds.element_spec
    assert spec[0]["f"].dtype == tf.float64 and spec[0]["g"].dtype == tf.float32 and spec[1].dtype == tf.bool
    out = rows(ds)
    assert [len(b[1]) for b in out] == [8, 8, 7]
    cat = {k: np.concatenate([b[0][k] for b in out]) for k in spec[0]}
    assert cat["a"].tolist() == df["a"].tolist() and np.array_equal(cat["f"], df["f"].to_numpy())
    assert cat["s"].tolist() == df["s"].tolist() and cat["v"].tolist() == [v.tolist() for v in df["v"]]
    assert np.concatenate([b[1] for b in out]).tolist() == df["lab"].tolist()
    sub = rows(data.experimental.ParquetDataset(str(tmp_path / "d.parquet"), columns=["s"]).take(2))
    assert sub == [{"s": "r0"}, {"s": "r1"}]


def test_text_line_dataset(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"one\r\ntwo\n\nthree\n")
    assert rows(data.TextLineDataset(str(p))) == [b"one", b"two", b"", b"three"]


def _buffer_shuffle_reference(n: int, b: int, rng: random.Random) -> list:
    """TF's shuffle buffer, element by element: emit a random slot, refill it with the next row."""
    buf, out = list(range(min(b, n))), []
    for x in range(len(buf), n):
        j = rng.randrange(len(buf))
        out.append(buf[j])
        buf[j] = x
    while buf:
        out.append(buf.pop(rng.randrange(len(buf))))
    return out


@pytest.mark.parametrize("n,b", [(8, 3), (6, 10)])
def test_repeated_in_memory_shuffle_matches_the_buffer_distribution(n, b):
    epochs = 12000
    ds = Dataset.from_tensor_slices(np.arange(n)).shuffle(b, seed=5).repeat(epochs).batch(5)
    got = np.concatenate(rows(ds)).reshape(epochs, n)
    assert np.array_equal(np.sort(got, axis=1), np.broadcast_to(np.arange(n), (epochs, n)))
    pos = np.broadcast_to(np.arange(n), (epochs, n))
    assert np.all(pos >= got - b)  # a row is emitted only after it entered the buffer
    rng = random.Random(0)
    ref = np.array([_buffer_shuffle_reference(n, b, rng) for _ in range(epochs)])
    freq = lambda o: np.stack([(o == v).mean(axis=0) for v in range(n)])  # noqa: E731  [value, position]
    assert np.abs(freq(got) - freq(ref)).max() < 0.03
    again = np.concatenate(rows(Dataset.from_tensor_slices(np.arange(n)).shuffle(b, seed=5).repeat(epochs)
                                .batch(5))).reshape(epochs, n)
    assert np.array_equal(got, again) and len({tuple(r) for r in got[:50].tolist()}) > 10
    fixed = Dataset.from_tensor_slices(np.arange(n)).shuffle(b, seed=5, reshuffle_each_iteration=False).repeat(3)
    f = np.array(rows(fixed)).reshape(3, n)
    assert np.array_equal(f[0], f[1]) and np.array_equal(f[0], f[2])
