// CUDA kernels for cpp/src/ops/compare.cc: comparisons (-> bool, numpy broadcasting), the
// logical ops on bool and where (three-way broadcasting of condition, x and y).
//
// String comparisons and string `where` run on the CPU (placement keeps every node with a
// string input or output there). where_indices stays on the CPU: its output shape depends
// on the data.
#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

template <typename T> struct Equal { __device__ bool operator()(T a, T b) const { return a == b; } };
template <typename T> struct NotEqual { __device__ bool operator()(T a, T b) const { return a != b; } };
template <typename T> struct Less { __device__ bool operator()(T a, T b) const { return a < b; } };
template <typename T> struct LessEqual { __device__ bool operator()(T a, T b) const { return a <= b; } };
template <typename T> struct Greater { __device__ bool operator()(T a, T b) const { return a > b; } };
template <typename T> struct GreaterEqual { __device__ bool operator()(T a, T b) const { return a >= b; } };

struct LogicalAnd { __device__ bool operator()(bool a, bool b) const { return a && b; } };
struct LogicalOr { __device__ bool operator()(bool a, bool b) const { return a || b; } };
struct LogicalXor { __device__ bool operator()(bool a, bool b) const { return a != b; } };
struct LogicalNot { __device__ bool operator()(bool a) const { return !a; } };

template <typename T> struct Select {
  __device__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

// Comparison F<T> of two inputs of a dispatch group, output bool.
#define NESTOR_CUDA_COMPARE(GROUP, NAME, F)                                     \
  [](KernelCtx& ctx) {                                                          \
    GROUP(ctx.input(0).dtype(), NAME, [&] {                                     \
      ::nestor::cuda::launch_binary<scalar_t, bool>(ctx, F<scalar_t>{});        \
    });                                                                         \
  }

// equal / not_equal: every dtype but string (numeric and bool).
NESTOR_REGISTER_KERNEL("equal", DeviceType::kCuda, NESTOR_CUDA_COMPARE(NESTOR_DISPATCH_POD, "equal", Equal));
NESTOR_REGISTER_KERNEL("not_equal", DeviceType::kCuda, NESTOR_CUDA_COMPARE(NESTOR_DISPATCH_POD, "not_equal", NotEqual));
NESTOR_REGISTER_KERNEL("less", DeviceType::kCuda, NESTOR_CUDA_COMPARE(NESTOR_DISPATCH_NUMERIC, "less", Less));
NESTOR_REGISTER_KERNEL("less_equal", DeviceType::kCuda,
                       NESTOR_CUDA_COMPARE(NESTOR_DISPATCH_NUMERIC, "less_equal", LessEqual));
NESTOR_REGISTER_KERNEL("greater", DeviceType::kCuda, NESTOR_CUDA_COMPARE(NESTOR_DISPATCH_NUMERIC, "greater", Greater));
NESTOR_REGISTER_KERNEL("greater_equal", DeviceType::kCuda,
                       NESTOR_CUDA_COMPARE(NESTOR_DISPATCH_NUMERIC, "greater_equal", GreaterEqual));

NESTOR_REGISTER_KERNEL("logical_and", DeviceType::kCuda,
                       ([](KernelCtx& ctx) { launch_binary<bool, bool>(ctx, LogicalAnd{}); }));
NESTOR_REGISTER_KERNEL("logical_or", DeviceType::kCuda,
                       ([](KernelCtx& ctx) { launch_binary<bool, bool>(ctx, LogicalOr{}); }));
NESTOR_REGISTER_KERNEL("logical_xor", DeviceType::kCuda,
                       ([](KernelCtx& ctx) { launch_binary<bool, bool>(ctx, LogicalXor{}); }));
NESTOR_REGISTER_KERNEL("logical_not", DeviceType::kCuda,
                       ([](KernelCtx& ctx) { launch_unary<bool, bool>(ctx, LogicalNot{}); }));

// where(cond, x, y): output dtype of x, shape broadcast(broadcast(cond, x), y).
NESTOR_REGISTER_KERNEL("where", DeviceType::kCuda, ([](KernelCtx& ctx) {
  NESTOR_DISPATCH_POD(ctx.input(1).dtype(), "where",
                      [&] { launch_ternary<bool, scalar_t, scalar_t, scalar_t>(ctx, Select<scalar_t>{}); });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
