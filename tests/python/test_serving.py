"""TF Serving's REST API over real HTTP on 127.0.0.1: predictions equal Estimator.predict, metadata and
status shapes, every malformed request answered 400/404 without hurting the server, new versions
picked up without a restart, and concurrent clients."""
import base64
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import nestor as tf
from nestor.serving import BackgroundServer, serialize_example

from test_export import _train_wide_deep, _wide_deep_data


def _http(url, body=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _serving_fn():
    return tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"color": tf.constant(["a"]), "user": tf.constant(["u"]), "age": tf.constant([1.0])})


@pytest.fixture(scope="module")
def wide_deep(tmp_path_factory):
    """(estimator, base dir with version 1, a second export of further-trained weights)."""
    tmp = tmp_path_factory.mktemp("wd")
    est = _train_wide_deep(tmp)
    first = est.export_saved_model(str(tmp / "exports"), _serving_fn()).decode()
    base = tmp / "serve"
    shutil.copytree(first, base / "1")
    x, y = _wide_deep_data(200, seed=5)
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(32), steps=40)
    second = est.export_saved_model(str(tmp / "exports2"), _serving_fn()).decode()
    return est, str(base), first, second


@pytest.fixture(scope="module")
def server(wide_deep):
    srv = BackgroundServer("wd", wide_deep[1], poll_seconds=0.2)
    yield srv
    srv.stop()


def _want(est, x):
    return list(est.predict(lambda: tf.data.Dataset.from_tensor_slices(x).batch(len(x["age"])),
                            yield_single_examples=False))[0]


def test_predict_rows_and_columns_equal_signature_and_estimator(wide_deep, server):
    est, base, first, _ = wide_deep
    x, _ = _wide_deep_data(20, seed=1)
    # version 1 is the estimator's export before further training: compare with the export loaded directly,
    # and that export with Estimator.predict at its checkpoint (test_export checks the latter on the same model).
    want = tf.saved_model.load(first).signatures["predict"](color=x["color"], user=x["user"], age=x["age"])
    rows = [{"color": c, "user": {"b64": base64.b64encode(u.encode()).decode()}, "age": float(a)}
            for c, u, a in zip(x["color"], x["user"], x["age"])]
    code, got = _http(f"{server.url}/v1/models/wd:predict", {"signature_name": "predict", "instances": rows})
    assert code == 200, got
    assert len(got["predictions"]) == 20 and set(got["predictions"][0]) == set(want)
    for k in ("logits", "logistic", "probabilities", "class_ids"):
        np.testing.assert_allclose(np.array([p[k] for p in got["predictions"]]), want[k], rtol=1e-6, atol=1e-6)
    assert np.array([p["classes"] for p in got["predictions"]]).reshape(-1).tolist() == \
        [c.decode() for c in want["classes"].reshape(-1)]
    code, cols = _http(f"{server.url}/v1/models/wd/versions/1:predict", {"signature_name": "predict", "inputs": {
        "color": x["color"].tolist(), "user": x["user"].tolist(), "age": x["age"].tolist()}})
    assert code == 200, cols
    for k in ("logits", "logistic", "probabilities", "class_ids"):
        np.testing.assert_allclose(np.array(cols["outputs"][k]), want[k], rtol=1e-6, atol=1e-6)


def test_predict_equals_estimator_predict(tmp_path):
    est = _train_wide_deep(tmp_path)
    path = est.export_saved_model(str(tmp_path / "e"), _serving_fn()).decode()
    srv = BackgroundServer("m", os.path.dirname(path))
    try:
        x, _ = _wide_deep_data(30, seed=2)
        want = _want(est, x)
        code, got = _http(f"{srv.url}/v1/models/m:predict", {"signature_name": "predict", "inputs": {
            "color": x["color"].tolist(), "user": x["user"].tolist(), "age": x["age"].tolist()}})
        assert code == 200, got
        for k in ("logits", "logistic", "probabilities", "class_ids"):
            np.testing.assert_allclose(np.array(got["outputs"][k]), want[k], rtol=1e-6, atol=1e-6, err_msg=k)
        assert np.array(got["outputs"]["classes"]).reshape(-1).tolist() == \
            [c.decode() for c in want["classes"].reshape(-1)]
    finally:
        srv.stop()


