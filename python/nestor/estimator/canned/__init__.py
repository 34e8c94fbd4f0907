"""Pre-made ("canned") estimators of `tf.estimator` (TF 2.15, v2 API).

Linear*, DNN*, DNNLinearCombined* and Baseline* in their Classifier / Regressor / Estimator
(custom head) forms. They build their logits from `nestor.feature_column`, take their loss,
metrics and predictions from the heads of `nestor.estimator.head`, and train with
`nestor.train` optimizers chosen by name (with TF 2.15's default learning rates), instance
or callable (see `optimizers.get_optimizer_instance`).
"""
from __future__ import annotations

from .baseline import BaselineClassifier, BaselineEstimator, BaselineRegressor
from .dnn import DNNClassifier, DNNEstimator, DNNRegressor
from .dnn_linear_combined import DNNLinearCombinedClassifier, DNNLinearCombinedEstimator, DNNLinearCombinedRegressor
from .linear import LinearClassifier, LinearEstimator, LinearRegressor

__all__ = ["BaselineClassifier", "BaselineEstimator", "BaselineRegressor", "DNNClassifier", "DNNEstimator",
           "DNNRegressor", "DNNLinearCombinedClassifier", "DNNLinearCombinedEstimator", "DNNLinearCombinedRegressor",
           "LinearClassifier", "LinearEstimator", "LinearRegressor"]
