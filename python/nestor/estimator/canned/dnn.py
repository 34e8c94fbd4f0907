"""Deep neural network estimators: `DNNClassifier`, `DNNRegressor`, `DNNEstimator` (TF 2.15, v2).

The network is `input_layer(features, feature_columns)` followed by `Dense` hidden layers
(`activation_fn`, glorot-uniform kernels) and a linear `logits` layer:

    dnn/input_from_feature_columns/input_layer/...   (embedding variables of the columns)
    dnn/hiddenlayer_<i>/kernel, dnn/hiddenlayer_<i>/bias
    dnn/hiddenlayer_<i>/batchnorm_<i>/{gamma,beta,moving_mean,moving_variance}   (batch_norm=True)
    dnn/logits/kernel, dnn/logits/bias

Each hidden layer is followed, in training only, by dropout with drop rate `dropout`, then
by batch normalization (momentum 0.999; batch statistics in training, moving averages
otherwise, the moving-average updates passed to the head as `update_ops`). Every layer
writes the summaries `dnn/<layer>/fraction_of_zero_values` and `dnn/<layer>/activation`.
A string optimizer gets its Keras default learning rate (Adagrad: 0.001).
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from ...framework import graph as _g
from ...framework.graph import GraphKeys, Tensor
from ...framework.variables import variable_scope
from ...ops.activation_ops import relu
from ..estimator import Estimator
from ..model_fn import EstimatorSpec, ModeKeys
from . import _common
from .optimizers import get_optimizer_instance

__all__ = ["DNNClassifier", "DNNRegressor", "DNNEstimator", "dnn_logits"]


def dnn_logits(units: int, hidden_units: List[int], feature_columns: Tuple[Any, ...],
               activation_fn: Optional[Callable[[Tensor], Tensor]], dropout: Optional[float], batch_norm: bool,
               features: Any, mode: str) -> Tuple[Tensor, List[Any], List[Any]]:
    """Builds the DNN under the variable scope `dnn`.

    Returns:
      (logits [batch, units], the trainable variables it created, the batch-norm update ops).
    """
    from ... import feature_column as _fc
    from ...initializers import glorot_uniform_initializer
    from ...layers import BatchNormalization, Dense, Dropout

    if isinstance(units, bool) or not isinstance(units, int):
        raise ValueError(f"units must be an int.  Given type: {type(units)}")
    g = _g.get_default_graph()
    n_trainable = len(g.get_collection(GraphKeys.TRAINABLE_VARIABLES))
    training = mode == ModeKeys.TRAIN
    layer_outputs = []
    update_ops: List[Any] = []
    with variable_scope("dnn"):
        with variable_scope("input_from_feature_columns"):
            net = _fc.input_layer(features, feature_columns)
        for i, n in enumerate(hidden_units):
            name = f"hiddenlayer_{i}"
            net = Dense(n, activation=activation_fn, kernel_initializer=glorot_uniform_initializer(), name=name)(net)
            if dropout is not None and training:
                net = Dropout(rate=dropout)(net, training=True)
            if batch_norm:
                with variable_scope(name):
                    bn = BatchNormalization(momentum=0.999, trainable=True, name=f"batchnorm_{i}")
                    net = bn(net, training=training)
                update_ops.extend(bn.updates)
            layer_outputs.append((net, f"dnn/{name}"))
        logits = Dense(units, activation=None, kernel_initializer=glorot_uniform_initializer(), name="logits")(net)
        layer_outputs.append((logits, "dnn/logits"))
    for value, tag in layer_outputs:
        _common.add_layer_summary(value, tag)
    trainable = list(g.get_collection(GraphKeys.TRAINABLE_VARIABLES)[n_trainable:])
    return logits, trainable, update_ops


def _dnn_model_fn(features: Any, labels: Any, mode: str, head: Any, hidden_units: List[int],
                  feature_columns: Tuple[Any, ...], optimizer: Any, activation_fn: Any, dropout: Optional[float],
                  batch_norm: bool) -> EstimatorSpec:
    _common.check_features_dict(features)
    logits, trainable_variables, update_ops = dnn_logits(
        units=head.logits_dimension, hidden_units=hidden_units, feature_columns=feature_columns,
        activation_fn=activation_fn, dropout=dropout, batch_norm=batch_norm, features=features, mode=mode)
    opt = get_optimizer_instance(optimizer) if mode == ModeKeys.TRAIN else None
    return head.create_estimator_spec(features=features, mode=mode, labels=labels, optimizer=opt, logits=logits,
                                      trainable_variables=trainable_variables, update_ops=update_ops)


class DNNEstimator(Estimator):
    """A DNN with a custom `head` (`tf.estimator.DNNEstimator`).

    Args:
      head: a `Head` (e.g. `MultiLabelHead`), giving the loss, metrics and predictions.
      hidden_units: sizes of the hidden layers, e.g. `[64, 32]`.
      feature_columns: dense feature columns (numeric, embedding, indicator, bucketized).
      model_dir: checkpoint directory.
      optimizer: 'Adagrad' (default), 'Adam', 'Ftrl', 'RMSProp', 'SGD', an `Optimizer`, or a
        zero-argument callable returning one.
      activation_fn: activation of the hidden layers (None: linear).
      dropout: drop rate of the hidden layers' outputs in training, or None.
      config: a `RunConfig`.
      warm_start_from: a checkpoint path or `WarmStartSettings`.
      batch_norm: batch-normalize each hidden layer's output.

    Raises:
      ValueError: empty `feature_columns`, bad `hidden_units`, `dropout` outside [0, 1) or an
        unknown optimizer name.
    """

    def __init__(self, head: Any, hidden_units: Any, feature_columns: Any, model_dir: Optional[str] = None,
                 optimizer: Any = "Adagrad", activation_fn: Optional[Callable[[Tensor], Tensor]] = relu,
                 dropout: Optional[float] = None, config: Any = None, warm_start_from: Any = None,
                 batch_norm: bool = False):
        self._init_dnn(head, hidden_units, feature_columns, model_dir, optimizer, activation_fn, dropout, config,
                       warm_start_from, batch_norm)

    def _init_dnn(self, head: Any, hidden_units: Any, feature_columns: Any, model_dir: Optional[str],
                  optimizer: Any, activation_fn: Any, dropout: Optional[float], config: Any,
                  warm_start_from: Any, batch_norm: bool) -> None:
        hidden = _common.check_hidden_units(hidden_units)
        columns = _common.check_feature_columns(feature_columns)
        rate = _common.check_dropout(dropout)
        _common.check_optimizer_arg(optimizer)
        if activation_fn is not None and not callable(activation_fn):
            raise ValueError(f"activation_fn must be callable. Given: {activation_fn!r}")
        self._head = head

        def _model_fn(features: Any, labels: Any, mode: str, config: Any) -> EstimatorSpec:
            return _dnn_model_fn(features, labels, mode, head, hidden, columns, optimizer, activation_fn, rate,
                                 bool(batch_norm))

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class DNNClassifier(DNNEstimator):
    """A DNN classifier (`tf.estimator.DNNClassifier`): `BinaryClassHead` for `n_classes=2`,
    else `MultiClassHead(n_classes)`.

    Args:
      hidden_units, feature_columns, model_dir, optimizer, activation_fn, dropout, config,
      warm_start_from, batch_norm: as `DNNEstimator`.
      n_classes: number of classes (> 1).
      weight_column: feature key (or `numeric_column`) of per-example loss weights.
      label_vocabulary: the class names when labels are strings.
      loss_reduction: how the training loss is reduced over the batch (default
        'sum_over_batch_size').
    """

    def __init__(self, hidden_units: Any, feature_columns: Any, model_dir: Optional[str] = None, n_classes: int = 2,
                 weight_column: Any = None, label_vocabulary: Any = None, optimizer: Any = "Adagrad",
                 activation_fn: Optional[Callable[[Tensor], Tensor]] = relu, dropout: Optional[float] = None,
                 config: Any = None, warm_start_from: Any = None, loss_reduction: str = "sum_over_batch_size",
                 batch_norm: bool = False):
        head = _common.binary_or_multi_class_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        self._init_dnn(head, hidden_units, feature_columns, model_dir, optimizer, activation_fn, dropout, config,
                       warm_start_from, batch_norm)


class DNNRegressor(DNNEstimator):
    """A DNN regressor (`tf.estimator.DNNRegressor`) with a `RegressionHead(label_dimension)`.

    Args: as `DNNClassifier`, with `label_dimension` (outputs per example) instead of
      `n_classes` and `label_vocabulary`.
    """

    def __init__(self, hidden_units: Any, feature_columns: Any, model_dir: Optional[str] = None,
                 label_dimension: int = 1, weight_column: Any = None, optimizer: Any = "Adagrad",
                 activation_fn: Optional[Callable[[Tensor], Tensor]] = relu, dropout: Optional[float] = None,
                 config: Any = None, warm_start_from: Any = None, loss_reduction: str = "sum_over_batch_size",
                 batch_norm: bool = False):
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        self._init_dnn(head, hidden_units, feature_columns, model_dir, optimizer, activation_fn, dropout, config,
                       warm_start_from, batch_norm)
