"""`MultiClassHead`: single-label classification over n_classes > 2 with softmax cross entropy."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from ...framework import graph as _g
from ...framework.graph import Tensor
from ...ops import array_ops, nn_ops, reduction_ops
from .. import export_output as _export_output
from . import _metrics
from . import base_head as bh
from .base_head import MetricKeys as keys
from .base_head import PredictionKeys as pk


class MultiClassHead(bh.SingleHead):
    """A head for multi-class classification (`tf.estimator.MultiClassHead`).

    logits are [D0, ... DN, n_classes]; labels [D0, ... DN, 1] (or [D0, ... DN]) integer class
    ids in [0, n_classes), or strings from `label_vocabulary`. The loss is the sparse softmax
    cross entropy, weighted and reduced as in `BinaryClassHead`.

    Raises:
      ValueError: n_classes <= 2, a vocabulary without n_classes entries, invalid
        loss_reduction or loss_fn.
    """

    def __init__(self, n_classes: int, weight_column: Any = None, label_vocabulary: Optional[Sequence[str]] = None,
                 loss_reduction: str = "sum_over_batch_size", loss_fn: Optional[Callable[..., Tensor]] = None,
                 name: Optional[str] = None) -> None:
        if n_classes is None:
            raise ValueError("n_classes cannot be None")
        bh.validate_label_vocabulary(label_vocabulary)
        if label_vocabulary is not None and len(label_vocabulary) != n_classes:
            raise ValueError(f'"label_vocabulary" does not have "n_classes" items. len(label_vocabulary)='
                             f"{len(label_vocabulary)}, n_classes={n_classes}, label_vocabulary={label_vocabulary}")
        bh.validate_loss_reduction(loss_reduction)
        if loss_fn:
            bh.validate_loss_fn_args(loss_fn)
        self._n_classes = bh.validate_n_classes(n_classes)
        self._weight_column = weight_column
        self._label_vocabulary = list(label_vocabulary) if label_vocabulary is not None else None
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _processed_labels(self, logits: Tensor, labels: Any) -> Tensor:
        labels = bh.check_dense_labels_match_logits_and_reshape(labels, logits, 1)
        if self._label_vocabulary is None:
            if not labels.dtype.is_integer:
                raise ValueError(f"Labels dtype should be integer. Instead got {labels.dtype.name}.")
            label_ids = labels
        else:
            label_ids = bh.class_id_lookup(labels, self._label_vocabulary)
        return bh.check_label_range(label_ids, self._n_classes)

    def _unweighted_loss_and_weights(self, logits: Tensor, label_ids: Tensor, features: Any) -> Any:
        if self._loss_fn:
            unweighted = bh.call_loss_fn(self._loss_fn, label_ids, logits, features, expected_loss_dim=1)
        else:
            unweighted = nn_ops.sparse_softmax_cross_entropy_with_logits(
                labels=array_ops.squeeze(label_ids, [-1]), logits=logits)
            unweighted = array_ops.expand_dims(unweighted, -1)
        weights = bh.get_weights_and_check_match_logits(features, self._weight_column, logits)
        return unweighted, weights

    def predictions(self, logits: Any, keys: Optional[Sequence[str]] = None) -> Dict[str, Tensor]:
        """logits, probabilities (softmax), class_ids (int64 [.., 1]), classes (string [.., 1]),
        all_class_ids (int32), all_classes (string)."""
        valid = [pk.LOGITS, pk.PROBABILITIES, pk.CLASS_IDS, pk.CLASSES, pk.ALL_CLASS_IDS, pk.ALL_CLASSES]
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
                out[pk.PROBABILITIES] = nn_ops.softmax(logits, name=pk.PROBABILITIES)
            if pk.CLASS_IDS in keys or pk.CLASSES in keys:
                class_ids = array_ops.expand_dims(reduction_ops.argmax(logits, axis=-1, name=pk.CLASS_IDS), -1)
                if pk.CLASS_IDS in keys:
                    out[pk.CLASS_IDS] = class_ids
                if pk.CLASSES in keys:
                    out[pk.CLASSES] = bh.class_strings(class_ids, self._n_classes, self._label_vocabulary)
            if pk.ALL_CLASS_IDS in keys:
                out[pk.ALL_CLASS_IDS] = bh.all_class_ids(logits, self._n_classes)
            if pk.ALL_CLASSES in keys:
                out[pk.ALL_CLASSES] = bh.all_classes(logits, self._n_classes, self._label_vocabulary)
        return out

    def metrics(self, regularization_losses: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        """average_loss, accuracy (and regularization_loss), suffixed by the head's name."""
        sk = self._summary_key
        with _g.name_scope("metrics"):
            m: Dict[str, Any] = {sk(keys.LOSS_MEAN): _metrics.Mean(keys.LOSS_MEAN)}
            if regularization_losses is not None:
                m[sk(keys.LOSS_REGULARIZATION)] = _metrics.Mean(keys.LOSS_REGULARIZATION)
            m[sk(keys.ACCURACY)] = _metrics.Accuracy(keys.ACCURACY)
        return m

    def update_metrics(self, eval_metrics: Dict[str, Any], features: Any, logits: Any, labels: Any,
                       mode: Optional[str] = None, regularization_losses: Optional[Sequence[Any]] = None
                       ) -> Dict[str, Any]:
        """Adds one batch to `eval_metrics` (from `metrics()`); returns it."""
        sk = self._summary_key
        class_ids = self.predictions(logits, [pk.CLASS_IDS])[pk.CLASS_IDS]
        logits = bh.check_logits_final_dim(logits, self._n_classes)
        label_ids = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, label_ids, features)
        w = None if isinstance(weights, float) else weights
        eval_metrics[sk(keys.LOSS_MEAN)].update_state(unweighted, w)
        eval_metrics[sk(keys.ACCURACY)].update_state(label_ids, class_ids, w)
        if regularization_losses is not None:
            eval_metrics[sk(keys.LOSS_REGULARIZATION)].update_state(bh.add_n(regularization_losses))
        return eval_metrics

    def _export_outputs(self, predictions: Dict[str, Tensor]) -> Dict[str, Any]:
        classifier_output = bh.classification_output(predictions[pk.PROBABILITIES], self._n_classes,
                                                     self._label_vocabulary)
        return {bh.DEFAULT_SERVING_KEY: classifier_output, bh.CLASSIFY_SERVING_KEY: classifier_output,
                bh.PREDICT_SERVING_KEY: _export_output.PredictOutput(predictions)}
