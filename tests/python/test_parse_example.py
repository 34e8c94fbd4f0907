"""tf.io.parse_example / parse_single_example: outputs equal TensorFlow 2.15's on recorded protos
(tests/fixtures/parse_example.json, made by tests/fixtures/make_parse_example.py), malformed
protos and bad values fail with InvalidArgumentError naming the example and key TF names, and
random Examples encoded by the protobuf library (packed, unpacked, merged) parse back to the
values put in. The Example message classes are built here from a FileDescriptorProto."""
import base64
import json
import os
import re
import struct

import numpy as np
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

import nestor as tf
from nestor.serving import serialize_example

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = json.load(open(os.path.join(ROOT, "tests", "fixtures", "parse_example.json")))
CASES = {c["name"]: c for c in FIXTURE["cases"]}
# Where TF 2.15's parser and the protobuf library disagree, we reject the bytes or follow protobuf:
# TF reads past a message's declared length (protobuf rejects it); of a Feature holding the same
# list twice TF keeps the first, protobuf merges both (we reject it as ambiguous); of one list
# with packed then unpacked values TF reads only the packed run, protobuf both (as we do).
STRICTER_THAN_TF = {"length_past_end", "list_message_repeated"}
FOLLOWS_PROTOBUF = {"list_values_packed_then_unpacked"}


# ----------------------------------------------------------------------------- protobuf classes
def _example_classes(syntax, as_map=True):
    """Example, Feature and the lists from a descriptor: proto3 packs repeated scalars, proto2
    writes them unpacked. as_map=False: Features.feature as the repeated entries a map is on
    the wire, with bytes keys (no UTF-8 check) and bytes values (read on demand as Feature)."""
    F = descriptor_pb2.FieldDescriptorProto
    pkg = f"parse_test_{syntax}{'' if as_map else '_raw'}"
    fdp = descriptor_pb2.FileDescriptorProto(name=f"{pkg}.proto", package=pkg, syntax=syntax)

    def field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
        f = msg.field.add(name=name, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = f".{pkg}.{type_name}"
        if oneof is not None:
            f.oneof_index = oneof
    for name, ftype in (("BytesList", F.TYPE_BYTES), ("FloatList", F.TYPE_FLOAT), ("Int64List", F.TYPE_INT64)):
        field(fdp.message_type.add(name=name), "value", 1, ftype, F.LABEL_REPEATED)
    feature = fdp.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for i, (name, t) in enumerate((("bytes_list", "BytesList"), ("float_list", "FloatList"),
                                   ("int64_list", "Int64List"))):
        field(feature, name, i + 1, F.TYPE_MESSAGE, type_name=t, oneof=0)
    features = fdp.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = as_map
    field(entry, "key", 1, F.TYPE_STRING if as_map else F.TYPE_BYTES)
    if as_map:
        field(entry, "value", 2, F.TYPE_MESSAGE, type_name="Feature")
    else:
        field(entry, "value", 2, F.TYPE_BYTES)
    field(features, "feature", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, "Features.FeatureEntry")
    field(fdp.message_type.add(name="Example"), "features", 1, F.TYPE_MESSAGE, type_name="Features")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{pkg}.{n}"))
            for n in ("Example", "Feature", "FloatList", "Int64List")}


PROTO3 = _example_classes("proto3")
PROTO2 = _example_classes("proto2")
RAW = _example_classes("proto2", as_map=False)


def _proto_values(example_bytes):
    """key -> (kind, values) as the protobuf library parses the bytes."""
    ex = PROTO3["Example"].FromString(example_bytes)
    out = {}
    for k, f in ex.features.feature.items():
        kind = f.WhichOneof("kind")
        out[k] = (kind, list(getattr(f, kind).value) if kind else [])
    return out


# ----------------------------------------------------------------------------- running our parser
def _spec(js):
    spec = {}
    for k, f in js.items():
        dt = tf.as_dtype(f["dtype"])
        if f["kind"] == "var":
            spec[k] = tf.io.VarLenFeature(dt)
        else:
            d = f["default"]
            if isinstance(d, dict):
                d = [base64.b64decode(x) for x in d["b64"]]
            spec[k] = tf.io.FixedLenFeature(f["shape"], dt, default_value=d)
    return spec


