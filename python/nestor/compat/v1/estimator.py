"""`tf.compat.v1.estimator`: the estimator API with TF1's canned-estimator defaults.

The differences from `nestor.estimator` are those of TensorFlow 2.15 (tests/fixtures/compat_v1.json):
the canned estimators sum the training loss over the batch (`loss_reduction='weighted_sum'`,
i.e. `tf.compat.v1.losses.Reduction.SUM`), `DNNClassifier`/`DNNRegressor` give an optimizer named
by a string the learning rate 0.05 (v2: the Keras default 0.001), and the constructors accept
TF1's `input_layer_partitioner`/`partitioner`. Partitioning splits variables across parameter
servers; on nestor's single-process runtime variables are never split, so a partitioner only
changes nothing about the model's values (a warning says it is not applied).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from ... import logging as _logging
from ...estimator import *  # noqa: F401,F403
from ...estimator import (BaselineClassifier as _BaselineClassifier, BaselineRegressor as _BaselineRegressor,
                          DNNClassifier as _DNNClassifier, DNNLinearCombinedClassifier as _DNNLinearCombinedClassifier,
                          DNNLinearCombinedRegressor as _DNNLinearCombinedRegressor, DNNRegressor as _DNNRegressor,
                          LinearClassifier as _LinearClassifier, LinearRegressor as _LinearRegressor)
from ...estimator import experimental, export, inputs  # noqa: F401
from ...estimator.canned import _common
from ...estimator.canned.optimizers import get_optimizer_instance
from ...losses import Reduction
from ...nn import relu

_SUM = Reduction.SUM
_DNN_LEARNING_RATE = 0.05  # TF1's dnn._LEARNING_RATE for optimizers given by name


def _unused_partitioner(partitioner: Any, arg: str) -> None:
    if partitioner is not None:
        _logging.warning("%s is not applied: nestor keeps every variable whole on one host; the model is the same.",
                         arg)


def _v1_dnn_optimizer(optimizer: Any) -> Any:
    """A name becomes a factory of that optimizer at TF1's DNN learning rate 0.05."""
    _common.check_optimizer_arg(optimizer)  # unknown names fail here, at construction
    if isinstance(optimizer, str):
        return functools.partial(get_optimizer_instance, optimizer, _DNN_LEARNING_RATE)
    return optimizer


class DNNClassifier(_DNNClassifier):
    """`tf.compat.v1.estimator.DNNClassifier`: `nestor.estimator.DNNClassifier` with TF1's defaults."""

    def __init__(self, hidden_units: Any, feature_columns: Any, model_dir: Optional[str] = None, n_classes: int = 2,
                 weight_column: Any = None, label_vocabulary: Any = None, optimizer: Any = "Adagrad",
                 activation_fn: Optional[Callable[..., Any]] = relu, dropout: Optional[float] = None,
                 input_layer_partitioner: Any = None, config: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = _SUM, batch_norm: bool = False):
        _unused_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(hidden_units, feature_columns, model_dir=model_dir, n_classes=n_classes,
                         weight_column=weight_column, label_vocabulary=label_vocabulary,
                         optimizer=_v1_dnn_optimizer(optimizer), activation_fn=activation_fn, dropout=dropout,
                         config=config, warm_start_from=warm_start_from, loss_reduction=loss_reduction,
                         batch_norm=batch_norm)


class DNNRegressor(_DNNRegressor):
    """`tf.compat.v1.estimator.DNNRegressor`: `nestor.estimator.DNNRegressor` with TF1's defaults."""

    def __init__(self, hidden_units: Any, feature_columns: Any, model_dir: Optional[str] = None,
                 label_dimension: int = 1, weight_column: Any = None, optimizer: Any = "Adagrad",
                 activation_fn: Optional[Callable[..., Any]] = relu, dropout: Optional[float] = None,
                 input_layer_partitioner: Any = None, config: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = _SUM, batch_norm: bool = False):
        _unused_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(hidden_units, feature_columns, model_dir=model_dir, label_dimension=label_dimension,
                         weight_column=weight_column, optimizer=_v1_dnn_optimizer(optimizer),
                         activation_fn=activation_fn, dropout=dropout, config=config,
                         warm_start_from=warm_start_from, loss_reduction=loss_reduction, batch_norm=batch_norm)


class LinearClassifier(_LinearClassifier):
    """`tf.compat.v1.estimator.LinearClassifier`: `nestor.estimator.LinearClassifier` with TF1's defaults."""

    def __init__(self, feature_columns: Any, model_dir: Optional[str] = None, n_classes: int = 2,
                 weight_column: Any = None, label_vocabulary: Any = None, optimizer: Any = "Ftrl",
                 config: Any = None, partitioner: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = _SUM, sparse_combiner: str = "sum"):
        _unused_partitioner(partitioner, "partitioner")
        super().__init__(feature_columns, model_dir=model_dir, n_classes=n_classes, weight_column=weight_column,
                         label_vocabulary=label_vocabulary, optimizer=optimizer, config=config,
                         warm_start_from=warm_start_from, loss_reduction=loss_reduction,
                         sparse_combiner=sparse_combiner)


