"""The `Head` interface (`tf.estimator.Head`) and the checks and helpers its subclasses share.

A head sits on top of a model's logits and builds its loss, predictions, eval metrics,
export outputs and train op. Differences from TF:
- label range checks run in the graph as a guarded `gather` (nestor has no Assert op): a
  label id outside [0, n_classes) fails at run time with InvalidArgumentError naming the
  head's check op; constant labels are checked when the graph is built (ValueError).
- `optimizer` is a `nestor.train.Optimizer`: train_op = optimizer.minimize(loss,
  var_list=trainable_variables, global_step=get_global_step()) (all trainable variables
  when `trainable_variables` is None).
"""
from __future__ import annotations

import abc
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ... import dtypes as _dtypes
from ...framework import graph as _g
from ...framework.graph import Tensor, convert_to_tensor
from ...losses import Reduction as _V1Reduction
from ...ops import array_ops, core_ops, math_ops, sparse_ops
from .. import export_output as _export_output
from ..model_fn import EstimatorSpec, ModeKeys
from . import _metrics

DEFAULT_SERVING_KEY = "serving_default"
CLASSIFY_SERVING_KEY = "classification"
REGRESS_SERVING_KEY = "regression"
PREDICT_SERVING_KEY = "predict"


class MetricKeys:
    """Eval metric keys (`tf.estimator` canned `metric_keys.MetricKeys`)."""

    LOSS = "loss"
    LOSS_MEAN = "average_loss"
    LOSS_REGULARIZATION = "regularization_loss"
    ACCURACY = "accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    ACCURACY_BASELINE = "accuracy_baseline"
    AUC = "auc"
    AUC_PR = "auc_precision_recall"
    LABEL_MEAN = "label/mean"
    PREDICTION_MEAN = "prediction/mean"
    ACCURACY_AT_THRESHOLD = "accuracy/positive_threshold_%g"
    PRECISION_AT_THRESHOLD = "precision/positive_threshold_%g"
    RECALL_AT_THRESHOLD = "recall/positive_threshold_%g"
    PROBABILITY_MEAN_AT_CLASS = "probability_mean/class%d"
    AUC_AT_CLASS = "auc/class%d"
    AUC_PR_AT_CLASS = "auc_precision_recall/class%d"
    PROBABILITY_MEAN_AT_NAME = "probability_mean/%s"
    AUC_AT_NAME = "auc/%s"
    AUC_PR_AT_NAME = "auc_precision_recall/%s"


class PredictionKeys:
    """Prediction keys (`tf.estimator` canned `prediction_keys.PredictionKeys`)."""

    CLASSES = "classes"
    CLASS_IDS = "class_ids"
    ALL_CLASSES = "all_classes"
    ALL_CLASS_IDS = "all_class_ids"
    LOGISTIC = "logistic"
    LOGITS = "logits"
    PREDICTIONS = "predictions"
    PROBABILITIES = "probabilities"


# The loss reductions a head accepts: TF2's (tf.keras.losses.Reduction) and nestor.losses' TF1 keys.
_SUM = "sum"
_SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
_AUTO = "auto"
_VALID_REDUCTIONS = (_AUTO, _SUM, _SUM_OVER_BATCH_SIZE) + tuple(
    r for r in _V1Reduction.all() if r != _V1Reduction.NONE)

_LABEL_NONE_ERR_MSG = (
    "You must provide a labels Tensor. Given: None. Suggested troubleshooting steps: Check that your data "
    "contains your label feature. Check that your input_fn properly parses and returns labels.")
_SPARSE_LABEL_ERR_MSG = (
    "SparseTensor labels are not supported. Labels must be a Tensor of shape [D0, D1, ..., DN, {}], "
    "e.g. [batch_size, {}].Suggested Fix (1): Check the label feature in your data. Each example must contain "
    "{} value(s). If not, your choice of label was probably incorrect. Suggested Fix (2): In your input_fn, "
    "use tf.sparse_tensor_to_dense() to turn labels into a Tensor.")
_MISMATCHED_LABEL_DIM_ERR_MSG = (
    "Mismatched label shape. Expected labels dimension={}.  Received {}. Suggested Fix: If your classifier "
    "expects one-hot encoding label, check your n_classes argument to the estimator and/or the shape of your "
    "label. Otherwise, check the shape of your label.")
_LABEL_SHAPE_ERR_MSG = ("labels shape must be [D0, D1, ... DN, {}]. Suggested Fix: check your n_classes argument "
                        "to the head and/or the shape of your label.")
