// DLPack import/export (nestor/dlpack.h) over the ABI structs of core/dlpack_abi.h.
#include "nestor/dlpack.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "dlpack_abi.h"
#include "nestor/backend.h"

namespace nestor {
namespace {

std::string dl_dtype_str(DLDataType t) {
  const char* code = "code";
  switch (t.code) {
    case kDLInt: code = "int"; break;
    case kDLUInt: code = "uint"; break;
    case kDLFloat: code = "float"; break;
    case kDLOpaqueHandle: code = "opaque_handle"; break;
    case kDLBfloat: code = "bfloat"; break;
    case kDLComplex: code = "complex"; break;
    case kDLBool: code = "bool"; break;
    default: return str_cat("code ", int(t.code), " bits ", int(t.bits), " lanes ", t.lanes);
  }
  std::string s = str_cat(code, int(t.bits));
  if (t.lanes != 1) s += str_cat("x", t.lanes);
  return s;
}

DType dtype_from_dl(DLDataType t) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return DType::kFloat32;
    if (t.code == kDLFloat && t.bits == 64) return DType::kFloat64;
    if (t.code == kDLInt && t.bits == 32) return DType::kInt32;
    if (t.code == kDLInt && t.bits == 64) return DType::kInt64;
    if (t.code == kDLBool && t.bits == 8) return DType::kBool;
  }
  fail(Code::kInvalidArgument, "DLPack dtype ", dl_dtype_str(t),
       " is not supported: nestor tensors hold float32, float64, int32, int64 or bool (one lane)");
}

DLDataType dtype_to_dl(DType t) {
  switch (t) {
    case DType::kFloat32: return DLDataType{kDLFloat, 32, 1};
    case DType::kFloat64: return DLDataType{kDLFloat, 64, 1};
    case DType::kInt32: return DLDataType{kDLInt, 32, 1};
    case DType::kInt64: return DLDataType{kDLInt, 64, 1};
    case DType::kBool: return DLDataType{kDLBool, 8, 1};
    case DType::kString:
      fail(Code::kInvalidArgument,
           "a string tensor cannot be exported through DLPack (DLPack has no string type); fetch it as a numpy array");
    default: break;
  }
  fail(Code::kInvalidArgument, "cannot export a tensor of dtype ", dtype_name(t), " through DLPack");
}

std::string ints_str(const int64_t* v, int32_t n) {
  std::string s = "(";
  for (int32_t i = 0; i < n; ++i) s += str_cat(i ? ", " : "", v[i]);
  return s + (n == 1 ? ",)" : ")");
}

// A Tensor viewing `dl`, whose Buffer releases `owner` (the producer's managed tensor).
Tensor import_tensor(const DLTensor& dl, std::shared_ptr<void> owner) {
  Device dev = device_from_dlpack(dl.device.device_type, dl.device.device_id);
  DType dt = dtype_from_dl(dl.dtype);
  NESTOR_CHECK_ARG(dl.ndim >= 0, "DLPack tensor has ndim ", dl.ndim);
  NESTOR_CHECK_ARG(dl.ndim == 0 || dl.shape != nullptr, "DLPack tensor of rank ", dl.ndim, " has no shape");
  Dims dims(dl.shape, dl.shape + dl.ndim);
  for (int64_t d : dims) NESTOR_CHECK_ARG(d >= 0, "DLPack tensor has a negative dimension: shape ", dims_str(dims));
  int64_t n = num_elements(dims);
  if (dl.strides != nullptr && n > 0) {
    int64_t expect = 1;  // compact row-major; a size-1 dimension's stride is never used
    for (int32_t i = dl.ndim - 1; i >= 0; --i) {
      if (dims[static_cast<size_t>(i)] != 1 && dl.strides[i] != expect)
        fail(Code::kInvalidArgument, "DLPack tensor of shape ", dims_str(dims), " with strides ",
             ints_str(dl.strides, dl.ndim), " (in elements) is not contiguous in row-major order; nestor takes "
             "compact row-major tensors only: make a contiguous copy first (torch: .contiguous(), "
             "numpy: np.ascontiguousarray, cupy: cupy.ascontiguousarray)");
      expect *= dims[static_cast<size_t>(i)];
    }
  }
  NESTOR_CHECK_ARG(n == 0 || dl.data != nullptr, "DLPack tensor of shape ", dims_str(dims), " has no data");
  size_t offset = static_cast<size_t>(dl.byte_offset);
  size_t nbytes = offset + static_cast<size_t>(n) * dtype_size(dt);
  Buffer::Release release = [owner = std::move(owner), dev](void*, size_t) mutable {
    if (dev.type != DeviceType::kCpu) {
      // Kernels of this library may still read the memory on the device's stream; the
      // producer may reuse it as soon as its deleter returns.
      try {
        backend_for(dev).synchronize();
      } catch (...) {  // a release cannot report; at process exit the runtime may be gone
      }
    }
    owner.reset();
  };
  return Tensor(dt, std::move(dims), std::make_shared<Buffer>(dl.data, nbytes, dev, std::move(release)), offset);
}