class LinearRegressor(_LinearRegressor):
    """`tf.compat.v1.estimator.LinearRegressor`: `nestor.estimator.LinearRegressor` with TF1's defaults."""

    def __init__(self, feature_columns: Any, model_dir: Optional[str] = None, label_dimension: int = 1,
                 weight_column: Any = None, optimizer: Any = "Ftrl", config: Any = None, partitioner: Any = None,
                 warm_start_from: Any = None, loss_reduction: str = _SUM, sparse_combiner: str = "sum"):
        _unused_partitioner(partitioner, "partitioner")
        super().__init__(feature_columns, model_dir=model_dir, label_dimension=label_dimension,
                         weight_column=weight_column, optimizer=optimizer, config=config,
                         warm_start_from=warm_start_from, loss_reduction=loss_reduction,
                         sparse_combiner=sparse_combiner)


class DNNLinearCombinedClassifier(_DNNLinearCombinedClassifier):
    """`tf.compat.v1.estimator.DNNLinearCombinedClassifier` with TF1's defaults."""

    def __init__(self, model_dir: Optional[str] = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None, dnn_optimizer: Any = "Adagrad",
                 dnn_hidden_units: Any = None, dnn_activation_fn: Optional[Callable[..., Any]] = relu,
                 dnn_dropout: Optional[float] = None, n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Any = None, input_layer_partitioner: Any = None, config: Any = None,
                 warm_start_from: Any = None, loss_reduction: str = _SUM, batch_norm: bool = False,
                 linear_sparse_combiner: str = "sum"):
        _unused_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(model_dir=model_dir, linear_feature_columns=linear_feature_columns,
                         linear_optimizer=linear_optimizer, dnn_feature_columns=dnn_feature_columns,
                         dnn_optimizer=dnn_optimizer, dnn_hidden_units=dnn_hidden_units,
                         dnn_activation_fn=dnn_activation_fn, dnn_dropout=dnn_dropout, n_classes=n_classes,
                         weight_column=weight_column, label_vocabulary=label_vocabulary, config=config,
                         warm_start_from=warm_start_from, loss_reduction=loss_reduction, batch_norm=batch_norm,
                         linear_sparse_combiner=linear_sparse_combiner)


class DNNLinearCombinedRegressor(_DNNLinearCombinedRegressor):
    """`tf.compat.v1.estimator.DNNLinearCombinedRegressor` with TF1's defaults."""

    def __init__(self, model_dir: Optional[str] = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None, dnn_optimizer: Any = "Adagrad",
                 dnn_hidden_units: Any = None, dnn_activation_fn: Optional[Callable[..., Any]] = relu,
                 dnn_dropout: Optional[float] = None, label_dimension: int = 1, weight_column: Any = None,
                 input_layer_partitioner: Any = None, config: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = _SUM, batch_norm: bool = False, linear_sparse_combiner: str = "sum"):
        _unused_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(model_dir=model_dir, linear_feature_columns=linear_feature_columns,
                         linear_optimizer=linear_optimizer, dnn_feature_columns=dnn_feature_columns,
                         dnn_optimizer=dnn_optimizer, dnn_hidden_units=dnn_hidden_units,
                         dnn_activation_fn=dnn_activation_fn, dnn_dropout=dnn_dropout,
                         label_dimension=label_dimension, weight_column=weight_column, config=config,
                         warm_start_from=warm_start_from, loss_reduction=loss_reduction, batch_norm=batch_norm,
                         linear_sparse_combiner=linear_sparse_combiner)


class BaselineClassifier(_BaselineClassifier):
    """`tf.compat.v1.estimator.BaselineClassifier` with TF1's defaults."""

    def __init__(self, model_dir: Optional[str] = None, n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Any = None, optimizer: Any = "Ftrl", config: Any = None,
                 loss_reduction: str = _SUM):
        super().__init__(model_dir=model_dir, n_classes=n_classes, weight_column=weight_column,
                         label_vocabulary=label_vocabulary, optimizer=optimizer, config=config,
                         loss_reduction=loss_reduction)


class BaselineRegressor(_BaselineRegressor):
    """`tf.compat.v1.estimator.BaselineRegressor` with TF1's defaults."""

    def __init__(self, model_dir: Optional[str] = None, label_dimension: int = 1, weight_column: Any = None,
                 optimizer: Any = "Ftrl", config: Any = None, loss_reduction: str = _SUM):
        super().__init__(model_dir=model_dir, label_dimension=label_dimension, weight_column=weight_column,
                         optimizer=optimizer, config=config, loss_reduction=loss_reduction)