_VALIDATION_ERROR_MSG = "{} should be a list or a tuple. Given type: {}."


class Head:
    """Interface for the head/top of a model (`tf.estimator.Head`).

    Subclasses implement `name`, `logits_dimension`, `loss_reduction`, `loss`,
    `predictions`, `metrics`, `update_metrics` and `_export_outputs`; this class builds the
    `EstimatorSpec` for each mode from them.
    """

    @property
    def name(self) -> Optional[str]:
        raise NotImplementedError("Calling an abstract method.")

    @property
    def logits_dimension(self) -> int:
        raise NotImplementedError("Calling an abstract method.")

    @property
    def loss_reduction(self) -> str:
        raise NotImplementedError("Calling an abstract method.")

    def loss(self, labels: Any, logits: Any, features: Any = None, mode: Optional[str] = None,
             regularization_losses: Optional[Sequence[Any]] = None) -> Tensor:
        raise NotImplementedError("Calling an abstract method.")

    def predictions(self, logits: Any, keys: Optional[Sequence[str]] = None) -> Dict[str, Tensor]:
        raise NotImplementedError("Calling an abstract method.")

    def metrics(self, regularization_losses: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        raise NotImplementedError("Calling an abstract method.")

    def update_metrics(self, eval_metrics: Dict[str, Any], features: Any, logits: Any, labels: Any,
                       mode: Optional[str] = None, regularization_losses: Optional[Sequence[Any]] = None
                       ) -> Dict[str, Any]:
        raise NotImplementedError("Calling an abstract method.")

    def _export_outputs(self, predictions: Dict[str, Tensor]) -> Dict[str, Any]:
        raise NotImplementedError("Calling an abstract method.")

    def _summary_key(self, key: str) -> str:
        return f"{key}/{self.name}" if self.name else key

    def create_estimator_spec(self, features: Any, mode: str, logits: Any, labels: Any = None,
                              optimizer: Any = None, trainable_variables: Optional[Sequence[Any]] = None,
                              train_op_fn: Optional[Callable[[Tensor], Any]] = None,
                              update_ops: Optional[Sequence[Any]] = None,
                              regularization_losses: Optional[Sequence[Any]] = None) -> EstimatorSpec:
        """Returns the `EstimatorSpec` a model_fn can return for `mode`.

        PREDICT: predictions and export outputs. EVAL: loss and eval_metric_ops (the Estimator
        adds the `loss` mean itself). TRAIN: loss, train_op (from `optimizer`, or
        `train_op_fn(loss)`, grouped with `update_ops`) and a `loss` summary.

        Raises:
          ValueError: labels missing in TRAIN/EVAL, both or neither of optimizer/train_op_fn in TRAIN.
        """
        features = features if features is not None else {}
        with _g.name_scope(self.name or "head"):
            predictions = self.predictions(logits)
            if mode == ModeKeys.PREDICT:
                return EstimatorSpec(mode=ModeKeys.PREDICT, predictions=predictions,
                                     export_outputs=self._export_outputs(predictions))
            loss = self.loss(labels=labels, logits=logits, features=features, mode=mode,
                             regularization_losses=regularization_losses)
            if mode == ModeKeys.EVAL:
                eval_metrics = self.metrics(regularization_losses=regularization_losses)
                eval_metrics = self.update_metrics(eval_metrics, features, logits, labels,
                                                   regularization_losses=regularization_losses)
                return EstimatorSpec(mode=ModeKeys.EVAL, predictions=predictions, loss=loss,
                                     eval_metric_ops=metric_ops(eval_metrics))
            if mode != ModeKeys.TRAIN:
                raise ValueError(f"mode={mode} unrecognized")
            train_op = create_estimator_spec_train_op(optimizer=optimizer, trainable_variables=trainable_variables,
                                                      train_op_fn=train_op_fn, update_ops=update_ops,
                                                      regularized_training_loss=loss)
        create_estimator_spec_summary(loss, regularization_losses, self._summary_key)
        return EstimatorSpec(mode=ModeKeys.TRAIN, predictions=predictions, loss=loss, train_op=train_op)


class SingleHead(Head, metaclass=abc.ABCMeta):
    """A head over one label tensor (every head but `MultiHead`).

    Subclasses set `_name` and `_loss_reduction`, and implement `_processed_labels(logits,
    labels)` (checked, reshaped, looked-up labels) and `_unweighted_loss_and_weights(logits,
    labels, features)`; the loss is their weighted reduction plus the regularization losses.
    """

    @property
    def name(self) -> Optional[str]:
        return self._name

    @property
    def loss_reduction(self) -> str:
        return self._loss_reduction

    @abc.abstractmethod
    def _processed_labels(self, logits: Tensor, labels: Any) -> Any:
        """The labels checked against the logits and converted (class ids, floats)."""

    @abc.abstractmethod
    def _unweighted_loss_and_weights(self, logits: Tensor, labels: Any, features: Any) -> Any:
        """(per-example loss, weights) from the processed labels."""

    def loss(self, labels: Any, logits: Any, features: Any = None, mode: Optional[str] = None,
             regularization_losses: Optional[Sequence[Any]] = None) -> Tensor:
        """The weighted, reduced training loss plus the regularization losses (a scalar)."""
        del mode
        with _g.name_scope("losses"):
            logits = check_logits_final_dim(logits, self.logits_dimension)
            processed = self._processed_labels(logits, labels)
            unweighted, weights = self._unweighted_loss_and_weights(logits, processed, features)
            loss = compute_weighted_loss(unweighted, weights, self._loss_reduction)
            return regularized_loss(loss, regularization_losses)

def metric_ops(eval_metrics: Dict[str, Any]) -> Dict[str, Any]:
    """`{key: (value, update_op)}` from a dict of metric objects (pairs pass through)."""
    return {k: (m if isinstance(m, tuple) else m.as_metric_op()) for k, m in eval_metrics.items()}


# ----------------------------------------------------------------------------------- validation

def validate_loss_fn_args(loss_fn: Callable) -> None:
    """loss_fn must take `labels` and `logits`, and may take `features` and `loss_reduction`."""
    args = list(inspect.signature(loss_fn).parameters)
    for required in ("labels", "logits"):
        if required not in args:
            raise ValueError(f"loss_fn must contain argument: {required}. Given arguments: {args}")
    invalid = sorted(set(args) - {"labels", "logits", "features", "loss_reduction"})
    if invalid:
        raise ValueError(f"loss_fn has unexpected args: {invalid}")


def validate_loss_reduction(loss_reduction: Any) -> None:
    if loss_reduction not in _VALID_REDUCTIONS:
        raise ValueError(f"Invalid loss_reduction: {loss_reduction}. See `tf.losses.Reduction` for valid options.")


def validate_update_ops(update_ops: Any = None) -> None:
    if update_ops is not None and not isinstance(update_ops, (list, tuple)):
        raise ValueError(_VALIDATION_ERROR_MSG.format("update_ops", type(update_ops)))


def validate_trainable_variables(trainable_variables: Any = None) -> None:
    if trainable_variables is not None and not isinstance(trainable_variables, (list, tuple)):
        raise ValueError(_VALIDATION_ERROR_MSG.format("trainable_variables", type(trainable_variables)))


def validate_n_classes(n_classes: Any) -> int:
    if not isinstance(n_classes, (int, np.integer)) or n_classes <= 2:
        raise ValueError(f"n_classes must be > 2: {n_classes}.")
    return int(n_classes)


def validate_label_vocabulary(label_vocabulary: Any) -> None:
    if label_vocabulary is not None and not isinstance(label_vocabulary, (list, tuple)):
        raise ValueError(f"label_vocabulary should be a list or a tuple. Given type: {type(label_vocabulary)}")


def check_prediction_keys(pred_keys: Sequence[str], valid_keys: Sequence[str]) -> None:
    for key in pred_keys:
        if key not in valid_keys:
            raise ValueError(f"Prediction key must be in PredictionKeys, given: {key}."
                             f"Valid prediction keys include {list(valid_keys)}.")


# ------------------------------------------------------------------------------- shape checks

def check_logits_final_dim(logits: Any, expected_logits_dimension: int) -> Tensor:
    """logits as float32, checked to be [D0, ... DN, expected_logits_dimension] (rank >= 2)."""
    with _g.name_scope("logits"):
        logits = convert_to_tensor(logits)
        if logits.dtype != _dtypes.float32:
            logits = core_ops.cast(logits, _dtypes.float32)
        shape = logits.shape
        if shape.rank is not None:
            if shape.rank < 2:
                raise ValueError(f"logits shape must be [D0, D1, ... DN, logits_dimension], got {shape}. "
                                 f"logits must have rank at least 2.")
            last = shape.as_list()[-1]
            if last is not None and last != expected_logits_dimension:
                raise ValueError(f"logits shape must be [D0, D1, ... DN, logits_dimension], got {shape}.")
        return logits


def check_dense_labels_match_logits_and_reshape(labels: Any, logits: Tensor, expected_labels_dimension: int) -> Tensor:
    """labels checked to be [D0, ... DN, expected_labels_dimension] like logits; labels of rank
    one less than the logits' get a trailing dimension of 1 (as TF)."""
    from ...framework.sparse_tensor import SparseTensor
    if labels is None:
        raise ValueError(_LABEL_NONE_ERR_MSG)
    if isinstance(labels, SparseTensor):
        d = expected_labels_dimension
        raise ValueError(_SPARSE_LABEL_ERR_MSG.format(d, d, d))
    with _g.name_scope("labels"):
        labels = convert_to_tensor(labels)
        lr, pr = labels.shape.rank, logits.shape.rank
        if lr is not None and pr is not None and lr == pr - 1:
            labels = array_ops.expand_dims(labels, -1)
            lr += 1
        if lr is not None:
            if lr < 2:
                raise ValueError(f"labels must have rank at least 2.  Received rank {lr}, shape {labels.shape}. "
                                 + _LABEL_SHAPE_ERR_MSG.format(expected_labels_dimension))
            final = labels.shape.as_list()[-1]
            if final is not None and final != expected_labels_dimension:
                raise ValueError(_MISMATCHED_LABEL_DIM_ERR_MSG.format(expected_labels_dimension, final))
            if pr is not None and lr == pr:
                want = logits.shape.as_list()[:-1]
                got = labels.shape.as_list()[:-1]
                if any(a is not None and b is not None and a != b for a, b in zip(want, got)):
                    raise ValueError(f"{_LABEL_SHAPE_ERR_MSG.format(expected_labels_dimension)}, expected_labels_shape: "
                                     f"{tuple(want) + (expected_labels_dimension,)}. labels_shape: "
                                     f"{tuple(labels.shape.as_list())}.")
        return labels


def _weight_tensor(features: Any, weight_column: Any) -> Tensor:
    if isinstance(weight_column, str):
        key, normalizer = weight_column, None
    elif hasattr(weight_column, "key") and hasattr(weight_column, "normalizer_fn"):
        key, normalizer = weight_column.key, weight_column.normalizer_fn
    else:
        raise TypeError(f"Weight column must be either a string or NumericColumn. Given type: {type(weight_column)}.")
    if not isinstance(features, dict) or key not in features:
        raise ValueError(f"The weight column '{key}' is not in the features dict "
                         f"(keys: {sorted(map(str, features or {}))}).")
    w = convert_to_tensor(features[key])
    if not (w.dtype.is_floating or w.dtype.is_integer):
        raise ValueError(f"Weight column should be castable to float. Given dtype: {w.dtype.name}")
    w = core_ops.cast(w, _dtypes.float32)
    if normalizer is not None:
        w = normalizer(w)
    return w


def get_weights_and_check_match_logits(features: Any, weight_column: Any, logits: Tensor,
                                       allow_per_logit_weights: bool = False) -> Any:
    """The example weights from `features[weight_column]` as float32 [D0, ... DN, 1] (or
    [D0, ... DN, logits_dimension] when allowed); 1. without a weight column."""
    if weight_column is None:
        return 1.0
    err_msg = ("weights shape must be [D0, D1, ... DN], [D0, D1, ... DN, 1] or [D0, D1, ... DN, logits_dimension]"
               if allow_per_logit_weights else "weights shape must be [D0, D1, ... DN] or [D0, D1, ... DN, 1]")
    with _g.name_scope("weights"):
        weights = _weight_tensor(features, weight_column)
        ws, ls = weights.shape, logits.shape
        if ws.rank is not None and ls.rank is not None:
            lshape = ls.as_list()
            if ws.rank == ls.rank - 1:
                if not _compatible(ws.as_list(), lshape[:-1]):
                    raise ValueError(f"{err_msg}, logits_shape: {tuple(lshape)}. weights_shape: {tuple(ws.as_list())}.")
                return array_ops.expand_dims(weights, -1)
            ok = ws.rank == ls.rank and _compatible(ws.as_list(), lshape[:-1] + [1])
            if allow_per_logit_weights:
                ok = ok or (ws.rank == ls.rank and _compatible(ws.as_list(), lshape))
            if not ok:
                raise ValueError(f"{err_msg}, logits_shape: {tuple(lshape)}. weights_shape: {tuple(ws.as_list())}.")
        return weights


def _compatible(a: List[Any], b: List[Any]) -> bool:
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def call_loss_fn(loss_fn: Callable, labels: Tensor, logits: Tensor, features: Any, expected_loss_dim: int = 1) -> Tensor:
    """Calls `loss_fn(labels=, logits=[, features=])`; the result must be [D0, ... DN, expected_loss_dim]."""
    kwargs = {}
    if "features" in inspect.signature(loss_fn).parameters:
        kwargs["features"] = features
    with _g.name_scope("call_loss_fn"):
        loss = convert_to_tensor(loss_fn(labels=labels, logits=logits, **kwargs))
        ls, gs = loss.shape, logits.shape
        if ls.rank is not None and gs.rank is not None:
            want = gs.as_list()[:-1] + [expected_loss_dim]
            if not _compatible(ls.as_list(), want):
                raise ValueError(f"loss_fn must return Tensor of shape [D0, D1, ... DN, {expected_loss_dim}]. "
                                 f"logits_shape: {tuple(gs.as_list())}, loss_shape: {tuple(ls.as_list())}")
        return loss


def _constant_value(t: Tensor) -> Optional[np.ndarray]:
    op = getattr(t, "op", None)
    if op is not None and getattr(op, "type", None) == "const":
        try:
            return np.asarray(op.get_attr("value"))
        except Exception:  # noqa: BLE001 - not a readable constant: checked at run time only
            return None
    return None


def check_label_range(labels: Tensor, n_classes: int, message: Optional[str] = None) -> Tensor:
    """labels, checked to lie in [0, n_classes - 1].

    Constant labels are checked now (ValueError); others by a `check_range` op that passes them
    through and fails at run time (InvalidArgumentError: "op 'check_label_range/CheckRange'
    (check_range): Labels must be in [0, 2]: value 3 at flat index 1 is not in [0, 2]").
    """
    with _g.name_scope("check_label_range"):
        const = _constant_value(labels)
        if const is not None and const.dtype.kind in "biuf":
            if np.any(const > n_classes - 1):
                raise ValueError(message or f"Labels must be <= {n_classes} - 1")
            if np.any(const < 0):
                raise ValueError(message or "Labels must be >= 0")
            return labels
        return _g.create_op("check_range", [labels], {
            "lower": 0.0, "upper": float(n_classes - 1),
            "message": message or f"Labels must be in [0, {n_classes - 1}]"}, name="CheckRange")


# --------------------------------------------------------------------- vocabularies and classes

def class_id_lookup(labels: Tensor, vocabulary: Sequence[str]) -> Tensor:
    """int64 index of each string label in `vocabulary`, -1 for a label not in it (as TF's
    index_table_from_tensor with default_value=-1)."""
    with _g.name_scope("class_id_lookup"):
        labels = convert_to_tensor(labels)
        if labels.dtype != _dtypes.string:
            raise ValueError(f"Labels dtype should be string if there is a vocabulary. Instead got {labels.dtype.name}")
        minus_one = math_ops.multiply(core_ops.cast(math_ops.equal(labels, labels), _dtypes.int64), np.int64(-1))
        ids = minus_one
        for i, word in enumerate(vocabulary):
            hit = math_ops.equal(labels, core_ops.constant(str(word)))
            ids = math_ops.where_v2(hit, core_ops.constant(np.int64(i)), ids)
        return ids


def class_strings(class_ids: Tensor, n_classes: int, label_vocabulary: Optional[Sequence[str]] = None) -> Tensor:
    """The class name (vocabulary entry, or the decimal id) of each class id."""
    names = [str(v) for v in label_vocabulary] if label_vocabulary else [str(i) for i in range(n_classes)]
    return sparse_ops.gather(core_ops.constant(np.array(names, dtype=object)), class_ids, name="str_classes")


def all_class_ids(logits: Tensor, n_classes: int) -> Tensor:
    """int32 [batch, n_classes]: 0..n_classes-1 in every row."""
    batch_size = core_ops.shape(logits)[0]
    row = array_ops.expand_dims(array_ops.range(n_classes), 0)
    return array_ops.tile(row, array_ops.stack([batch_size, 1]))


def all_classes(logits: Tensor, n_classes: int, label_vocabulary: Optional[Sequence[str]] = None) -> Tensor:
    """string [batch, n_classes]: the class names in every row."""
    names = [str(v) for v in label_vocabulary] if label_vocabulary else [str(i) for i in range(n_classes)]
    batch_size = core_ops.shape(logits)[0]
    row = core_ops.constant(np.array([names], dtype=object))
    return array_ops.tile(row, array_ops.stack([batch_size, 1]))


def classification_output(scores: Tensor, n_classes: int, label_vocabulary: Optional[Sequence[str]] = None) -> Any:
    return _export_output.ClassificationOutput(scores=scores,
                                               classes=all_classes(scores, n_classes, label_vocabulary))


# ------------------------------------------------------------------------------ losses, train op

def add_n(tensors: Sequence[Any]) -> Tensor:
    tensors = [convert_to_tensor(t) for t in tensors]
    total = tensors[0]
    for t in tensors[1:]:
        total = math_ops.add(total, t)
    return total


def compute_weighted_loss(unweighted_loss: Tensor, weights: Any, reduction: str) -> Tensor:
    """Keras' compute_weighted_loss: SUM = Σ w·loss, SUM_OVER_BATCH_SIZE (and AUTO) = Σ w·loss /
    number of loss elements; nestor.losses' TF1 keys reduce as `tf.compat.v1.losses` does."""
    from ... import losses as _losses
    r = {_AUTO: _V1Reduction.SUM_OVER_BATCH_SIZE, _SUM_OVER_BATCH_SIZE: _V1Reduction.SUM_OVER_BATCH_SIZE,
         _SUM: _V1Reduction.SUM}.get(reduction, reduction)
    w = weights if isinstance(weights, float) else math_ops.multiply(
        core_ops.cast(convert_to_tensor(weights), _dtypes.float32), core_ops.ones_like(unweighted_loss))
    return _losses.compute_weighted_loss(unweighted_loss, w, loss_collection=None, reduction=r)


def regularized_loss(training_loss: Tensor, regularization_losses: Optional[Sequence[Any]]) -> Tensor:
    if regularization_losses is None:
        return training_loss
    return training_loss + add_n(regularization_losses)


def create_estimator_spec_train_op(optimizer: Any = None, trainable_variables: Any = None, train_op_fn: Any = None,
                                   update_ops: Any = None, regularized_training_loss: Any = None) -> Any:
    """The train op: `optimizer.minimize(loss, ...)` or `train_op_fn(loss)`, grouped with update_ops."""
    from ...train import training_util
    validate_update_ops(update_ops)
    with _g.name_scope(""):
        with _g.name_scope("training"):
            if optimizer is not None:
                if train_op_fn is not None:
                    raise ValueError("train_op_fn and optimizer cannot both be set.")
                if not hasattr(optimizer, "minimize"):
                    raise ValueError(f"The given optimizer is not a nestor.train.Optimizer instance. "
                                     f"Received optimizer of type {type(optimizer)}")
                validate_trainable_variables(trainable_variables)
                train_op = optimizer.minimize(
                    regularized_training_loss,
                    var_list=list(trainable_variables) if trainable_variables is not None else None,
                    global_step=training_util.get_global_step())
            elif train_op_fn is not None:
                train_op = train_op_fn(regularized_training_loss)
            else:
                raise ValueError("train_op_fn and optimizer cannot both be None.")
            if update_ops:
                train_op = core_ops.group(train_op, *update_ops)
            return train_op


def create_estimator_spec_summary(regularized_training_loss: Tensor, regularization_losses: Any = None,
                                  summary_key_fn: Optional[Callable[[str], str]] = None) -> None:
    from ... import summary as _summary
    with _g.name_scope(""):
        key = summary_key_fn(MetricKeys.LOSS) if summary_key_fn else MetricKeys.LOSS
        _summary.scalar(key, regularized_training_loss)
        if regularization_losses is not None:
            rkey = (summary_key_fn(MetricKeys.LOSS_REGULARIZATION) if summary_key_fn
                    else MetricKeys.LOSS_REGULARIZATION)
            _summary.scalar(rkey, add_n(regularization_losses))


def update_metric_with_broadcast_weights(metric: Any, values: Any, weights: Any) -> None:
    values = core_ops.cast(convert_to_tensor(values), _dtypes.float32)
    metric.update_state(values, None if isinstance(weights, float) and weights == 1.0 else
                        _metrics.broadcast_weights(weights, values))
