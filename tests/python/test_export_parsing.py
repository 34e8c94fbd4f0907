"""Exports with build_parsing_serving_input_receiver_fn: the serialized tf.Examples are parsed by a
graph op inside the export, so nestor.saved_model.load and the C++ program examples/cpp/predict
(no Python) answer what Estimator.predict answers on the same rows; the export keeps TF's
classification/regression signatures, whose input is named 'inputs'."""
import base64
import json
import os

import numpy as np
import pytest

import nestor as tf
from nestor.serving import serialize_example

from test_cpp_predictor import _run, predict_bin  # noqa: F401  (the C++ program, built once)

COLORS = ["red", "green", "blue", "plum"]


def _columns():
    fc = tf.feature_column
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
    user = fc.categorical_column_with_hash_bucket("user", 100)
    age = fc.numeric_column("age", normalizer_fn=lambda x: (x - 40.0) / 15.0)
    hours = fc.numeric_column("hours", default_value=40.0)
    return color, user, age, hours


def _make(kind, model_dir, n_classes):
    color, user, age, hours = _columns()
    cfg = tf.estimator.RunConfig(tf_random_seed=3)
    dense = [age, hours, tf.feature_column.embedding_column(color, 4), tf.feature_column.indicator_column(color)]
    if kind == "dnn":
        return tf.estimator.DNNClassifier([8], dense, model_dir=model_dir, n_classes=n_classes, config=cfg)
    if kind == "linear":
        return tf.estimator.LinearClassifier([color, user, age, hours], model_dir=model_dir, n_classes=n_classes,
                                             config=cfg)
    return tf.estimator.DNNLinearCombinedClassifier(model_dir=model_dir, linear_feature_columns=[color, user],
                                                    dnn_feature_columns=dense, dnn_hidden_units=[8],
                                                    n_classes=n_classes, config=cfg)


def rows(n, seed):
    """JSON examples (some lacking 'hours', one lacking 'user') and the same rows as tensors."""
    rng = np.random.default_rng(seed)
    examples = []
    for i in range(n):
        e = {"color": str(rng.choice(COLORS)), "user": f"user{rng.integers(0, 50)}",
             "age": float(np.float32(rng.uniform(18, 70)))}
        if rng.random() < 0.7:
            e["hours"] = float(np.float32(rng.uniform(10, 60)))
        if i == 3:
            del e["user"]  # a VarLenFeature with no value: an empty row of the SparseTensor
        examples.append(e)
    return examples


def input_fn(examples):
    """Estimator.predict's input for the same rows, built directly (no parsing)."""
    def fn():
        n = len(examples)
        users = [(i, e["user"]) for i, e in enumerate(examples) if "user" in e]
        return {"color": tf.SparseTensor([[i, 0] for i in range(n)], [e["color"] for e in examples], [n, 1]),
                "user": tf.SparseTensor([[i, 0] for i, _ in users], [u for _, u in users], [n, 1]),
                "age": tf.constant([[e["age"]] for e in examples], tf.float32),
                "hours": tf.constant([[e.get("hours", 40.0)] for e in examples], tf.float32)}
    return fn


def train_and_export(kind, n_classes, tmp):
    """(estimator, export path) of a `kind` classifier trained briefly, exported with the parsing receiver."""
    est = _make(kind, str(tmp / "model"), n_classes)
    train = rows(300, 0)
    labels = np.array([int((e["color"] == "red") != (e["age"] > 40)) + int(n_classes == 3 and e["age"] > 60)
                       for e in train], np.int64)
    x = {"color": np.array([e["color"] for e in train]), "user": np.array([e.get("user", "") for e in train]),
         "age": np.array([e["age"] for e in train], np.float32),
         "hours": np.array([e.get("hours", 40.0) for e in train], np.float32)}
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, labels)).shuffle(300, seed=1).repeat().batch(32),
              steps=40)
    spec = tf.feature_column.make_parse_example_spec(list(_columns()))
    path = est.export_saved_model(str(tmp / "export"),
                                  tf.estimator.export.build_parsing_serving_input_receiver_fn(spec)).decode()
    return est, path


