"""`ModeKeys` and `EstimatorSpec`: the contract between an Estimator and its model_fn."""
from __future__ import annotations

import collections
from typing import Any, Dict, Optional

from ..framework.graph import Operation, Tensor


class ModeKeys:
    """The three modes a model_fn is built for (`tf.estimator.ModeKeys`)."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


def _check_tensor(x: Any, what: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} must be a Tensor; got {type(x).__name__}: {x!r}")


_FIELDS = ["mode", "predictions", "loss", "train_op", "eval_metric_ops", "export_outputs", "training_chief_hooks",
           "training_hooks", "scaffold", "evaluation_hooks", "prediction_hooks"]


class EstimatorSpec(collections.namedtuple("EstimatorSpec", _FIELDS)):
    """What a model_fn returns (`tf.estimator.EstimatorSpec`), validated for its mode.

    TRAIN needs `loss` and `train_op`; EVAL needs `loss`; PREDICT needs `predictions`.
    `loss` must be a scalar float Tensor; `predictions` a Tensor or a dict of Tensors;
    `eval_metric_ops` a dict of `(value, update_op)` pairs; `scaffold` a `tf.train.Scaffold`
    (a default one when None).

    Raises:
      ValueError / TypeError: naming the missing or malformed field.
    """

    def __new__(cls, mode: str, predictions: Any = None, loss: Any = None, train_op: Any = None,
                eval_metric_ops: Optional[Dict[str, Any]] = None, export_outputs: Any = None,
                training_chief_hooks: Any = None, training_hooks: Any = None, scaffold: Any = None,
                evaluation_hooks: Any = None, prediction_hooks: Any = None) -> "EstimatorSpec":
        if mode not in (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT):
            raise ValueError(f"mode={mode!r} is not one of ModeKeys.TRAIN, EVAL, PREDICT")
        if loss is not None:
            if hasattr(loss, "_as_graph_element"):
                loss = loss._as_graph_element()
            _check_tensor(loss, "loss")
            if not loss.dtype.is_floating:
                raise TypeError(f"loss must be a floating point Tensor; got {loss.dtype.name}")
            shape = loss.shape
            if shape.rank is not None and shape.num_elements() not in (None, 1):
                raise ValueError(f"Loss must be scalar, given: {loss!r}")
        if mode == ModeKeys.TRAIN:
            if loss is None:
                raise ValueError("Missing loss: EstimatorSpec in TRAIN mode needs a loss.")
            if train_op is None:
                raise ValueError("Missing train_op: EstimatorSpec in TRAIN mode needs a train_op.")
        if mode == ModeKeys.EVAL and loss is None:
            raise ValueError("Missing loss: EstimatorSpec in EVAL mode needs a loss.")
        if mode == ModeKeys.PREDICT and predictions is None:
            raise ValueError("Missing predictions: EstimatorSpec in PREDICT mode needs predictions.")
        if train_op is not None and not isinstance(train_op, (Tensor, Operation)) and \
                not hasattr(train_op, "_as_graph_element"):
            raise TypeError(f"train_op must be an Operation or Tensor; got {train_op!r}")
        if predictions is not None:
            if isinstance(predictions, dict):
                for k, v in predictions.items():
                    _check_tensor(v if not hasattr(v, "_as_graph_element") else v._as_graph_element(),
                                  f"predictions[{k!r}]")
            else:
                _check_tensor(predictions, "predictions")
        from ..train.scaffold import Scaffold
        scaffold = scaffold if scaffold is not None else Scaffold()
        if not isinstance(scaffold, Scaffold):
            raise TypeError(f"scaffold must be tf.train.Scaffold. Given: {scaffold!r}")
        eval_metric_ops = dict(eval_metric_ops or {})
        for k, v in eval_metric_ops.items():
            if not (isinstance(v, tuple) and len(v) == 2):
                raise TypeError(f"Values of eval_metric_ops must be (metric_value, update_op) tuples, "
                                f"given: {v!r} for key: {k}")
        return super().__new__(cls, mode, predictions, loss, train_op, eval_metric_ops, export_outputs,
                               tuple(training_chief_hooks or ()), tuple(training_hooks or ()), scaffold,
                               tuple(evaluation_hooks or ()), tuple(prediction_hooks or ()))

    def _replace(self, **kwds: Any) -> "EstimatorSpec":
        d = self._asdict()
        d.update(kwds)
        return EstimatorSpec(**d)
