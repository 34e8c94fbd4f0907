"""`MultiLabelHead`: multi-label classification (each of n_classes independently on or off)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from ... import dtypes as _dtypes
from ...framework import graph as _g
from ...framework.graph import Tensor, convert_to_tensor
from ...ops import activation_ops, array_ops, core_ops, math_ops, nn_ops, reduction_ops
from .. import export_output as _export_output
from . import _metrics
from . import base_head as bh
from .base_head import MetricKeys as keys
from .base_head import PredictionKeys as pk


class MultiLabelHead(bh.SingleHead):
    """A head for multi-label classification (`tf.estimator.MultiLabelHead`).

    logits are [D0, ... DN, n_classes]; labels a dense 0/1 indicator Tensor of the same shape,
    or a SparseTensor of class ids (ints, or strings from `label_vocabulary`) per example. The
    loss is the sigmoid cross entropy averaged over classes, weighted and reduced as in
    `BinaryClassHead`. `classes_for_class_based_metrics` (ids or vocabulary strings) adds
    per-class `auc`, `auc_precision_recall` and `probability_mean` metrics.

    Raises:
      ValueError: n_classes < 2, thresholds outside (0, 1), a vocabulary without n_classes
        entries, class ids out of range, invalid loss_reduction or loss_fn.
    """

    def __init__(self, n_classes: int, weight_column: Any = None, thresholds: Optional[Sequence[float]] = None,
                 label_vocabulary: Optional[Sequence[str]] = None, loss_reduction: str = "sum_over_batch_size",
                 loss_fn: Optional[Callable[..., Tensor]] = None,
                 classes_for_class_based_metrics: Optional[Sequence[Any]] = None, name: Optional[str] = None) -> None:
        if n_classes is None or n_classes < 2:
            raise ValueError(f"n_classes must be > 1 for multi-label classification. Given: {n_classes}")
        thresholds = tuple(thresholds) if thresholds else tuple()
        for t in thresholds:
            if t <= 0.0 or t >= 1.0:
                raise ValueError(f"thresholds must be in (0, 1) range. Given: {t}")
        if label_vocabulary is not None:
            if not isinstance(label_vocabulary, (list, tuple)):
                raise ValueError(f"label_vocabulary must be a list or tuple. Given type: {type(label_vocabulary)}")
            if len(label_vocabulary) != n_classes:
                raise ValueError(f"Length of label_vocabulary must be n_classes ({n_classes}). "
                                 f"Given: {len(label_vocabulary)}")
        if loss_fn:
            bh.validate_loss_fn_args(loss_fn)
        bh.validate_loss_reduction(loss_reduction)
        classes = tuple(classes_for_class_based_metrics) if classes_for_class_based_metrics else tuple()
        if classes and isinstance(classes[0], str):
            if not label_vocabulary:
                raise ValueError("label_vocabulary must be provided when classes_for_class_based_metrics are strings.")
            classes = tuple(list(label_vocabulary).index(c) for c in classes)
        else:
            for c in classes:
                if c < 0 or c >= n_classes:
                    raise ValueError(f"All classes_for_class_based_metrics must be in range [0, {n_classes - 1}]. "
                                     f"Given: {c}")
        self._n_classes = int(n_classes)
        self._weight_column = weight_column
        self._thresholds = thresholds
        self._label_vocabulary = list(label_vocabulary) if label_vocabulary is not None else None
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._classes = classes
        self._name = name
        sk = self._summary_key
        self._accuracy_keys = tuple(sk(keys.ACCURACY_AT_THRESHOLD % t) for t in thresholds)
        self._precision_keys = tuple(sk(keys.PRECISION_AT_THRESHOLD % t) for t in thresholds)
        self._recall_keys = tuple(sk(keys.RECALL_AT_THRESHOLD % t) for t in thresholds)
        if self._label_vocabulary is None:
            self._prob_keys = tuple(sk(keys.PROBABILITY_MEAN_AT_CLASS % c) for c in classes)
            self._auc_keys = tuple(sk(keys.AUC_AT_CLASS % c) for c in classes)
            self._auc_pr_keys = tuple(sk(keys.AUC_PR_AT_CLASS % c) for c in classes)
        else:
            v = self._label_vocabulary
            self._prob_keys = tuple(sk(keys.PROBABILITY_MEAN_AT_NAME % v[c]) for c in classes)
            self._auc_keys = tuple(sk(keys.AUC_AT_NAME % v[c]) for c in classes)
            self._auc_pr_keys = tuple(sk(keys.AUC_PR_AT_NAME % v[c]) for c in classes)

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _processed_labels(self, logits: Tensor, labels: Any) -> Tensor:
        from ...framework.sparse_tensor import SparseTensor
        if labels is None:
            raise ValueError(bh._LABEL_NONE_ERR_MSG)
        if isinstance(labels, SparseTensor):
            values = labels.values
            if values.dtype == _dtypes.string:
                if self._label_vocabulary is None:
                    raise ValueError("String SparseTensor labels need a label_vocabulary.")
                ids = bh.class_id_lookup(values, self._label_vocabulary)
                ids = bh.check_label_range(ids, self._n_classes, message="labels must be in label_vocabulary")
            else:
                if not values.dtype.is_integer:
                    raise ValueError(f"Labels dtype should be integer. Instead got {values.dtype.name}.")
                ids = bh.check_label_range(values, self._n_classes, message=(
                    f"labels must be an integer SparseTensor with values in [0, {self._n_classes})"))
            # Indicator [batch, n_classes]: one-hot rows of the ids summed per example (capped at 1).
            onehot = array_ops.one_hot(core_ops.cast(ids, _dtypes.int32), self._n_classes, dtype=_dtypes.float32)
            rows = core_ops.cast(labels.indices[:, 0], _dtypes.int32)
            batch = core_ops.cast(labels.dense_shape[0], _dtypes.int32)
            from ...ops import sparse_ops
            summed = sparse_ops.unsorted_segment_sum(onehot, rows, batch)
            processed = core_ops.cast(math_ops.greater(summed, 0.0), _dtypes.int64)
        else:
            processed = bh.check_label_range(
                convert_to_tensor(labels), 2,
                message="labels must be an integer indicator Tensor with values in [0, 1]")
        return bh.check_dense_labels_match_logits_and_reshape(processed, logits, self._n_classes)

    def _unweighted_loss_and_weights(self, logits: Tensor, labels: Tensor, features: Any) -> Any:
        if self._loss_fn:
            unweighted = bh.call_loss_fn(self._loss_fn, labels, logits, features, expected_loss_dim=1)
        else:
            unweighted = nn_ops.sigmoid_cross_entropy_with_logits(labels=core_ops.cast(labels, _dtypes.float32),
                                                                  logits=logits)
            unweighted = reduction_ops.reduce_mean(unweighted, axis=-1, keepdims=True)
        weights = bh.get_weights_and_check_match_logits(features, self._weight_column, logits)
        return unweighted, weights

    def predictions(self, logits: Any, keys: Optional[Sequence[str]] = None) -> Dict[str, Tensor]:
        """logits, probabilities (sigmoid) and classes (all class names, string [.., n_classes])."""
        valid = [pk.LOGITS, pk.PROBABILITIES, pk.CLASSES]
        if keys:
            bh.check_prediction_keys(keys, valid)
        else:
            keys = valid
        logits = bh.check_logits_final_dim(logits, self._n_classes)
        out: Dict[str, Tensor] = {}
        with _g.name_scope("predictions"):
            if pk.LOGITS in keys:
                out[pk.LOGITS] = logits
            if pk.PROBABILITIES in keys:
                out[pk.PROBABILITIES] = activation_ops.sigmoid(logits, name=pk.PROBABILITIES)
            if pk.CLASSES in keys:
                out[pk.CLASSES] = bh.all_classes(logits, self._n_classes, self._label_vocabulary)
        return out

    def metrics(self, regularization_losses: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        """average_loss, auc, auc_precision_recall (+ thresholded and per-class metrics)."""
        sk = self._summary_key
        with _g.name_scope("metrics"):
            m: Dict[str, Any] = {sk(keys.LOSS_MEAN): _metrics.Mean(keys.LOSS_MEAN),
                                 sk(keys.AUC): _metrics.AUC(keys.AUC),
                                 sk(keys.AUC_PR): _metrics.AUC(keys.AUC_PR, curve="PR")}
            if regularization_losses is not None:
                m[sk(keys.LOSS_REGULARIZATION)] = _metrics.Mean(keys.LOSS_REGULARIZATION)
            for i, t in enumerate(self._thresholds):
                m[self._accuracy_keys[i]] = _metrics.Accuracy(self._accuracy_keys[i], threshold=t)
                m[self._precision_keys[i]] = _metrics.Precision(self._precision_keys[i], thresholds=t)
                m[self._recall_keys[i]] = _metrics.Recall(self._recall_keys[i], thresholds=t)
            for i in range(len(self._classes)):
                m[self._prob_keys[i]] = _metrics.Mean(self._prob_keys[i])
                m[self._auc_keys[i]] = _metrics.AUC(self._auc_keys[i])
                m[self._auc_pr_keys[i]] = _metrics.AUC(self._auc_pr_keys[i], curve="PR")
        return m

    def update_metrics(self, eval_metrics: Dict[str, Any], features: Any, logits: Any, labels: Any,
                       mode: Optional[str] = None, regularization_losses: Optional[Sequence[Any]] = None
                       ) -> Dict[str, Any]:
        """Adds one batch to `eval_metrics` (from `metrics()`); returns it."""
        sk = self._summary_key
        logits = bh.check_logits_final_dim(logits, self._n_classes)
        processed = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, processed, features)
        w = None if isinstance(weights, float) else weights
        probabilities = self.predictions(logits, [pk.PROBABILITIES])[pk.PROBABILITIES]
        eval_metrics[sk(keys.LOSS_MEAN)].update_state(unweighted, w)
        eval_metrics[sk(keys.AUC)].update_state(processed, probabilities, w)
        eval_metrics[sk(keys.AUC_PR)].update_state(processed, probabilities, w)
        if regularization_losses is not None:
            eval_metrics[sk(keys.LOSS_REGULARIZATION)].update_state(bh.add_n(regularization_losses))
        for i in range(len(self._thresholds)):
            eval_metrics[self._accuracy_keys[i]].update_state(processed, probabilities, w)
            eval_metrics[self._precision_keys[i]].update_state(processed, probabilities, w)
            eval_metrics[self._recall_keys[i]].update_state(processed, probabilities, w)
        for i, c in enumerate(self._classes):
            class_probabilities = _class_slice(probabilities, c)
            class_labels = _class_slice(processed, c)
            bh.update_metric_with_broadcast_weights(eval_metrics[self._prob_keys[i]], class_probabilities, weights)
            eval_metrics[self._auc_keys[i]].update_state(class_labels, class_probabilities, w)
            eval_metrics[self._auc_pr_keys[i]].update_state(class_labels, class_probabilities, w)
        return eval_metrics

    def _export_outputs(self, predictions: Dict[str, Tensor]) -> Dict[str, Any]:
        classifier_output = bh.classification_output(predictions[pk.PROBABILITIES], self._n_classes,
                                                     self._label_vocabulary)
        return {bh.DEFAULT_SERVING_KEY: classifier_output, bh.CLASSIFY_SERVING_KEY: classifier_output,
                bh.PREDICT_SERVING_KEY: _export_output.PredictOutput(predictions)}



def _class_slice(x: Tensor, c: int) -> Tensor:
    """x[..., c:c+1]."""
    rank = x.shape.rank
    if rank is None:
        raise ValueError("class-based metrics need logits of known rank")
    return array_ops.slice(x, [0] * (rank - 1) + [c], [-1] * (rank - 1) + [1])
