// nestor/backend.h: the device seam. A Backend owns one device's allocator and copy
// engine; kernels for it are registered against op names with NESTOR_REGISTER_KERNEL.
// The CPU backend is always present; cuda/ adds one when built with a CUDA toolkit.
// The executor asks backend_for(device) and places a node on the session's device
// when the op has a kernel there, else on the CPU with copies between.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nestor/graph.h"
#include "nestor/tensor.h"

namespace nestor {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual Allocator& allocator() = 0;
  // Copies src (any device) into a new tensor on this backend's device.
  virtual Tensor copy_from(const Tensor& src) = 0;
  // Copies src (on this backend's device) into a new host tensor; returns once the
  // bytes are on the host (so it waits for the work queued before it).
  virtual Tensor copy_to_host(const Tensor& src) {
    NESTOR_CHECK(src.device().type == DeviceType::kCpu, kUnimplemented, device().str(),
                 " backend cannot copy ", src.device().str(), " to the host");
    return src.clone();
  }
  // Waits for all work queued on this device.
  virtual void synchronize() {}

  // Stream hand-offs for DLPack interchange (nestor/dlpack.h). A stream is named as the
  // DLPack protocol names it: an integer holding the device's native handle (CUDA: a
  // cudaStream_t, with 1 = the legacy default stream and 2 = the per-thread default
  // stream). Devices without streams keep these defaults.
  // The handle of the stream this device queues its work on (0: none).
  virtual uintptr_t stream_handle() { return 0; }
  // Work queued on `stream` after this call waits for the work queued on this device
  // before it (CUDA: an event recorded on the compute stream, waited on by `stream`);
  // the host does not wait. The default waits on the host.
  virtual void make_stream_wait(uintptr_t /*stream*/) { synchronize(); }
  // Waits on the host until every stream of the device is idle, the device's own and
  // other libraries' (before memory another library may still be reading changes hands).
  virtual void synchronize_device() { synchronize(); }
};

// `t` on device `d`: t itself when it is already there, else a copy (host<->device
// through the device's backend). Strings never leave the host.
Tensor copy_to_device(const Tensor& t, Device d);
// A copy of `t` on the host that the caller owns (never aliases t's buffer).
Tensor host_copy(const Tensor& t);

// How the executor places a device kernel, registered by the plugin next to the kernel:
// - host_inputs/host_outputs: values in host memory (shapes, axes, sizes read by the
//   kernel's host code; outputs such as `shape` computed on the host);
// - supports: whether the kernel handles this node (dtypes, attributes); unset = always.
// Nodes it does not support run on the CPU, with copies inserted around them.
struct KernelPlacement {
  std::vector<int> host_inputs;
  std::vector<int> host_outputs;
  std::function<bool(const Node&)> supports;
};
void register_kernel_placement(const std::string& op, DeviceType d, KernelPlacement p);
// The placement declaration of op's kernel for `d` (empty if none).
const KernelPlacement& kernel_placement(const std::string& op, DeviceType d);
struct KernelPlacementRegistrar {
  KernelPlacementRegistrar(const std::string& op, DeviceType d, KernelPlacement p) {
    register_kernel_placement(op, d, std::move(p));
  }
};

// Registers a backend factory for a device type (called from static initializers of the
// library that implements it). `device_count` says how many devices of the type are
// usable on this machine (0 when, e.g., the driver finds no GPU).
using BackendFactory = std::unique_ptr<Backend> (*)(int index);
using DeviceCountFn = int (*)();
void register_backend(DeviceType type, BackendFactory factory, DeviceCountFn device_count);

// Whether float32 GEMMs on devices may use TensorFloat-32 tensor cores (10-bit mantissa
// inputs). Off by default; NESTOR_ALLOW_TF32=1 in the environment turns it on at start.
void set_allow_tf32(bool allow);
bool allow_tf32();

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
// Why the plugin for `type` could not be loaded, or why the loaded plugin sees no device
// ("" if it loaded and was not told of a problem, or was not tried).
std::string plugin_load_error(DeviceType type);
// Called by a plugin whose device_count finds no usable device (no driver, no GPU) with
// the driver's own words, so plugin_load_error / device_unavailable_reason can say why.
void set_device_unavailable_reason(DeviceType type, const std::string& why);

}  // namespace nestor
