"""`tf.compat.v1.metrics`: streaming evaluation metrics.

Every metric returns `(value_tensor, update_op)`; run `update_op` once per batch (after
`tf.local_variables_initializer()`), then read `value_tensor`.
"""
from __future__ import annotations

from ._at_k import (average_precision_at_k, precision_at_k, precision_at_top_k, recall_at_k, recall_at_top_k,
                    sparse_average_precision_at_k, sparse_precision_at_k)
from ._impl import (accuracy, false_negatives, false_positives, mean, mean_absolute_error, mean_iou,
                    mean_per_class_accuracy, mean_squared_error, mean_tensor, metric_variable, precision, recall,
                    root_mean_squared_error, true_negatives, true_positives)
from ._operating_point import (mean_cosine_distance, mean_relative_error, percentage_below,
                               sensitivity_at_specificity, specificity_at_sensitivity)
from ._thresholds import (auc, false_negatives_at_thresholds, false_positives_at_thresholds,
                          precision_at_thresholds, recall_at_thresholds, true_negatives_at_thresholds,
                          true_positives_at_thresholds)

__all__ = ["accuracy", "auc", "average_precision_at_k", "false_negatives", "false_negatives_at_thresholds",
           "false_positives", "false_positives_at_thresholds", "mean", "mean_absolute_error", "mean_cosine_distance",
           "mean_iou", "mean_per_class_accuracy", "mean_relative_error", "mean_squared_error", "mean_tensor",
           "percentage_below", "precision", "precision_at_k", "precision_at_thresholds", "precision_at_top_k",
           "recall", "recall_at_k", "recall_at_thresholds", "recall_at_top_k", "root_mean_squared_error",
           "sensitivity_at_specificity", "sparse_average_precision_at_k", "sparse_precision_at_k",
           "specificity_at_sensitivity", "true_negatives", "true_negatives_at_thresholds", "true_positives",
           "true_positives_at_thresholds"]