def test_status_and_metadata(server):
    code, st = _http(f"{server.url}/v1/models/wd")
    assert code == 200
    assert st == {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                             "status": {"error_code": "OK", "error_message": ""}}]}
    assert _http(f"{server.url}/v1/models/wd/versions/1") == (200, st)
    code, md = _http(f"{server.url}/v1/models/wd/metadata")
    assert code == 200
    assert md["model_spec"] == {"name": "wd", "signature_name": "", "version": "1"}
    sig = md["metadata"]["signature_def"]["signature_def"]["predict"]
    assert sig["method_name"] == "tensorflow/serving/predict"
    assert sig["inputs"]["color"]["dtype"] == "DT_STRING" and sig["inputs"]["age"]["dtype"] == "DT_FLOAT"
    assert sig["inputs"]["age"]["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert sig["outputs"]["probabilities"]["tensor_shape"]["dim"][1]["size"] == "2"
    assert _http(f"{server.url}/v1/models/wd/versions/1/metadata") == (200, md)


def test_malformed_requests_answer_errors_and_server_stays_healthy(server):
    url = f"{server.url}/v1/models/wd:predict"
    good = {"signature_name": "predict", "instances": [{"color": "red", "user": "user1", "age": 30.0}]}
    cases = [
        (None, b"{not json", 400, "JSON"),
        ({"signature_name": "nope", "instances": good["instances"]}, None, 400, "nope"),
        ({"instances": good["instances"]}, None, 400, "serving_default"),
        ({"signature_name": "predict", "instances": [{"color": "red", "age": 30.0}]}, None, 400, "user"),
        ({"signature_name": "predict", "instances": [{"color": "red", "user": "u", "age": "old"}]}, None, 400,
         "age"),
        ({"signature_name": "predict", "instances": [{"color": 3, "user": "u", "age": 1.0}]}, None, 400, "color"),
        ({"signature_name": "predict", "instances": [{"color": "red", "user": "u", "age": [1.0, 2.0]}]}, None, 400,
         "shape"),
        ({"signature_name": "predict", "inputs": {"color": ["red"], "user": ["u"], "age": [[1.0]]}}, None, 400,
         "shape"),
        ({"signature_name": "predict", "instances": [{"color": "red", "user": "u", "age": 1.0, "x": 1}]}, None,
         400, "'x'"),
        ({"signature_name": "predict", "inputs": {"color": ["a", "b"], "user": ["u"], "age": [1.0]}}, None, 400,
         ""),
        ({"signature_name": "predict", "instances": [{"color": "red", "user": {"b64": "!!"}, "age": 1.0}]}, None,
         400, "base64"),
        ({"signature_name": "predict", "instances": []}, None, 400, "instances"),
        ({"signature_name": "predict"}, None, 400, "instances"),
        ([1, 2], None, 400, "object"),
        (good, None, 400, "cannot classify"),  # posted to :classify below
    ]
    for i, (body, raw, status, words) in enumerate(cases):
        target = url if i < len(cases) - 1 else f"{server.url}/v1/models/wd:classify"
        code, got = _http(target, body, raw)
        assert code == status, (i, got)
        assert "error" in got and words in got["error"], (i, got)
    assert _http(f"{server.url}/v1/models/other:predict", good)[0] == 404
    assert _http(f"{server.url}/v1/models/wd/versions/7:predict", good)[0] == 404
    assert _http(f"{server.url}/v1/models/wd/versions/7")[0] == 404
    assert _http(f"{server.url}/v1/models/wd:explode", good)[0] == 404
    code, got = _http(url, good)
    assert code == 200 and 0.0 <= got["predictions"][0]["logistic"][0] <= 1.0


def test_concurrent_clients(server):
    url = f"{server.url}/v1/models/wd:predict"
    x, _ = _wide_deep_data(4, seed=3)
    body = {"signature_name": "predict", "instances": [
        {"color": c, "user": u, "age": float(a)} for c, u, a in zip(x["color"], x["user"], x["age"])]}
    expect = _http(url, body)[1]
    failures, done = [], []

    def client():
        for _ in range(50):
            try:
                code, got = _http(url, body)
                if code != 200 or got != expect:
                    failures.append((code, got))
                else:
                    done.append(1)
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures[:3] and len(done) == 400


def test_new_version_served_without_restart(tmp_path, wide_deep):
    _, _, first, second = wide_deep
    base = tmp_path / "models"
    shutil.copytree(first, base / "1")
    srv = BackgroundServer("wd", str(base), poll_seconds=0.2)
    try:
        body = {"signature_name": "predict", "inputs": {"color": ["red", "plum"], "user": ["user1", "user9"],
                                                        "age": [25.0, 61.0]}}
        old = _http(f"{srv.url}/v1/models/wd:predict", body)[1]["outputs"]["logits"]
        want_new = tf.saved_model.load(second).signatures["predict"](
            {k: np.array(v) for k, v in body["inputs"].items()})["logits"]
        assert not np.allclose(old, want_new)
        shutil.copytree(second, base / "2")  # copied in place, as an operator would
        deadline = time.time() + 60
        while time.time() < deadline and _http(f"{srv.url}/v1/models/wd")[1]["model_version_status"][0][
                "version"] != "2":
            time.sleep(0.1)
        code, got = _http(f"{srv.url}/v1/models/wd:predict", body)
        assert code == 200
        np.testing.assert_allclose(got["outputs"]["logits"], want_new, rtol=1e-6, atol=1e-6)
        assert _http(f"{srv.url}/v1/models/wd/versions/2/metadata")[1]["model_spec"]["version"] == "2"
        assert _http(f"{srv.url}/v1/models/wd/versions/1")[0] == 404  # only the newest version is served
    finally:
        srv.stop()


def _hash_model_fn(features, labels, mode):
    ex = features["examples"] if isinstance(features, dict) else features
    h = tf.cast(tf.reshape(tf.string_to_hash_bucket_fast(ex, 7), [-1, 1]), tf.float32) / 7.0
    logits = tf.layers.dense(tf.concat([h, 1.0 - h], 1), 3)
    probs = tf.nn.softmax(logits)
    value = tf.reduce_sum(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        classes = tf.reshape(tf.tile(tf.constant(["a", "b", "c"]), tf.shape(ex)[:1]), [-1, 3])
        return tf.estimator.EstimatorSpec(mode, predictions={"probabilities": probs}, export_outputs={
            "serving_default": tf.estimator.export.PredictOutput({"probabilities": probs}),
            "classification": tf.estimator.export.ClassificationOutput(scores=probs, classes=classes),
            "regression": tf.estimator.export.RegressionOutput(value=value)})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.train.AdagradOptimizer(0.1).minimize(
        loss, global_step=tf.train.get_global_step()))


def test_example_encoding_is_protobuf_wire_format():
    # Example{features{feature{key:"a" value{int64_list{value:[1]}}}}}, as protoc writes it
    assert serialize_example({"a": 1}) == bytes([0x0A, 0x0C, 0x0A, 0x0A, 0x0A, 0x01, 0x61, 0x12, 0x05,
                                                 0x1A, 0x03, 0x0A, 0x01, 0x01])
    # bytes_list of "x": 0a 03 0a 01 78 ; float_list [1.0]: 12 06 0a 04 00 00 80 3f
    assert b"\x0a\x03\x0a\x01x" in serialize_example({"s": "x"})
    assert b"\x12\x06\x0a\x04\x00\x00\x80\x3f" in serialize_example({"f": 1.0})


def test_classify_regress_and_single_input_rows(tmp_path):
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in rng.integers(0, 20, 64)])
    est = tf.estimator.Estimator(_hash_model_fn, model_dir=str(tmp_path / "m"))
    est.train(lambda: tf.data.Dataset.from_tensor_slices(({"examples": words}, rng.integers(0, 3, 64))).batch(16),
              steps=3)

    def receiver():
        ph = tf.placeholder(tf.string, [None], name="input_example_tensor")
        return tf.estimator.export.ServingInputReceiver({"examples": ph}, {"examples": ph})
    path = est.export_saved_model(str(tmp_path / "e"), receiver).decode()
    sigs = tf.saved_model.load(path).signatures
    assert sorted(sigs) == ["classification", "regression", "serving_default"]
    srv = BackgroundServer("h", os.path.dirname(path))
    try:
        examples = [{"word": "w1", "n": 3}, {"word": "w2", "x": [1.5, 2.0]}]
        ser = np.array([serialize_example({**e, "ctx": "c"}) for e in examples], dtype=object)
        code, got = _http(f"{srv.url}/v1/models/h:classify", {"signature_name": "classification",
                                                                "context": {"ctx": "c"}, "examples": examples})
        assert code == 200, got
        want = sigs["classification"](inputs=ser)
        assert [[r[0] for r in row] for row in got["results"]] == [["a", "b", "c"]] * 2
        np.testing.assert_allclose([[r[1] for r in row] for row in got["results"]], want["scores"], rtol=1e-6)
        code, got = _http(f"{srv.url}/v1/models/h:regress", {"signature_name": "regression",
                                                               "context": {"ctx": "c"}, "examples": examples})
        assert code == 200, got
        np.testing.assert_allclose(got["results"], sigs["regression"](inputs=ser)["outputs"], rtol=1e-6)
        assert _http(f"{srv.url}/v1/models/h:regress", {"signature_name": "classification",
                                                         "examples": examples})[0] == 400
        assert _http(f"{srv.url}/v1/models/h:classify", {"examples": examples})[0] == 400  # a predict signature
        # one input, one output: bare values in, bare values out
        code, got = _http(f"{srv.url}/v1/models/h:predict", {"instances": ["w1", {"b64": "dzI="}]})
        assert code == 200, got
        want = sigs["serving_default"](examples=np.array([b"w1", b"w2"], dtype=object))["probabilities"]
        np.testing.assert_allclose(got["predictions"], want, rtol=1e-6)
        code, got = _http(f"{srv.url}/v1/models/h:predict", {"inputs": ["w1", "w2"]})
        np.testing.assert_allclose(got["outputs"], want, rtol=1e-6)
    finally:
        srv.stop()


