"""Device discovery (`tf.config`)."""
from __future__ import annotations

import collections
import types
from typing import List, Optional

from . import _native

__all__ = ["PhysicalDevice", "list_physical_devices", "device_unavailable_reason", "experimental"]


class PhysicalDevice(collections.namedtuple("PhysicalDevice", ["name", "device_type"])):
    """A device of this machine, named as TensorFlow names it ("/physical_device:GPU:0")."""


def list_physical_devices(device_type: Optional[str] = None) -> List[PhysicalDevice]:
    """The devices nestor can run on (`tf.config.list_physical_devices`).

    Args:
      device_type: "CPU" or "GPU" (case-insensitive); None lists both.

    Returns:
      A list of `PhysicalDevice`. GPUs appear when the CUDA plugin (libnestor_cuda.so) is
      installed and the driver sees a GPU; `device_unavailable_reason("cuda")` says why not.
    """
    kinds = {"CPU": "cpu", "GPU": "cuda"}
    if device_type is not None and device_type.upper() not in kinds:
        raise ValueError(f"device_type must be 'CPU' or 'GPU', got {device_type!r}")
    wanted = [device_type.upper()] if device_type else ["CPU", "GPU"]
    return [PhysicalDevice(f"/physical_device:{k}:{i}", k)
            for k in wanted for i in range(_native.device_count(kinds[k]))]


def device_unavailable_reason(device: str = "cuda") -> str:
    """Why `device` ("cuda") cannot be used here.

    Returns:
      The plugin load error (libnestor_cuda.so absent or unloadable), or the CUDA runtime's
      error when the plugin loaded but sees no GPU (no driver, no device), or "" when the
      device is usable or was never tried.
    """
    _native.device_count(device)  # loads the plugin and asks the driver, once
    return _native.device_unavailable_reason(device)


def enable_tensor_float_32_execution(enabled: bool) -> None:
    """Allows float32 matrix products on GPUs to use TensorFloat-32 tensor cores.

    `tf.config.experimental.enable_tensor_float_32_execution`. Unlike TensorFlow, nestor
    keeps TF32 off by default (full float32 results); the environment variable
    NESTOR_ALLOW_TF32=1 turns it on at start. Applies to later matmuls of every session.

    Args:
      enabled: True to allow TF32, False for full float32 precision.
    """
    _native.set_allow_tf32(bool(enabled))


def tensor_float_32_execution_enabled() -> bool:
    """Whether TensorFloat-32 is allowed (`tf.config.experimental.tensor_float_32_execution_enabled`)."""
    return bool(_native.allow_tf32())


experimental = types.SimpleNamespace(
    enable_tensor_float_32_execution=enable_tensor_float_32_execution,
    tensor_float_32_execution_enabled=tensor_float_32_execution_enabled,
    list_physical_devices=list_physical_devices,
)
