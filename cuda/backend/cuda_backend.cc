#include "backend/cuda_backend.h"

#include <array>
#include <atomic>
#include <cstring>
#include <string>

namespace nestor {
namespace cuda {

// ---------------------------------------------------------------- errors
void fail_cuda(cudaError_t e, const char* call, const char* file, int line) {
  Code code = e == cudaErrorMemoryAllocation ? Code::kResourceExhausted : Code::kInternal;
  fail(code, "CUDA error in ", call, " at ", file, ":", line, ": ", cudaGetErrorName(e), ": ",
       cudaGetErrorString(e));
}

void fail_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  fail(Code::kInternal, "cuBLAS error in ", call, " at ", file, ":", line, ": ", cublasGetStatusName(s), ": ",
       cublasGetStatusString(s));
}

void set_current_device(int index) {
  thread_local int current = -1;
  if (current == index) return;
  NESTOR_CUDA_CHECK(cudaSetDevice(index));
  current = index;
}

// ---------------------------------------------------------------- device allocator
DeviceAllocator::DeviceAllocator(int index) : index_(index) {}

std::shared_ptr<Buffer> DeviceAllocator::allocate(size_t nbytes) {
  size_t cls = size_class(nbytes);
  void* p = cache_->take(cls).ptr;
  if (p == nullptr) {
    set_current_device(index_);
    cudaError_t e = cudaMalloc(&p, cls);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it, give the cache back to the driver, retry once
      release_cache();
      e = cudaMalloc(&p, cls);
      if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        (void)cudaMemGetInfo(&free_b, &total_b);
        fail(Code::kResourceExhausted, "OOM when allocating ", nbytes, " bytes (", cls, " with rounding) on cuda:",
             index_, ": ", free_b, " of ", total_b, " bytes free after releasing the allocator's cache");
      }
    }
    if (e != cudaSuccess) fail_cuda(e, "cudaMalloc", __FILE__, __LINE__);
  }
  BlockCache<char>* cache = cache_;
  return std::make_shared<Buffer>(p, nbytes, device(), [cache, cls](void* d, size_t) {
    cache->put(cls, BlockCache<char>::Block{d, 0});  // stream-ordered: reusable at once
  });
}

size_t DeviceAllocator::release_cache() {
  set_current_device(index_);
  NESTOR_CUDA_CHECK(cudaDeviceSynchronize());
  return cache_->drain([](const BlockCache<char>::Block& b) { NESTOR_CUDA_CHECK(cudaFree(b.ptr)); });
}

// ---------------------------------------------------------------- pinned host memory
namespace {
constexpr size_t kMaxPinnedCached = size_t(1) << 30;
}

void* PinnedPool::take(size_t cls, cudaEvent_t* event) {
  auto b = cache_->take(cls, [](cudaEvent_t ev) {
    if (ev == nullptr) return true;
    cudaError_t e = cudaEventQuery(ev);
    if (e == cudaErrorNotReady) return false;
    NESTOR_CUDA_CHECK(e);
    return true;
  });
  *event = b.tag;
  if (b.ptr != nullptr) return b.ptr;
  void* p = nullptr;
  NESTOR_CUDA_CHECK(cudaHostAlloc(&p, cls, cudaHostAllocPortable));
  return p;
}

std::shared_ptr<Buffer> PinnedPool::allocate_host(size_t nbytes) {
  size_t cls = size_class(nbytes);
  cudaEvent_t ev = nullptr;
  void* p = take(cls, &ev);
  BlockCache<cudaEvent_t>* cache = cache_;
  return std::make_shared<Buffer>(p, nbytes, Device{}, [cache, cls, ev](void* d, size_t) {
    if (cache->cached_bytes() + cls > kMaxPinnedCached) {
      (void)cudaFreeHost(d);  // may run at exit, after the runtime is gone: nothing to report then
      return;
    }
    cache->put(cls, BlockCache<cudaEvent_t>::Block{d, ev});
  });
}

void PinnedPool::copy_to_device(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  size_t cls = size_class(nbytes);
  cudaEvent_t ev = nullptr;
  void* staging = take(cls, &ev);
  std::memcpy(staging, src, nbytes);
  NESTOR_CUDA_CHECK(cudaMemcpyAsync(dst, staging, nbytes, cudaMemcpyHostToDevice, stream));
  if (ev == nullptr) NESTOR_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  NESTOR_CUDA_CHECK(cudaEventRecord(ev, stream));
  cache_->put(cls, BlockCache<cudaEvent_t>::Block{staging, ev});  // reusable once `ev` completes
}

// ---------------------------------------------------------------- the backend
namespace {
constexpr int kMaxDevices = 64;
std::array<std::atomic<CudaBackend*>, kMaxDevices> g_backends{};
}  // namespace

CudaBackend::CudaBackend(int index) : index_(index), alloc_(index) {
  NESTOR_CHECK_ARG(index >= 0 && index < kMaxDevices, "cuda:", index, ": device index out of range");
  set_current_device(index);
  NESTOR_CUDA_CHECK(cudaGetDeviceProperties(&props_, index));
  NESTOR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  NESTOR_CUBLAS_CHECK(cublasCreate(&cublas_));
  NESTOR_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  NESTOR_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  NESTOR_CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
  g_backends[static_cast<size_t>(index)].store(this);
}

