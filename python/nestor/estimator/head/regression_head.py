"""`RegressionHead` (mean squared error) and its Poisson and logistic variants."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from ... import dtypes as _dtypes
from ...framework import graph as _g
from ...framework.graph import Tensor
from ...ops import activation_ops, core_ops, math_ops, nn_ops
from .. import export_output as _export_output
from . import _metrics
from . import base_head as bh
from .base_head import MetricKeys as keys
from .base_head import PredictionKeys as pk


class RegressionHead(bh.SingleHead):
    """A head for regression (`tf.estimator.RegressionHead`).

    logits and labels are [D0, ... DN, label_dimension] (labels may drop a trailing dim of 1).
    The loss is the squared error (or `loss_fn(labels, logits[, features])`), weighted by
    `weight_column` (per example, or per logit dimension) and reduced per `loss_reduction`
    ('sum_over_batch_size': Σ w·loss / (batch · label_dimension)). `inverse_link_fn` maps
    logits to the `predictions` (which then also include `logits`).

    Raises:
      ValueError: label_dimension < 1, invalid loss_reduction or loss_fn.
    """

    def __init__(self, label_dimension: int = 1, weight_column: Any = None,
                 loss_reduction: str = "sum_over_batch_size", loss_fn: Optional[Callable[..., Tensor]] = None,
                 inverse_link_fn: Optional[Callable[[Tensor], Tensor]] = None, name: Optional[str] = None) -> None:
        if label_dimension < 1:
            raise ValueError(f"Invalid label_dimension {label_dimension}.")
        bh.validate_loss_reduction(loss_reduction)
        if loss_fn:
            bh.validate_loss_fn_args(loss_fn)
        self._logits_dimension = int(label_dimension)
        self._weight_column = weight_column
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._inverse_link_fn = inverse_link_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return self._logits_dimension

    def _processed_labels(self, logits: Tensor, labels: Any) -> Tensor:
        labels = bh.check_dense_labels_match_logits_and_reshape(labels, logits, self._logits_dimension)
        if labels.dtype == _dtypes.string:
            raise ValueError("Regression labels must be numeric; got string labels.")
        return core_ops.cast(labels, _dtypes.float32)

    def _unweighted_loss_and_weights(self, logits: Tensor, labels: Tensor, features: Any) -> Any:
        if self._loss_fn:
            unweighted = bh.call_loss_fn(self._loss_fn, labels, logits, features,
                                         expected_loss_dim=self._logits_dimension)
        else:
            unweighted = math_ops.squared_difference(logits, labels)
        weights = bh.get_weights_and_check_match_logits(features, self._weight_column, logits,
                                                        allow_per_logit_weights=True)
        return unweighted, weights

    def predictions(self, logits: Any, keys: Optional[Sequence[str]] = None) -> Dict[str, Tensor]:
        """`predictions` (inverse_link_fn(logits), or logits) and, with an inverse link, `logits`."""
        valid = [pk.PREDICTIONS, pk.LOGITS] if self._inverse_link_fn else [pk.PREDICTIONS]
        if keys:
            bh.check_prediction_keys(keys, valid)
        logits = bh.check_logits_final_dim(logits, self._logits_dimension)
        with _g.name_scope("predictions"):
            if self._inverse_link_fn:
                out = {pk.PREDICTIONS: self._inverse_link_fn(logits), pk.LOGITS: logits}
            else:
                out = {pk.PREDICTIONS: logits}
        if keys:
            out = {k: v for k, v in out.items() if k in keys}
        return out

    def metrics(self, regularization_losses: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        """average_loss, prediction/mean, label/mean (and regularization_loss)."""
        sk = self._summary_key
        with _g.name_scope("metrics"):
            m: Dict[str, Any] = {sk(keys.LOSS_MEAN): _metrics.Mean(keys.LOSS_MEAN),
                                 sk(keys.PREDICTION_MEAN): _metrics.Mean(keys.PREDICTION_MEAN),
                                 sk(keys.LABEL_MEAN): _metrics.Mean(keys.LABEL_MEAN)}
            if regularization_losses is not None:
                m[sk(keys.LOSS_REGULARIZATION)] = _metrics.Mean(keys.LOSS_REGULARIZATION)
        return m

    def update_metrics(self, eval_metrics: Dict[str, Any], features: Any, logits: Any, labels: Any,
                       mode: Optional[str] = None, regularization_losses: Optional[Sequence[Any]] = None
                       ) -> Dict[str, Any]:
        """Adds one batch to `eval_metrics` (from `metrics()`); returns it."""
        sk = self._summary_key
        predicted = self.predictions(logits)[pk.PREDICTIONS]
        logits = bh.check_logits_final_dim(logits, self._logits_dimension)
        labels = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        w = None if isinstance(weights, float) else weights
        eval_metrics[sk(keys.LOSS_MEAN)].update_state(unweighted, w)
        bh.update_metric_with_broadcast_weights(eval_metrics[sk(keys.LABEL_MEAN)], labels, weights)
        bh.update_metric_with_broadcast_weights(eval_metrics[sk(keys.PREDICTION_MEAN)], predicted, weights)
        if regularization_losses is not None:
            eval_metrics[sk(keys.LOSS_REGULARIZATION)].update_state(bh.add_n(regularization_losses))
        return eval_metrics

    def _export_outputs(self, predictions: Dict[str, Tensor]) -> Dict[str, Any]:
        regression_output = _export_output.RegressionOutput(value=predictions[pk.PREDICTIONS])
        return {bh.DEFAULT_SERVING_KEY: regression_output, bh.REGRESS_SERVING_KEY: regression_output,
                bh.PREDICT_SERVING_KEY: _export_output.PredictOutput(predictions)}


def log_poisson_loss(targets: Tensor, log_input: Tensor, compute_full_loss: bool = False) -> Tensor:
    """exp(log_input) - targets * log_input, plus (compute_full_loss) the Stirling term
    targets * log(targets) - targets + 0.5 * log(2π targets) where targets > 1 (`tf.nn.log_poisson_loss`)."""
    result = math_ops.exp(log_input) - log_input * targets
    if compute_full_loss:
        ones = core_ops.ones_like(targets)
        safe = math_ops.where(math_ops.greater(targets, 1.0), targets, ones)
        stirling = safe * math_ops.log(safe) - safe + 0.5 * math_ops.log(2.0 * 3.141592653589793 * safe)
        zeros = core_ops.zeros_like(targets)
        cond = math_ops.logical_and(math_ops.greater_equal(targets, zeros), math_ops.less_equal(targets, ones))
        result = result + math_ops.where(cond, zeros, stirling)
    return result


class PoissonRegressionHead(RegressionHead):
    """Regression with the Poisson loss on log-rates (`tf.estimator.PoissonRegressionHead`):
    loss = log_poisson_loss(labels, logits, compute_full_loss); predictions = exp(logits)."""

    def __init__(self, label_dimension: int = 1, weight_column: Any = None,
                 loss_reduction: str = "sum_over_batch_size", compute_full_loss: bool = True,
                 name: Optional[str] = None) -> None:
        self._compute_full_loss = compute_full_loss
        super().__init__(label_dimension=label_dimension, weight_column=weight_column, loss_reduction=loss_reduction,
                         loss_fn=self._poisson_loss, inverse_link_fn=math_ops.exp, name=name)

    def _poisson_loss(self, labels: Tensor, logits: Tensor) -> Tensor:
        return log_poisson_loss(labels, logits, compute_full_loss=self._compute_full_loss)


class LogisticRegressionHead(RegressionHead):
    """Regression of values in [0, 1] with the sigmoid cross entropy
    (`tf.estimator.LogisticRegressionHead`); predictions = sigmoid(logits)."""

    def __init__(self, weight_column: Any = None, loss_reduction: str = "sum_over_batch_size",
                 name: Optional[str] = None) -> None:
        super().__init__(label_dimension=1, weight_column=weight_column, loss_reduction=loss_reduction,
                         loss_fn=self._logistic_loss, inverse_link_fn=activation_ops.sigmoid, name=name)

    def _logistic_loss(self, labels: Tensor, logits: Tensor) -> Tensor:
        labels = bh.check_label_range(labels, 2, message="Labels must be in range [0, 1]")
        return nn_ops.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
