// cuda/backend/cuda_backend.h: one CudaBackend per visible GPU (created by backend_for on
// first use, never destroyed). It owns
// - one compute stream: every kernel, cuBLAS call and copy of this device is queued on it,
//   so work is ordered without events and a freed block can be reused at once;
// - a caching device allocator (size classes, see block_cache.h): blocks freed by a
//   Buffer's release go back to the cache with no synchronisation (stream order makes the
//   reuse safe); on cudaMalloc failure the cache is released and the allocation retried
//   once, then ResourceExhausted names the size;
// - pinned host memory: staging blocks for host-to-device copies (reused once the copy
//   that read them has completed, tracked by an event per block) and the host buffers of
//   device-to-host copies;
// - one cuBLAS handle bound to the stream (TF32 per nestor::allow_tf32()) and one cuBLASLt
//   handle (GEMMs with fused epilogues; the stream is given per call).
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <mutex>

#include "backend/block_cache.h"
#include "backend/cuda_check.h"
#include "nestor/backend.h"
#include "nestor/op.h"

namespace nestor {
namespace cuda {

class DeviceAllocator : public Allocator {
 public:
  explicit DeviceAllocator(int index);
  std::shared_ptr<Buffer> allocate(size_t nbytes) override;
  Device device() const override { return Device{DeviceType::kCuda, index_}; }
  size_t cached_bytes() const override { return cache_->cached_bytes(); }
  // Frees every cached block (after waiting for the device). Returns the bytes freed.
  size_t release_cache();

 private:
  int index_;
  // Never freed: Buffers may be released after the backend (at process exit).
  BlockCache<char>* cache_ = new BlockCache<char>();
};

// Pinned host blocks; a block's tag is the event recorded after the last copy that reads
// it (null when the host owns it outright).
class PinnedPool {
 public:
  // A host buffer for a device-to-host result (Device cpu; released back to this pool).
  std::shared_ptr<Buffer> allocate_host(size_t nbytes);
  // Copies `nbytes` at `src` (pageable host memory) to device address `dst` on `stream`
  // through a pinned staging block; returns once `src` may be reused.
  void copy_to_device(void* dst, const void* src, size_t nbytes, cudaStream_t stream);

 private:
  void* take(size_t cls, cudaEvent_t* event);
  BlockCache<cudaEvent_t>* cache_ = new BlockCache<cudaEvent_t>();  // never freed, as above
};

class CudaBackend : public Backend {
 public:
  explicit CudaBackend(int index);
  ~CudaBackend() override;
  Device device() const override { return Device{DeviceType::kCuda, index_}; }
  Allocator& allocator() override { return alloc_; }
  Tensor copy_from(const Tensor& src) override;
  Tensor copy_to_host(const Tensor& src) override;
  void synchronize() override;
  // DLPack stream hand-offs (nestor/backend.h): the compute stream's handle; an event
  // recorded on it that `stream` waits for; cudaDeviceSynchronize.
  uintptr_t stream_handle() override { return reinterpret_cast<uintptr_t>(stream_); }
  void make_stream_wait(uintptr_t stream) override;
  void synchronize_device() override;

  int index() const { return index_; }
  cudaStream_t stream() const { return stream_; }
  // The cuBLAS handle, its math mode set from allow_tf32(). Callers hold no lock: the
  // handle is used only on this backend's stream, from kernels that the executor runs
  // one at a time per step; concurrent steps serialize on blas_mutex().
  cublasHandle_t cublas();
  std::mutex& blas_mutex() { return blas_mu_; }
  // The cuBLASLt handle (kernels/matmul.cu, _fused_matmul), used under blas_mutex(); its
  // calls name this backend's stream and choose TF32 per call through the compute type.
  cublasLtHandle_t cublaslt() const { return cublaslt_; }
  const cudaDeviceProp& props() const { return props_; }

  // The backend of the device a kernel runs on (its allocator's device), current on the
  // calling thread.
  static CudaBackend& of(const KernelCtx& ctx);

 private:
  int index_;
  cudaDeviceProp props_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cublasLtHandle_t cublaslt_ = nullptr;
  bool tf32_ = false;
  std::mutex blas_mu_;
  DeviceAllocator alloc_;
  PinnedPool pinned_;
};

// Makes `index` the current device of the calling thread (cheap when it already is).
void set_current_device(int index);

}  // namespace cuda
}  // namespace nestor
