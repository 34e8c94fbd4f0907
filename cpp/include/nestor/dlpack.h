// nestor/dlpack.h: zero-copy exchange of tensors with other libraries through DLPack
// (PyTorch, CuPy, NumPy, JAX, ...). The two structs are DLPack's own (declared here,
// defined in libnestor from the specification): a caller that includes the official
// dlpack.h passes its pointers as they are.
//
// Import (from_dlpack) takes ownership of the managed tensor in every case: the returned
// Tensor shares its memory, and the Buffer calls the producer's deleter when the last
// Tensor viewing it is gone (for device memory, after waiting for this library's work on
// the device, so the producer may reuse it at once); when the import fails the deleter is
// called before the Error is thrown. Accepted: CPU and pinned host memory (kDLCPU,
// kDLCUDAHost) as Device cpu, kDLCUDA as Device{kCuda, device_id}; float32/64, int32/64
// and bool elements (lanes 1); strides NULL or compact row-major (any stride on a size-1
// dimension); any byte_offset. Anything else is InvalidArgument naming what was given.
//
// Export (to_dlpack*) returns a managed tensor that the caller owns (call its deleter, or
// dlpack_delete, exactly once). Its manager context holds a copy of the Tensor, so the
// memory stays valid until the deleter runs, however long the Tensor's other holders live.
// Exported shapes are compact row-major, strides given explicitly. Strings cannot be
// exported (InvalidArgument).
#pragma once

#include <cstdint>
#include <utility>

#include "nestor/tensor.h"

struct DLManagedTensor;
struct DLManagedTensorVersioned;

namespace nestor {

Tensor from_dlpack(DLManagedTensor* managed);
// Versions with a major version other than 1 are refused (the deleter is still called).
Tensor from_dlpack(DLManagedTensorVersioned* managed);

DLManagedTensor* to_dlpack(const Tensor& t);
// Flags: read_only (the consumer must not write through it), is_copied (the memory is a
// copy made for this export: the consumer may keep it as its own).
DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& t, bool read_only = false, bool is_copied = false);

// Calls managed->deleter (null pointers and null deleters are ignored).
void dlpack_delete(DLManagedTensor* managed);
void dlpack_delete(DLManagedTensorVersioned* managed);

// A device as DLPack names it: (device_type, device_id), kDLCPU = 1, kDLCUDA = 2.
std::pair<int32_t, int32_t> dlpack_device(Device d);
// The nestor device of a DLPack (device_type, device_id); InvalidArgument for others.
Device device_from_dlpack(int32_t device_type, int32_t device_id);

}  // namespace nestor
