// DLPack glue of nestor._native (src/dlpack_py.cc): the DeviceTensor class, capsules in
// and out, and the DLPack protocol on both sides (__dlpack__ / __dlpack_device__).
#pragma once

#include <pybind11/pybind11.h>

#include "nestor/tensor.h"

namespace nestor_py {

namespace py = pybind11;

// numpy array for a fetched tensor (bindings.cc): shares the buffer when nothing else
// holds it, else copies; device tensors are copied to the host.
py::object from_tensor(const nestor::Tensor& t);

// obj is not a numpy array but speaks DLPack: a nestor DeviceTensor, a DLPack capsule, or
// an object with __dlpack__ and __dlpack_device__ (torch.Tensor, cupy.ndarray, ...).
bool is_dlpack_source(py::handle obj);
// The tensor obj holds, without a copy (see nestor/dlpack.h for what is accepted).
nestor::Tensor import_dlpack(py::handle obj);
// A DeviceTensor holding t; it gets its own copy (on t's device) when t's buffer is shared
// with the session (variables, constants), so writes through DLPack never reach those.
py::object wrap_fetched(const nestor::Tensor& t);

void register_dlpack(py::module_& m);

}  // namespace nestor_py
