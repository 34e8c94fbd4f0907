// nestor/backend.h: the device seam. A Backend owns one device's allocator and copy
// engine; kernels for it are registered against op names with NESTOR_REGISTER_KERNEL.
// The CPU backend is always present; cuda/ adds one when built with a CUDA toolkit.
// The executor asks backend_for(device) and places a node on the session's device
// when the op has a kernel there, else on the CPU with copies between.
#pragma once

#include <memory>
#include <string>

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

// Registers a backend factory for a device type (called from static initializers of the
// library that implements it). `device_count` says how many devices of the type are
// usable on this machine (0 when, e.g., the driver finds no GPU).
using BackendFactory = std::unique_ptr<Backend> (*)(int index);
using DeviceCountFn = int (*)();
void register_backend(DeviceType type, BackendFactory factory, DeviceCountFn device_count);

// Backends other than the CPU live in plugins loaded on first use: for kCuda,
// libnestor_cuda.so from the directory of libnestor.so (or the path in
// $NESTOR_CUDA_PLUGIN). A plugin that is absent or fails to load (no CUDA driver
// library, say) leaves the device unavailable; plugin_load_error says why.
// The backend for `d`, created on first use; throws NotFound naming the reason if the
// device is unavailable, InvalidArgument if its index is out of range.
Backend& backend_for(Device d);
// Number of usable devices of a type (1 for the CPU, 0 when unavailable).
int device_count(DeviceType type);
bool backend_available(DeviceType type);
// Why the plugin for `type` could not be loaded ("" if it loaded or was not tried).
std::string plugin_load_error(DeviceType type);

}  // namespace nestor
