"""TFRecord files: nestor writes the same bytes as TensorFlow 2.15 (files in tests/fixtures/tfrecord,
made by tests/fixtures/make_tfrecord.py) for every compression and reads TensorFlow's files back;
corrupt and truncated files fail with TensorFlow's DataLossError offsets; TFRecordDataset
interleaves files in TensorFlow's order; and a TFRecord -> parse_example input_fn trains an
Estimator exactly as gradient descent computed in numpy float64."""
import os
import struct

import numpy as np
import pytest

import nestor as tf
from nestor.framework import tf_record
from nestor.serving import serialize_example

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "tfrecord")
# As in tests/fixtures/make_tfrecord.py.
RECORDS = [b"", b"a", b"hello world", bytes(range(256)) * 3, b"\x00" * 3000]
COMPRESSIONS = ["", "ZLIB", "GZIP"]


def _fixture(compression):
    return os.path.join(FIXTURES, f"records_{compression.lower() or 'none'}.tfrecord")


def _starts(records):
    """Byte offset of each record in an uncompressed file."""
    return list(np.cumsum([0] + [16 + len(r) for r in records])[:-1])


def _crc32c(data):
    """Bitwise CRC-32C (Castagnoli), independent of nestor's native one."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data):
    c = _crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_reads_tensorflows_files_and_writes_the_same_bytes(tmp_path, compression):
    assert list(tf.io.tf_record_iterator(_fixture(compression), compression)) == RECORDS
    ds = tf.data.TFRecordDataset(_fixture(compression), compression_type=compression or None)
    assert ds.element_spec == tf.data.TensorSpec([], tf.string)
    assert [bytes(r) for r in ds.as_numpy_iterator()] == RECORDS
    path = tmp_path / "ours.tfrecord"
    with tf.io.TFRecordWriter(str(path), options=tf.io.TFRecordOptions(compression)) as w:
        for r in RECORDS:
            w.write(r)
    assert path.read_bytes() == open(_fixture(compression), "rb").read()


def test_record_layout_against_an_independent_crc(tmp_path):
    path = tmp_path / "r.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        w.write(b"123456789")
        w.write("text")  # str: written as UTF-8
    raw = path.read_bytes()
    pos, got = 0, []
    while pos < len(raw):
        (length,), (lcrc,) = struct.unpack_from("<Q", raw, pos), struct.unpack_from("<I", raw, pos + 8)
        assert lcrc == _masked(raw[pos:pos + 8])
        data = raw[pos + 12:pos + 12 + length]
        assert struct.unpack_from("<I", raw, pos + 12 + length)[0] == _masked(data)
        got.append(data)
        pos += 16 + length
    assert got == [b"123456789", b"text"]
    assert _crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_records_split_across_read_pieces(monkeypatch, compression):
    monkeypatch.setattr(tf_record, "_READ_SIZE", 7)
    assert list(tf_record.read_records(_fixture(compression), compression)) == RECORDS


def _read_until_error(path, compression=""):
    got = []
    with pytest.raises(tf.errors.DataLossError) as e:
        for r in tf.io.tf_record_iterator(path, compression):
            got.append(r)
    return got, str(e.value)


def test_corrupt_and_truncated_files_fail_at_tensorflows_offsets(tmp_path):
    raw = open(_fixture(""), "rb").read()
    starts = _starts(RECORDS)
    cases = {
        "truncated": (raw[:-3], 4, f"truncated record at {starts[4]}"),
        "header_cut": (raw[:starts[4] + 5], 4, f"truncated record at {starts[4]}"),
        "data_flipped": (raw[:starts[2] + 13] + bytes([raw[starts[2] + 13] ^ 1]) + raw[starts[2] + 14:], 2,
                         f"corrupted record at {starts[2] + 12}"),
        "length_flipped": (raw[:starts[3]] + bytes([raw[starts[3]] ^ 4]) + raw[starts[3] + 1:], 3,
                           f"corrupted record at {starts[3]}"),
    }
    for name, (data, n_good, message) in cases.items():
        path = tmp_path / f"{name}.tfrecord"
        path.write_bytes(data)
        got, err = _read_until_error(str(path))
        assert got == RECORDS[:n_good], name
        assert err.startswith(message), (name, err)
    # TF 2.15 on the same two damages: "truncated record at 60" / "corrupted record at 28" for its file of
    # [b"", b"a", b"hello world", ...]; those offsets are starts[3] and starts[1] + 12 here.
    assert (starts[3], starts[1] + 12) == (60, 28)
    gz = open(_fixture("GZIP"), "rb").read()
    (tmp_path / "cut.gz").write_bytes(gz[:len(gz) // 2])
    with pytest.raises(tf.errors.DataLossError, match="GZIP stream ends early"):
        list(tf.io.tf_record_iterator(str(tmp_path / "cut.gz"), "GZIP"))


def test_errors_for_bad_arguments(tmp_path):
    with pytest.raises(tf.errors.NotFoundError, match="missing.tfrecord; No such file or directory"):
        list(tf.data.TFRecordDataset(str(tmp_path / "missing.tfrecord")))
    with pytest.raises(ValueError, match='Not a valid compression_type: "BZ"'):
        tf.io.TFRecordWriter(str(tmp_path / "x"), options="BZ")
    with pytest.raises(ValueError, match='Not a valid compression_type: "LZ4"'):
        tf.data.TFRecordDataset(_fixture(""), compression_type="LZ4")
    with pytest.raises(ValueError, match="window_bits must be in"):
        tf.io.TFRecordOptions("ZLIB", window_bits=20)
    with pytest.raises(ValueError, match="num_parallel_reads"):
        tf.data.TFRecordDataset(_fixture(""), num_parallel_reads=0)
    with pytest.raises(TypeError, match="filenames"):
        tf.data.TFRecordDataset([_fixture(""), 3])
    w = tf.io.TFRecordWriter(str(tmp_path / "closed"))
    w.close()
    w.close()  # again: nothing
    with pytest.raises(tf.errors.FailedPreconditionError, match="closed"):
        w.write(b"x")


def test_options_and_compression_levels(tmp_path):
    opts = tf.io.TFRecordOptions
    assert [opts.get_compression_type_string(o) for o in (None, "gzip", tf.io.TFRecordCompressionType.ZLIB,
                                                           opts(tf.io.TFRecordCompressionType.GZIP))] == \
        ["", "GZIP", "ZLIB", "GZIP"]
    for level in (0, 1, 9):
        path = str(tmp_path / f"l{level}.tfrecord")
        with tf.io.TFRecordWriter(path, opts("ZLIB", compression_level=level, window_bits=10)) as w:
            for r in RECORDS:
                w.write(r)
        assert list(tf.compat.v1.python_io.tf_record_iterator(path, opts("ZLIB"))) == RECORDS


def test_flush_makes_records_readable_while_writing(tmp_path):
    path = str(tmp_path / "live.tfrecord")
    w = tf.io.TFRecordWriter(path)
    w.write(b"first")
    w.flush()
    assert list(tf.io.tf_record_iterator(path)) == [b"first"]
    w.write(b"second")
    w.close()
    assert list(tf.io.tf_record_iterator(path)) == [b"first", b"second"]


def test_parallel_reads_interleave_in_tensorflows_order(tmp_path):
    sizes = {"A": 1, "B": 3, "C": 2, "D": 0, "E": 2}
    files = []
    for name, n in sizes.items():
        files.append(str(tmp_path / f"{name}.tfr"))
        with tf.io.TFRecordWriter(files[-1]) as w:
            for i in range(n):
                w.write(f"{name}{i}")
    # Recorded from TF 2.15: tf.data.TFRecordDataset(files, num_parallel_reads=k).
    want = {2: ["A0", "B0", "B1", "C0", "B2", "C1", "E0", "E1"], 3: ["A0", "B0", "C0", "B1", "C1", "B2", "E0", "E1"]}
    for k, order in want.items():
        got = [r.decode() for r in tf.data.TFRecordDataset(files, num_parallel_reads=k).as_numpy_iterator()]
        assert got == order, k
    seq = [r.decode() for r in tf.data.TFRecordDataset(tf.data.Dataset.from_tensor_slices(files))
           .as_numpy_iterator()]
    assert seq == ["A0", "B0", "B1", "B2", "C0", "C1", "E0", "E1"]
    assert len(list(tf.data.TFRecordDataset(np.array(files), num_parallel_reads=tf.data.AUTOTUNE))) == 8


def test_tfrecord_input_fn_trains_an_estimator(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3).astype(np.float32)
    files = [str(tmp_path / f"part-{i}.tfrecord.gz") for i in range(2)]
    for i, f in enumerate(files):
        with tf.io.TFRecordWriter(f, "GZIP") as w:
            for j in range(i * 24, (i + 1) * 24):
                w.write(serialize_example({"x": [float(v) for v in x[j]], "y": [float(y[j])]}))
    spec = {"x": tf.io.FixedLenFeature([3], tf.float32), "y": tf.io.FixedLenFeature([1], tf.float32)}

    def input_fn():
        ds = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(48).repeat(6)
        features = tf.io.parse_example(tf.compat.v1.data.make_one_shot_iterator(ds).get_next(), spec)
        return features, features.pop("y")

    def model_fn(features, labels, mode):
        w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w) - labels))
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=tf.train.get_global_step()))

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "model"))
    est.train(input_fn)  # until the iterator runs out: 6 steps
    assert est.get_variable_value("global_step") == 6
    w = np.zeros((3, 1))
    xd, yd = x.astype(np.float64), y.astype(np.float64)[:, None]
    for _ in range(6):
        w -= 0.1 * 2.0 / len(xd) * xd.T @ (xd @ w - yd)
    np.testing.assert_allclose(est.get_variable_value("w"), w, rtol=1e-5, atol=1e-6)


def test_text_lines_read_through_the_same_decompressor(tmp_path):
    import gzip
    import zlib
    text = b"l1\nl2\r\nl3"
    (tmp_path / "t.z").write_bytes(zlib.compress(text))
    (tmp_path / "t.gz").write_bytes(gzip.compress(text[:4]) + gzip.compress(text[4:]))  # two gzip members
    want = [b"l1", b"l2", b"l3"]  # TF 2.15 gives these for the ZLIB file
    assert list(tf.data.TextLineDataset(str(tmp_path / "t.z"), compression_type="ZLIB").as_numpy_iterator()) == want
    assert list(tf.data.TextLineDataset(str(tmp_path / "t.gz"), compression_type="GZIP").as_numpy_iterator()) == want


# ---------------------------------------------------------------- map functions built from nestor ops
def _examples(tmp_path, n=12, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2)).astype(np.float32)
    tags = [[f"t{j}".encode() for j in rng.choice(4, int(rng.integers(0, 3)), replace=False)] for _ in range(n)]
    y = ((x[:, 0] + np.array([len(t) for t in tags])) > 1).astype(np.int64)
    path = str(tmp_path / "ex.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for i in range(n):
            w.write(serialize_example({"x": [float(v) for v in x[i]], "tags": tags[i], "y": [int(y[i])]}))
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32), "tags": tf.io.VarLenFeature(tf.string),
            "y": tf.io.FixedLenFeature([], tf.int64)}
    return path, spec, x, tags, y


def test_map_with_parse_single_example_is_traced_and_run_per_record(tmp_path):
    path, spec, x, tags, y = _examples(tmp_path)
    calls = []

    def parse(s):
        calls.append(s)
        return tf.io.parse_single_example(s, spec)

    ds = tf.data.TFRecordDataset(path).map(parse)
    spec_out = ds.element_spec
    assert spec_out["x"] == tf.data.TensorSpec([2], tf.float32) and spec_out["y"].dtype is tf.int64
    got = list(ds.as_numpy_iterator())
    assert len(got) == 12
    for i, e in enumerate(got):
        np.testing.assert_array_equal(e["x"], x[i])
        assert e["y"] == y[i]
        assert [bytes(t) for t in e["tags"]] == tags[i]  # one example's variable-length list
    # One numpy attempt (it built ops), then one trace: the graph runs for every record after that.
    assert len(calls) == 2 and isinstance(calls[1], tf.Tensor)
    got_batched = list(tf.data.TFRecordDataset(path).map(parse, num_parallel_calls=4).batch(5).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([b["x"] for b in got_batched]), x)
    assert [[bytes(t) for t in row] for b in got_batched for row in b["tags"]] == tags


def test_batch_then_parse_example_and_all_pipelines_train_alike(tmp_path):
    path, spec, x, tags, y = _examples(tmp_path, n=40, seed=2)

    def split(f):
        return f, f.pop("y")

    pipelines = {
        "map_then_batch": lambda: tf.data.TFRecordDataset(path).map(
            lambda s: split(tf.io.parse_single_example(s, spec))).batch(8).repeat(3),
        "batch_then_map": lambda: tf.data.TFRecordDataset(path).batch(8).map(
            lambda s: split(tf.io.parse_example(s, spec))).repeat(3),
        "in_memory": lambda: tf.data.Dataset.from_tensor_slices(
            ({"x": x, "tags": np.array(tags, dtype=object)}, y)).batch(8).repeat(3),
    }
    first = next(pipelines["batch_then_map"]().as_numpy_iterator())
    np.testing.assert_array_equal(first[0]["x"], x[:8])
    assert [[bytes(t) for t in row] for row in first[0]["tags"]] == tags[:8]
    cols = [tf.feature_column.numeric_column("x", shape=[2]), tf.feature_column.indicator_column(
        tf.feature_column.categorical_column_with_vocabulary_list("tags", ["t0", "t1", "t2", "t3"]))]
    losses = {}
    for name, input_fn in pipelines.items():
        est = tf.estimator.LinearClassifier(cols, model_dir=str(tmp_path / name), optimizer="SGD")
        est.train(input_fn)
        assert est.get_variable_value("global_step") == 15
        losses[name] = est.evaluate(input_fn)["average_loss"]
    assert losses["map_then_batch"] == losses["in_memory"] == losses["batch_then_map"]


def test_traced_map_functions_and_their_errors():
    ds = tf.data.Dataset.from_tensor_slices(np.arange(6, dtype=np.int64)).batch(4)
    # Written for tensors only (ndarray has no .shape.as_list()): traced directly.
    col = ds.map(lambda v: tf.reshape(tf.cast(v, tf.float32) * 0.5, [-1, v.shape.as_list()[0] is None and 1 or 1]))
    np.testing.assert_array_equal(np.concatenate(list(col.as_numpy_iterator())), np.arange(6)[:, None] * 0.5)
    # numpy functions keep running as numpy.
    np.testing.assert_array_equal(np.concatenate(list(ds.map(lambda v: v * 2).as_numpy_iterator())),
                                  np.arange(6) * 2)
    with pytest.raises(TypeError, match="must return Tensors .* returned str"):
        list(ds.map(lambda v: (tf.cast(v, tf.float32), "label")))
    with pytest.raises(TypeError, match="filter predicate returned a nestor graph Tensor"):
        list(ds.unbatch().filter(lambda v: tf.equal(v, 2)))  # np.int64 vs 2: compared as int64


def test_eval_metrics_before_a_truncated_event_record_are_kept(tmp_path):
    from nestor.estimator.early_stopping import read_eval_metrics
    writer = tf.summary.FileWriter(str(tmp_path))
    for step, loss in [(10, 0.5), (20, 0.25), (30, 0.125)]:
        tf.summary.write_scalars(writer, {"loss": loss}, step)
    writer.close()
    (path,) = tmp_path.glob("events.out.tfevents.*")
    records = list(tf.io.tf_record_iterator(str(path)))
    assert len(records) == 4  # the file_version event, then one per step
    raw = path.read_bytes()
    path.write_bytes(raw[:-5])  # a writer died inside the last record
    assert read_eval_metrics(str(tmp_path)) == {10: {"loss": 0.5}, 20: {"loss": 0.25}}
