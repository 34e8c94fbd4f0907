// Seeded random ops: random_uniform, random_normal, truncated_normal, random_uniform_int
// and dropout_mask. All are stateful and not differentiable.
//
// Numbers come from the counter-based Philox4x32-10 generator (as TensorFlow's): the
// key is derived from the (seed, seed2) attributes, the counter from the node's rng
// stream in the session (ctx.rng_advance reserves counters per run). So two runs of
// one session differ, a fresh session over the same graph with the same seeds
// reproduces the same values, and the result does not depend on the thread count
// because every output element's counter is fixed by its index. With seed == seed2
// == 0 (no seed set) the key mixes a process-random value with the node id and the
// stream of each (session, node) starts at a counter drawn from std::random_device,
// so unseeded ops differ between sessions too.
#include <cmath>

#include "common.h"
#include "philox.h"

namespace nestor {
namespace {

using philox::dims_from_input;
using philox::ints_str;
using philox::kTwo32;
using philox::reserve;
using philox::Stream;
using philox::uniform_d;
using philox::uniform_f;

// Two standard normals from two 32-bit words (Box-Muller, computed in double).
inline void box_muller(uint32_t a, uint32_t b, double& z0, double& z1) {
  double u1 = (static_cast<double>(a) + 1.0) / kTwo32;  // (0, 1]
  double u2 = static_cast<double>(b) / kTwo32;
  double r = std::sqrt(-2.0 * std::log(u1));
  z0 = r * std::cos(2.0 * M_PI * u2);
  z1 = r * std::sin(2.0 * M_PI * u2);
}

// Two standard normals from four words (53-bit uniforms), for float64.
inline void box_muller64(const uint32_t w[4], double& z0, double& z1) {
  double u1 = 1.0 - uniform_d(w[0], w[1]);  // (0, 1]
  double u2 = uniform_d(w[2], w[3]);
  double r = std::sqrt(-2.0 * std::log(u1));
  z0 = r * std::cos(2.0 * M_PI * u2);
  z1 = r * std::sin(2.0 * M_PI * u2);
}

// Fills n values, `per` of them from each Philox block: f(words, out_ptr, count).
template <typename T, typename F>
void fill_blocks(KernelCtx& ctx, T* out, int64_t n, int per, F f) {
  if (n == 0) return;
  int64_t blocks = (n + per - 1) / per;
  Stream st = reserve(ctx, static_cast<uint64_t>(blocks));
  ops::parallel_elems(ctx, blocks, [&](int64_t b, int64_t e) {
    uint32_t w[4];
    for (int64_t j = b; j < e; ++j) {
      st.gen.at(st.base + static_cast<uint64_t>(j), 0, w);
      int64_t first = j * per;
      f(w, out + first, static_cast<int>(std::min<int64_t>(per, n - first)));
    }
  }, 8192);
}

// Output shape of a random op from its shape input (a constant, or tf.shape(x)).
PartialShape shape_from_input(ShapeCtx& c, int i) {
  if (!is_integer(c.dtype(i))) c.fail("shape must be int32 or int64, got ", dtype_name(c.dtype(i)));
  const PartialShape& s = c.shape(i);
  if (s.known_rank() && s.rank() != 1) c.fail("shape must be a 1-D tensor, got shape ", s.str());
  if (const Tensor* t = c.constant(i)) {
    Dims d = t->to_int_vector();
    for (auto v : d)
      if (v < 0) c.fail("shape must be non-negative, got ", ints_str(d));
    return PartialShape(d);
  }
  const Node& src = c.graph().node(c.node().inputs[static_cast<size_t>(i)].node);
  if (src.op == "shape") return c.graph().shape(src.inputs[0]);
  if (s.known_rank() && s.dim(0) >= 0) return PartialShape::unknown_of_rank(static_cast<int>(s.dim(0)));
  return PartialShape();
}

void float_random_shape(ShapeCtx& c) {
  c.expect_inputs(1);
  DType dt = c.attr_or<DType>("dtype", DType::kFloat32);
  if (!is_floating(dt)) c.fail("dtype must be float32 or float64, got ", dtype_name(dt));
  c.set_output(0, dt, shape_from_input(c, 0));
}

NESTOR_OP("random_uniform")
    .shape(float_random_shape)
    .stateful()
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.attr_or<DType>("dtype", DType::kFloat32);
      Tensor& o = ctx.allocate_output(0, dt, dims_from_input(ctx, 0));
      if (dt == DType::kFloat32) {
        fill_blocks(ctx, o.data<float>(), o.num_elements(), 4, [](const uint32_t* w, float* p, int k) {
          for (int i = 0; i < k; ++i) p[i] = uniform_f(w[i]);
        });
      } else {
        fill_blocks(ctx, o.data<double>(), o.num_elements(), 2, [](const uint32_t* w, double* p, int k) {
          for (int i = 0; i < k; ++i) p[i] = uniform_d(w[2 * i], w[2 * i + 1]);
        });
      }
    });

NESTOR_OP("random_normal")
    .shape(float_random_shape)
    .stateful()
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.attr_or<DType>("dtype", DType::kFloat32);
      Tensor& o = ctx.allocate_output(0, dt, dims_from_input(ctx, 0));
      if (dt == DType::kFloat32) {
        fill_blocks(ctx, o.data<float>(), o.num_elements(), 4, [](const uint32_t* w, float* p, int k) {
          double z[4];
          box_muller(w[0], w[1], z[0], z[1]);
          box_muller(w[2], w[3], z[2], z[3]);
          for (int i = 0; i < k; ++i) p[i] = static_cast<float>(z[i]);
        });
      } else {
        fill_blocks(ctx, o.data<double>(), o.num_elements(), 2, [](const uint32_t* w, double* p, int k) {
          double z[2];
          box_muller64(w, z[0], z[1]);
          for (int i = 0; i < k; ++i) p[i] = z[i];
        });
      }
    });

