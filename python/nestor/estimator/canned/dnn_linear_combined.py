"""Wide & deep estimators: `DNNLinearCombinedClassifier`, `...Regressor`, `...Estimator` (TF 2.15, v2).

The logits are the sum of a linear model on `linear_feature_columns` (variables under
`linear/linear_model/`, as `LinearClassifier`) and a DNN on `dnn_feature_columns` (under
`dnn/`, as `DNNClassifier`). Each part is trained by its own optimizer on its own variables;
the train op groups both updates (and the batch-norm updates), and the DNN's optimizer (the
linear one when there is no DNN) increments the global step. Default learning rates:
DNN 'Adagrad' 0.001, linear 'Ftrl' `min(0.005, 1/sqrt(len(linear_feature_columns)))`.
Besides the DNN and linear summaries, training writes `linear/fraction_of_zero_values` and
`linear/activation` for the linear logits.
"""
from __future__ import annotations

import math
from typing import Any, Callable, List, Optional, Tuple

from ...framework.graph import Tensor
from ...ops.activation_ops import relu
from ..estimator import Estimator
from ..model_fn import EstimatorSpec, ModeKeys
from . import _common
from .dnn import dnn_logits
from .linear import linear_logits
from .optimizers import get_optimizer_instance

__all__ = ["DNNLinearCombinedClassifier", "DNNLinearCombinedRegressor", "DNNLinearCombinedEstimator"]

_DNN_LEARNING_RATE = 0.001
_LINEAR_LEARNING_RATE = 0.005


def _linear_learning_rate(num_linear_feature_columns: int) -> float:
    return min(_LINEAR_LEARNING_RATE, 1.0 / math.sqrt(num_linear_feature_columns))


def _combined_model_fn(features: Any, labels: Any, mode: str, head: Any, linear_feature_columns: Tuple[Any, ...],
                       linear_optimizer: Any, dnn_feature_columns: Tuple[Any, ...], dnn_optimizer: Any,
                       dnn_hidden_units: List[int], dnn_activation_fn: Any, dnn_dropout: Optional[float],
                       batch_norm: bool, linear_sparse_combiner: str) -> EstimatorSpec:
    from ...ops import core_ops
    from ...train.training_util import get_global_step

    _common.check_features_dict(features)
    parts = []
    if dnn_feature_columns:
        logits, dnn_vars, dnn_updates = dnn_logits(
            units=head.logits_dimension, hidden_units=dnn_hidden_units, feature_columns=dnn_feature_columns,
            activation_fn=dnn_activation_fn, dropout=dnn_dropout, batch_norm=batch_norm, features=features,
            mode=mode)
        parts.append(logits)
    if linear_feature_columns:
        logits, linear_vars = linear_logits(head.logits_dimension, linear_feature_columns, linear_sparse_combiner,
                                            features)
        _common.add_layer_summary(logits, "linear")
        parts.append(logits)
    logits = parts[0] if len(parts) == 1 else parts[0] + parts[1]

    def _train_op_fn(loss: Tensor) -> Any:
        global_step = get_global_step()
        train_ops = []
        if dnn_feature_columns:
            opt = get_optimizer_instance(dnn_optimizer, learning_rate=_DNN_LEARNING_RATE)
            train_ops.append(opt.minimize(loss, var_list=dnn_vars, global_step=global_step))
            train_ops.extend(dnn_updates)
        if linear_feature_columns:
            opt = get_optimizer_instance(linear_optimizer,
                                         learning_rate=_linear_learning_rate(len(linear_feature_columns)))
            step = None if dnn_feature_columns else global_step
            train_ops.append(opt.minimize(loss, var_list=linear_vars, global_step=step))
        return core_ops.group(*train_ops)

    return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits,
                                      train_op_fn=_train_op_fn if mode == ModeKeys.TRAIN else None)


