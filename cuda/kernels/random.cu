// CUDA kernels for cpp/src/ops/random.cc: random_uniform, random_normal, truncated_normal,
// random_uniform_int and dropout_mask.
//
// The CPU generator is counter-based (Philox4x32-10, key from the seed attributes, counters
// reserved per run from the node's rng stream), so the device computes the same blocks:
// for the same seeds a GPU session produces the CPU session's stream. Uniform floats,
// integers and dropout masks are bit-identical (integer arithmetic and exact scalings);
// normals go through Box-Muller in double on both devices, where the GPU's log/sin/cos may
// differ from the host libm in the last bit of a double (float results almost always
// agree to the bit; truncated_normal's |z| < 2 test could in principle flip on such a
// last-bit difference). The key derivation, counter reservation, value mapping and
// argument checks are the CPU's. Shapes, rate, minval and maxval are host-memory inputs
// (the output shape and the CPU's checks need their values).
#include <cmath>
#include <type_traits>

#include "kernels/common.cuh"
#include "ops/philox.h"

namespace nestor {
namespace cuda {
namespace {

using philox::dims_from_input;
using philox::kTwo32;
using philox::Philox;
using philox::reserve;
using philox::Stream;
using philox::uniform_d;
using philox::uniform_f;

constexpr double kTwoPi = 6.28318530717958647692;  // 2.0 * M_PI: the CPU's 2.0 * M_PI * u2 is (2 pi) * u2

// Box-Muller with every product rounded on its own (no FMA), as the host computes it.
__device__ __forceinline__ void polar(double u1, double u2, double& z0, double& z1) {
  double r = sqrt(__dmul_rn(-2.0, log(u1)));
  double th = __dmul_rn(kTwoPi, u2);
  z0 = __dmul_rn(r, cos(th));
  z1 = __dmul_rn(r, sin(th));
}
__device__ __forceinline__ void box_muller(uint32_t a, uint32_t b, double& z0, double& z1) {
  polar((static_cast<double>(a) + 1.0) / kTwo32, static_cast<double>(b) / kTwo32, z0, z1);
}
__device__ __forceinline__ void box_muller64(const uint32_t w[4], double& z0, double& z1) {
  polar(1.0 - uniform_d(w[0], w[1]), uniform_d(w[2], w[3]), z0, z1);
}

enum class Dist { kUniform, kNormal, kInt, kDropout };

template <typename T>
struct Params {
  Philox gen;
  uint64_t base = 0;
  int64_t n = 0;
  int per = 1;            // values per Philox block
  T lo = T(0);            // kInt: minval
  uint64_t range = 1;     // kInt: maxval - minval
  T rate = T(0), scale = T(0);  // kDropout
};

// One thread per Philox block j: values j * per .. j * per + per - 1 (the CPU's fill_blocks).
template <typename T, Dist D>
__global__ void fill_kernel(Params<T> p, T* out, int64_t blocks) {
  NESTOR_GRID_STRIDE(j, blocks) {
    uint32_t w[4];
    p.gen.at(p.base + static_cast<uint64_t>(j), 0, w);
    const int64_t first = j * p.per;
    const int k = static_cast<int>(p.n - first < p.per ? p.n - first : p.per);
    T* o = out + first;
    if constexpr (D == Dist::kUniform) {
      if constexpr (std::is_same<T, float>::value) {
        for (int i = 0; i < k; ++i) o[i] = uniform_f(w[i]);
      } else {
        for (int i = 0; i < k; ++i) o[i] = uniform_d(w[2 * i], w[2 * i + 1]);
      }
    } else if constexpr (D == Dist::kNormal) {
      if constexpr (std::is_same<T, float>::value) {
        double z[4];
        box_muller(w[0], w[1], z[0], z[1]);
        box_muller(w[2], w[3], z[2], z[3]);
        for (int i = 0; i < k; ++i) o[i] = static_cast<float>(z[i]);
      } else {
        double z[2];
        box_muller64(w, z[0], z[1]);
        for (int i = 0; i < k; ++i) o[i] = z[i];
      }
    } else if constexpr (D == Dist::kInt) {
      if constexpr (std::is_same<T, int32_t>::value) {
        for (int i = 0; i < k; ++i) o[i] = static_cast<int32_t>(p.lo + static_cast<int64_t>(w[i] % p.range));
      } else {
        for (int i = 0; i < k; ++i) {
          uint64_t bits = (uint64_t{w[2 * i]} << 32) | w[2 * i + 1];
          o[i] = static_cast<int64_t>(static_cast<uint64_t>(p.lo) + bits % p.range);
        }
      }
    } else {
      if constexpr (std::is_same<T, float>::value) {
        for (int i = 0; i < k; ++i) o[i] = uniform_f(w[i]) >= p.rate ? p.scale : 0.0f;
      } else {
        for (int i = 0; i < k; ++i) o[i] = uniform_d(w[2 * i], w[2 * i + 1]) >= p.rate ? p.scale : 0.0;
      }
    }
  }
}

template <typename T, Dist D>
void fill(KernelCtx& ctx, Params<T> p, Tensor& o) {
  p.n = o.num_elements();
  if (p.n == 0) return;
  p.per = sizeof(T) == 4 ? 4 : 2;
  const int64_t blocks = (p.n + p.per - 1) / p.per;
  Stream st = reserve(ctx, static_cast<uint64_t>(blocks));
  p.gen = st.gen;
  p.base = st.base;
  CudaBackend& be = CudaBackend::of(ctx);
  fill_kernel<T, D><<<blocks_for(blocks), kThreads, 0, be.stream()>>>(p, o.data<T>(), blocks);
  NESTOR_CUDA_CHECK_LAUNCH();
}

template <Dist D>
void float_random(KernelCtx& ctx) {
  DType dt = ctx.attr_or<DType>("dtype", DType::kFloat32);
  Tensor& o = ctx.allocate_output(0, dt, dims_from_input(ctx, 0));
  NESTOR_DISPATCH_FLOAT(dt, ctx.node().op, [&] { fill<scalar_t, D>(ctx, Params<scalar_t>{}, o); });
}

const KernelPlacement kShapeOnHost{{0}, {}, nullptr};
const KernelPlacementRegistrar p_uniform("random_uniform", DeviceType::kCuda, kShapeOnHost);
const KernelPlacementRegistrar p_normal("random_normal", DeviceType::kCuda, kShapeOnHost);
const KernelPlacementRegistrar p_truncated("truncated_normal", DeviceType::kCuda, kShapeOnHost);
NESTOR_REGISTER_KERNEL("random_uniform", DeviceType::kCuda, float_random<Dist::kUniform>);
NESTOR_REGISTER_KERNEL("random_normal", DeviceType::kCuda, float_random<Dist::kNormal>);

// Element i draws from its own sub-streams (counter base + i, attempts 0, 1, ...) until a
// normal with |z| < 2 comes: the CPU's truncated_fill.
template <typename T>
__global__ void truncated_kernel(Philox gen, uint64_t base, T* out, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    uint32_t w[4];
    for (uint32_t attempt = 0;; ++attempt) {
      gen.at(base + static_cast<uint64_t>(i), attempt, w);
      double z0, z1;
      if constexpr (std::is_same<T, float>::value) box_muller(w[0], w[1], z0, z1);
      else box_muller64(w, z0, z1);
      if (fabs(z0) < 2.0) {
        out[i] = static_cast<T>(z0);
        break;
      }
      if (fabs(z1) < 2.0) {
        out[i] = static_cast<T>(z1);
        break;
      }
    }
  }
}

NESTOR_REGISTER_KERNEL("truncated_normal", DeviceType::kCuda, ([](KernelCtx& ctx) {
  DType dt = ctx.attr_or<DType>("dtype", DType::kFloat32);
  Tensor& o = ctx.allocate_output(0, dt, dims_from_input(ctx, 0));
  NESTOR_DISPATCH_FLOAT(dt, "truncated_normal", [&] {
    const int64_t n = o.num_elements();
    if (n == 0) return;
    Stream st = reserve(ctx, static_cast<uint64_t>(n));
    CudaBackend& be = CudaBackend::of(ctx);
    truncated_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(st.gen, st.base, o.data<scalar_t>(), n);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// random_uniform_int(shape, minval, maxval): integers in [minval, maxval).
const KernelPlacementRegistrar p_uniform_int("random_uniform_int", DeviceType::kCuda,
                                             KernelPlacement{{0, 1, 2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("random_uniform_int", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const philox::UniformIntArgs a = philox::uniform_int_args(ctx);
  DType dt = ctx.input(1).dtype();
  Tensor& o = ctx.allocate_output(0, dt, a.dims);
  NESTOR_DISPATCH_INDEX(dt, "random_uniform_int", [&] {
    Params<scalar_t> p;
    p.lo = static_cast<scalar_t>(a.lo);
    p.range = a.range;
    fill<scalar_t, Dist::kInt>(ctx, p, o);
  });
}));

// dropout_mask(noise_shape, rate): 0 with probability rate, else 1 / (1 - rate).
const KernelPlacementRegistrar p_dropout("dropout_mask", DeviceType::kCuda, KernelPlacement{{0, 1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("dropout_mask", DeviceType::kCuda, ([](KernelCtx& ctx) {
  Dims d = dims_from_input(ctx, 0);
  const Tensor& rt = ctx.input(1);
  const double rate = philox::dropout_rate(ctx, 1);
  Tensor& o = ctx.allocate_output(0, rt.dtype(), d);
  if (rt.dtype() == DType::kFloat32) {
    Params<float> p;
    p.rate = static_cast<float>(rate);
    p.scale = 1.0f / (1.0f - p.rate);
    fill<float, Dist::kDropout>(ctx, p, o);
  } else {
    Params<double> p;
    p.rate = rate;
    p.scale = 1.0 / (1.0 - rate);
    fill<double, Dist::kDropout>(ctx, p, o);
  }
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
