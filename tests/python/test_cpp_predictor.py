"""The C++ serving path: examples/cpp/predict (libnestor_runtime through the C API) answers
like Estimator.predict on an export with string features, and damaged exports fail cleanly.

The program is built once with CMake, find_package(nestor), against: the build tree named by
$NESTOR_RUNTIME_BUILD_DIR; else the installed wheel's package (nestor.sysconfig.get_cmake_dir(),
so the test checks what the wheel ships); else an existing build/<dir> of this checkout that
has the `nestor` package files (rebuilt incrementally), else a fresh build/cpp-runtime."""
import glob
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

import nestor as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _usable(build_dir: str) -> bool:
    """Not a sanitizer build (ASan must come first in a program's libraries) and not a
    wheel build of scikit-build-core (its cmake lived in a deleted build environment)."""
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            cache = f.read()
    except OSError:
        return False
    return "NESTOR_SANITIZE:BOOL=ON" not in cache and "SKBUILD" not in cache


def _runtime_build_dir() -> str:
    d = os.environ.get("NESTOR_RUNTIME_BUILD_DIR")
    if not d:
        try:
            return tf.sysconfig.get_cmake_dir()
        except FileNotFoundError:
            pass
        found = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(ROOT, "build", "*", "nestorConfig.cmake"))
                       if _usable(os.path.dirname(p)))
        d = found[0] if found else os.path.join(ROOT, "build", "cpp-runtime")
    if not os.path.exists(os.path.join(d, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", ROOT, "-B", d, "-DCMAKE_BUILD_TYPE=Release", "-DNESTOR_BUILD_PYTHON=OFF"],
                       check=True, capture_output=True)
    subprocess.run(["cmake", "--build", d, "--target", "nestor"], check=True, capture_output=True)
    return d


@pytest.fixture(scope="session")
def predict_bin():
    runtime = _runtime_build_dir()
    out = os.path.join(ROOT, "build", "cpp-example")
    r = subprocess.run(["cmake", "-S", os.path.join(ROOT, "examples", "cpp"), "-B", out, f"-Dnestor_DIR={runtime}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["cmake", "--build", out], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return os.path.join(out, "predict")


def _data(n, seed):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue", "plum"], n)
    user = np.array([f"user{i}" for i in rng.integers(0, 50, n)])
    age = rng.uniform(18, 70, n).astype(np.float32)
    return {"color": color, "user": user, "age": age}, ((color == "red") ^ (age > 40)).astype(np.int64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cpp_predictor")
    fc = tf.feature_column
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
    user = fc.categorical_column_with_hash_bucket("user", 100)
    age = fc.numeric_column("age", normalizer_fn=lambda x: (x - 40.0) / 15.0)
    est = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=str(tmp / "model"), linear_feature_columns=[color, user],
        dnn_feature_columns=[age, fc.embedding_column(color, 4), fc.indicator_column(color)],
        dnn_hidden_units=[8], config=tf.estimator.RunConfig(tf_random_seed=3))
    x, y = _data(300, 0)
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(300, seed=1).repeat().batch(32), steps=40)
    serving = tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"color": tf.constant(["a"]), "user": tf.constant(["u"]), "age": tf.constant([1.0])})
    return est, est.export_saved_model(str(tmp / "export"), serving).decode()


def _run(binary, export, lines, sig="predict"):
    return subprocess.run([binary, export, sig], input="".join(json.dumps(l) + "\n" for l in lines),
                          capture_output=True, text=True, timeout=120)


def _rows(x, lo, hi):
    return {"color": list(x["color"][lo:hi]), "user": list(x["user"][lo:hi]),
            "age": [float(a) for a in x["age"][lo:hi]]}


