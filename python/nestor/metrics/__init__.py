"""`tf.compat.v1.metrics`: streaming evaluation metrics.

Every metric returns `(value_tensor, update_op)`; run `update_op` once per batch (after
`tf.local_variables_initializer()`), then read `value_tensor`.
"""
from __future__ import annotations

from ._impl import (accuracy, false_negatives, false_positives, mean, mean_absolute_error, mean_iou,
                    mean_per_class_accuracy, mean_squared_error, mean_tensor, metric_variable, precision, recall,
                    root_mean_squared_error, true_negatives, true_positives)
from ._thresholds import (auc, false_negatives_at_thresholds, false_positives_at_thresholds,
                          precision_at_thresholds, recall_at_thresholds, true_negatives_at_thresholds,
                          true_positives_at_thresholds)

__all__ = ["accuracy", "auc", "false_negatives", "false_negatives_at_thresholds", "false_positives",
           "false_positives_at_thresholds", "mean", "mean_absolute_error", "mean_iou", "mean_per_class_accuracy",
           "mean_squared_error", "mean_tensor", "precision", "precision_at_thresholds", "recall",
           "recall_at_thresholds", "root_mean_squared_error", "true_negatives", "true_negatives_at_thresholds",
           "true_positives", "true_positives_at_thresholds"]
