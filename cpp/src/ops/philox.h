// The random ops' generator, shared by the CPU kernels (random.cc) and the CUDA kernels
// (cuda/kernels/random.cu), so that a seeded op gives the same stream on both devices:
// Philox4x32-10 blocks, the key derivation from the (seed, seed2) attributes, the counters
// reserved per run from the node's rng stream, and the mapping of words to uniforms; and the
// host-side argument rules of the random kernels (shape vector, integer bounds, dropout
// rate), so that both devices check them with the same messages.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "nestor/op.h"

#ifdef __CUDACC__
#define NESTOR_HOST_DEVICE __host__ __device__
#else
#define NESTOR_HOST_DEVICE
#endif

namespace nestor {
namespace philox {

struct Philox {
  uint32_t k0, k1;
  // One Philox4x32-10 block for the 128-bit counter (c0..c3).
  NESTOR_HOST_DEVICE void block(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t out[4]) const {
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
  NESTOR_HOST_DEVICE void at(uint64_t pos, uint32_t attempt, uint32_t out[4]) const {
    block(static_cast<uint32_t>(pos), static_cast<uint32_t>(pos >> 32), attempt, 0x5eedu, out);
  }
};

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t random64() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

// Drawn once per library that includes this (the CPU kernels and the CUDA plugin each have
// one): only unseeded ops use it, and those differ from run to run anyway.
inline uint64_t process_random() {
  static const uint64_t v = random64();
  return v;
}

// The generator of a node and the first of `blocks` counters reserved for this run.
struct Stream {
  Philox gen;
  uint64_t base;
};

inline Stream reserve(KernelCtx& ctx, uint64_t blocks) {
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

// Uniform in [0, 1) with 24 random bits (float) or 53 (double, from two words).
NESTOR_HOST_DEVICE inline float uniform_f(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
NESTOR_HOST_DEVICE inline double uniform_d(uint32_t hi, uint32_t lo) {
  return static_cast<double>(((uint64_t{hi} << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

// ------------------------------------------------------------ host-side argument rules
// "[2, -1]": a requested shape as given.
inline std::string ints_str(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// The output shape from a kernel's 1-D shape input (in host memory).
inline Dims dims_from_input(const KernelCtx& ctx, int i) {
  const Tensor& t = ctx.input(i);
  if (t.dims().size() != 1)
    ctx.fail(Code::kInvalidArgument, "shape must be a 1-D tensor, got shape ", dims_str(t.dims()));
  Dims d = t.to_int_vector();
  for (auto v : d)
    if (v < 0) ctx.fail(Code::kInvalidArgument, "shape must be non-negative, got ", ints_str(d));
  return d;
}

// random_uniform_int(shape, minval, maxval): values lo + (word % range) in [minval, maxval).
struct UniformIntArgs {
  Dims dims;
  int64_t lo = 0;
  uint64_t range = 0;
};
inline UniformIntArgs uniform_int_args(const KernelCtx& ctx) {
  UniformIntArgs a;
  a.dims = dims_from_input(ctx, 0);
  for (int i = 1; i < 3; ++i)
    if (ctx.input(i).num_elements() != 1 || !ctx.input(i).dims().empty())
      ctx.fail(Code::kInvalidArgument, i == 1 ? "minval" : "maxval", " must be a scalar, got shape ",
               dims_str(ctx.input(i).dims()));
  const int64_t lo = ctx.input(1).scalar_as_int(), hi = ctx.input(2).scalar_as_int();
  if (num_elements(a.dims) > 0 && lo >= hi) ctx.fail(Code::kInvalidArgument, "Need minval < maxval: ", lo, " >= ", hi);
  a.lo = lo;
  a.range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  return a;
}

// dropout_mask's rate input (host memory): a scalar in [0, 1).
inline double dropout_rate(const KernelCtx& ctx, int i) {
  const Tensor& rt = ctx.input(i);
  if (!rt.dims().empty()) ctx.fail(Code::kInvalidArgument, "rate must be a scalar, got shape ", dims_str(rt.dims()));
  const double rate = rt.scalar_as_double();
  if (!(rate >= 0.0 && rate < 1.0))
    ctx.fail(Code::kInvalidArgument, "rate must be a scalar tensor in the range [0, 1), got ", rate);
  return rate;
}

}  // namespace philox
}  // namespace nestor
