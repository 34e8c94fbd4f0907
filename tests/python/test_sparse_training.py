"""Pre-made estimators on a 1,000,000-bucket categorical column train with sparse updates end to
end: the training graph applies IndexedSlices through the optimizers' sparse kernels, no op of the
step produces a table-sized value except the variables and their optimizer slots, and only the
rows of the ids seen change (checked against the checkpoint before training). Their speed per
example against a 1,000-bucket column is measured by benchmarks/estimators.py."""
from __future__ import annotations

import os

import numpy as np
import pytest

import nestor as tf

BUCKETS = 1_000_000


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.array([f"user{i}" for i in rng.integers(0, 40, n)], dtype=object)
    return {"user": ids, "x": rng.standard_normal((n, 1)).astype(np.float32)}, (rng.random(n) < 0.5).astype(np.int64)


def _estimator(kind, model_dir):
    fc = tf.feature_column
    user = fc.categorical_column_with_hash_bucket("user", BUCKETS)
    cfg = tf.estimator.RunConfig(tf_random_seed=1)
    if kind == "linear":
        return tf.estimator.LinearClassifier([user, fc.numeric_column("x")], model_dir=model_dir, config=cfg), \
            "linear/linear_model/user/weights"
    return tf.estimator.DNNClassifier([4], [fc.embedding_column(user, 8), fc.numeric_column("x")],
                                      model_dir=model_dir, config=cfg), \
        "dnn/input_from_feature_columns/input_layer/user_embedding/embedding_weights"


@pytest.mark.parametrize("kind", ["linear", "dnn"])
def test_million_bucket_column_trains_sparsely(kind, tmp_path):
    est, table = _estimator(kind, str(tmp_path))
    x, y = _data()
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(64).repeat(), steps=3)
    graph = next(b.graph for k, b in est._built.items() if k[0] == tf.estimator.ModeKeys.TRAIN)
    ops = graph.get_operations()
    apply_types = {op.type for op in ops if "apply_" in op.type}
    assert any(t.startswith("sparse_apply_") for t in apply_types), apply_types
    # Table-sized values: the variables, their initializers and the sparse updates (which return the
    # variable) -- never a gradient and never a dense update of the table.
    big = [op for op in ops for t in op.outputs if t.shape.rank and t.shape[0] == BUCKETS]
    assert any(op.type.startswith("sparse_apply_") for op in big)
    bad = [(op.name, op.type) for op in big
           if op.name.startswith("gradients") or op.type.startswith("apply_") or "gather_grad" in op.type]
    assert bad == [], bad
    # Only the hashed rows of the 40 users moved.
    before = tf.train.load_variable(os.path.join(str(tmp_path), "model.ckpt-0"), table)
    after = est.get_variable_value(table)
    changed = np.nonzero(np.any(after != before, axis=tuple(range(1, after.ndim))))[0]
    with tf.Graph().as_default():
        expected = tf.Session().run(tf.strings.to_hash_bucket_fast(np.unique(x["user"]), BUCKETS))
    assert set(changed) <= set(expected.tolist()) and len(changed) > 0
