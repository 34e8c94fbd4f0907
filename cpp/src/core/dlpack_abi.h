// core/dlpack_abi.h: the DLPack C ABI (https://dmlc.github.io/dlpack/latest/c_api.html),
// written from the specification, version 1.0. Only libnestor's own sources include it;
// nestor/dlpack.h forward-declares the two managed-tensor structs so that callers holding
// the official dlpack.h pass their pointers straight in (same tags, same layout).
//
// Ownership across the boundary: a DLManagedTensor[Versioned] belongs to whoever holds
// the pointer, who calls `deleter(self)` exactly once; `manager_ctx` is the producer's.
// Shapes and strides count elements (not bytes) and stay valid until the deleter runs.
#pragma once

#include <cstdint>

extern "C" {

struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};

// DLDeviceType: a C enum in the specification, int-sized.
enum : int32_t {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,  // pinned host memory: readable as CPU memory
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
  kDLMAIA = 17,
};

struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};

// DLDataTypeCode.
enum : uint8_t {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLOpaqueHandle = 3,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6,
};

struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct DLTensor {
  void* data;  // the allocation's start; the first element is at data + byte_offset
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;    // ndim entries
  int64_t* strides;  // ndim entries, in elements; NULL = compact row-major
  uint64_t byte_offset;
};

// The legacy struct, carried by a PyCapsule named "dltensor".
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

constexpr uint32_t kDLPackMajorVersion = 1;
constexpr uint32_t kDLPackMinorVersion = 0;
constexpr uint64_t kDLPackFlagReadOnly = 1ULL << 0;
constexpr uint64_t kDLPackFlagIsCopied = 1ULL << 1;

// The versioned struct (DLPack >= 1.0), carried by a PyCapsule named "dltensor_versioned".
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

}  // extern "C"