def _values(v, dtype):
    if isinstance(v, dict):
        return np.array([base64.b64decode(x) for x in v["b64"]], dtype=object)
    return np.array([float(x) for x in v] if dtype == "float32" else v, dtype=np.float32 if dtype == "float32"
                    else np.int64)


def _parse(serialized, spec, single=False, names=None):
    with tf.Graph().as_default():
        ph = tf.placeholder(tf.string, [] if single else [None])
        nph = None if names is None else tf.placeholder(tf.string, [None])
        fn = tf.io.parse_single_example if single else tf.io.parse_example
        out = fn(ph, spec, example_names=nph)
        feed = {ph: serialized[0] if single else np.array(serialized, dtype=object).reshape(-1)}
        if names is not None:
            feed[nph] = np.array(names, dtype=object)
        with tf.Session() as sess:
            return sess.run(out, feed)


def _check_outputs(got, want, spec_js):
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        dt = spec_js[k]["dtype"]
        g = got[k]
        if "indices" in w:
            np.testing.assert_array_equal(g.indices, np.array(w["indices"], np.int64).reshape(-1, g.indices.shape[1]))
            np.testing.assert_array_equal(g.dense_shape, w["dense_shape"])
            gv, wv = g.values, _values(w["values"], dt)
        else:
            assert list(g.shape) == w["shape"], k
            gv, wv = np.asarray(g).reshape(-1), _values(w["values"], dt)
        assert gv.dtype == wv.dtype or (dt == "string" and gv.dtype == object), k
        assert gv.tolist() == wv.tolist(), k


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_tensorflow(name):
    case = CASES[name]
    ser = [base64.b64decode(s) for s in case["serialized"]]
    spec = _spec(case["spec"])
    if name in FOLLOWS_PROTOBUF:
        assert not case["ok"]
        (key, (_, want)), = _proto_values(ser[0]).items()
        assert _parse(ser, spec)[key].reshape(-1).tolist() == want
        return
    if case["ok"] and name not in STRICTER_THAN_TF:
        _check_outputs(_parse(ser, spec, case["single"]), case["outputs"], case["spec"])
        return
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        _parse(ser, spec, case["single"])
    msg = str(e.value)
    tf_msg = case.get("message", "")
    m = re.search(r"Key: (\w+), Index: (\d+)", tf_msg)
    if m:  # TF names the key and the example: so do we
        assert f"example {m.group(2)}:" in msg and f"'{m.group(1)}'" in msg, (msg, tf_msg)
    else:  # the bad example is the last one in every such case
        assert f"example {len(ser) - 1}:" in msg, msg
        m = re.search(r"Feature: (\w+) .*required", tf_msg)
        if m:
            assert f"required feature '{m.group(1)}'" in msg and "no default value" in msg, msg
    if name == "length_past_end":
        with pytest.raises(DecodeError):
            PROTO3["Example"].FromString(ser[-1])
    elif name in STRICTER_THAN_TF:
        assert case["ok"] and _proto_values(ser[0])["s"] == ("int64_list", [1, 2, 3])
        assert case["outputs"]["s"]["values"] == [1]


@pytest.mark.parametrize("name,expect", [
    ("truncated", "length past the end"),
    ("bad_wire_type_example", "groups"),
    ("bad_wire_type_7", "invalid wire type"),
    ("field_number_zero", "invalid field number"),
    ("varint_too_long", "feature 's': malformed int64_list"),
    ("truncated_varint_in_list", "feature 's': malformed int64_list (int64): truncated varint"),
    ("float_wrong_wire_type", "feature 'x': malformed float_list (float32): value field with the wrong wire type"),
    ("packed_floats_bad_length", "not a multiple of 4"),
    ("wrong_count", "example 2: feature 'x' has 3 values, but shape (2,) needs 2"),
    ("dtype_mismatch_fixed", "feature 'x' holds int64_list (int64) values, but the spec asks for float32"),
    ("dtype_mismatch_var", "feature 's' holds bytes_list (string) values, but the spec asks for int64"),
    ("oneof_last_wins", "more than one value list"),
    ("map_entry_without_key", "lacks its key"),
])
def test_error_messages(name, expect):
    case = CASES[name]
    ser = [base64.b64decode(s) for s in case["serialized"]]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(expect)):
        _parse(ser, _spec(case["spec"]))


