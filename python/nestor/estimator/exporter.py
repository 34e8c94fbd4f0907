"""Exporters for `train_and_evaluate` (`tf.estimator.LatestExporter`, `FinalExporter`, `BestExporter`)."""
from __future__ import annotations

import logging
import os
import shutil
from typing import Any, Callable, Dict, Optional

_log = logging.getLogger("nestor")


class Exporter:
    """Base class: `export(estimator, export_path, checkpoint_path, eval_result, is_the_final_export)`."""

    @property
    def name(self) -> str:
        raise NotImplementedError

    def export(self, estimator: Any, export_path: str, checkpoint_path: str, eval_result: Dict[str, Any],
               is_the_final_export: bool) -> Optional[bytes]:
        raise NotImplementedError


def _loss_smaller(best_eval_result: Dict[str, Any], current_eval_result: Dict[str, Any]) -> bool:
    """TF's default BestExporter comparison: a smaller `loss` is better."""
    for r in (best_eval_result, current_eval_result):
        if not r or "loss" not in r:
            raise ValueError("best_eval_result and current_eval_result must contain 'loss'.")
    return current_eval_result["loss"] < best_eval_result["loss"]


def _garbage_collect(export_path: str, keep: Optional[int]) -> None:
    if not keep or not os.path.isdir(export_path):
        return
    versions = sorted((int(d) for d in os.listdir(export_path) if d.isdigit()))
    for v in versions[:-keep]:
        shutil.rmtree(os.path.join(export_path, str(v)), ignore_errors=True)


class _SavedModelExporter(Exporter):
    def __init__(self, name: str, serving_input_receiver_fn: Callable[[], Any], assets_extra: Any = None,
                 as_text: bool = False):
        if not name:
            raise ValueError("An Exporter needs a name.")
        if serving_input_receiver_fn is None:
            raise ValueError("serving_input_receiver_fn must be defined.")
        self._name = name
        self._receiver_fn = serving_input_receiver_fn
        self._assets_extra = assets_extra
        self._as_text = as_text

    @property
    def name(self) -> str:
        return self._name

    def _export(self, estimator: Any, export_path: str, checkpoint_path: str) -> bytes:
        return estimator.export_saved_model(export_path, self._receiver_fn, assets_extra=self._assets_extra,
                                           as_text=self._as_text, checkpoint_path=checkpoint_path)


class FinalExporter(_SavedModelExporter):
    """Exports once, after the final evaluation."""

    def export(self, estimator: Any, export_path: str, checkpoint_path: str, eval_result: Dict[str, Any],
               is_the_final_export: bool) -> Optional[bytes]:
        if not is_the_final_export:
            return None
        return self._export(estimator, export_path, checkpoint_path)


class LatestExporter(_SavedModelExporter):
    """Exports after every evaluation, keeping the newest `exports_to_keep` exports."""

    def __init__(self, name: str, serving_input_receiver_fn: Callable[[], Any], assets_extra: Any = None,
                 as_text: bool = False, exports_to_keep: Optional[int] = 5):
        super().__init__(name, serving_input_receiver_fn, assets_extra, as_text)
        if exports_to_keep is not None and exports_to_keep <= 0:
            raise ValueError("`exports_to_keep`, if provided, must be a positive number. Got "
                             f"{exports_to_keep}")
        self._keep = exports_to_keep

    def export(self, estimator: Any, export_path: str, checkpoint_path: str, eval_result: Dict[str, Any],
               is_the_final_export: bool) -> bytes:
        path = self._export(estimator, export_path, checkpoint_path)
        _garbage_collect(export_path, self._keep)
        return path


class BestExporter(_SavedModelExporter):
    """Exports when an evaluation is better than every earlier one (`compare_fn`, default:
    smaller loss); the best so far is seeded from the eval event files already in model_dir."""

    def __init__(self, name: str = "best_exporter", serving_input_receiver_fn: Optional[Callable[[], Any]] = None,
                 event_file_pattern: str = "eval/*.tfevents.*", compare_fn: Callable[..., bool] = _loss_smaller,
                 assets_extra: Any = None, as_text: bool = False, exports_to_keep: Optional[int] = 5):
        super().__init__(name, serving_input_receiver_fn, assets_extra, as_text)
        if not callable(compare_fn):
            raise ValueError("`compare_fn` must be callable.")
        if exports_to_keep is not None and exports_to_keep <= 0:
            raise ValueError("`exports_to_keep`, if provided, must be a positive number. Got "
                             f"{exports_to_keep}")
        self._compare = compare_fn
        self._pattern = event_file_pattern
        self._keep = exports_to_keep
        self._best: Optional[Dict[str, Any]] = None
        self._seeded = False

    def _seed(self, estimator: Any) -> None:
        self._seeded = True
        if not self._pattern:
            return
        from .early_stopping import read_eval_metrics
        eval_dir = os.path.join(estimator.model_dir, os.path.dirname(self._pattern))
        if not os.path.isdir(eval_dir):
            return
        for metrics in read_eval_metrics(eval_dir).values():
            if "loss" in metrics and (self._best is None or self._compare(self._best, metrics)):
                self._best = dict(metrics)

    def export(self, estimator: Any, export_path: str, checkpoint_path: str, eval_result: Dict[str, Any],
               is_the_final_export: bool) -> Optional[bytes]:
        if not self._seeded:
            self._seed(estimator)
        if self._best is not None and not self._compare(self._best, eval_result):
            return None
        self._best = dict(eval_result)
        path = self._export(estimator, export_path, checkpoint_path)
        _garbage_collect(export_path, self._keep)
        return path
