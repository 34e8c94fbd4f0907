"""`WarmStartSettings`: initialize some variables from another model's checkpoint."""
from __future__ import annotations

import collections
import logging
import os
import re
from typing import Any, Dict, List, Optional

from .. import checkpoint as _ckpt
from ..framework import variables as _vars

_log = logging.getLogger("nestor")

VocabInfo = collections.namedtuple("VocabInfo", ["new_vocab", "new_vocab_size", "num_oov_buckets", "old_vocab",
                                                 "old_vocab_size", "backup_initializer", "axis"])
VocabInfo.__new__.__defaults__ = (-1, None, 0)


class WarmStartSettings(collections.namedtuple("WarmStartSettings", [
        "ckpt_to_initialize_from", "vars_to_warm_start", "var_name_to_vocab_info", "var_name_to_prev_var_name"])):
    """Which variables to take from which checkpoint (`tf.estimator.WarmStartSettings`).

    Args:
      ckpt_to_initialize_from: a checkpoint prefix or a model_dir.
      vars_to_warm_start: a regex (default '.*': every trainable variable) or a list of
        variable names or regexes (then non-trainable variables may match too).
      var_name_to_vocab_info: vocabulary remapping per variable (not supported yet: a
        non-empty dict raises ValueError).
      var_name_to_prev_var_name: new variable name -> name in the checkpoint.
    """

    def __new__(cls, ckpt_to_initialize_from: str, vars_to_warm_start: Any = ".*",
                var_name_to_vocab_info: Optional[Dict[str, Any]] = None,
                var_name_to_prev_var_name: Optional[Dict[str, str]] = None) -> "WarmStartSettings":
        if not ckpt_to_initialize_from:
            raise ValueError("`ckpt_to_initialize_from` MUST be set in WarmStartSettings")
        return super().__new__(cls, ckpt_to_initialize_from, vars_to_warm_start, var_name_to_vocab_info or {},
                               var_name_to_prev_var_name or {})


def get_warm_start_settings(warm_start_from: Any) -> Optional[WarmStartSettings]:
    if warm_start_from is None:
        return None
    if isinstance(warm_start_from, (str, bytes, os.PathLike)):
        return WarmStartSettings(os.fspath(warm_start_from))
    if isinstance(warm_start_from, WarmStartSettings):
        return warm_start_from
    raise ValueError(f"warm_start_from must be a string or a WarmStartSettings, instead got "
                     f"{type(warm_start_from)}")


def _select(settings: WarmStartSettings) -> List[Any]:
    spec = settings.vars_to_warm_start
    if spec is None:
        return []
    if isinstance(spec, str):
        pat = re.compile(spec)
        return [v for v in _vars.trainable_variables() if pat.match(v.op.name)]
    if isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
        pats = [re.compile(s) for s in spec]
        return [v for v in _vars.global_variables() if any(p.match(v.op.name) for p in pats)]
    if isinstance(spec, (list, tuple)):
        return list(spec)
    raise ValueError(f"vars_to_warm_start must be a regex string or a list, got {spec!r}")


def warm_start(sess: Any, settings: WarmStartSettings) -> None:
    """Assigns the selected variables their values in the checkpoint.

    Raises:
      ValueError: vocabulary remapping requested, or a variable missing in the checkpoint.
    """
    if settings.var_name_to_vocab_info:
        raise ValueError("nestor does not remap vocabularies when warm-starting yet "
                         f"(var_name_to_vocab_info given for {sorted(settings.var_name_to_vocab_info)})")
    src = settings.ckpt_to_initialize_from
    prefix = _ckpt.latest_checkpoint(src) if os.path.isdir(src) else src
    if prefix is None:
        raise ValueError(f"warm start: no checkpoint found in {src}")
    values = _ckpt.load_tensors(prefix)
    for v in _select(settings):
        name = v.op.name
        prev = settings.var_name_to_prev_var_name.get(name, name)
        if prev not in values:
            raise ValueError(f"warm start: variable {prev} (for {name}) is not in checkpoint {prefix}")
        arr = values[prev]
        if not v.shape.is_compatible_with(arr.shape):
            raise ValueError(f"warm start: {name} has shape {v.shape}, checkpoint {prefix} holds {prev} with "
                             f"shape {arr.shape}")
        sess._set_variable_value(v._shared_name(), arr.astype(v.dtype.as_numpy_dtype))
        _log.info("Warm-started variable %s from %s", name, prefix)
