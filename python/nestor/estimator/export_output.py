"""Export outputs of an `EstimatorSpec` (`tf.estimator.export.*Output`): what each SavedModel
signature of an exported model returns."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .. import dtypes as _dtypes
from ..framework.graph import Tensor

__all__ = ["ExportOutput", "ClassificationOutput", "RegressionOutput", "PredictOutput"]


class ExportOutput:
    """Base class of the outputs of one signature."""

    def as_signature_outputs(self) -> Dict[str, Tensor]:
        """The signature's named output tensors."""
        raise NotImplementedError


def _tensor(x: Any, what: str) -> Tensor:
    if hasattr(x, "_as_graph_element"):
        x = x._as_graph_element()
    if not isinstance(x, Tensor):
        raise ValueError(f"{what} must be a Tensor; got {x!r}.")
    return x


class ClassificationOutput(ExportOutput):
    """The `classification` signature: `scores` (float [batch, n]) and/or `classes` (string [batch, n]).

    Raises:
      ValueError: both are None, or one has the wrong dtype.
    """

    def __init__(self, scores: Optional[Tensor] = None, classes: Optional[Tensor] = None) -> None:
        if scores is None and classes is None:
            raise ValueError("At least one of scores and classes must be set.")
        if scores is not None:
            scores = _tensor(scores, "Classification scores")
            if not scores.dtype.is_floating:
                raise ValueError(f"Classification scores must be a float32 Tensor; got {scores!r}")
        if classes is not None:
            classes = _tensor(classes, "Classification classes")
            if classes.dtype != _dtypes.string:
                raise ValueError(f"Classification classes must be a string Tensor; got {classes!r}")
        self._scores, self._classes = scores, classes

    @property
    def scores(self) -> Optional[Tensor]:
        return self._scores

    @property
    def classes(self) -> Optional[Tensor]:
        return self._classes

    def as_signature_outputs(self) -> Dict[str, Tensor]:
        out = {}
        if self._classes is not None:
            out["classes"] = self._classes
        if self._scores is not None:
            out["scores"] = self._scores
        return out


class RegressionOutput(ExportOutput):
    """The `regression` signature: one float Tensor `outputs`.

    Raises:
      ValueError: `value` is not a float Tensor.
    """

    def __init__(self, value: Tensor) -> None:
        value = _tensor(value, "Regression output value")
        if not value.dtype.is_floating:
            raise ValueError(f"Regression output value must be a float32 Tensor; got {value!r}")
        self._value = value

    @property
    def value(self) -> Tensor:
        return self._value

    def as_signature_outputs(self) -> Dict[str, Tensor]:
        return {"outputs": self._value}


class PredictOutput(ExportOutput):
    """The `predict` signature: a dict of named output Tensors (or a single Tensor, named `output`).

    Raises:
      ValueError: a key that is not a string or a value that is not a Tensor.
    """

    def __init__(self, outputs: Any) -> None:
        if not isinstance(outputs, dict):
            outputs = {"output": outputs}
        checked = {}
        for k, v in outputs.items():
            if not isinstance(k, str):
                raise ValueError(f"Prediction output key must be a string; got {k!r}.")
            checked[k] = _tensor(v, f"Prediction output value for key {k!r}")
        self._outputs = checked

    @property
    def outputs(self) -> Dict[str, Tensor]:
        return self._outputs

    def as_signature_outputs(self) -> Dict[str, Tensor]:
        return dict(self._outputs)