def test_example_names_in_errors_and_shapes():
    good = serialize_example({"x": [1.0, 2.0]})
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32)}
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"example 1 \('second'\): required feature 'x'"):
        _parse([good, serialize_example({"y": 1})], spec, names=["first", "second"])
    with tf.Graph().as_default():
        out = tf.io.parse_example(tf.placeholder(tf.string, [5]), dict(spec, s=tf.io.VarLenFeature(tf.string)))
        assert out["x"].shape.as_list() == [5, 2] and out["x"].dtype == tf.float32
        assert out["s"].indices.shape.as_list() == [None, 2] and out["s"].values.dtype == tf.string
        one = tf.io.parse_single_example(tf.constant(good), spec)
        assert one["x"].shape.as_list() == [2]


def test_bad_specs_fail_at_build_time():
    with tf.Graph().as_default():
        ser = tf.placeholder(tf.string, [None])
        with pytest.raises(ValueError, match="'x'.*float32, int64 and string.*int32"):
            tf.io.parse_example(ser, {"x": tf.io.FixedLenFeature([], tf.int32)})
        with pytest.raises(ValueError, match="'x'.*float32, int64 and string.*float64"):
            tf.io.parse_example(ser, {"x": tf.io.VarLenFeature(tf.float64)})
        with pytest.raises(ValueError, match="default_value has 1 values, but shape \\[2\\] needs 2"):
            tf.io.parse_example(ser, {"x": tf.io.FixedLenFeature([2], tf.float32, default_value=1.0)})
        with pytest.raises(ValueError, match="First dimension of shape for feature x unknown"):
            tf.io.parse_example(ser, {"x": tf.io.FixedLenFeature([None], tf.int64)})
        with pytest.raises(ValueError, match="serialized must be a vector"):
            tf.io.parse_example(tf.placeholder(tf.string, [2, 2]), {"x": tf.io.VarLenFeature(tf.int64)})
        with pytest.raises(ValueError, match="serialized must be a scalar"):
            tf.io.parse_single_example(ser, {"x": tf.io.VarLenFeature(tf.int64)})
        with pytest.raises(ValueError, match="Unsupported feature type for key 'x'"):
            tf.io.parse_example(ser, {"x": tf.float32})
    assert tf.io.FixedLenFeature is tf.feature_column.make_parse_example_spec(
        [tf.feature_column.numeric_column("a")])["a"].__class__


# ----------------------------------------------------------------------------- protobuf-encoded random Examples
def _random_feature(rng, kind, n):
    if kind == "f":
        return [float(np.float32(v)) for v in rng.normal(0, 1e3, n)]
    if kind == "i":
        return [int(v) for v in rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64, endpoint=True)]
    return [bytes(rng.integers(0, 256, rng.integers(0, 12), dtype=np.uint8)) for _ in range(n)]


def _build(classes, values):
    ex = classes["Example"]()
    for k, (kind, vals) in values.items():
        f = ex.features.feature[k]
        getattr(f, {"f": "float_list", "i": "int64_list", "b": "bytes_list"}[kind]).value.extend(vals)
    return ex.SerializeToString()


