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
#include <random>
#include <type_traits>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

struct Philox {
  uint32_t k0, k1;
  // One Philox4x32-10 block for the 128-bit counter (c0..c3).
  __host__ __device__ void block(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t out[4]) const {
    uint32_t a = k0, b = k1;
    for (int r = 0; r < 10; ++r) {
      uint64_t p0 = uint64_t{0xD2511F53u} * c0;
      uint64_t p1 = uint64_t{0xCD9E8D57u} * c2;
      uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
      uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
      c0 = hi1 ^ c1 ^ a;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ b;
      c3 = lo0;
      a += 0x9E3779B9u;
      b += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
  }
  // Block at 64-bit position `pos` of the stream, sub-stream `attempt`.
  __host__ __device__ void at(uint64_t pos, uint32_t attempt, uint32_t out[4]) const {
    block(static_cast<uint32_t>(pos), static_cast<uint32_t>(pos >> 32), attempt, 0x5eedu, out);
  }
};

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t random64() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

uint64_t process_random() {
  static const uint64_t v = random64();
  return v;
}

struct Stream {
  Philox gen;
  uint64_t base;
};

// The CPU's reserve(): same key for the same seeds, same counters for the same run.
Stream reserve(KernelCtx& ctx, uint64_t blocks) {
  int64_t seed = ctx.attr_or<int64_t>("seed", 0), seed2 = ctx.attr_or<int64_t>("seed2", 0);
  uint64_t key;
  if (seed == 0 && seed2 == 0) {
    key = splitmix64(process_random() ^ splitmix64(static_cast<uint64_t>(ctx.node().id)));
    if (ctx.rng_ != nullptr && ctx.rng_->load() == 0) {
      uint64_t expected = 0;
      uint64_t start = random64() | 1;  // nonzero, so it is drawn once per (session, node)
      ctx.rng_->compare_exchange_strong(expected, start);
    }
  } else {
    key = splitmix64(splitmix64(static_cast<uint64_t>(seed)) ^ static_cast<uint64_t>(seed2));
  }
  Stream s{Philox{static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)}, 0};
  s.base = ctx.rng_ != nullptr ? ctx.rng_advance(blocks) : 0;
  return s;
}

constexpr double kTwo32 = 4294967296.0;
constexpr double kTwoPi = 6.28318530717958647692;  // 2.0 * M_PI: the CPU's 2.0 * M_PI * u2 is (2 pi) * u2

__device__ __forceinline__ float uniform_f(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
__device__ __forceinline__ double uniform_d(uint32_t hi, uint32_t lo) {
  return static_cast<double>(((uint64_t{hi} << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

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

// "[2, -1]": the requested shape as given.
std::string ints_str(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

Dims dims_from_input(const KernelCtx& ctx, int i) {
  const Tensor& t = ctx.input(i);
  if (t.dims().size() != 1)
    ctx.fail(Code::kInvalidArgument, "shape must be a 1-D tensor, got shape ", dims_str(t.dims()));
  Dims d = t.to_int_vector();
  for (auto v : d)
    if (v < 0) ctx.fail(Code::kInvalidArgument, "shape must be non-negative, got ", ints_str(d));
  return d;
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
  Dims d = dims_from_input(ctx, 0);
  for (int i = 1; i < 3; ++i)
    if (ctx.input(i).num_elements() != 1 || !ctx.input(i).dims().empty())
      ctx.fail(Code::kInvalidArgument, i == 1 ? "minval" : "maxval", " must be a scalar, got shape ",
               dims_str(ctx.input(i).dims()));
  int64_t lo = ctx.input(1).scalar_as_int(), hi = ctx.input(2).scalar_as_int();
  int64_t n = 1;
  for (auto v : d) n *= v;
  if (n > 0 && lo >= hi) ctx.fail(Code::kInvalidArgument, "Need minval < maxval: ", lo, " >= ", hi);
  DType dt = ctx.input(1).dtype();
  Tensor& o = ctx.allocate_output(0, dt, d);
  uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  NESTOR_DISPATCH_INDEX(dt, "random_uniform_int", [&] {
    Params<scalar_t> p;
    p.lo = static_cast<scalar_t>(lo);
    p.range = range;
    fill<scalar_t, Dist::kInt>(ctx, p, o);
  });
}));

// dropout_mask(noise_shape, rate): 0 with probability rate, else 1 / (1 - rate).
const KernelPlacementRegistrar p_dropout("dropout_mask", DeviceType::kCuda, KernelPlacement{{0, 1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("dropout_mask", DeviceType::kCuda, ([](KernelCtx& ctx) {
  Dims d = dims_from_input(ctx, 0);
  const Tensor& rt = ctx.input(1);
  if (!rt.dims().empty()) ctx.fail(Code::kInvalidArgument, "rate must be a scalar, got shape ", dims_str(rt.dims()));
  double rate = rt.scalar_as_double();
  if (!(rate >= 0.0 && rate < 1.0))
    ctx.fail(Code::kInvalidArgument, "rate must be a scalar tensor in the range [0, 1), got ", rate);
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