CudaBackend::~CudaBackend() {
  g_backends[static_cast<size_t>(index_)].store(nullptr);
  // Backends live until process exit; by then the runtime may be gone, so no checks here.
  if (cublaslt_) (void)cublasLtDestroy(cublaslt_);
  if (cublas_) (void)cublasDestroy(cublas_);
  if (stream_) (void)cudaStreamDestroy(stream_);
}

CudaBackend& CudaBackend::of(const KernelCtx& ctx) {
  Device d = ctx.allocator().device();
  if (d.type != DeviceType::kCuda || d.index < 0 || d.index >= kMaxDevices)
    ctx.fail(Code::kInternal, "CUDA kernel called with an allocator for ", d.str());
  CudaBackend* b = g_backends[static_cast<size_t>(d.index)].load(std::memory_order_acquire);
  if (b == nullptr) b = &dynamic_cast<CudaBackend&>(backend_for(d));
  set_current_device(d.index);
  return *b;
}

cublasHandle_t CudaBackend::cublas() {
  bool want = allow_tf32();
  if (want != tf32_) {
    NESTOR_CUBLAS_CHECK(cublasSetMathMode(cublas_, want ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    tf32_ = want;
  }
  return cublas_;
}

Tensor CudaBackend::copy_from(const Tensor& src) {
  NESTOR_CHECK_ARG(src.dtype() != DType::kString, "string tensors live on the host; cannot copy one to ",
                   device().str());
  set_current_device(index_);
  Tensor out = Tensor::empty(src.dtype(), src.dims(), alloc_);
  size_t n = src.nbytes();
  if (n == 0) return out;
  Device from = src.device();
  if (from.type == DeviceType::kCpu) {
    pinned_.copy_to_device(out.raw(), src.raw(), n, stream_);
  } else if (from == device()) {
    NESTOR_CUDA_CHECK(cudaMemcpyAsync(out.raw(), src.raw(), n, cudaMemcpyDeviceToDevice, stream_));
  } else {
    NESTOR_CHECK(from.type == DeviceType::kCuda, kUnimplemented, "cannot copy from ", from.str(), " to ",
                 device().str());
    backend_for(from).synchronize();  // the source's producers ran on the other device's stream
    set_current_device(index_);
    NESTOR_CUDA_CHECK(cudaMemcpyPeerAsync(out.raw(), index_, src.raw(), from.index, n, stream_));
  }
  return out;
}

Tensor CudaBackend::copy_to_host(const Tensor& src) {
  NESTOR_CHECK(src.device() == device(), kInternal, "cuda:", index_, " backend asked to copy a tensor on ",
               src.device().str(), " to the host");
  set_current_device(index_);
  Tensor out(src.dtype(), src.dims(), pinned_.allocate_host(src.nbytes()));
  if (src.nbytes()) {
    NESTOR_CUDA_CHECK(cudaMemcpyAsync(out.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToHost, stream_));
    NESTOR_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  return out;
}

void CudaBackend::synchronize() {
  set_current_device(index_);
  NESTOR_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

namespace {
// A stream as the DLPack protocol passes it: 1 = legacy default, 2 = per-thread default,
// else the cudaStream_t itself.
cudaStream_t stream_from_dlpack(uintptr_t s) {
  if (s == 1) return cudaStreamLegacy;
  if (s == 2) return cudaStreamPerThread;
  return reinterpret_cast<cudaStream_t>(s);
}
}  // namespace

void CudaBackend::make_stream_wait(uintptr_t stream) {
  cudaStream_t other = stream_from_dlpack(stream);
  if (other == stream_) return;  // same stream: already ordered
  set_current_device(index_);
  cudaEvent_t ev = nullptr;
  NESTOR_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  cudaError_t e = cudaEventRecord(ev, stream_);
  if (e == cudaSuccess) e = cudaStreamWaitEvent(other, ev, 0);
  // Destroying an event whose wait is queued is allowed: its resources go once it completes.
  (void)cudaEventDestroy(ev);
  if (e != cudaSuccess) fail_cuda(e, "make_stream_wait: cudaEventRecord/cudaStreamWaitEvent", __FILE__, __LINE__);
}

void CudaBackend::synchronize_device() {
  set_current_device(index_);
  NESTOR_CUDA_CHECK(cudaDeviceSynchronize());
}

// ---------------------------------------------------------------- registration
namespace {

// Asked once per process: the driver's answer does not change while it runs.
int cuda_device_count() {
  static const int n = [] {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      set_device_unavailable_reason(DeviceType::kCuda, str_cat("libnestor_cuda.so loaded, but cudaGetDeviceCount failed: ",
                                                               cudaGetErrorName(e), ": ", cudaGetErrorString(e)));
      return 0;
    }
    if (count == 0) {
      const char* vis = std::getenv("CUDA_VISIBLE_DEVICES");
      set_device_unavailable_reason(DeviceType::kCuda,
                                    str_cat("libnestor_cuda.so loaded, but the CUDA driver reports no GPU",
                                            vis ? str_cat(" (CUDA_VISIBLE_DEVICES=", vis, ")") : std::string()));
    }
    return count;
  }();
  return n;
}

std::unique_ptr<Backend> make_cuda_backend(int index) { return std::make_unique<CudaBackend>(index); }

struct Registrar {
  Registrar() { register_backend(DeviceType::kCuda, &make_cuda_backend, &cuda_device_count); }
};
const Registrar registrar;

}  // namespace
}  // namespace cuda
}  // namespace nestor
