"""Wide & deep on a census-like table (after TensorFlow's official census wide_deep example).

    python examples/wide_deep.py                # on nestor
    python examples/wide_deep.py --tensorflow   # the same program on TensorFlow 2.15

The table is generated deterministically with NumPy, so the program runs offline and on the
same data under both: 6 numeric columns, 8 string categorical columns with vocabularies of
2 to 1000 values, a user id hashed into 10,000 buckets, and the label drawn from a known
logistic model of the features (numeric effects, per-category effects, an education x
occupation interaction and a per-user effect) so that AUC measures how much of it was learned.
The wide part is a linear model on the categorical, hashed and crossed columns; the deep part
a [100, 50] DNN on the numeric columns and 8-dimensional embeddings of the categorical ones.
`--json` prints the results as one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--batch_size", default=256, type=int)
parser.add_argument("--train_steps", default=2000, type=int)
parser.add_argument("--n_train", default=40000, type=int)
parser.add_argument("--n_test", default=10000, type=int)
parser.add_argument("--model_dir", default=None)
parser.add_argument("--seed", default=42, type=int, help="RunConfig.tf_random_seed")
parser.add_argument("--tensorflow", action="store_true", help="run on TensorFlow instead of nestor")
parser.add_argument("--json", action="store_true")
args = parser.parse_args()

if args.tensorflow:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TF 2.x's own API: the v2 canned estimators (tf.compat.v1.estimator.* are the v1 ones, with
    # loss_reduction='weighted_sum' and other learning rates).
    import tensorflow as tf
else:
    import nestor as tf

# name -> (mean, std) of the numeric columns, as generated below
NUMERIC = {"age": (40.0, 12.0), "education_num": (10.0, 2.5), "capital_gain": (1000.0, 2500.0),
           "capital_loss": (90.0, 400.0), "hours_per_week": (40.0, 11.0), "fnlwgt": (190000.0, 100000.0)}
# name -> vocabulary size of the string categorical columns
CATEGORICAL = {"gender": 2, "race": 5, "relationship": 6, "marital_status": 7, "workclass": 9,
               "education": 16, "occupation": 100, "zip_region": 1000}
N_USERS = 50000
HASH_BUCKETS = 10000
CROSS_BUCKETS = 1000


def vocabulary(name, size):
    return [f"{name}_{i:04d}" for i in range(size)]


def make_data(n, seed):
    """(features dict of numpy arrays, int64 labels [n, 1]) from the fixed logistic model
    (its effects drawn with seed 1234, the rows with `seed`)."""
    effects = np.random.RandomState(1234)
    rng = np.random.RandomState(seed)
    feats, logit = {}, np.full(n, -1.0)
    weights = {"age": 0.5, "education_num": 0.6, "capital_gain": 0.8, "capital_loss": 0.3, "hours_per_week": 0.4,
               "fnlwgt": 0.0}
    for name, (mean, std) in NUMERIC.items():
        if name in ("capital_gain", "capital_loss"):
            x = np.where(rng.uniform(size=n) < 0.15, rng.exponential(mean / 0.15, n), 0.0)
        else:
            x = mean + std * rng.standard_normal(n)
        feats[name] = x.astype(np.float32)
        logit += weights[name] * np.tanh((x - mean) / std)
    ids = {}
    for name, size in CATEGORICAL.items():
        p = 1.0 / np.arange(1, size + 1) ** 0.8  # Zipf-like frequencies
        ids[name] = rng.choice(size, n, p=p / p.sum())
        feats[name] = np.array(vocabulary(name, size))[ids[name]]
        logit += effects.standard_normal(size)[ids[name]] * (0.8 if size < 50 else 0.4)
    cross = effects.standard_normal((CATEGORICAL["education"], CATEGORICAL["occupation"]))
    logit += 0.7 * cross[ids["education"], ids["occupation"]]
    users = rng.zipf(1.3, n) % N_USERS
    feats["user_id"] = np.array([f"u{u}" for u in users])
    logit += 0.8 * effects.standard_normal(N_USERS)[users]
    labels = (logit + rng.logistic(size=n) > 0).astype(np.int64).reshape(-1, 1)
    return feats, labels


def build_columns():
    fc = tf.feature_column
    numeric = [fc.numeric_column(name, normalizer_fn=lambda x, m=mean, s=std: (x - m) / s)
               for name, (mean, std) in NUMERIC.items()]
    cats = [fc.categorical_column_with_vocabulary_list(name, vocabulary(name, size))
            for name, size in CATEGORICAL.items()]
    user = fc.categorical_column_with_hash_bucket("user_id", hash_bucket_size=HASH_BUCKETS)
    cross = fc.crossed_column(["education", "occupation"], hash_bucket_size=CROSS_BUCKETS)
    wide = cats + [user, cross]
    deep = numeric + [fc.embedding_column(c, dimension=8) for c in cats + [user]]
    return wide, deep


def train_input_fn(features, labels, batch_size):
    dataset = tf.data.Dataset.from_tensor_slices((dict(features), labels))
    return dataset.shuffle(10000, seed=1).repeat().batch(batch_size)


def eval_input_fn(features, labels, batch_size):
    return tf.data.Dataset.from_tensor_slices((dict(features), labels)).batch(batch_size)


def main():
    train_x, train_y = make_data(args.n_train, 0)
    test_x, test_y = make_data(args.n_test, 1)
    wide, deep = build_columns()
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="wide_deep_")
    model = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=model_dir, linear_feature_columns=wide, dnn_feature_columns=deep, dnn_hidden_units=[100, 50],
        config=tf.estimator.RunConfig(tf_random_seed=args.seed))

    t0 = time.perf_counter()
    model.train(input_fn=lambda: train_input_fn(train_x, train_y, args.batch_size), steps=args.train_steps)
    train_secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = model.evaluate(input_fn=lambda: eval_input_fn(test_x, test_y, args.batch_size))
    eval_secs = time.perf_counter() - t0
    for key in sorted(result):
        print(f"{key}: {result[key]}")
    if args.json:
        out = {k: float(result[k]) for k in ("accuracy", "accuracy_baseline", "auc", "auc_precision_recall",
                                             "average_loss", "loss") if k in result}
        out.update(global_step=int(result["global_step"]), train_secs=train_secs, eval_secs=eval_secs,
                   train_examples_per_sec=args.train_steps * args.batch_size / train_secs)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
