"""`RunConfig`: where and how an Estimator runs, with TensorFlow's defaults."""
from __future__ import annotations

import copy
import json
import os
from typing import Any, Optional

_USE_DEFAULT = object()


class RunConfig:
    """Run configuration of an Estimator (`tf.estimator.RunConfig`).

    Checkpoints are saved every 600 seconds unless `save_checkpoints_steps` or
    `save_checkpoints_secs` says otherwise (setting both is an error); 5 are kept.
    `device` ("cpu", "cuda", "cuda:N") is nestor's addition; the default comes from the
    NESTOR_DEVICE environment variable, else the CPU.
    """

    def __init__(self, model_dir: Optional[str] = None, tf_random_seed: Optional[int] = None,
                 save_summary_steps: int = 100, save_checkpoints_steps: Any = _USE_DEFAULT,
                 save_checkpoints_secs: Any = _USE_DEFAULT, session_config: Any = None,
                 keep_checkpoint_max: int = 5, keep_checkpoint_every_n_hours: int = 10000,
                 log_step_count_steps: int = 100, train_distribute: Any = None, device_fn: Any = None,
                 protocol: Any = None, eval_distribute: Any = None, experimental_distribute: Any = None,
                 experimental_max_worker_delay_secs: Any = None, session_creation_timeout_secs: int = 7200,
                 checkpoint_save_graph_def: bool = True, device: Optional[str] = None):
        if save_checkpoints_steps is not _USE_DEFAULT and save_checkpoints_secs is not _USE_DEFAULT and \
                save_checkpoints_steps is not None and save_checkpoints_secs is not None:
            raise ValueError("save_checkpoints_steps and save_checkpoints_secs cannot be both set.")
        if save_checkpoints_steps is _USE_DEFAULT and save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_steps, save_checkpoints_secs = None, 600
        elif save_checkpoints_steps is _USE_DEFAULT:
            save_checkpoints_steps = None
        elif save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_secs = None
        tf_config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
        if model_dir is None and tf_config.get("model_dir"):
            model_dir = tf_config["model_dir"]
        self._model_dir = os.fspath(model_dir) if model_dir is not None else None
        self._tf_random_seed = tf_random_seed
        self._save_summary_steps = save_summary_steps
        self._save_checkpoints_steps = save_checkpoints_steps
        self._save_checkpoints_secs = save_checkpoints_secs
        self._session_config = session_config
        self._keep_checkpoint_max = keep_checkpoint_max
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._log_step_count_steps = log_step_count_steps
        self._train_distribute = train_distribute
        self._device_fn = device_fn
        self._protocol = protocol
        self._eval_distribute = eval_distribute
        self._experimental_distribute = experimental_distribute
        self._experimental_max_worker_delay_secs = experimental_max_worker_delay_secs
        self._session_creation_timeout_secs = session_creation_timeout_secs
        self._checkpoint_save_graph_def = checkpoint_save_graph_def
        self._device = device or os.environ.get("NESTOR_DEVICE") or "cpu"

    # TensorFlow's read-only properties.
    model_dir = property(lambda self: self._model_dir)
    tf_random_seed = property(lambda self: self._tf_random_seed)
    save_summary_steps = property(lambda self: self._save_summary_steps)
    save_checkpoints_steps = property(lambda self: self._save_checkpoints_steps)
    save_checkpoints_secs = property(lambda self: self._save_checkpoints_secs)
    session_config = property(lambda self: self._session_config)
    keep_checkpoint_max = property(lambda self: self._keep_checkpoint_max)
    keep_checkpoint_every_n_hours = property(lambda self: self._keep_checkpoint_every_n_hours)
    log_step_count_steps = property(lambda self: self._log_step_count_steps)
    train_distribute = property(lambda self: self._train_distribute)
    eval_distribute = property(lambda self: self._eval_distribute)
    experimental_distribute = property(lambda self: self._experimental_distribute)
    experimental_max_worker_delay_secs = property(lambda self: self._experimental_max_worker_delay_secs)
    device_fn = property(lambda self: self._device_fn)
    protocol = property(lambda self: self._protocol)
    session_creation_timeout_secs = property(lambda self: self._session_creation_timeout_secs)
    checkpoint_save_graph_def = property(lambda self: self._checkpoint_save_graph_def)
    device = property(lambda self: self._device)
    is_chief = property(lambda self: True)
    task_type = property(lambda self: "worker")
    task_id = property(lambda self: 0)
    num_ps_replicas = property(lambda self: 0)
    num_worker_replicas = property(lambda self: 1)
    master = property(lambda self: "")
    evaluation_master = property(lambda self: "")
    cluster_spec = property(lambda self: None)
    global_id_in_cluster = property(lambda self: 0)
    service = property(lambda self: None)

    _REPLACEABLE = {"model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps",
                    "save_checkpoints_secs", "session_config", "keep_checkpoint_max",
                    "keep_checkpoint_every_n_hours", "log_step_count_steps", "train_distribute", "device_fn",
                    "protocol", "eval_distribute", "experimental_distribute",
                    "experimental_max_worker_delay_secs", "session_creation_timeout_secs",
                    "checkpoint_save_graph_def", "device"}

    def replace(self, **kwargs: Any) -> "RunConfig":
        """A copy with some properties replaced (`RunConfig.replace`).

        Raises:
          ValueError: for a property that cannot be replaced, or both checkpoint triggers set.
        """
        for k in kwargs:
            if k not in self._REPLACEABLE:
                raise ValueError(f"{k} property is not allowed in replace().")
        new = copy.copy(self)
        steps = kwargs.pop("save_checkpoints_steps", _USE_DEFAULT)
        secs = kwargs.pop("save_checkpoints_secs", _USE_DEFAULT)
        if steps is not _USE_DEFAULT and secs is not _USE_DEFAULT and steps is not None and secs is not None:
            raise ValueError("save_checkpoints_steps and save_checkpoints_secs cannot be both set.")
        if steps is not _USE_DEFAULT:
            new._save_checkpoints_steps = steps
            if steps is not None:
                new._save_checkpoints_secs = None
        if secs is not _USE_DEFAULT:
            new._save_checkpoints_secs = secs
            if secs is not None:
                new._save_checkpoints_steps = None
        for k, v in kwargs.items():
            setattr(new, "_" + k, os.fspath(v) if k == "model_dir" and v is not None else v)
        return new

    def __repr__(self) -> str:
        keys = sorted(self._REPLACEABLE)
        return "RunConfig(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in keys) + ")"