def test_cpp_predict_matches_estimator(predict_bin, trained):
    est, export = trained
    x, _ = _data(50, seed=1)
    r = _run(predict_bin, export, [_rows(x, 0, 30), _rows(x, 30, 49), _rows(x, 49, 50)])
    assert r.returncode == 0, r.stderr + r.stdout
    outs = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(outs) == 3
    got = {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}
    want = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices(x).batch(50), yield_single_examples=False))[0]
    assert sorted(got) == sorted(want)
    for k in ("logits", "logistic", "probabilities"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7, err_msg=k)
    np.testing.assert_array_equal(got["class_ids"], want["class_ids"])
    assert [c for c in got["classes"].reshape(-1)] == [c.decode() if isinstance(c, bytes) else c
                                                       for c in want["classes"].reshape(-1)]
    assert got["probabilities"].shape == (50, 2)


def test_cpp_predict_bad_input_lines(predict_bin, trained):
    _, export = trained
    good = {"color": ["red"], "user": ["user1"], "age": [30.0]}
    r = _run(predict_bin, export, [dict(good, age=["old"]), dict(good, zip=[1]), good, {"color": ["red"]}])
    assert r.returncode == 3
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert "input 'age' needs numbers" in lines[0]["error"]
    assert "has no input 'zip'" in lines[1]["error"]
    assert len(lines[2]["probabilities"][0]) == 2
    assert "missing input" in lines[3]["error"]
    r = subprocess.run([predict_bin, export, "predict"], input='{"age": [1.0,\n', capture_output=True, text=True)
    assert r.returncode == 3 and "input line: offset" in json.loads(r.stdout)["error"]
    r = _run(predict_bin, export, [good], sig="nope")
    assert r.returncode == 1 and "has no signature 'nope'" in r.stderr


def _damaged(src, tmp_path, name, change):
    d = str(tmp_path / name)
    shutil.copytree(src, d)
    change(d)
    return d


def test_cpp_predict_damaged_exports(predict_bin, trained, tmp_path):
    _, export = trained
    good = [{"color": ["red"], "user": ["user1"], "age": [30.0]}]

    def truncate(d):
        p = os.path.join(d, "variables.safetensors")
        data = open(p, "rb").read()
        open(p, "wb").write(data[:len(data) - 7])

    def shift_offsets(d):
        p = os.path.join(d, "variables.safetensors")
        data = open(p, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        name = max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][1])
        b, e = header[name]["data_offsets"]
        header[name]["data_offsets"] = [b + 4, e + 4]
        h = json.dumps(header).encode()
        open(p, "wb").write(struct.pack("<Q", len(h)) + h + data[8 + n:])
        return name

    def bad_json(d):
        with open(os.path.join(d, "signatures.json"), "a") as f:
            f.write(",")

    def huge_header(d):
        p = os.path.join(d, "variables.safetensors")
        data = open(p, "rb").read()
        open(p, "wb").write(struct.pack("<Q", len(data)) + data[8:])

    cases = [("truncated", truncate, "variables.safetensors"),
             ("offsets", shift_offsets, "data_offsets"),  # the last tensor now ends past the data
             ("json", bad_json, "signatures.json: offset"),
             ("header", huge_header, "exceeds the file size")]
    for name, change, msg in cases:
        d = _damaged(export, tmp_path, name, change)
        r = _run(predict_bin, d, good)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert r.stdout == ""
        assert r.stderr.startswith("predict: export ") and msg in r.stderr, (name, r.stderr)


# ---- acceptance: each pre-made estimator family, string features through a vocabulary list, a
# vocabulary file (served from the export's assets/) and hash buckets.

CITIES = ["paris", "lima", "oslo", "kyoto", "quito"]


def _mixed_data(n, seed):
    rng = np.random.default_rng(seed)
    x = {"color": rng.choice(["red", "green", "blue", "plum"], n),  # plum: out of vocabulary
         "city": rng.choice(CITIES + ["atlantis"], n),                # atlantis: not in the file
         "user": np.array([f"user{i}" for i in rng.integers(0, 80, n)]),
         "age": rng.uniform(18, 70, n).astype(np.float32)}
    score = (x["color"] == "red") * 1.0 + (x["age"] > 40) + np.isin(x["city"], ["oslo", "kyoto"])
    return x, score


