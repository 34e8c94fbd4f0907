"""Export for serving: the export predicts what Estimator.predict predicts, with strings and
vocabulary/hash columns inside the graph; damaged exports fail with clear errors."""
import json
import os

import numpy as np
import pytest

import nestor as tf
from model_fns import softmax_classifier


def _wide_deep_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue", "plum"], n)
    user = np.array([f"user{i}" for i in rng.integers(0, 50, n)])
    age = rng.uniform(18, 70, n).astype(np.float32)
    y = ((color == "red") ^ (age > 40)).astype(np.int64)
    return {"color": color, "user": user, "age": age}, y


def _train_wide_deep(tmp_path):
    fc = tf.feature_column
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
    user = fc.categorical_column_with_hash_bucket("user", 100)
    age = fc.numeric_column("age", normalizer_fn=lambda x: (x - 40.0) / 15.0)
    est = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / "model"), linear_feature_columns=[color, user],
        dnn_feature_columns=[age, fc.embedding_column(color, 4), fc.indicator_column(color)],
        dnn_hidden_units=[8], config=tf.estimator.RunConfig(tf_random_seed=3))
    x, y = _wide_deep_data()
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(400, seed=1).repeat().batch(32), steps=60)
    return est


def test_export_predicts_like_estimator_with_string_features(tmp_path):
    est = _train_wide_deep(tmp_path)
    x, _ = _wide_deep_data(50, seed=1)
    serving = tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"color": tf.constant(["a"]), "user": tf.constant(["u"]), "age": tf.constant([1.0])})
    path = est.export_saved_model(str(tmp_path / "export"), serving)
    assert os.path.isdir(path) and os.path.basename(path.decode()).isdigit()
    names = sorted(os.listdir(path.decode()))
    assert names == ["graph.nstg", "signatures.json", "variables.safetensors"]
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures) == ["predict"]  # classify/regress need a serialized-Example input, as TF
    got = loaded.signatures["predict"](color=x["color"], user=x["user"], age=x["age"])
    want = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices(x).batch(50), yield_single_examples=False))[0]
    for k in ("logits", "logistic", "probabilities", "class_ids"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert list(got["classes"].reshape(-1)) == list(want["classes"].reshape(-1))
    # lists are accepted too
    one = loaded.signatures["predict"]({"color": ["red"], "user": ["user3"], "age": [30.0]})
    assert one["probabilities"].shape == (1, 2)


def test_custom_model_fn_default_signature(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    est = tf.estimator.Estimator(softmax_classifier, model_dir=str(tmp_path / "m"))
    with pytest.raises(ValueError, match="Couldn't find trained model"):
        est.export_saved_model(str(tmp_path / "e"), tf.estimator.export.build_raw_serving_input_receiver_fn(
            {"x": tf.zeros([1, 4])}))
    est.train(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16), steps=4)
    path = est.export_saved_model(str(tmp_path / "e"), tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": tf.zeros([1, 4])}))
    m = tf.saved_model.load(path)
    sig = json.load(open(os.path.join(path.decode(), "signatures.json")))["signature_defs"]["serving_default"]
    assert sig["inputs"]["x"]["shape"] == [None, 4] and sig["method_name"] == "tensorflow/serving/predict"
    got = m.signatures["serving_default"](x=x)["probabilities"]
    want = np.stack([p["probabilities"] for p in est.predict(
        lambda: tf.data.Dataset.from_tensor_slices({"x": x}).batch(64))])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    with pytest.raises(tf.errors.InvalidArgumentError, match="no input 'y'"):
        m.signatures["serving_default"](x=x, y=x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot feed value of shape"):
        m.signatures["serving_default"](x=x[:, :3])


def test_damaged_exports_fail_cleanly(tmp_path):
    est = _train_wide_deep(tmp_path)
    serving = tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"color": tf.constant(["a"]), "user": tf.constant(["u"]), "age": tf.constant([1.0])})
    path = est.export_saved_model(str(tmp_path / "export"), serving).decode()
    import shutil
    for victim, damage in [("graph.nstg", lambda b: b[: len(b) // 2]), ("variables.safetensors", lambda b: b[:100]),
                           ("signatures.json", lambda b: b[:-5])]:
        bad = str(tmp_path / f"bad_{victim}")
        shutil.copytree(path, bad)
        data = open(os.path.join(bad, victim), "rb").read()
        open(os.path.join(bad, victim), "wb").write(damage(data))
        with pytest.raises(tf.errors.DataLossError):
            tf.saved_model.load(bad)
    with pytest.raises(tf.errors.NotFoundError):
        tf.saved_model.load(str(tmp_path / "nothing"))


def test_exporters_in_train_and_evaluate(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 3)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)
    est = tf.estimator.LinearClassifier([tf.feature_column.numeric_column("x", shape=(3,))],
                                        model_dir=str(tmp_path / "m"),
                                        config=tf.estimator.RunConfig(save_checkpoints_steps=10))
    serving = tf.estimator.export.build_raw_serving_input_receiver_fn({"x": tf.zeros([1, 3])})
    exporters = [tf.estimator.LatestExporter("latest", serving, exports_to_keep=2),
                 tf.estimator.FinalExporter("final", serving), tf.estimator.BestExporter(serving_input_receiver_fn=serving)]
    inp = lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(16)  # noqa: E731
    metrics, results = tf.estimator.train_and_evaluate(
        est, tf.estimator.TrainSpec(inp, max_steps=40),
        tf.estimator.EvalSpec(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(64), steps=None,
                              exporters=exporters, throttle_secs=0))
    export_dir = tmp_path / "m" / "export"
    latest = sorted(os.listdir(export_dir / "latest"))
    assert 1 <= len(latest) <= 2
    assert len(os.listdir(export_dir / "final")) == 1
    assert len(os.listdir(export_dir / "best_exporter")) >= 1
    m = tf.saved_model.load(str(export_dir / "final" / os.listdir(export_dir / "final")[0]))
    probs = m.signatures["predict"](x=x[:4])["probabilities"]
    want = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": x[:4]}).batch(4),
                            yield_single_examples=False))[0]["probabilities"]
    np.testing.assert_allclose(probs, want, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="exports_to_keep"):
        tf.estimator.LatestExporter("x", serving, exports_to_keep=0)