def test_random_protobuf_examples_parse_to_the_values_put_in():
    rng = np.random.default_rng(7)
    kinds = {"f0": "f", "f1": "f", "i0": "i", "i1": "i", "b0": "b", "b1": "b", "fix": "f", "fixi": "i"}
    dt = {"f": tf.float32, "i": tf.int64, "b": tf.string}
    spec = {k: tf.io.VarLenFeature(dt[kind]) for k, kind in kinds.items() if not k.startswith("fix")}
    spec["fix"] = tf.io.FixedLenFeature([3], tf.float32)
    spec["fixi"] = tf.io.FixedLenFeature([2, 2], tf.int64, default_value=[[1, 2], [3, 4]])
    serialized = []
    for i in range(60):
        vals = {k: (kind, _random_feature(rng, kind, int(rng.integers(0, 6))))
                for k, kind in kinds.items() if not k.startswith("fix") and rng.random() < 0.8}
        vals["fix"] = ("f", _random_feature(rng, "f", 3))
        if rng.random() < 0.5:
            vals["fixi"] = ("i", _random_feature(rng, "i", 4))
        mode = i % 3
        if mode < 2:
            serialized.append(_build(PROTO3 if mode == 0 else PROTO2, vals))
        else:  # two serializations concatenated: protobuf merges them (a repeated key: the last wins)
            keys = sorted(vals)
            a = {k: vals[k] for k in keys[::2]}
            b = {k: vals[k] for k in keys[1::2]}
            a["fix"] = ("f", _random_feature(rng, "f", 3))  # overridden by b's or by the extra tail
            serialized.append(_build(PROTO2, a) + _build(PROTO3, b) + _build(PROTO3, {"fix": vals["fix"]}))
    got = _parse(serialized, spec)
    truth = [_proto_values(s) for s in serialized]
    for k, kind in kinds.items():
        if k.startswith("fix"):
            continue
        rows = [t.get(k, (None, []))[1] for t in truth]
        st = got[k]
        assert st.dense_shape.tolist() == [60, max(len(r) for r in rows)]
        want_idx = [[b, j] for b, r in enumerate(rows) for j in range(len(r))]
        assert st.indices.tolist() == want_idx
        flat = [v for r in rows for v in r]
        if kind == "f":
            np.testing.assert_array_equal(st.values, np.array(flat, np.float32))
        else:
            assert st.values.tolist() == flat
    np.testing.assert_array_equal(got["fix"], np.array([t["fix"][1] for t in truth], np.float32))
    want_fixi = [t["fixi"][1] if "fixi" in t else [1, 2, 3, 4] for t in truth]
    assert got["fixi"].tolist() == np.array(want_fixi, np.int64).reshape(60, 2, 2).tolist()


def test_packed_and_unpacked_values_mixed_in_one_list():
    # one FloatList/Int64List whose values come packed and unpacked: protobuf concatenates them
    fl = PROTO3["FloatList"](value=[1.5, -2.0]).SerializeToString() + \
        PROTO2["FloatList"](value=[3.25]).SerializeToString()
    il = PROTO2["Int64List"](value=[-1, 2**40]).SerializeToString() + \
        PROTO3["Int64List"](value=[7]).SerializeToString()

    def ld(field, payload):
        assert len(payload) < 128
        return bytes([field << 3 | 2, len(payload)]) + payload
    # Example{features{feature{key: "x" value{float_list: fl}} feature{key: "n" value{int64_list: il}}}}
    ser = ld(1, ld(1, ld(1, b"x") + ld(2, ld(2, fl))) + ld(1, ld(1, b"n") + ld(2, ld(3, il))))
    truth = _proto_values(ser)
    assert truth == {"x": ("float_list", [1.5, -2.0, 3.25]), "n": ("int64_list", [-1, 2**40, 7])}
    got = _parse([ser], {"x": tf.io.FixedLenFeature([3], tf.float32), "n": tf.io.VarLenFeature(tf.int64)})
    assert got["x"].tolist() == [[1.5, -2.0, 3.25]]
    assert got["n"].values.tolist() == [-1, 2**40, 7]


