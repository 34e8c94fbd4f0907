"""Device discovery (`tf.config`)."""
from __future__ import annotations

import collections
from typing import List, Optional

from . import _native

__all__ = ["PhysicalDevice", "list_physical_devices", "device_unavailable_reason"]


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
    """Why `device` ("cuda") cannot be used here: the plugin load error, or "" if it loaded."""
    return _native.device_unavailable_reason(device)