// The exported struct and everything it points into, owned through manager_ctx.
template <typename Managed>
struct Exported {
  Managed managed{};
  Tensor tensor;
  std::vector<int64_t> shape, strides;

  static Managed* make(const Tensor& t) {
    NESTOR_CHECK_ARG(t.defined(), "cannot export an undefined tensor through DLPack");
    auto e = std::make_unique<Exported>();
    e->tensor = t;
    e->shape = t.dims();
    e->strides.assign(e->shape.size(), 1);
    for (size_t i = e->shape.size(); i-- > 1;) e->strides[i - 1] = e->strides[i] * std::max<int64_t>(e->shape[i], 1);
    DLTensor& dl = e->managed.dl_tensor;
    dl.data = t.raw();
    auto d = dlpack_device(t.device());
    dl.device = DLDevice{d.first, d.second};
    dl.ndim = static_cast<int32_t>(e->shape.size());
    dl.dtype = dtype_to_dl(t.dtype());
    dl.shape = e->shape.empty() ? nullptr : e->shape.data();
    dl.strides = e->strides.empty() ? nullptr : e->strides.data();
    dl.byte_offset = 0;
    e->managed.manager_ctx = e.get();
    e->managed.deleter = &Exported::destroy;
    return &e.release()->managed;  // owned by the consumer until it calls the deleter
  }

  static void destroy(Managed* self) {
    if (self == nullptr) return;
    std::unique_ptr<Exported> e(static_cast<Exported*>(self->manager_ctx));
    Device dev = e->tensor.device();
    if (dev.type != DeviceType::kCpu) {
      // The consumer's streams may still read the memory; once it is back in this
      // library's cache it may be reused on our stream at once.
      try {
        backend_for(dev).synchronize_device();
      } catch (...) {  // deleters cannot report errors (C ABI); the runtime may be gone at exit
      }
    }
  }
};

}  // namespace

std::pair<int32_t, int32_t> dlpack_device(Device d) {
  if (d.type == DeviceType::kCuda) return {kDLCUDA, d.index};
  return {kDLCPU, 0};
}

Device device_from_dlpack(int32_t device_type, int32_t device_id) {
  switch (device_type) {
    case kDLCPU:
    case kDLCUDAHost:
      return Device{};
    case kDLCUDA:
      NESTOR_CHECK_ARG(device_id >= 0, "DLPack CUDA device id ", device_id, " is negative");
      return Device{DeviceType::kCuda, device_id};
    default:
      fail(Code::kInvalidArgument, "DLPack device type ", device_type, " (device ", device_id,
           ") is not supported: nestor takes CPU (1), CUDA (2) and CUDA host (3) memory");
  }
}

Tensor from_dlpack(DLManagedTensor* managed) {
  NESTOR_CHECK_ARG(managed != nullptr, "from_dlpack: null DLManagedTensor");
  std::shared_ptr<DLManagedTensor> owner(managed, [](DLManagedTensor* m) { dlpack_delete(m); });
  const DLTensor& dl = managed->dl_tensor;
  return import_tensor(dl, std::move(owner));
}

Tensor from_dlpack(DLManagedTensorVersioned* managed) {
  NESTOR_CHECK_ARG(managed != nullptr, "from_dlpack: null DLManagedTensorVersioned");
  std::shared_ptr<DLManagedTensorVersioned> owner(managed, [](DLManagedTensorVersioned* m) { dlpack_delete(m); });
  NESTOR_CHECK_ARG(managed->version.major == kDLPackMajorVersion, "DLPack version ", managed->version.major, ".",
                   managed->version.minor, " is not supported: nestor reads major version ", kDLPackMajorVersion);
  // The read-only flag needs no handling: nestor never writes into a value it is given.
  const DLTensor& dl = managed->dl_tensor;
  return import_tensor(dl, std::move(owner));
}

DLManagedTensor* to_dlpack(const Tensor& t) { return Exported<DLManagedTensor>::make(t); }

DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& t, bool read_only, bool is_copied) {
  DLManagedTensorVersioned* m = Exported<DLManagedTensorVersioned>::make(t);
  m->version = DLPackVersion{kDLPackMajorVersion, kDLPackMinorVersion};
  m->flags = (read_only ? kDLPackFlagReadOnly : 0) | (is_copied ? kDLPackFlagIsCopied : 0);
  return m;
}

void dlpack_delete(DLManagedTensor* managed) {
  if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
}

void dlpack_delete(DLManagedTensorVersioned* managed) {
  if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
}

}  // namespace nestor