class DNNLinearCombinedEstimator(Estimator):
    """Wide & deep with a custom `head` (`tf.estimator.DNNLinearCombinedEstimator`).

    Args:
      head: a `Head`.
      model_dir: checkpoint directory.
      linear_feature_columns: columns of the linear ("wide") part.
      linear_optimizer: the linear part's optimizer ('Ftrl' by default), as `LinearEstimator`.
      dnn_feature_columns: dense columns of the DNN ("deep") part.
      dnn_optimizer: the DNN's optimizer ('Adagrad' by default), as `DNNEstimator`.
      dnn_hidden_units: hidden layer sizes; required with `dnn_feature_columns`.
      dnn_activation_fn: activation of the hidden layers.
      dnn_dropout: drop rate in training, or None.
      config: a `RunConfig`.
      batch_norm: batch-normalize the hidden layers.
      linear_sparse_combiner: 'sum', 'mean' or 'sqrtn' for the linear part.

    Raises:
      ValueError: neither column list given, or `dnn_hidden_units` missing with DNN columns.
    """

    def __init__(self, head: Any, model_dir: Optional[str] = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None, dnn_optimizer: Any = "Adagrad",
                 dnn_hidden_units: Any = None, dnn_activation_fn: Optional[Callable[[Tensor], Tensor]] = relu,
                 dnn_dropout: Optional[float] = None, config: Any = None, batch_norm: bool = False,
                 linear_sparse_combiner: str = "sum"):
        self._init_combined(head, model_dir, linear_feature_columns, linear_optimizer, dnn_feature_columns,
                            dnn_optimizer, dnn_hidden_units, dnn_activation_fn, dnn_dropout, config, None, batch_norm,
                            linear_sparse_combiner)

    def _init_combined(self, head: Any, model_dir: Optional[str], linear_feature_columns: Any, linear_optimizer: Any,
                       dnn_feature_columns: Any, dnn_optimizer: Any, dnn_hidden_units: Any, dnn_activation_fn: Any,
                       dnn_dropout: Optional[float], config: Any, warm_start_from: Any, batch_norm: bool,
                       linear_sparse_combiner: str) -> None:
        linear_cols = tuple(linear_feature_columns or ())
        dnn_cols = tuple(dnn_feature_columns or ())
        if not linear_cols and not dnn_cols:
            raise ValueError("Either linear_feature_columns or dnn_feature_columns must be defined.")
        if linear_cols:
            linear_cols = _common.check_feature_columns(linear_cols, "linear_feature_columns")
        hidden: List[int] = []
        if dnn_cols:
            dnn_cols = _common.check_feature_columns(dnn_cols, "dnn_feature_columns")
            if not dnn_hidden_units:
                raise ValueError("dnn_hidden_units must be defined when dnn_feature_columns is specified.")
            hidden = _common.check_hidden_units(dnn_hidden_units, "dnn_hidden_units")
        _common.check_optimizer_arg(linear_optimizer, "linear_optimizer")
        _common.check_optimizer_arg(dnn_optimizer, "dnn_optimizer")
        rate = _common.check_dropout(dnn_dropout, "dnn_dropout")
        combiner = _common.check_sparse_combiner(linear_sparse_combiner, "linear_sparse_combiner")
        if dnn_activation_fn is not None and not callable(dnn_activation_fn):
            raise ValueError(f"dnn_activation_fn must be callable. Given: {dnn_activation_fn!r}")
        self._head = head
        self._feature_columns = list(linear_cols) + list(dnn_cols)

        def _model_fn(features: Any, labels: Any, mode: str, config: Any) -> EstimatorSpec:
            return _combined_model_fn(features, labels, mode, head, linear_cols, linear_optimizer, dnn_cols,
                                      dnn_optimizer, hidden, dnn_activation_fn, rate, bool(batch_norm), combiner)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class DNNLinearCombinedClassifier(DNNLinearCombinedEstimator):
    """Wide & deep classifier (`tf.estimator.DNNLinearCombinedClassifier`).

    Args: as `DNNLinearCombinedEstimator` (without `head`), plus `n_classes`, `weight_column`,
      `label_vocabulary`, `warm_start_from` and `loss_reduction` as `DNNClassifier`.
    """

    def __init__(self, model_dir: Optional[str] = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None, dnn_optimizer: Any = "Adagrad",
                 dnn_hidden_units: Any = None, dnn_activation_fn: Optional[Callable[[Tensor], Tensor]] = relu,
                 dnn_dropout: Optional[float] = None, n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Any = None, config: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = "sum_over_batch_size", batch_norm: bool = False,
                 linear_sparse_combiner: str = "sum"):
        head = _common.binary_or_multi_class_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        self._init_combined(head, model_dir, linear_feature_columns, linear_optimizer, dnn_feature_columns,
                            dnn_optimizer, dnn_hidden_units, dnn_activation_fn, dnn_dropout, config, warm_start_from,
                            batch_norm, linear_sparse_combiner)


class DNNLinearCombinedRegressor(DNNLinearCombinedEstimator):
    """Wide & deep regressor (`tf.estimator.DNNLinearCombinedRegressor`) with a
    `RegressionHead(label_dimension)`.

    Args: as `DNNLinearCombinedClassifier`, with `label_dimension` instead of `n_classes` and
      `label_vocabulary`.
    """

    def __init__(self, model_dir: Optional[str] = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None, dnn_optimizer: Any = "Adagrad",
                 dnn_hidden_units: Any = None, dnn_activation_fn: Optional[Callable[[Tensor], Tensor]] = relu,
                 dnn_dropout: Optional[float] = None, label_dimension: int = 1, weight_column: Any = None,
                 config: Any = None, warm_start_from: Any = None, loss_reduction: str = "sum_over_batch_size",
                 batch_norm: bool = False, linear_sparse_combiner: str = "sum"):
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        self._init_combined(head, model_dir, linear_feature_columns, linear_optimizer, dnn_feature_columns,
                            dnn_optimizer, dnn_hidden_units, dnn_activation_fn, dnn_dropout, config, warm_start_from,
                            batch_norm, linear_sparse_combiner)
