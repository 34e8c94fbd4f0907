"""TensorBoard summaries: summary ops, event files, read back with TensorBoard's own readers."""
import glob
import os
import pathlib
import shutil
import struct
import time

import numpy as np
import pytest

import nestor as tf
from nestor import summary as tfs
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked_crc32c


def _devices():
    devs = ["cpu"]
    try:
        tf.Session(graph=tf.Graph(), config=tf.ConfigProto(device="cuda"))
        devs.append("cuda")
    except Exception:
        pass
    return devs


def _accumulate(logdir):
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def _tf_default_limits():
    pos, v = [], 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos.append(np.finfo(np.float64).max)
    return [-x for x in reversed(pos)] + [0.0] + pos


def _reference_buckets(values):
    """TF's Histogram::Add + EncodeToProto (empty runs collapsed), computed with numpy."""
    limits = np.array(_tf_default_limits())
    counts = np.bincount(np.searchsorted(limits, values, side="right"), minlength=len(limits))
    out_l, out_c, i = [], [], 0
    while i < len(counts):
        end, c = limits[i], counts[i]
        i += 1
        if c <= 0:
            while i < len(counts) and counts[i] <= 0:
                end, c = limits[i], counts[i]
                i += 1
        out_l.append(end)
        out_c.append(float(c))
    return out_l, out_c


def _records(path):
    """Raw TFRecord parse with both CRCs checked against TensorBoard's masked_crc32c."""
    data, pos, out = pathlib.Path(path).read_bytes(), 0, []
    while pos + 12 <= len(data):
        header = data[pos:pos + 8]
        (n,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        assert hcrc == tb_masked_crc32c(header)
        if pos + 12 + n + 4 > len(data):
            break
        body = data[pos + 12:pos + 12 + n]
        (dcrc,) = struct.unpack("<I", data[pos + 12 + n:pos + 16 + n])
        assert dcrc == tb_masked_crc32c(body)
        out.append(body)
        pos += 16 + n
    return out


def test_crc32c_matches_check_value_and_tensorboard():
    assert tfs.crc32c(b"123456789") == 0xE3069283
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 100, 511, 512, 513, 640, 4099, 70001):  # short inputs and numpy's 64-byte blocks
        b = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert tfs.masked_crc32c(b) == tb_masked_crc32c(b)


@pytest.mark.parametrize("device", _devices())
def test_scalar_and_histogram_round_trip_through_tensorboard(tmp_path, device):
    g = tf.Graph()
    with g.as_default():
        loss = tf.placeholder(tf.float32, [], name="loss_in")
        count = tf.placeholder(tf.int32, [], name="count_in")
        w = tf.placeholder(tf.float64, [50, 4], name="w")
        tfs.scalar("loss", loss)
        tfs.scalar("count", count)
        tfs.histogram("weights", w)
        merged = tfs.merge_all()
    rng = np.random.default_rng(1)
    losses = [0.1234567, 2.5, 1e-3]
    ws = [rng.standard_normal((50, 4)) * (k + 1) for k in range(3)]
    ws[1][0, 0] = 0.0  # the zero bucket
    with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as sess, tfs.FileWriter(str(tmp_path)) as fw:
        for step in range(3):
            s = sess.run(merged, {loss: losses[step], count: step * 7, w: ws[step]})
            fw.add_summary(s, global_step=step + 1)
    acc = _accumulate(tmp_path)
    assert sorted(acc.Tags()["scalars"]) == ["count", "loss"]
    assert acc.Tags()["histograms"] == ["weights"]
    got = acc.Scalars("loss")
    assert [e.step for e in got] == [1, 2, 3]
    assert [e.value for e in got] == [float(np.float32(v)) for v in losses]
    assert [e.value for e in acc.Scalars("count")] == [0.0, 7.0, 14.0]
    for step, ev in enumerate(acc.Histograms("weights")):
        x = ws[step].ravel()
        h = ev.histogram_value
        assert ev.step == step + 1
        assert (h.min, h.max, h.num) == (x.min(), x.max(), x.size)
        np.testing.assert_allclose([h.sum, h.sum_squares], [x.sum(), (x * x).sum()], rtol=1e-12)
        ref_l, ref_c = _reference_buckets(x)
        assert list(h.bucket_limit) == ref_l
        assert list(h.bucket) == ref_c


