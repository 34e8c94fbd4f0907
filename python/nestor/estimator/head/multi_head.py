"""`MultiHead`: several named heads over one logits Tensor (multi-objective learning)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from ...framework import graph as _g
from ...framework.graph import Tensor, convert_to_tensor
from ...ops import array_ops, core_ops, math_ops
from .. import export_output as _export_output
from ..model_fn import EstimatorSpec, ModeKeys
from . import _metrics
from . import base_head as bh
from .base_head import MetricKeys as keys


def _no_op_train_fn(loss: Tensor) -> Any:
    del loss
    return core_ops.no_op()


def _default_export_output(export_outputs: Dict[str, Any], head_name: str) -> Any:
    if len(export_outputs) == 1:
        return next(iter(export_outputs.values()))
    try:
        return export_outputs[bh.DEFAULT_SERVING_KEY]
    except KeyError:
        raise ValueError(f"{head_name} did not specify default export_outputs. Given: {export_outputs} "
                         f"Suggested fix: Use one of the heads in tf.estimator, or include key "
                         f"{bh.DEFAULT_SERVING_KEY} in export_outputs.") from None


class MultiHead(bh.Head):
    """Combines named heads (`tf.estimator.MultiHead`).

    logits are one Tensor [D0, ... DN, Σ logits_dimension] (split among the heads in order) or
    a dict {head name: logits}; labels a dict {head name: labels}. The loss is Σ head_weight ·
    head loss; predictions are keyed `(head name, key)`; metrics are each head's (keys suffixed
    by its name) plus `loss/<name>`.

    Raises:
      ValueError: no heads, a head without a name, or head_weights of another length.
    """

    def __init__(self, heads: Sequence[bh.Head], head_weights: Optional[Sequence[float]] = None) -> None:
        if not heads:
            raise ValueError(f"Must specify heads. Given: {heads}")
        if head_weights and len(head_weights) != len(heads):
            raise ValueError(f"heads and head_weights must have the same size. Given len(heads): {len(heads)}. "
                             f"Given len(head_weights): {len(head_weights)}.")
        for head in heads:
            if head.name is None:
                raise ValueError(f"All given heads must have name specified. Given: {head}")
        self._heads = tuple(heads)
        self._head_weights = tuple(head_weights) if head_weights else tuple()
        self._logits_dimension = sum(h.logits_dimension for h in heads)
        self._loss_keys = tuple(f"{keys.LOSS}/{h.name}" for h in heads)

    @property
    def name(self) -> str:
        return "_".join(h.name for h in self._heads)

    @property
    def logits_dimension(self) -> int:
        return self._logits_dimension

    @property
    def loss_reduction(self) -> str:
        reductions = [h.loss_reduction for h in self._heads]
        if len(set(reductions)) > 1:
            raise ValueError(f"The loss_reduction must be the same for different heads. Given: {reductions}")
        return reductions[0]

    def _split_logits(self, logits: Any) -> Dict[str, Tensor]:
        with _g.name_scope("split_logits"):
            logits = convert_to_tensor(logits)
            dims = [h.logits_dimension for h in self._heads]
            shape = logits.shape.as_list() if logits.shape.rank is not None else None
            if shape is None:
                raise ValueError("MultiHead needs logits of known rank")
            if shape[-1] is not None and shape[-1] != sum(dims):
                raise ValueError(f"Could not split logits of shape {shape!r} among the heads with individual logits "
                                 f"dimensions: {dims!r}. The last dimension of the logits tensor should equal "
                                 f"{sum(dims)} but is {shape[-1]}.")
            out, begin = {}, 0
            rank = len(shape)
            for head in self._heads:
                out[head.name] = array_ops.slice(logits, [0] * (rank - 1) + [begin],
                                                 [-1] * (rank - 1) + [head.logits_dimension])
                begin += head.logits_dimension
            return out

    def _check_logits_and_labels(self, logits: Any, labels: Any = None) -> Dict[str, Tensor]:
        names = [h.name for h in self._heads]
        if isinstance(logits, dict):
            missing = sorted(set(names) - set(logits))
            if missing:
                raise ValueError(f"logits has missing values for head(s): {missing}")
            logits_dict = logits
        else:
            logits_dict = self._split_logits(logits)
        if labels is not None:
            if not isinstance(labels, dict):
                raise ValueError(f"labels must be a dict. Given: {labels}")
            missing = sorted(set(names) - set(labels))
            if missing:
                raise ValueError(f"labels has missing values for head(s): {missing}")
        return logits_dict

    def loss(self, labels: Any, logits: Any, features: Any = None, mode: Optional[str] = None,
             regularization_losses: Optional[Sequence[Any]] = None) -> Tensor:
        """Σ head_weight · head loss, plus the regularization losses."""
        logits_dict = self._check_logits_and_labels(logits, labels)
        losses = [h.loss(logits=logits_dict[h.name], labels=labels[h.name], features=features, mode=mode)
                  for h in self._heads]
        with _g.name_scope("merge_losses"):
            if self._head_weights:
                losses = [math_ops.multiply(l, w) for l, w in zip(losses, self._head_weights)]
            return bh.regularized_loss(bh.add_n(losses), regularization_losses)

    def predictions(self, logits: Any, keys: Optional[Sequence[str]] = None) -> Dict[Any, Tensor]:
        """Every head's predictions, keyed `(head name, prediction key)`."""
        logits_dict = self._check_logits_and_labels(logits)
        out: Dict[Any, Tensor] = {}
        with _g.name_scope("merge_pred"):
            for head in self._heads:
                for k, v in head.predictions(logits_dict[head.name]).items():
                    out[(head.name, k)] = v
        return out

    def metrics(self, regularization_losses: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        """`loss/<head name>` means (and regularization_loss); heads' metrics come from update_metrics."""
        m: Dict[str, Any] = {}
        if regularization_losses is not None:
            m[keys.LOSS_REGULARIZATION] = _metrics.Mean(keys.LOSS_REGULARIZATION)
        with _g.name_scope("merge_eval"):
            for k in self._loss_keys:
                m[k] = _metrics.Mean(k)
        return m

    def update_metrics(self, eval_metrics: Dict[str, Any], features: Any, logits: Any, labels: Any,
                       mode: Optional[str] = None, regularization_losses: Optional[Sequence[Any]] = None
                       ) -> Dict[str, Any]:
        """Adds one batch: each head's reduced loss to `loss/<name>`, and each head's own metrics."""
        logits_dict = self._check_logits_and_labels(logits, labels)
        if regularization_losses is not None:
            eval_metrics[keys.LOSS_REGULARIZATION].update_state(bh.add_n(regularization_losses))
        for i, head in enumerate(self._heads):
            head_logits, head_labels = logits_dict[head.name], labels[head.name]
            eval_metrics[self._loss_keys[i]].update_state(head.loss(logits=head_logits, labels=head_labels,
                                                                    features=features))
            eval_metrics.update(head.update_metrics(head.metrics(), features, head_logits, head_labels) or {})
        return eval_metrics

    def create_estimator_spec(self, features: Any, mode: str, logits: Any, labels: Any = None,
                              optimizer: Any = None, trainable_variables: Optional[Sequence[Any]] = None,
                              train_op_fn: Any = None, update_ops: Optional[Sequence[Any]] = None,
                              regularization_losses: Optional[Sequence[Any]] = None) -> EstimatorSpec:
        """The combined `EstimatorSpec` (see `Head.create_estimator_spec`)."""
        features = features if features is not None else {}
        with _g.name_scope(self.name):
            logits_dict = self._check_logits_and_labels(logits, labels)
            specs = [h.create_estimator_spec(features=features, mode=mode, logits=logits_dict[h.name],
                                             labels=labels[h.name] if labels else None, train_op_fn=_no_op_train_fn)
                     for h in self._heads]
            predictions = self.predictions(logits)
            if mode == ModeKeys.PREDICT:
                return EstimatorSpec(mode=ModeKeys.PREDICT, predictions=predictions,
                                     export_outputs=self._merge_predict_export_outputs(specs))
            loss = self.loss(labels, logits, features, mode, regularization_losses)
            if mode == ModeKeys.EVAL:
                eval_metrics = self.update_metrics(self.metrics(regularization_losses), features, logits, labels,
                                                   regularization_losses=regularization_losses)
                return EstimatorSpec(mode=ModeKeys.EVAL, predictions=predictions, loss=loss,
                                     eval_metric_ops=bh.metric_ops(eval_metrics))
            if mode != ModeKeys.TRAIN:
                raise ValueError(f"mode={mode} unrecognized")
            train_op = bh.create_estimator_spec_train_op(optimizer=optimizer, trainable_variables=trainable_variables,
                                                         train_op_fn=train_op_fn, update_ops=update_ops,
                                                         regularized_training_loss=loss)
            bh.create_estimator_spec_summary(loss, regularization_losses)
            return EstimatorSpec(mode=ModeKeys.TRAIN, loss=loss, train_op=train_op, predictions=predictions)

    def _merge_predict_export_outputs(self, specs: Sequence[EstimatorSpec]) -> Dict[str, Any]:
        export_outputs = {bh.DEFAULT_SERVING_KEY: _default_export_output(specs[0].export_outputs,
                                                                         self._heads[0].name)}
        merged: Dict[str, Tensor] = {}
        for head, spec in zip(self._heads, specs):
            for k, v in spec.export_outputs.items():
                key = head.name if k == bh.DEFAULT_SERVING_KEY else f"{head.name}/{k}"
                export_outputs[key] = v
                if k == bh.PREDICT_SERVING_KEY and isinstance(v, _export_output.PredictOutput):
                    for kp, vp in v.outputs.items():
                        merged[f"{head.name}/{kp}"] = vp
        export_outputs[bh.PREDICT_SERVING_KEY] = _export_output.PredictOutput(merged)
        return export_outputs
