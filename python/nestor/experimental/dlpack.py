"""`nestor.experimental.dlpack`: zero-copy exchange with PyTorch, CuPy, NumPy, JAX, ...
(`tf.experimental.dlpack`).

    t = nestor.experimental.dlpack.from_dlpack(torch_tensor)   # a DeviceTensor, same memory
    torch.from_dlpack(t); np.from_dlpack(t); cupy.from_dlpack(t)

`DeviceTensor` is a tensor value where nestor holds it (host or GPU memory). It is what
`from_dlpack` returns and what `Session.run(..., experimental_keep_on_device=True)` and the
signatures of `nestor.saved_model.load(..., experimental_keep_on_device=True)` return, and
it speaks the DLPack protocol (`__dlpack__`, `__dlpack_device__`), so every DLPack consumer
takes it without a copy; `.numpy()` copies GPU values to the host.

Feeds need no conversion: a session, a loaded signature or `set_variable` takes a
`DeviceTensor`, a `torch.Tensor`, a `cupy.ndarray` or any object with `__dlpack__` and
`__dlpack_device__` as it is, through DLPack and without a copy.

What is accepted: CPU, pinned host and CUDA memory; float32, float64, int32, int64 and bool
elements; C-contiguous layouts (any stride on a size-1 dimension). Other layouts raise
InvalidArgumentError asking for a contiguous copy; other dtypes (complex, float16, uint8,
vector lanes) raise InvalidArgumentError naming the dtype; string tensors cannot be
exported.
"""
from __future__ import annotations

from typing import Any

from .. import _native

DeviceTensor = _native.DeviceTensor

__all__ = ["DeviceTensor", "from_dlpack", "to_dlpack"]


def to_dlpack(tensor: Any) -> Any:
    """Returns a DLPack capsule viewing `tensor`'s memory (`tf.experimental.dlpack.to_dlpack`).

    The capsule is the legacy "dltensor" kind that `torch.utils.dlpack.from_dlpack` and
    `cupy.from_dlpack` accept; it can be consumed once. A GPU tensor's pending work is
    finished first, since a bare capsule cannot name a stream. Newer consumers take the
    tensor itself (`torch.from_dlpack(t)`), which orders the work on their stream instead.

    Args:
      tensor: a `DeviceTensor`, or any DLPack producer (it is viewed, not copied).

    Returns:
      A PyCapsule named "dltensor"; the memory stays valid until its consumer releases it.

    Raises:
      InvalidArgumentError: the tensor holds strings, or `tensor` cannot be viewed through
        DLPack (layout, dtype or device).
    """
    return _native.to_dlpack(tensor)


def from_dlpack(dlcapsule: Any) -> DeviceTensor:
    """Returns a `DeviceTensor` sharing memory with a DLPack capsule or producer
    (`tf.experimental.dlpack.from_dlpack`).

    No data is copied: writes through the producer are visible in the result, and the
    producer's memory is released when the last nestor value viewing it is gone. For CUDA
    memory, the producer's pending work is ordered before nestor's (the producer is given
    nestor's stream, as the DLPack protocol asks).

    Args:
      dlcapsule: a "dltensor"/"dltensor_versioned" capsule (consumed), or an object with
        `__dlpack__` and `__dlpack_device__` (a torch.Tensor, cupy.ndarray, numpy array,
        `DeviceTensor`).

    Returns:
      A `DeviceTensor` on the producer's device ("cpu" for host and pinned host memory,
      "cuda:N" for GPU memory).

    Raises:
      InvalidArgumentError: the layout is not C-contiguous, the dtype or device is not
        supported, or the capsule was already consumed.
      NotFoundError: the tensor is on a GPU and nestor's CUDA backend is unavailable.
    """
    return _native.from_dlpack(dlcapsule)