def test_event_file_name_first_record_and_crcs(tmp_path):
    with tf.Graph().as_default():
        s = tfs.scalar("x", tf.constant(3.0))
        with tf.Session() as sess:
            val = sess.run(s)
    w = tfs.FileWriter(str(tmp_path / "run"), filename_suffix=".eval")
    w.add_summary(val, 5)
    w.add_summary(val, 6)
    w.close()
    files = os.listdir(tmp_path / "run")
    assert len(files) == 1
    parts = files[0].split(".")
    assert files[0].startswith("events.out.tfevents.") and files[0].endswith(".eval")
    assert abs(int(parts[3]) - time.time()) < 60
    path = str(tmp_path / "run" / files[0])
    raw = _records(path)
    assert len(raw) == 3
    events = list(event_file_loader.LegacyEventFileLoader(path).Load())
    assert events[0].file_version == "brain.Event:2"
    assert [e.step for e in events[1:]] == [5, 6]
    assert events[1].summary.value[0].tag == "x" and events[1].summary.value[0].simple_value == 3.0
    # TensorBoard's current loader migrates it to its scalars plugin
    migrated = list(event_file_loader.EventFileLoader(path).Load())[1].summary.value[0]
    assert migrated.metadata.plugin_data.plugin_name == "scalars" and list(migrated.tensor.float_val) == [3.0]
    # our own decoder agrees with TensorBoard's protobuf
    ours = tfs.Event.FromString(raw[1])
    assert ours.step == 5 and ours.summary.value[0].simple_value == 3.0
    assert abs(ours.wall_time - events[1].wall_time) < 1e-9


def test_truncated_file_yields_every_complete_record(tmp_path):
    src = tmp_path / "full"
    with tfs.FileWriter(str(src)) as w:
        for step in range(10):
            tfs.write_scalars(w, {"loss": 1.0 / (step + 1)}, step)
    path = glob.glob(str(src / "events.out.tfevents.*"))[0]
    data = pathlib.Path(path).read_bytes()
    sizes = [16 + len(r) for r in _records(path)]
    assert len(sizes) == 11
    end_of_8 = sum(sizes[:8])  # file_version + steps 0..6
    for cut in (end_of_8 + 3, end_of_8 + 12, end_of_8 + sizes[8] - 1):  # mid-header, mid-data, mid-footer
        d = tmp_path / f"cut{cut}"
        d.mkdir()
        shutil.copy(path, d / os.path.basename(path))
        with open(d / os.path.basename(path), "r+b") as f:
            f.truncate(cut)
        events = list(event_file_loader.EventFileLoader(str(d / os.path.basename(path))).Load())
        assert len(events) == 8
        acc = _accumulate(d)
        assert [e.step for e in acc.Scalars("loss")] == list(range(7))
        assert acc.Scalars("loss")[6].value == float(np.float32(1.0 / 7))
    assert len(data) == sum(sizes)


def test_names_are_scoped_uniquified_and_cleaned():
    with tf.Graph().as_default() as g:
        x = tf.constant(1.0)
        a = tfs.scalar("loss", x)
        b = tfs.scalar("loss", x)
        with tf.name_scope("train"):
            c = tfs.scalar("loss", x)
            d = tfs.histogram("w", tf.constant([1.0, 2.0]), family="fam")
        e = tfs.scalar("bad name:1", x)
        assert [t.op.name for t in (a, b, c, e)] == ["loss", "loss_1", "train/loss", "bad_name_1"]
        assert d.op.name == "train/fam/w"
        assert a.dtype == tf.string and a.shape.as_list() == []
        assert g.get_collection(tf.GraphKeys.SUMMARIES) == [a, b, c, d, e]
        with tf.Session() as sess:
            tags = [v.tag for s in sess.run([a, b, c, d, e]) for v in tfs.Summary.FromString(s.item()).value]
    assert tags == ["loss", "loss_1", "train/loss", "fam/train/fam/w", "bad_name_1"]


def test_merge_all_merge_and_collections():
    with tf.Graph().as_default() as g:
        assert tfs.merge_all() is None
        x = tf.placeholder(tf.float32, [3])
        y = tf.placeholder(tf.float32, [])
        tfs.scalar("first", y)
        with tf.name_scope("sub"):
            tfs.histogram("x", x)
        other = tfs.scalar("private", y * 2.0, collections=["mine"])
        assert other not in g.get_collection(tf.GraphKeys.SUMMARIES)
        everything = tfs.merge_all()
        only_sub = tfs.merge_all(scope="sub")
        custom = tfs.merge_all(key="mine")
        both = tfs.merge([everything, custom], collections=["merged"], name="both")
        assert g.get_collection("merged") == [both] and both.op.name == "both"
        dup = tfs.merge([everything, everything])
        feed = {x: np.array([1.0, -2.0, 0.5], np.float32), y: -0.5}
        with tf.Session() as sess:
            out = {k: tfs.Summary.FromString(v.item()) for k, v in
                   zip("asmb", sess.run([everything, only_sub, custom, both], feed))}
            with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag first"):
                sess.run(dup, feed)
    assert [v.tag for v in out["a"].value] == ["first", "sub/x"]
    assert out["a"].value[0].simple_value == np.float32(-0.5)
    assert out["a"].value[1].histo.num == 3 and out["a"].value[1].histo.min == -2.0
    assert [v.tag for v in out["s"].value] == ["sub/x"]
    assert [(v.tag, v.simple_value) for v in out["m"].value] == [("private", -1.0)]
    assert [v.tag for v in out["b"].value] == ["first", "sub/x", "private"]


