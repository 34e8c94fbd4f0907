"""The shipped examples run with `import nestor as tf` and reach TensorFlow's accuracy on
the same data (TensorFlow's figures were recorded by running the same scripts with
--tensorflow; see tests/fixtures/tf_examples.json)."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = json.load(open(os.path.join(ROOT, "tests", "fixtures", "tf_examples.json")))


def _run(script, *args):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_custom_estimator_matches_tensorflow_accuracy(tmp_path):
    out = _run("custom_estimator.py", "--json", "--model_dir", str(tmp_path))
    res = json.loads(out.strip().splitlines()[-1])
    assert res["global_step"] == 1000
    assert abs(res["accuracy"] - FIXTURES["custom_estimator"]["accuracy"]) <= 0.03
    assert res["predictions_correct"] == 3


def test_graph_mlp_example_trains_evaluates_predicts_and_exports(tmp_path):
    out = _run("graph_mlp.py", "--export_dir", str(tmp_path / "export"))
    assert "reloaded export predicts identically" in out
    assert os.path.exists(tmp_path / "export" / "variables.safetensors")


def test_premade_estimator_matches_tensorflow_mean_accuracy(tmp_path):
    """DNNClassifier([30, 10]) on iris-like data: at Adagrad's default learning rate (0.001)
    the accuracy after 5000 steps depends on the initialization, so the means over the same
    five seeds are compared (TensorFlow's per-seed figures are in the fixture)."""
    ref = FIXTURES["premade_estimator"]
    accs = []
    for seed in ref["seeds"]:
        out = _run("premade_estimator.py", "--json", "--seed", str(seed), "--model_dir", str(tmp_path / str(seed)))
        res = json.loads(out.strip().splitlines()[-1])
        assert res["global_step"] == 5000
        assert res["exported_predictions"] == res["predictions"]  # the export serves what predict() gives
        assert len(res["predictions"]) == 3
        accs.append(res["accuracy"])
    assert abs(sum(accs) / len(accs) - ref["mean_accuracy"]) <= 0.03, (accs, ref["accuracy"])


def test_wide_deep_matches_tensorflow_mean_auc(tmp_path):
    """DNNLinearCombinedClassifier on the census-like table, 1000 steps at batch 256: the AUC
    depends on the initialization by about 0.01, so the means over the same five seeds are
    compared with TensorFlow's (issue target: within 0.005)."""
    ref = FIXTURES["wide_deep"]
    aucs = []
    for seed in ref["seeds"]:
        out = _run("wide_deep.py", "--json", "--seed", str(seed), "--train_steps", "1000",
                   "--model_dir", str(tmp_path / str(seed)))
        res = json.loads(out.strip().splitlines()[-1])
        assert res["global_step"] == 1000
        aucs.append(res["auc"])
    tf_mean = ref["train_steps"]["1000"]["mean_auc"]
    assert abs(sum(aucs) / len(aucs) - tf_mean) <= 0.005, (aucs, ref["train_steps"]["1000"]["auc"])