def test_classify_and_regress_a_parsing_export_like_estimator(tmp_path):
    """A build_parsing_serving_input_receiver_fn export: each JSON example (merged with the context) is
    encoded as a tf.Example and parsed inside the export; results equal Estimator.predict's."""
    from test_export_parsing import input_fn, rows, train_and_export
    est, path = train_and_export("combined", 2, tmp_path)
    examples = rows(12, 4)
    want = list(est.predict(input_fn(examples), yield_single_examples=False))[0]
    context = {"color": examples[0]["color"]}
    body_examples = [{k: v for k, v in e.items() if not (i == 0 and k == "color")} for i, e in enumerate(examples)]
    srv = BackgroundServer("p", os.path.dirname(path))
    try:
        code, got = _http(f"{srv.url}/v1/models/p:classify", {"context": context, "examples": body_examples})
        assert code == 200, got
        assert [[r[0] for r in row] for row in got["results"]] == [["0", "1"]] * 12
        np.testing.assert_allclose([[r[1] for r in row] for row in got["results"]], want["probabilities"],
                                   rtol=1e-6, atol=1e-6)
        code, got = _http(f"{srv.url}/v1/models/p:regress", {"signature_name": "regression", "context": context,
                                                              "examples": body_examples})
        assert code == 200, got
        np.testing.assert_allclose(got["results"], want["logistic"].reshape(-1), rtol=1e-6, atol=1e-6)
        # the predict signature takes the serialized Examples themselves, as {"b64": ...}
        b64 = [{"b64": base64.b64encode(serialize_example(e)).decode()} for e in examples]
        code, got = _http(f"{srv.url}/v1/models/p:predict", {"signature_name": "predict",
                                                              "instances": [{"examples": b} for b in b64]})
        assert code == 200, got
        np.testing.assert_allclose([p["probabilities"] for p in got["predictions"]], want["probabilities"],
                                   rtol=1e-6, atol=1e-6)
        # an example the spec cannot parse: 400 naming the example and the feature
        bad = [dict(body_examples[1]), dict(body_examples[2], age=[1.0, 2.0])]
        code, got = _http(f"{srv.url}/v1/models/p:classify", {"context": context, "examples": bad})
        assert code == 400 and "example 1: feature 'age' has 2 values" in got["error"], got
        code, got = _http(f"{srv.url}/v1/models/p:classify", {"examples": [{"color": "red", "age": 30.0}]})
        assert code == 200  # user is a VarLenFeature, hours has a default: both may be absent
        code, got = _http(f"{srv.url}/v1/models/p:classify", {"examples": [{"color": "red"}]})
        assert code == 400 and "required feature 'age'" in got["error"], got
    finally:
        srv.stop()


