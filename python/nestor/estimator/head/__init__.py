"""TensorFlow 2.15's estimator heads (`tf.estimator.*Head`): loss, predictions, eval metrics,
export outputs and train op on top of a model's logits."""
from __future__ import annotations

from .base_head import Head, MetricKeys, PredictionKeys
from .binary_class_head import BinaryClassHead
from .multi_class_head import MultiClassHead
from .multi_head import MultiHead
from .multi_label_head import MultiLabelHead
from .regression_head import LogisticRegressionHead, PoissonRegressionHead, RegressionHead

__all__ = ["Head", "BinaryClassHead", "MultiClassHead", "MultiLabelHead", "RegressionHead", "PoissonRegressionHead",
           "LogisticRegressionHead", "MultiHead", "MetricKeys", "PredictionKeys"]
