"""Linear estimators: `LinearClassifier`, `LinearRegressor`, `LinearEstimator` (TF 2.15, v2).

The logits are `feature_column.linear_model(features, columns, units=logits_dimension,
sparse_combiner=...)` built under the variable scope `linear`, so the zero-initialised
variables are `linear/linear_model/<column name>/weights` and
`linear/linear_model/bias_weights`. Training writes the summaries `bias` (a scalar for
one logit, else a histogram) and `fraction_of_zero_weights`. The default optimizer is
'Ftrl' with learning rate 0.2; `optimizer=None` gives Ftrl with `min(0.2, 1/sqrt(n_columns))`.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

from ... import dtypes as _dtypes
from ...framework.graph import Tensor
from ...framework.variables import variable_scope
from ..estimator import Estimator
from ..model_fn import EstimatorSpec, ModeKeys
from . import _common
from .optimizers import get_optimizer_instance

__all__ = ["LinearClassifier", "LinearRegressor", "LinearEstimator", "linear_logits"]

_LEARNING_RATE = 0.2


def _fraction_of_zero(variables: List[Any]) -> Tensor:
    """Zeros over all entries of `variables` (TF's `_compute_fraction_of_zero`)."""
    from ...framework.graph import name_scope
    from ...ops import core_ops, math_ops, reduction_ops
    with name_scope("zero_fraction"):
        total = 0
        zeros = []
        for v in variables:
            x = v.value()
            total += x.shape.num_elements()
            zeros.append(reduction_ops.reduce_sum(core_ops.cast(
                math_ops.equal(x, core_ops.constant(0, x.dtype)), _dtypes.float32)))
        if not zeros:
            return core_ops.constant(float("nan"), _dtypes.float32)
        count = zeros[0]
        for z in zeros[1:]:
            count = count + z
        return count / float(total)


def linear_logits(units: int, feature_columns: Tuple[Any, ...], sparse_combiner: str,
                  features: Any) -> Tuple[Tensor, List[Any]]:
    """Builds `linear/linear_model` and its summaries.

    Returns:
      (logits [batch, units], the model's variables: the columns' weights then the bias).
    """
    from ... import feature_column as _fc
    from ... import summary
    from ...ops import core_ops

    cols_to_vars: Dict[Any, Any] = {}
    with variable_scope("linear"):
        logits = _fc.linear_model(features, feature_columns, units=units, sparse_combiner=sparse_combiner,
                                  cols_to_vars=cols_to_vars)
    bias = _common.flatten_vars([cols_to_vars["bias"]])
    weights = _common.flatten_vars([vs for col, vs in cols_to_vars.items() if not isinstance(col, str)])
    if units > 1:
        summary.histogram("bias", bias[0].value())
    else:
        summary.scalar("bias", core_ops.reshape(bias[0].value(), []))
    summary.scalar("fraction_of_zero_weights", _fraction_of_zero(weights))
    return logits, weights + bias


def _linear_model_fn(features: Any, labels: Any, mode: str, head: Any, feature_columns: Tuple[Any, ...],
                     optimizer: Any, sparse_combiner: str) -> EstimatorSpec:
    _common.check_features_dict(features)
    logits, trainable_variables = linear_logits(head.logits_dimension, feature_columns, sparse_combiner, features)
    opt = None
    if mode == ModeKeys.TRAIN:
        if optimizer is None:  # TF's _get_default_optimizer_v2
            opt = get_optimizer_instance("Ftrl", min(_LEARNING_RATE, 1.0 / math.sqrt(len(feature_columns))))
        else:
            opt = get_optimizer_instance(optimizer, learning_rate=_LEARNING_RATE)
    return head.create_estimator_spec(features=features, mode=mode, labels=labels, optimizer=opt, logits=logits,
                                      trainable_variables=trainable_variables)


class LinearEstimator(Estimator):
    """A linear model with a custom `head` (`tf.estimator.LinearEstimator`).

    Args:
      head: a `Head`.
      feature_columns: the model's feature columns (categorical or dense).
      model_dir: checkpoint directory.
      optimizer: 'Ftrl' (default, learning rate 0.2), 'Adagrad', 'Adam', 'RMSProp', 'SGD', an
        `Optimizer`, a zero-argument callable returning one, or None (Ftrl with
        `min(0.2, 1/sqrt(len(feature_columns)))`).
      config: a `RunConfig`.
      sparse_combiner: 'sum' (default), 'mean' or 'sqrtn': how a multivalent categorical
        column's weights are combined.
      warm_start_from: a checkpoint path or `WarmStartSettings`.
    """

    def __init__(self, head: Any, feature_columns: Any, model_dir: Optional[str] = None, optimizer: Any = "Ftrl",
                 config: Any = None, sparse_combiner: str = "sum", warm_start_from: Any = None):
        self._init_linear(head, feature_columns, model_dir, optimizer, config, warm_start_from, sparse_combiner)

    def _init_linear(self, head: Any, feature_columns: Any, model_dir: Optional[str], optimizer: Any, config: Any,
                     warm_start_from: Any, sparse_combiner: str) -> None:
        columns = _common.check_feature_columns(feature_columns)
        _common.check_optimizer_arg(optimizer)
        combiner = _common.check_sparse_combiner(sparse_combiner)
        self._head = head

        def _model_fn(features: Any, labels: Any, mode: str, config: Any) -> EstimatorSpec:
            return _linear_model_fn(features, labels, mode, head, columns, optimizer, combiner)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class LinearClassifier(LinearEstimator):
    """A linear classifier (`tf.estimator.LinearClassifier`), e.g. logistic regression for
    `n_classes=2` (`BinaryClassHead`), softmax regression above (`MultiClassHead`).

    Args:
      feature_columns, model_dir, optimizer, config, warm_start_from, sparse_combiner: as
        `LinearEstimator`.
      n_classes: number of classes (> 1).
      weight_column: feature key (or `numeric_column`) of per-example loss weights.
      label_vocabulary: the class names when labels are strings.
      loss_reduction: how the training loss is reduced over the batch.
    """

    def __init__(self, feature_columns: Any, model_dir: Optional[str] = None, n_classes: int = 2,
                 weight_column: Any = None, label_vocabulary: Any = None, optimizer: Any = "Ftrl",
                 config: Any = None, warm_start_from: Any = None, loss_reduction: str = "sum_over_batch_size",
                 sparse_combiner: str = "sum"):
        head = _common.binary_or_multi_class_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        self._init_linear(head, feature_columns, model_dir, optimizer, config, warm_start_from, sparse_combiner)


class LinearRegressor(LinearEstimator):
    """A linear regressor (`tf.estimator.LinearRegressor`) with a `RegressionHead(label_dimension)`.

    Args: as `LinearClassifier`, with `label_dimension` instead of `n_classes` and
      `label_vocabulary`.
    """

    def __init__(self, feature_columns: Any, model_dir: Optional[str] = None, label_dimension: int = 1,
                 weight_column: Any = None, optimizer: Any = "Ftrl", config: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = "sum_over_batch_size", sparse_combiner: str = "sum"):
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        self._init_linear(head, feature_columns, model_dir, optimizer, config, warm_start_from, sparse_combiner)
