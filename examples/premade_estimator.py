"""The TensorFlow pre-made Estimator tutorial (premade_estimator.py), unchanged but for the import.

    python examples/premade_estimator.py                # on nestor
    python examples/premade_estimator.py --tensorflow   # the same program on TensorFlow 2.15

Trains a `DNNClassifier` (hidden units [30, 10], 3 classes) on iris-like data, evaluates it
and predicts three examples. `--json` prints the results as one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iris_data  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--seed", default=42, type=int, help="graph-level random seed")
parser.add_argument("--batch_size", default=256, type=int, help="batch size")
parser.add_argument("--train_steps", default=5000, type=int, help="number of training steps")
parser.add_argument("--model_dir", default=None)
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


def train_input_fn(features, labels, batch_size):
    dataset = tf.data.Dataset.from_tensor_slices((dict(features), labels))
    return dataset.shuffle(1000, seed=1).repeat().batch(batch_size)


def eval_input_fn(features, labels, batch_size):
    features = dict(features)
    inputs = features if labels is None else (features, labels)
    return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)


def main():
    (train_x, train_y), (test_x, test_y) = iris_data.load_data()
    my_feature_columns = [tf.feature_column.numeric_column(key=key) for key in train_x.keys()]
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="premade_estimator_")
    classifier = tf.estimator.DNNClassifier(feature_columns=my_feature_columns, hidden_units=[30, 10], n_classes=3,
                                             model_dir=model_dir, config=tf.estimator.RunConfig(tf_random_seed=args.seed))

    t0 = time.perf_counter()
    classifier.train(input_fn=lambda: train_input_fn(train_x, train_y, args.batch_size), steps=args.train_steps)
    train_secs = time.perf_counter() - t0

    eval_result = classifier.evaluate(input_fn=lambda: eval_input_fn(test_x, test_y, args.batch_size))
    print("\nTest set accuracy: {accuracy:0.3f}\n".format(**eval_result))

    expected = ["Setosa", "Versicolor", "Virginica"]
    predict_x = {"SepalLength": [5.1, 5.9, 6.9], "SepalWidth": [3.3, 3.0, 3.1],
                 "PetalLength": [1.7, 4.2, 5.4], "PetalWidth": [0.5, 1.5, 2.1]}
    predictions = classifier.predict(input_fn=lambda: eval_input_fn(predict_x, labels=None, batch_size=3))
    template = 'Prediction is "{}" ({:.1f}%), expected "{}"'
    correct = 0
    predicted = []
    for pred_dict, expec in zip(predictions, expected):
        class_id = pred_dict["class_ids"][0]
        probability = pred_dict["probabilities"][class_id]
        correct += iris_data.SPECIES[class_id] == expec
        predicted.append(iris_data.SPECIES[class_id])
        print(template.format(iris_data.SPECIES[class_id], 100 * probability, expec))
    exported = None
    if not args.tensorflow:
        # Export for serving, reload the export and query it once (nestor's export format).
        serving_input_fn = tf.estimator.export.build_raw_serving_input_receiver_fn(
            {key: tf.constant([0.0]) for key in train_x.keys()})
        export_path = classifier.export_saved_model(os.path.join(model_dir, "export"), serving_input_fn)
        served = tf.saved_model.load(export_path).signatures["predict"](predict_x)
        exported = [iris_data.SPECIES[int(c)] for c in served["class_ids"].reshape(-1)]
        print("Exported to {}; the export predicts {}".format(export_path.decode(), exported))
    if args.json:
        print(json.dumps({"accuracy": float(eval_result["accuracy"]), "predictions": predicted, "exported_predictions": exported,
                          "average_loss": float(eval_result["average_loss"]), "loss": float(eval_result["loss"]), "global_step": int(eval_result["global_step"]),
                          "train_secs": train_secs, "predictions_correct": int(correct)}))


if __name__ == "__main__":
    main()