def _estimator(kind, model_dir, vocab_file):
    fc = tf.feature_column
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
    city = fc.categorical_column_with_vocabulary_file("city", vocab_file, default_value=len(CITIES) - 1)
    user = fc.categorical_column_with_hash_bucket("user", 40)
    age = fc.numeric_column("age", normalizer_fn=lambda a: (a - 40.0) / 15.0)
    dense = [age, fc.embedding_column(color, 3), fc.indicator_column(city), fc.embedding_column(user, 4)]
    sparse = [color, city, user, fc.crossed_column([color, "city"], 30), age]
    cfg = tf.estimator.RunConfig(tf_random_seed=7)
    if kind == "dnn":
        return tf.estimator.DNNClassifier([8, 4], dense, model_dir, n_classes=3,
                                          label_vocabulary=["low", "mid", "high"], config=cfg)
    if kind == "linear":
        return tf.estimator.LinearClassifier(sparse, model_dir, config=cfg)
    if kind == "regressor":
        return tf.estimator.DNNRegressor([8], dense, model_dir, config=cfg)
    return tf.estimator.DNNLinearCombinedClassifier(model_dir, linear_feature_columns=sparse,
                                                    dnn_feature_columns=dense, dnn_hidden_units=[8, 4], config=cfg)


def _labels(kind, score):
    if kind == "dnn":
        return np.array(["low", "mid", "high"])[np.minimum(score, 2).astype(int)]
    if kind == "regressor":
        return score.astype(np.float32)
    return (score >= 2).astype(np.int64)


@pytest.mark.parametrize("kind", ["dnn", "linear", "regressor", "wide_deep"])
def test_cpp_predict_matches_each_estimator(predict_bin, tmp_path, kind):
    vocab = tmp_path / "vocab" / "cities.txt"
    vocab.parent.mkdir()
    vocab.write_text("\n".join(CITIES) + "\n")
    est = _estimator(kind, str(tmp_path / "model"), str(vocab))
    x, score = _mixed_data(400, 0)
    y = _labels(kind, score)
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(400, seed=1).repeat().batch(32), steps=60)
    serving = tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"color": tf.constant(["a"]), "city": tf.constant(["c"]), "user": tf.constant(["u"]),
         "age": tf.constant([1.0])})
    export = est.export_saved_model(str(tmp_path / "export"), serving).decode()
    # The export stands alone: its assets/ holds the vocabulary file; the original is gone and
    # the export is served from another directory.
    with open(os.path.join(export, "assets", "cities.txt")) as f:
        assert f.read().split() == CITIES
    served = str(tmp_path / "served")
    shutil.copytree(export, served)
    shutil.rmtree(str(vocab.parent))
    shutil.rmtree(export)

    tx, _ = _mixed_data(61, seed=5)
    cuts = [(0, 40), (40, 60), (60, 61)]
    r = _run(predict_bin, served, [{k: [v.item() for v in tx[k][a:b]] for k in tx} for a, b in cuts])
    assert r.returncode == 0, r.stderr + r.stdout
    outs = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(outs) == len(cuts)
    got = {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}
    os.makedirs(vocab.parent)  # Estimator.predict builds its graph from the column's file again
    vocab.write_text("\n".join(CITIES) + "\n")
    want = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices(tx).batch(61), yield_single_examples=False))[0]
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        w = np.asarray(w)
        assert got[k].shape == w.shape, k
        if w.dtype.kind == "f":
            np.testing.assert_allclose(got[k], w, rtol=1e-6, atol=1e-7, err_msg=k)
        elif w.dtype.kind in "OSU":
            assert [g for g in got[k].reshape(-1)] == [c.decode() if isinstance(c, bytes) else c
                                                       for c in w.reshape(-1)], k
        else:
            np.testing.assert_array_equal(got[k], w, err_msg=k)
