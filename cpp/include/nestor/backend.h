// nestor/backend.h: the device seam. A Backend owns one device's allocator and copy
// engine; kernels for it are registered against op names with NESTOR_REGISTER_KERNEL.
// The CPU backend is always present; cuda/ adds one when built with a CUDA toolkit.
// The executor asks backend_for(device) and places a node on the session's device
// when the op has a kernel there, else on the CPU with copies between.
#pragma once

#include <memory>

#include "nestor/tensor.h"

namespace nestor {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual Allocator& allocator() = 0;
  // Copies src (any device) into a new tensor on this backend's device.
  virtual Tensor copy_from(const Tensor& src) = 0;
  // Waits for all work queued on this device.
  virtual void synchronize() {}
};

// Registers a backend factory for a device type (called from static initializers).
using BackendFactory = std::unique_ptr<Backend> (*)(int index);
void register_backend(DeviceType type, BackendFactory factory);
// The backend for `d`, created on first use; throws NotFound if none is built in.
Backend& backend_for(Device d);
bool backend_available(DeviceType type);

}  // namespace nestor
