"""`BinaryClassHead`: single-label binary classification with sigmoid cross entropy."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from ... import dtypes as _dtypes
from ...framework import graph as _g
from ...framework.graph import Tensor
from ...ops import activation_ops, array_ops, core_ops, nn_ops, reduction_ops
from .. import export_output as _export_output
from . import _metrics
from . import base_head as bh
from .base_head import MetricKeys as keys
from .base_head import PredictionKeys as pk


class BinaryClassHead(bh.SingleHead):
    """A head for binary classification (`tf.estimator.BinaryClassHead`).

    logits are [D0, ... DN, 1]; labels the same shape (or [D0, ... DN]): floats/ints in
    [0, 1], or strings from `label_vocabulary` (2 entries: negative, positive). The loss is
    `sigmoid_cross_entropy_with_logits` weighted by `weight_column` and reduced per
    `loss_reduction` (default 'sum_over_batch_size': Σ w·loss / number of examples).

    Args:
      weight_column: a feature key or numeric column holding example weights.
      thresholds: extra thresholds in (0, 1) for accuracy/precision/recall metrics.
      label_vocabulary: list of the 2 string labels.
      loss_reduction: 'sum_over_batch_size' (default), 'sum', 'auto' or a nestor.losses.Reduction
        key other than NONE.
      loss_fn: optional `fn(labels, logits[, features])` -> unreduced loss [D0, ... DN, 1].
      name: suffix of metric/summary keys and the head's name scope.

    Raises:
      ValueError: invalid thresholds, label_vocabulary, loss_reduction or loss_fn.
    """

    def __init__(self, weight_column: Any = None, thresholds: Optional[Sequence[float]] = None,
                 label_vocabulary: Optional[Sequence[str]] = None, loss_reduction: str = "sum_over_batch_size",
                 loss_fn: Optional[Callable[..., Tensor]] = None, name: Optional[str] = None) -> None:
        bh.validate_label_vocabulary(label_vocabulary)
        thresholds = tuple(thresholds) if thresholds else tuple()
        for threshold in thresholds:
            if threshold <= 0.0 or threshold >= 1.0:
                raise ValueError(f"thresholds not in (0, 1): {(thresholds,)}.")
        if label_vocabulary is not None and len(label_vocabulary) != 2:
            raise ValueError(f"label_vocabulary of a binary head must have 2 entries; given {label_vocabulary}")
        bh.validate_loss_reduction(loss_reduction)
        if loss_fn:
            bh.validate_loss_fn_args(loss_fn)
        self._weight_column = weight_column
        self._thresholds = thresholds
        self._label_vocabulary = list(label_vocabulary) if label_vocabulary is not None else None
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name
        self._accuracy_keys = tuple(self._summary_key(keys.ACCURACY_AT_THRESHOLD % t) for t in thresholds)
        self._precision_keys = tuple(self._summary_key(keys.PRECISION_AT_THRESHOLD % t) for t in thresholds)
        self._recall_keys = tuple(self._summary_key(keys.RECALL_AT_THRESHOLD % t) for t in thresholds)

    @property
    def logits_dimension(self) -> int:
        return 1

    def _processed_labels(self, logits: Tensor, labels: Any) -> Tensor:
        labels = bh.check_dense_labels_match_logits_and_reshape(labels, logits, 1)
        if self._label_vocabulary is not None:
            labels = bh.class_id_lookup(labels, self._label_vocabulary)
        elif labels.dtype == _dtypes.string:
            raise ValueError("Labels are strings but the head has no label_vocabulary: pass label_vocabulary to "
                             "BinaryClassHead or feed numeric labels in [0, 1].")
        labels = core_ops.cast(labels, _dtypes.float32)
        return bh.check_label_range(labels, 2)

    def _unweighted_loss_and_weights(self, logits: Tensor, labels: Tensor, features: Any) -> Any:
        if self._loss_fn:
            unweighted = bh.call_loss_fn(self._loss_fn, labels, logits, features, expected_loss_dim=1)
        else:
            unweighted = nn_ops.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        weights = bh.get_weights_and_check_match_logits(features, self._weight_column, logits)
        return unweighted, weights

    def predictions(self, logits: Any, keys: Optional[Sequence[str]] = None) -> Dict[str, Tensor]:
        """logits, logistic, probabilities, class_ids (int64), classes (string), all_class_ids
        (int32), all_classes (string); `keys` selects some."""
        valid = [pk.LOGITS, pk.LOGISTIC, pk.PROBABILITIES, pk.CLASS_IDS, pk.CLASSES, pk.ALL_CLASS_IDS,
                 pk.ALL_CLASSES]
        if keys:
            bh.check_prediction_keys(keys, valid)
        else:
            keys = valid
        logits = bh.check_logits_final_dim(logits, 1)
        out: Dict[str, Tensor] = {}
        with _g.name_scope("predictions"):
            if pk.LOGITS in keys:
                out[pk.LOGITS] = logits
            if pk.LOGISTIC in keys:
                out[pk.LOGISTIC] = activation_ops.sigmoid(logits, name=pk.LOGISTIC)
            two_class_logits = array_ops.concat([core_ops.zeros_like(logits), logits], axis=-1,
                                                name="two_class_logits")
            if pk.PROBABILITIES in keys:
                out[pk.PROBABILITIES] = nn_ops.softmax(two_class_logits, name=pk.PROBABILITIES)
            if pk.CLASS_IDS in keys or pk.CLASSES in keys:
                class_ids = array_ops.expand_dims(reduction_ops.argmax(two_class_logits, axis=-1, name=pk.CLASS_IDS),
                                                  -1)
                if pk.CLASS_IDS in keys:
                    out[pk.CLASS_IDS] = class_ids
                if pk.CLASSES in keys:
                    out[pk.CLASSES] = bh.class_strings(class_ids, 2, self._label_vocabulary)
            if pk.ALL_CLASS_IDS in keys:
                out[pk.ALL_CLASS_IDS] = bh.all_class_ids(logits, 2)
            if pk.ALL_CLASSES in keys:
                out[pk.ALL_CLASSES] = bh.all_classes(logits, 2, self._label_vocabulary)
        return out

    def metrics(self, regularization_losses: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        """The eval metric objects, keyed as TF's (see MetricKeys), suffixed by the head's name."""
        sk = self._summary_key
        with _g.name_scope("metrics"):
            m: Dict[str, Any] = {}
            m[sk(keys.LOSS_MEAN)] = _metrics.Mean(keys.LOSS_MEAN)
            m[sk(keys.ACCURACY)] = _metrics.Accuracy(keys.ACCURACY)
            m[sk(keys.PRECISION)] = _metrics.Precision(keys.PRECISION)
            m[sk(keys.RECALL)] = _metrics.Recall(keys.RECALL)
            m[sk(keys.PREDICTION_MEAN)] = _metrics.Mean(keys.PREDICTION_MEAN)
            label_mean = _metrics.Mean(keys.LABEL_MEAN)
            m[sk(keys.LABEL_MEAN)] = label_mean
            m[sk(keys.ACCURACY_BASELINE)] = _metrics.AccuracyBaseline(label_mean, keys.ACCURACY_BASELINE)
            m[sk(keys.AUC)] = _metrics.AUC(keys.AUC)
            m[sk(keys.AUC_PR)] = _metrics.AUC(keys.AUC_PR, curve="PR")
            if regularization_losses is not None:
                m[sk(keys.LOSS_REGULARIZATION)] = _metrics.Mean(keys.LOSS_REGULARIZATION)
            for i, t in enumerate(self._thresholds):
                m[self._accuracy_keys[i]] = _metrics.Accuracy(self._accuracy_keys[i], threshold=t)
                m[self._precision_keys[i]] = _metrics.Precision(self._precision_keys[i], thresholds=t)
                m[self._recall_keys[i]] = _metrics.Recall(self._recall_keys[i], thresholds=t)
        return m

    def update_metrics(self, eval_metrics: Dict[str, Any], features: Any, logits: Any, labels: Any,
                       mode: Optional[str] = None, regularization_losses: Optional[Sequence[Any]] = None
                       ) -> Dict[str, Any]:
        """Adds one batch to `eval_metrics` (from `metrics()`); returns it."""
        sk = self._summary_key
        preds = self.predictions(logits, [pk.CLASS_IDS, pk.LOGISTIC])
        class_ids, logistic = preds[pk.CLASS_IDS], preds[pk.LOGISTIC]
        logits = bh.check_logits_final_dim(logits, 1)
        labels = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        w = None if isinstance(weights, float) else weights
        eval_metrics[sk(keys.LOSS_MEAN)].update_state(unweighted, w)
        eval_metrics[sk(keys.ACCURACY)].update_state(labels, class_ids, w)
        eval_metrics[sk(keys.PRECISION)].update_state(labels, class_ids, w)
        eval_metrics[sk(keys.RECALL)].update_state(labels, class_ids, w)
        bh.update_metric_with_broadcast_weights(eval_metrics[sk(keys.PREDICTION_MEAN)], logistic, weights)
        bh.update_metric_with_broadcast_weights(eval_metrics[sk(keys.LABEL_MEAN)], labels, weights)
        eval_metrics[sk(keys.AUC)].update_state(labels, logistic, w)
        eval_metrics[sk(keys.AUC_PR)].update_state(labels, logistic, w)
        if regularization_losses is not None:
            eval_metrics[sk(keys.LOSS_REGULARIZATION)].update_state(bh.add_n(regularization_losses))
        for i in range(len(self._thresholds)):
            eval_metrics[self._accuracy_keys[i]].update_state(labels, logistic, w)
            eval_metrics[self._precision_keys[i]].update_state(labels, logistic, w)
            eval_metrics[self._recall_keys[i]].update_state(labels, logistic, w)
        return eval_metrics

    def _export_outputs(self, predictions: Dict[str, Tensor]) -> Dict[str, Any]:
        classifier_output = bh.classification_output(predictions[pk.PROBABILITIES], 2, self._label_vocabulary)
        return {bh.DEFAULT_SERVING_KEY: classifier_output, bh.CLASSIFY_SERVING_KEY: classifier_output,
                bh.REGRESS_SERVING_KEY: _export_output.RegressionOutput(value=predictions[pk.LOGISTIC]),
                bh.PREDICT_SERVING_KEY: _export_output.PredictOutput(predictions)}
