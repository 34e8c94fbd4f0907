"""Baseline estimators: `BaselineClassifier`, `BaselineRegressor`, `BaselineEstimator` (TF 2.15, v2).

The model ignores the features: its logits are one learned bias per output, the variable
`baseline/bias` [logits_dimension] (zeros at start), broadcast to `[batch, logits_dimension]`;
the batch size is taken from the first feature that is not the weight column. Trained with
the loss of the head, it converges to the prior (class log-odds, or the label mean). The
default optimizer is 'Ftrl' with learning rate 0.3.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from ...framework.graph import Tensor, convert_to_tensor
from ...framework.variables import get_variable, variable_scope
from ..estimator import Estimator
from ..model_fn import EstimatorSpec, ModeKeys
from . import _common
from .optimizers import get_optimizer_instance

__all__ = ["BaselineClassifier", "BaselineRegressor", "BaselineEstimator", "baseline_logits"]

_LEARNING_RATE = 0.3


def _weight_column_key(weight_column: Any) -> Optional[str]:
    if weight_column is None:
        return None
    if isinstance(weight_column, str):
        return weight_column
    key = getattr(weight_column, "key", None)
    if not isinstance(key, str) or not hasattr(weight_column, "normalizer_fn"):
        raise TypeError(f"Weight column must be either a string or NumericColumn. Given type: {type(weight_column)}.")
    return key


def baseline_logits(features: Any, num_outputs: int, weight_column: Any = None) -> Tuple[List[Any], Tensor]:
    """The `baseline/bias` variable and the logits `bias * ones([batch, num_outputs])`."""
    from ... import initializers
    from ...ops import array_ops, core_ops

    weight_key = _weight_column_key(weight_column)
    items = features.items() if isinstance(features, dict) else [(None, features)]
    batch_size = None
    for key, value in items:
        if key == weight_key:
            continue
        value = convert_to_tensor(value)
        batch_size = core_ops.shape(value)[0]
        break
    if batch_size is None:
        raise ValueError("The baseline estimators need a feature other than the weight column to find the batch size; "
                         f"features: {sorted(map(str, features)) if isinstance(features, dict) else features}")
    with variable_scope("baseline"):
        bias = get_variable("bias", shape=[num_outputs], initializer=initializers.zeros_initializer())
        ones = array_ops.ones(array_ops.stack([batch_size, num_outputs]))
        logits = bias.value() * ones
    return [bias], logits


def _baseline_model_fn(features: Any, labels: Any, mode: str, head: Any, optimizer: Any,
                       weight_column: Any = None) -> EstimatorSpec:
    trainable_variables, logits = baseline_logits(features, head.logits_dimension, weight_column)
    opt = get_optimizer_instance(optimizer, learning_rate=_LEARNING_RATE) if mode == ModeKeys.TRAIN else None
    return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits, optimizer=opt,
                                      trainable_variables=trainable_variables)


class BaselineEstimator(Estimator):
    """A bias-only model with a custom `head` (`tf.estimator.BaselineEstimator`).

    Args:
      head: a `Head`.
      model_dir: checkpoint directory.
      optimizer: 'Ftrl' (default, learning rate 0.3), 'Adagrad', 'Adam', 'RMSProp', 'SGD', an
        `Optimizer`, or a zero-argument callable returning one.
      config: a `RunConfig`.
    """

    def __init__(self, head: Any, model_dir: Optional[str] = None, optimizer: Any = "Ftrl", config: Any = None):
        self._init_baseline(head, model_dir, optimizer, config, None)

    def _init_baseline(self, head: Any, model_dir: Optional[str], optimizer: Any, config: Any,
                       weight_column: Any) -> None:
        _common.check_optimizer_arg(optimizer)
        _weight_column_key(weight_column)
        self._head = head

        def _model_fn(features: Any, labels: Any, mode: str, config: Any) -> EstimatorSpec:
            return _baseline_model_fn(features, labels, mode, head, optimizer, weight_column)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config)


class BaselineClassifier(BaselineEstimator):
    """Predicts the class prior (`tf.estimator.BaselineClassifier`).

    Args:
      model_dir, optimizer, config: as `BaselineEstimator`.
      n_classes: number of classes (> 1).
      weight_column: feature key (or `numeric_column`) of per-example loss weights.
      label_vocabulary: the class names when labels are strings.
      loss_reduction: how the training loss is reduced over the batch.
    """

    def __init__(self, model_dir: Optional[str] = None, n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Any = None, optimizer: Any = "Ftrl", config: Any = None,
                 loss_reduction: str = "sum_over_batch_size"):
        head = _common.binary_or_multi_class_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        self._init_baseline(head, model_dir, optimizer, config, weight_column)


class BaselineRegressor(BaselineEstimator):
    """Predicts the (weighted) mean label (`tf.estimator.BaselineRegressor`).

    Args: as `BaselineClassifier`, with `label_dimension` instead of `n_classes` and
      `label_vocabulary`.
    """

    def __init__(self, model_dir: Optional[str] = None, label_dimension: int = 1, weight_column: Any = None,
                 optimizer: Any = "Ftrl", config: Any = None, loss_reduction: str = "sum_over_batch_size"):
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        self._init_baseline(head, model_dir, optimizer, config, weight_column)
