"""Checkpoints: `model_dir/model.ckpt-STEP.safetensors` plus a JSON state file `checkpoint`.

Every file is written to a temporary name in the same directory, fsynced and renamed,
so a process killed at any moment leaves either the old or the new file, never half of
one. The state file names the latest checkpoint and the retained ones (paths relative
to the directory); files beyond `max_to_keep` are deleted only after the state file
that drops them is on disk.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .. import errors

STATE_FILE = "checkpoint"
SUFFIX = ".safetensors"


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    """Writes `data` to `path` so that readers see the old or the new content, never a mix."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(d)


def _resolve(directory: str, p: str) -> str:
    return p if os.path.isabs(p) else os.path.join(directory, p)


def get_checkpoint_state(checkpoint_dir: str) -> Optional[Dict[str, Any]]:
    """The parsed state file of `checkpoint_dir`, with absolute paths, or None."""
    path = os.path.join(checkpoint_dir, STATE_FILE)
    try:
        with open(path, "r", encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return None
    except (ValueError, OSError) as e:
        raise errors.DataLossError(None, None, f"checkpoint state file {path} is unreadable: {e}") from None
    if not isinstance(state, dict) or "model_checkpoint_path" not in state:
        raise errors.DataLossError(None, None, f"checkpoint state file {path} has no model_checkpoint_path")
    return {
        "model_checkpoint_path": _resolve(checkpoint_dir, state["model_checkpoint_path"]),
        "all_model_checkpoint_paths": [_resolve(checkpoint_dir, p) for p in state.get("all_model_checkpoint_paths", [])],
    }


def latest_checkpoint(checkpoint_dir: str, latest_filename: Optional[str] = None) -> Optional[str]:
    """Path of the newest checkpoint in `checkpoint_dir` (without the .safetensors suffix, as
    TensorFlow prints checkpoint prefixes), or None."""
    state = get_checkpoint_state(checkpoint_dir)
    if state is None:
        return None
    p = state["model_checkpoint_path"]
    return p if os.path.exists(_with_suffix(p)) else None


def _with_suffix(prefix: str) -> str:
    return prefix if prefix.endswith(SUFFIX) else prefix + SUFFIX


def _strip_suffix(path: str) -> str:
    return path[: -len(SUFFIX)] if path.endswith(SUFFIX) else path


def save_tensors(prefix: str, tensors: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None) -> str:
    """Writes `tensors` atomically to `<prefix>.safetensors`; returns the prefix."""
    from safetensors.numpy import save
    arrays = {k: np.asarray(v, order="C") for k, v in tensors.items()}
    atomic_write(_with_suffix(prefix), save(arrays, metadata=metadata))
    return _strip_suffix(prefix)


def load_tensors(prefix: str) -> Dict[str, np.ndarray]:
    """Reads every tensor of a checkpoint. Raises NotFoundError / DataLossError."""
    from safetensors.numpy import load_file
    path = _with_suffix(prefix)
    if not os.path.exists(path):
        raise errors.NotFoundError(None, None, f"checkpoint {path} does not exist")
    try:
        return load_file(path)
    except Exception as e:  # safetensors validates headers, offsets and sizes
        raise errors.DataLossError(None, None, f"checkpoint {path} is corrupt: {e}") from None


def list_variables(ckpt_dir_or_file: str) -> List[Tuple[str, List[int]]]:
    """(name, shape) of every variable in a checkpoint (`tf.train.list_variables`)."""
    prefix = latest_checkpoint(ckpt_dir_or_file) if os.path.isdir(ckpt_dir_or_file) else ckpt_dir_or_file
    if prefix is None:
        raise errors.NotFoundError(None, None, f"no checkpoint found in {ckpt_dir_or_file}")
    return sorted((k, list(v.shape)) for k, v in load_tensors(prefix).items())


def load_variable(ckpt_dir_or_file: str, name: str) -> np.ndarray:
    """One variable's value from a checkpoint (`tf.train.load_variable`)."""
    prefix = latest_checkpoint(ckpt_dir_or_file) if os.path.isdir(ckpt_dir_or_file) else ckpt_dir_or_file
    if prefix is None:
        raise errors.NotFoundError(None, None, f"no checkpoint found in {ckpt_dir_or_file}")
    values = load_tensors(prefix)
    if name.endswith(":0"):
        name = name[:-2]
    if name not in values:
        raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint {prefix}")
    return values[name]


_STEP_RE = re.compile(r"-(\d+)$")


def update_state(checkpoint_dir: str, latest: str, retained: Sequence[str]) -> None:
    rel = lambda p: os.path.relpath(p, checkpoint_dir)  # noqa: E731
    state = {"model_checkpoint_path": rel(latest), "all_model_checkpoint_paths": [rel(p) for p in retained]}
    atomic_write(os.path.join(checkpoint_dir, STATE_FILE), json.dumps(state, indent=1).encode())


class Saver:
    """Saves and restores variables (`tf.compat.v1.train.Saver`).

    Args:
      var_list: Variables (or a dict name -> Variable); all global variables when None.
      max_to_keep: checkpoints retained; older ones are deleted (None or 0 keeps all).
    """

    def __init__(self, var_list: Any = None, max_to_keep: Optional[int] = 5, **unused: Any):
        self._var_list = var_list
        self._max_to_keep = max_to_keep
        self._last: List[str] = []

    def _variables(self) -> Dict[str, Any]:
        from ..framework import variables as _vars
        vl = self._var_list
        if vl is None:
            vl = _vars.global_variables()
        if isinstance(vl, dict):
            return dict(vl)
        return {v.op.name: v for v in vl}

    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: Optional[str] = None,
             write_meta_graph: bool = True, write_state: bool = True, **unused: Any) -> str:
        """Writes a checkpoint; returns its path prefix (`save_path-STEP`)."""
        if global_step is not None:
            step = int(sess.run(global_step)) if not isinstance(global_step, (int, np.integer)) else int(global_step)
            prefix = f"{save_path}-{step}"
        else:
            step = None
            prefix = save_path
        values = {name: sess._variable_value(v._shared_name() if hasattr(v, "_shared_name") else name)
                  for name, v in self._variables().items()}
        meta = {"format": "nestor-checkpoint-1"}
        if step is not None:
            meta["global_step"] = str(step)
        save_tensors(prefix, values, meta)
        if write_state:
            d = os.path.dirname(os.path.abspath(prefix))
            state = get_checkpoint_state(d)
            retained = [p for p in (state["all_model_checkpoint_paths"] if state else []) if p != prefix]
            retained.append(prefix)
            doomed: List[str] = []
            if self._max_to_keep:
                doomed = retained[: -self._max_to_keep]
                retained = retained[-self._max_to_keep:]
            update_state(d, prefix, retained)
            for p in doomed:
                try:
                    os.remove(_with_suffix(p))
                except FileNotFoundError:
                    pass
        return prefix

    def restore(self, sess: Any, save_path: str) -> None:
        """Loads every variable of the saver from `save_path`.

        Raises:
          NotFoundError: the file or one of the variables is missing.
          InvalidArgumentError: a stored shape or dtype differs from the variable's.
        """
        values = load_tensors(save_path)
        for name, v in self._variables().items():
            if name not in values:
                raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint {save_path}")
            arr = values[name]
            shape = v.shape
            if shape.rank is not None and not shape.is_compatible_with(arr.shape):
                raise errors.InvalidArgumentError(
                    None, None, f"checkpoint {save_path}: variable {name} has shape {arr.shape} in the file, "
                    f"but the graph's variable has shape {shape}")
            if arr.dtype != v.dtype.as_numpy_dtype:
                raise errors.InvalidArgumentError(
                    None, None, f"checkpoint {save_path}: variable {name} has dtype {arr.dtype} in the file, "
                    f"but the graph's variable has dtype {v.dtype.name}")
            sess._set_variable_value(v._shared_name() if hasattr(v, "_shared_name") else name, arr)

    @property
    def last_checkpoints(self) -> List[str]:
        return list(self._last)


def checkpoint_step(prefix: str) -> Optional[int]:
    m = _STEP_RE.search(_strip_suffix(prefix))
    return int(m.group(1)) if m else None