def test_nestor_serve_command_in_a_subprocess(wide_deep):
    import socket
    import subprocess
    import sys
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    py = os.path.join(os.path.dirname(tf.__file__), "..")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(py))
    bad = subprocess.run([sys.executable, "-m", "nestor.serving", "--model_name", "wd", "--model_base_path",
                          "/nonexistent/dir"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not a directory" in bad.stderr
    cmd = ("import sys; from nestor.serving.__main__ import cli; sys.exit(cli(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", cmd, "serve", "--model_name", "wd", "--model_base_path",
                             wide_deep[1], "--rest_api_port", str(port), "--rest_api_host", "127.0.0.1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, status = time.time() + 120, None
        while time.time() < deadline and status is None:
            try:
                status = _http(f"http://127.0.0.1:{port}/v1/models/wd")
            except OSError:
                assert proc.poll() is None, "server exited"
                time.sleep(0.2)
        assert status is not None and status[0] == 200 and \
            status[1]["model_version_status"][0]["state"] == "AVAILABLE"
        code, got = _http(f"http://127.0.0.1:{port}/v1/models/wd:predict", {
            "signature_name": "predict", "instances": [{"color": "red", "user": "user1", "age": 30.0}]})
        assert code == 200 and len(got["predictions"]) == 1
    finally:
        proc.terminate()
        proc.wait(30)
