"""tf.io.decode_csv on host values against TF 2.15 (tests/fixtures/decode_csv.json, written by
tests/fixtures/make_decode_csv.py), and the tutorial's CSV pipeline through Dataset.map."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import nestor as tf

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = json.load(open(os.path.join(HERE, "..", "fixtures", "decode_csv.json")))


def _defaults(spec):
    out = []
    for dtype, value in spec:
        if value is None:
            out.append(np.array([], dtype=object if dtype == "string" else dtype))
        elif dtype == "string":
            out.append([value])
        else:
            out.append(np.array([value], dtype=dtype))
    return out


@pytest.mark.parametrize("i", range(len(CASES)))
def test_decode_csv_matches_tensorflow(i):
    case = CASES[i]
    args = (np.array(case["records"], dtype=object), _defaults(case["defaults"]))
    if "error" in case:
        cls, msg = case["error"]
        with pytest.raises(getattr(tf.errors, cls)) as e:
            tf.io.decode_csv(*args, **case["kwargs"])
        assert str(e.value) == msg
        return
    got = tf.io.decode_csv(*args, **case["kwargs"])
    assert len(got) == len(case["outputs"])
    for g, (dtype, values) in zip(got, case["outputs"]):
        if dtype == "string":
            assert [v.decode() for v in g] == values
        else:
            assert g.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(g, np.array(values, dtype=dtype))


def test_python_list_defaults_give_tf_dtypes_and_shape_is_kept():
    a, b, c = tf.decode_csv(np.array([[b"1,2,x"], [b"3,4,y"]], dtype=object), [[0.0], [0], [""]])
    assert a.dtype == np.float32 and b.dtype == np.int32 and a.shape == (2, 1)
    np.testing.assert_array_equal(b, [[2], [4]])
    assert c[1, 0] == b"y"


def test_iris_tutorial_csv_input_fn(tmp_path):
    # samples/core/get_started/iris_data.py's csv_input_fn, verbatim apart from the import.
    path = tmp_path / "iris.csv"
    rows = np.random.default_rng(0).uniform(0, 8, (30, 4)).round(1)
    labels = np.arange(30) % 3
    path.write_text("120,4,setosa,versicolor,virginica\n" +
                    "".join(f"{r[0]},{r[1]},{r[2]},{r[3]},{y}\n" for r, y in zip(rows, labels)))
    names = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]
    types = [[0.0], [0.0], [0.0], [0.0], [0]]

    def _parse_line(line):
        fields = tf.decode_csv(line, record_defaults=types)
        features = dict(zip(names, fields))
        label = features.pop("Species")
        return features, label

    ds = tf.data.TextLineDataset(str(path)).skip(1).map(_parse_line).batch(30)
    features, label = next(iter(ds))
    np.testing.assert_allclose(features["PetalLength"], rows[:, 2].astype(np.float32))
    np.testing.assert_array_equal(label, labels)
    assert label.dtype == np.int32


def test_graph_tensor_is_refused_with_a_clear_error():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="host values"):
            tf.io.decode_csv(tf.constant(["1,2"]), [[0], [0]])