def test_server_encoder_is_read_back_by_protobuf():
    rng = np.random.default_rng(3)
    for _ in range(40):
        ex = {"i": [int(v) for v in rng.integers(-2**63, 2**63 - 1, rng.integers(1, 5), dtype=np.int64)],
              "f": [float(v) for v in rng.normal(0, 100, rng.integers(1, 5))],
              "one": int(rng.integers(-5, 5)), "x": float(rng.normal()), "s": ["héllo", "w"],
              "b": {"b64": base64.b64encode(bytes(rng.integers(0, 256, 9, dtype=np.uint8))).decode()}}
        truth = _proto_values(serialize_example(ex))
        assert truth["i"] == ("int64_list", ex["i"])
        assert truth["one"] == ("int64_list", [ex["one"]])
        assert truth["f"][0] == "float_list"
        np.testing.assert_array_equal(np.array(truth["f"][1], np.float32), np.array(ex["f"], np.float32))
        assert truth["x"] == ("float_list", [float(np.float32(ex["x"]))])
        assert truth["s"] == ("bytes_list", ["héllo".encode(), b"w"])
        assert truth["b"] == ("bytes_list", [base64.b64decode(ex["b"]["b64"])])
        # and our parser reads the same values
        got = _parse([serialize_example(ex)], {"i": tf.io.VarLenFeature(tf.int64),
                                               "x": tf.io.FixedLenFeature([], tf.float32)})
        assert got["i"].values.tolist() == ex["i"]
        assert got["x"].tolist() == [float(np.float32(ex["x"]))]
    assert struct.pack("<f", 1.0) in serialize_example({"a": 1.0})


def test_mutated_bytes_fail_cleanly_or_agree_with_protobuf():
    """Random truncations and byte changes of valid Examples: each either fails with
    InvalidArgumentError naming its example, or parses to what the protobuf library reads
    (which may not reject bytes our parser accepts)."""
    rng = np.random.default_rng(11)
    spec = {"f": tf.io.VarLenFeature(tf.float32), "i": tf.io.VarLenFeature(tf.int64),
            "b": tf.io.VarLenFeature(tf.string)}
    base = [_build(PROTO3 if k % 2 else PROTO2, {"f": ("f", _random_feature(rng, "f", 3)),
                                                 "i": ("i", _random_feature(rng, "i", 2)),
                                                 "b": ("b", _random_feature(rng, "b", 2))}) for k in range(8)]
    with tf.Graph().as_default():
        ph = tf.placeholder(tf.string, [None])
        out = tf.io.parse_example(ph, spec)
        sess = tf.Session()
        ok = failed = 0
        for trial in range(1500):
            s = bytearray(base[trial % len(base)])
            if trial % 3 == 0:
                s = s[:int(rng.integers(0, len(s)))]
            else:
                for _ in range(int(rng.integers(1, 4))):
                    s[int(rng.integers(0, len(s)))] = int(rng.integers(0, 256))
            s = bytes(s)
            try:
                got = sess.run(out, {ph: np.array([base[0], s], dtype=object)})
            except tf.errors.InvalidArgumentError as e:
                assert "example 1: " in str(e)
                failed += 1
                continue
            truth = _proto_values_proto2(s, spec)
            for k, st in got.items():
                row = st.values[st.indices[:, 0] == 1].tolist()
                want = truth.get(k, (None, []))[1]
                if k == "f":
                    np.testing.assert_array_equal(np.array(row, np.float32), np.array(want, np.float32))
                else:
                    assert row == want, (k, s)
            ok += 1
        assert ok > 50 and failed > 500, (ok, failed)


def _proto_values_proto2(example_bytes, keys):
    """As _proto_values for `keys` only, keys as bytes without any UTF-8 check (our parser makes
    none). Like TensorFlow, our parser reads only the Features the spec asks for, so the others
    are left unparsed, and so are the values a repeated key's last entry replaces.""" 
    ex = RAW["Example"].FromString(example_bytes)
    last = {e.key.decode("latin-1"): e.value for e in ex.features.feature}
    out = {}
    for k, v in last.items():
        if k in keys:
            f = RAW["Feature"].FromString(v)
            kind = f.WhichOneof("kind")
            out[k] = (kind, list(getattr(f, kind).value) if kind else [])
    return out
