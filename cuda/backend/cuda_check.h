// cuda/backend/cuda_check.h: every CUDA runtime and cuBLAS status is checked; a failure
// becomes a nestor::Error naming the call, the file:line and the runtime's own message.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "nestor/error.h"

namespace nestor {
namespace cuda {

[[noreturn]] void fail_cuda(cudaError_t e, const char* call, const char* file, int line);
[[noreturn]] void fail_cublas(cublasStatus_t s, const char* call, const char* file, int line);

}  // namespace cuda
}  // namespace nestor

#define NESTOR_CUDA_CHECK(call)                                                       \
  do {                                                                                \
    cudaError_t nestor_cuda_err_ = (call);                                            \
    if (nestor_cuda_err_ != cudaSuccess)                                              \
      ::nestor::cuda::fail_cuda(nestor_cuda_err_, #call, __FILE__, __LINE__);         \
  } while (0)

#define NESTOR_CUBLAS_CHECK(call)                                                     \
  do {                                                                                \
    cublasStatus_t nestor_cublas_st_ = (call);                                        \
    if (nestor_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                   \
      ::nestor::cuda::fail_cublas(nestor_cublas_st_, #call, __FILE__, __LINE__);      \
  } while (0)

// After a kernel launch: launch-configuration errors surface here, execution errors at
// the next synchronizing call (a fetch), which reports them through the same macro.
#define NESTOR_CUDA_CHECK_LAUNCH() NESTOR_CUDA_CHECK(cudaGetLastError())