@pytest.fixture(scope="module", params=[("dnn", 2), ("linear", 3), ("combined", 2)], ids=lambda p: f"{p[0]}{p[1]}")
def exported(request, tmp_path_factory):
    kind, n_classes = request.param
    est, path = train_and_export(kind, n_classes, tmp_path_factory.mktemp(f"parsing_{kind}"))
    return est, path, n_classes


def test_signatures_as_tensorflow(exported):
    _, path, n_classes = exported
    sigs = json.load(open(os.path.join(path, "signatures.json")))["signature_defs"]
    want = ["classification", "predict", "serving_default"] + (["regression"] if n_classes == 2 else [])
    assert sorted(sigs) == sorted(want)
    assert sigs["serving_default"] == sigs["classification"]
    assert sigs["classification"]["method_name"] == "tensorflow/serving/classify"
    assert list(sigs["classification"]["inputs"]) == ["inputs"]
    assert sigs["classification"]["inputs"]["inputs"] == {"name": "input_example_tensor:0", "dtype": "string",
                                                          "shape": [None]}
    assert sorted(sigs["classification"]["outputs"]) == ["classes", "scores"]
    assert list(sigs["predict"]["inputs"]) == ["examples"]
    if n_classes == 2:
        assert list(sigs["regression"]["inputs"]) == ["inputs"]
        assert list(sigs["regression"]["outputs"]) == ["outputs"]


def test_loaded_export_predicts_like_estimator(exported):
    est, path, n_classes = exported
    examples = rows(40, 1)
    ser = np.array([serialize_example(e) for e in examples], dtype=object)
    want = list(est.predict(input_fn(examples), yield_single_examples=False))[0]
    m = tf.saved_model.load(path)
    got = m.signatures["predict"](examples=ser)
    assert sorted(got) == sorted(want)
    for k in ("logits", "probabilities", "class_ids") + (("logistic",) if n_classes == 2 else ()):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-6, err_msg=k)
    assert got["classes"].tolist() == want["classes"].tolist()
    cls = m.signatures["classification"](inputs=ser)
    np.testing.assert_allclose(cls["scores"], want["probabilities"], rtol=1e-6, atol=1e-6)
    assert cls["classes"].tolist() == [[str(i).encode() for i in range(n_classes)]] * 40
    if n_classes == 2:
        np.testing.assert_allclose(m.signatures["regression"](inputs=ser)["outputs"], want["logistic"],
                                   rtol=1e-6, atol=1e-6)
    # a bad Example fails with the parser's error naming the example and the key
    bad = ser.copy()
    bad[5] = serialize_example({"color": "red", "user": "u", "age": 1})  # int64 age
    with pytest.raises(tf.errors.InvalidArgumentError, match="example 5: feature 'age' holds int64_list"):
        m.signatures["predict"](examples=bad)


def test_cpp_predictor_parses_examples_like_estimator(predict_bin, exported):  # noqa: F811
    est, path, n_classes = exported
    examples = rows(30, 2)
    b64 = [{"b64": base64.b64encode(serialize_example(e)).decode()} for e in examples]
    want = list(est.predict(input_fn(examples), yield_single_examples=False))[0]
    r = _run(predict_bin, path, [{"examples": b64[:17]}, {"examples": b64[17:]}])
    assert r.returncode == 0, r.stderr + r.stdout
    outs = [json.loads(line) for line in r.stdout.splitlines()]
    got = {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}
    assert sorted(got) == sorted(want)
    for k in ("logits", "probabilities"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-6, err_msg=k)
    np.testing.assert_array_equal(got["class_ids"], want["class_ids"])
    r = _run(predict_bin, path, [{"inputs": b64}], sig="classification")
    assert r.returncode == 0, r.stderr + r.stdout
    np.testing.assert_allclose(json.loads(r.stdout)["scores"], want["probabilities"], rtol=1e-6, atol=1e-6)
    # a malformed Example and bad base64: error lines, the program goes on
    cut = base64.b64encode(serialize_example(examples[0])[:-3]).decode()
    r = _run(predict_bin, path, [{"examples": [b64[0], {"b64": cut}]}, {"examples": [{"b64": "%%%"}]},
                                 {"examples": b64[:1]}])
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 3 and len(lines) == 3
    assert "example 1: malformed tf.Example" in lines[0]["error"]
    assert "invalid base64" in lines[1]["error"]
    assert len(lines[2]["probabilities"]) == 1