// Each element i has its own sub-streams (counter base + i, attempt 0, 1, ...): the
// first normal with |z| < 2 is kept, so the result is independent of the threads.
template <typename T>
void truncated_fill(KernelCtx& ctx, T* out, int64_t n) {
  if (n == 0) return;
  Stream st = reserve(ctx, static_cast<uint64_t>(n));
  ops::parallel_elems(ctx, n, [&](int64_t b, int64_t e) {
    uint32_t w[4];
    for (int64_t i = b; i < e; ++i) {
      for (uint32_t attempt = 0;; ++attempt) {
        st.gen.at(st.base + static_cast<uint64_t>(i), attempt, w);
        double z0, z1;
        if constexpr (std::is_same_v<T, float>) box_muller(w[0], w[1], z0, z1);
        else box_muller64(w, z0, z1);
        if (std::fabs(z0) < 2.0) { out[i] = static_cast<T>(z0); break; }
        if (std::fabs(z1) < 2.0) { out[i] = static_cast<T>(z1); break; }
      }
    }
  }, 8192);
}

NESTOR_OP("truncated_normal")
    .shape(float_random_shape)
    .stateful()
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.attr_or<DType>("dtype", DType::kFloat32);
      Tensor& o = ctx.allocate_output(0, dt, dims_from_input(ctx, 0));
      NESTOR_DISPATCH_FLOAT(dt, "truncated_normal", [&] { truncated_fill(ctx, o.data<scalar_t>(), o.num_elements()); });
    });

// random_uniform_int(shape, minval, maxval): integers in [minval, maxval), dtype of the bounds.
NESTOR_OP("random_uniform_int")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_same_dtype(1, 2);
      if (!is_integer(c.dtype(1))) c.fail("minval and maxval must be int32 or int64, got ", dtype_name(c.dtype(1)));
      for (int i = 1; i < 3; ++i)
        if (c.shape(i).known_rank() && c.shape(i).rank() != 0)
          c.fail(i == 1 ? "minval" : "maxval", " must be a scalar, got shape ", c.shape(i).str());
      c.set_output(0, c.dtype(1), shape_from_input(c, 0));
    })
    .stateful()
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const philox::UniformIntArgs a = philox::uniform_int_args(ctx);
      const int64_t lo = a.lo, n = num_elements(a.dims);
      const uint64_t range = a.range;
      DType dt = ctx.input(1).dtype();
      Tensor& o = ctx.allocate_output(0, dt, a.dims);
      if (dt == DType::kInt32) {
        fill_blocks(ctx, o.data<int32_t>(), n, 4, [&](const uint32_t* w, int32_t* p, int k) {
          for (int i = 0; i < k; ++i) p[i] = static_cast<int32_t>(lo + static_cast<int64_t>(w[i] % range));
        });
      } else {
        fill_blocks(ctx, o.data<int64_t>(), n, 2, [&](const uint32_t* w, int64_t* p, int k) {
          for (int i = 0; i < k; ++i) {
            uint64_t bits = (uint64_t{w[2 * i]} << 32) | w[2 * i + 1];
            p[i] = static_cast<int64_t>(static_cast<uint64_t>(lo) + bits % range);
          }
        });
      }
    });

// dropout_mask(noise_shape, rate): 0 with probability `rate`, else 1 / (1 - rate); the
// dtype of `rate` (a float scalar, so it may be fed). nn.dropout multiplies x by it.
NESTOR_OP("dropout_mask")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.expect_float(1);
      if (c.shape(1).known_rank() && c.shape(1).rank() != 0) c.fail("rate must be a scalar, got shape ", c.shape(1).str());
      if (const Tensor* r = c.constant(1)) {
        double v = r->scalar_as_double();
        if (!(v >= 0.0 && v < 1.0)) c.fail("rate must be a scalar tensor in the range [0, 1), got ", v);
      }
      c.set_output(0, c.dtype(1), shape_from_input(c, 0));
    })
    .stateful()
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      Dims d = dims_from_input(ctx, 0);
      const Tensor& rt = ctx.input(1);
      const double rate = philox::dropout_rate(ctx, 1);
      Tensor& o = ctx.allocate_output(0, rt.dtype(), d);
      if (rt.dtype() == DType::kFloat32) {
        float r = static_cast<float>(rate), scale = 1.0f / (1.0f - r);
        fill_blocks(ctx, o.data<float>(), o.num_elements(), 4, [&](const uint32_t* w, float* p, int k) {
          for (int i = 0; i < k; ++i) p[i] = uniform_f(w[i]) >= r ? scale : 0.0f;
        });
      } else {
        double scale = 1.0 / (1.0 - rate);
        fill_blocks(ctx, o.data<double>(), o.num_elements(), 2, [&](const uint32_t* w, double* p, int k) {
          for (int i = 0; i < k; ++i) p[i] = uniform_d(w[2 * i], w[2 * i + 1]) >= rate ? scale : 0.0;
        });
      }
    });

}  // namespace
}  // namespace nestor
