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