def test_histogram_edge_cases_and_int_values():
    with tf.Graph().as_default():
        empty = tfs.histogram("empty", tf.placeholder(tf.float32, [None]))
        ints = tfs.histogram("ints", tf.constant([[3, -1], [0, 3]], dtype=tf.int64))
        zero = tfs.scalar("zero", tf.constant(0, dtype=tf.int64))
        with tf.Session() as sess:
            e, i, z = sess.run([empty, ints, zero], {"Placeholder:0": np.zeros([0], np.float32)})
    he = tfs.Summary.FromString(e.item()).value[0].histo
    assert he.num == 0 and he.bucket == [0.0] and he.bucket_limit == [np.finfo(np.float64).max]
    hi = tfs.Summary.FromString(i.item()).value[0].histo
    assert (hi.min, hi.max, hi.num, hi.sum, hi.sum_squares) == (-1.0, 3.0, 4.0, 5.0, 19.0)
    assert (hi.bucket_limit, hi.bucket) == _reference_buckets(np.array([3.0, -1.0, 0.0, 3.0]))
    zv = tfs.Summary.FromString(z.item()).value[0]
    assert zv.tag == "zero" and zv.simple_value == 0.0  # a oneof member is written even when 0


def test_histogram_buckets_at_and_beside_every_limit():
    # The kernel guesses each bucket from the value's exponent and walks to the exact one: every
    # limit, its float64 neighbours and log-uniform values over 40 decades must land where
    # TF's binary search (numpy searchsorted here) puts them.
    limits = np.array(_tf_default_limits()[1:-1])  # without +-DBL_MAX (bucket past the end)
    rng = np.random.default_rng(0)
    wide = 10.0 ** rng.uniform(-16, 24, 20000) * rng.choice([-1.0, 1.0], 20000)
    values = np.concatenate([limits, np.nextafter(limits, np.inf), np.nextafter(limits, -np.inf), wide,
                             [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e300]])
    with tf.Graph().as_default():
        h = tfs.histogram("wide", tf.constant(values, dtype=tf.float64))
        with tf.Session() as sess:
            got = tfs.Summary.FromString(sess.run(h).item()).value[0].histo
    assert (list(got.bucket_limit), list(got.bucket)) == _reference_buckets(values)
    assert got.num == len(values)


def test_errors_name_the_summary():
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"scalar summary 'vec' must be a scalar, got shape \(3,?\)"):
            tfs.scalar("vec", tf.constant([1.0, 2.0, 3.0]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="histogram summary must be float32.*got string"):
            tfs.histogram("s", tf.constant(["a"]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="input 0 must be a string tensor"):
            tfs.merge([tf.constant(1.0)])
        p = tf.placeholder(tf.float32, None)
        s = tfs.scalar("dyn", p)
        h = tfs.histogram("h", p)
        bad = tfs.merge([tf.constant(b"\x0a\xff")])
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"scalar summary 'dyn' must be a scalar, got shape \(2,?\)"):
                sess.run(s, {p: np.ones(2, np.float32)})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram for: h.*element 1"):
                sess.run(h, {p: np.array([1.0, np.nan], np.float32)})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse one of the summary inputs"):
                sess.run(bad)


def test_writer_cache_text_flush_thread_and_reopen(tmp_path):
    d = str(tmp_path / "eval")
    w = tfs.FileWriterCache.get(d)
    assert tfs.FileWriterCache.get(d) is w and w.get_logdir() == d
    tfs.write_scalars(w, {"accuracy": np.float64(0.75), "loss": 0.5}, step=100)
    tfs.write_text(w, "checkpoint_path", "/tmp/model.ckpt-100", step=100)
    tfs.FileWriterCache.clear()
    acc = _accumulate(d)
    assert [(e.step, e.value) for e in acc.Scalars("accuracy")] == [(100, 0.75)]
    t = acc.Tensors("checkpoint_path")[0]
    assert t.step == 100 and t.tensor_proto.string_val == [b"/tmp/model.ckpt-100"]
    assert acc.SummaryMetadata("checkpoint_path").plugin_data.plugin_name == "text"

    # the background thread flushes within flush_secs without flush()/close()
    w2 = tfs.FileWriter(str(tmp_path / "bg"), flush_secs=0.2, max_queue=1000)
    w2.add_summary(tfs.Summary(value=[tfs.Summary.Value(tag="a", simple_value=1.5)]), 3)
    deadline = time.time() + 10
    while len(_records(w2.event_file_path)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(_records(w2.event_file_path)) == 2
    first = w2.event_file_path
    w2.close()
    with pytest.raises(RuntimeError, match="closed"):
        w2.add_summary(b"", 1)
    w2.reopen()
    assert w2.event_file_path != first and sorted([first, w2.event_file_path])[0] == first
    w2.add_summary(b"", 4)
    w2.close()
    assert len(_records(w2.event_file_path)) == 2
