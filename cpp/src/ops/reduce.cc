// Reductions over a set of axes: sum, mean, max, min, prod, any, all, logsumexp (inputs
// x, axes; attr keepdims), argmax / argmin, l2_loss and bias_add_grad, plus the helper ops
// their gradients use (broadcast_reduced, reduce_extremum_grad, reduce_prod_grad,
// reduce_logsumexp_grad) and range_of_rank (the axes of "reduce everything" when the
// rank is only known at run time).
//
// Every reduction runs as out[a, b] = reduce_r x[a, r, b] after merging adjacent dims:
// the last-axis case (B == 1) reduces contiguous rows, the leading-axes case (A == 1)
// accumulates whole rows into a vector of outputs; other patterns are permuted to
// [kept, reduced] first. Too few outputs to keep the pool busy: the reduced range is split.
#include <cmath>
#include <limits>
#include <memory>

#include <vector>

#include "common.h"
#include "reduce_util.h"

namespace nestor {
namespace {

using ops::arg_axis;
using ops::axes_mask;
using ops::normalize_axis;
using ops::parallel_elems;
using ops::reduced_dims;

// ---------------------------------------------------------------- axes and shapes

void check_axes_input(const ShapeCtx& c) {
  if (!is_integer(c.dtype(1))) c.fail("axes must be int32 or int64, got ", dtype_name(c.dtype(1)));
  if (c.shape(1).known_rank() && c.shape(1).rank() > 1)
    c.fail("axes must be a scalar or a vector, got shape ", c.shape(1).str());
}

// Output shape of reducing input 0 over the axes in input 1.
PartialShape reduced_shape(const ShapeCtx& c, bool keepdims) {
  const PartialShape& in = c.shape(0);
  const Tensor* axes = c.constant(1);
  if (axes != nullptr) {
    std::vector<int64_t> ax = axes->to_int_vector();
    if (ax.empty()) return in;
    if (!in.known_rank()) return PartialShape();
    return PartialShape(reduced_dims(in.dims(), axes_mask(c, ax, in.rank()), keepdims));
  }
  const Node& src = c.graph().node(c.node().inputs[1].node);
  if (src.op == "range_of_rank" && src.inputs[0] == c.node().inputs[0]) {  // every axis
    if (!keepdims) return PartialShape::scalar();
    return in.known_rank() ? PartialShape(Dims(static_cast<size_t>(in.rank()), 1)) : PartialShape();
  }
  if (!in.known_rank()) return PartialShape();
  if (keepdims) return PartialShape::unknown_of_rank(in.rank());
  if (c.shape(1).known_rank() && c.shape(1).rank() == 0) return PartialShape::unknown_of_rank(in.rank() - 1);
  return PartialShape();
}

// How a reduction walks its input: out[a * B + b] = reduce_r x[(a * R + r) * B + b].
struct Plan {
  Dims out_dims, kd_dims;  // result dims and the same with reduced axes kept as 1
  int64_t A = 1, R = 1, B = 1;
  bool identity = false;   // nothing of size > 1 is reduced: the result is x reshaped
  Tensor x;                // x, or x permuted to [kept, reduced]
};

Tensor permute_kept_first(KernelCtx& ctx, const Tensor& x, const Dims& groups, const std::vector<char>& red) {
  Dims src_stride(groups.size());
  int64_t s = 1;
  for (size_t i = groups.size(); i-- > 0;) {
    src_stride[i] = s;
    s *= groups[i];
  }
  Dims pd, ps;  // permuted dims and their source strides
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < groups.size(); ++i)
      if (static_cast<bool>(red[i]) == (pass == 1)) {
        pd.push_back(groups[i]);
        ps.push_back(src_stride[i]);
      }
  Tensor out = Tensor::empty(x.dtype(), x.dims(), ctx.allocator());
  size_t elem = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  int64_t cols = pd.back(), cs = ps.back();
  int64_t rows = x.num_elements() / cols;
  parallel_elems(ctx, rows, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      int64_t off = 0, rem = r;
      for (size_t i = pd.size() - 1; i-- > 0;) {
        off += (rem % pd[i]) * ps[i];
        rem /= pd[i];
      }
      char* d = dst + static_cast<size_t>(r * cols) * elem;
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(d + static_cast<size_t>(c) * elem, src + static_cast<size_t>(off + c * cs) * elem, elem);
    }
  }, std::max<int64_t>(1, 32768 / cols));
  return out;
}

Plan make_plan(KernelCtx& ctx, const Tensor& x, const Tensor& axes_t, bool keepdims) {
  Plan p;
  std::vector<int64_t> axes = axes_t.to_int_vector();
  std::vector<char> mask = axes_mask(ctx, axes, x.rank());
  p.out_dims = reduced_dims(x.dims(), mask, keepdims);
  p.kd_dims = reduced_dims(x.dims(), mask, true);
  p.x = x;
  int64_t n_out = num_elements(p.out_dims);
  if (x.num_elements() == 0) {  // nothing to read: every output reduces an empty range (or none exist)
    p.A = n_out;
    p.R = 0;
    return p;
  }
  Dims groups;
  std::vector<char> red;
  for (size_t i = 0; i < x.dims().size(); ++i) {
    if (x.dims()[i] == 1) continue;
    if (!groups.empty() && red.back() == mask[i]) {
      groups.back() *= x.dims()[i];
    } else {
      groups.push_back(x.dims()[i]);
      red.push_back(mask[i]);
    }
  }
  int nred = 0;
  for (char r : red) nred += r;
  if (nred == 0) {
    p.identity = true;
    return p;
  }
  if (nred == 1 && groups.size() <= 3 && (groups.size() < 3 || red[1])) {
    size_t k = 0;
    if (!red[0]) p.A = groups[k++];
    p.R = groups[k++];
    if (k < groups.size()) p.B = groups[k];
    return p;
  }
  p.x = permute_kept_first(ctx, x, groups, red);
  p.A = n_out;
  p.R = x.num_elements() / n_out;
  return p;
}

// ---------------------------------------------------------------- the reduction engine
// A reducer: acc_t, init(), step(acc, x, o), merge(acc, acc), finish(acc, o) -> output.
template <typename T, typename Red, typename Out>
void reduce3(KernelCtx& ctx, const T* x, Out* out, int64_t A, int64_t R, int64_t B, const Red& red) {
  using Acc = typename Red::acc_t;
  const int64_t n_out = A * B;
  if (n_out == 0) return;
  constexpr int64_t kTile = 512;  // columns per work unit when B > 1
  const int64_t tiles = B == 1 ? 1 : (B + kTile - 1) / kTile;
  const int64_t units = A * tiles;
  const int threads = ctx.pool().num_threads();
  int64_t nr = 1;  // slices of the reduced range
  if (threads > 1 && n_out * R > 65536 && units < 4 * threads)
    nr = std::max<int64_t>(1, std::min<int64_t>(R / 1024, 4 * threads));
  std::unique_ptr<Acc[]> part(new Acc[static_cast<size_t>(nr * n_out)]);
  const int64_t per_unit = std::max<int64_t>(1, (R / nr) * std::min(B, kTile));
  parallel_elems(ctx, units * nr, [&](int64_t s, int64_t e) {
    for (int64_t w = s; w < e; ++w) {
      int64_t k = w / units, u = w % units;
      int64_t r0 = R * k / nr, r1 = R * (k + 1) / nr;
      Acc* dst = part.get() + k * n_out;
      if (B == 1) {  // contiguous row: four independent accumulators
        const T* p = x + u * R;
        Acc a0 = red.init(), a1 = red.init(), a2 = red.init(), a3 = red.init();
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
          a0 = red.step(a0, p[r], u);
          a1 = red.step(a1, p[r + 1], u);
          a2 = red.step(a2, p[r + 2], u);
          a3 = red.step(a3, p[r + 3], u);
        }
        for (; r < r1; ++r) a0 = red.step(a0, p[r], u);
        dst[u] = red.merge(red.merge(a0, a1), red.merge(a2, a3));
      } else {  // rows of B columns accumulated into a tile of outputs
        int64_t a = u / tiles, b0 = (u % tiles) * kTile, b1 = std::min(B, b0 + kTile);
        Acc* acc = dst + a * B;
        for (int64_t b = b0; b < b1; ++b) acc[b] = red.init();
        for (int64_t r = r0; r < r1; ++r) {
          const T* row = x + (a * R + r) * B;
          for (int64_t b = b0; b < b1; ++b) acc[b] = red.step(acc[b], row[b], a * B + b);
        }
      }
    }
  }, std::max<int64_t>(1, 32768 / per_unit));
  parallel_elems(ctx, n_out, [&](int64_t s, int64_t e) {
    for (int64_t o = s; o < e; ++o) {
      Acc acc = part[static_cast<size_t>(o)];
      for (int64_t k = 1; k < nr; ++k) acc = red.merge(acc, part[static_cast<size_t>(k * n_out + o)]);
      out[o] = red.finish(acc, o);
    }
  });
}

template <typename T>
constexpr T lowest() {
  return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
}
template <typename T>
constexpr T highest() {
  return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
}

template <typename T>
struct SumR {
  using acc_t = T;
  int64_t count = 1;
  bool mean = false;
  T init() const { return T(0); }
  T step(T a, T x, int64_t) const { return a + x; }
  T merge(T a, T b) const { return a + b; }
  T finish(T a, int64_t) const {
    if (!mean) return a;
    if (count) return a / static_cast<T>(count);
    if constexpr (std::is_integral_v<T>) return T(0);
    else return std::numeric_limits<T>::quiet_NaN();  // mean of nothing
  }
};
template <typename T>
struct ProdR {
  using acc_t = T;
  T init() const { return T(1); }
  T step(T a, T x, int64_t) const { return a * x; }
  T merge(T a, T b) const { return a * b; }
  T finish(T a, int64_t) const { return a; }
};
template <typename T>
struct MaxR {
  using acc_t = T;
  T init() const { return lowest<T>(); }
  T step(T a, T x, int64_t) const { return x > a ? x : a; }
  T merge(T a, T b) const { return step(a, b, 0); }
  T finish(T a, int64_t) const { return a; }
};
template <typename T>
struct MinR {
  using acc_t = T;
  T init() const { return highest<T>(); }
  T step(T a, T x, int64_t) const { return x < a ? x : a; }
  T merge(T a, T b) const { return step(a, b, 0); }
  T finish(T a, int64_t) const { return a; }
};
struct AnyR {
  using acc_t = uint8_t;
  uint8_t init() const { return 0; }
  uint8_t step(uint8_t a, bool x, int64_t) const { return a | static_cast<uint8_t>(x); }
  uint8_t merge(uint8_t a, uint8_t b) const { return a | b; }
  bool finish(uint8_t a, int64_t) const { return a != 0; }
};
struct AllR {
  using acc_t = uint8_t;
  uint8_t init() const { return 1; }
  uint8_t step(uint8_t a, bool x, int64_t) const { return a & static_cast<uint8_t>(x); }
  uint8_t merge(uint8_t a, uint8_t b) const { return a & b; }
  bool finish(uint8_t a, int64_t) const { return a != 0; }
};
// Second pass of logsumexp: sum exp(x - shift[o]), then shift + log.
template <typename T>
struct LseR {
  using acc_t = T;
  const T* shift;
  T init() const { return T(0); }
  T step(T a, T x, int64_t o) const { return a + std::exp(x - shift[o]); }
  T merge(T a, T b) const { return a + b; }
  T finish(T a, int64_t o) const { return shift[o] + std::log(a); }
};
template <typename T>
struct SumSqR {
  using acc_t = T;
  T init() const { return T(0); }
  T step(T a, T x, int64_t) const { return a + x * x; }
  T merge(T a, T b) const { return a + b; }
  T finish(T a, int64_t) const { return a / T(2); }
};
// How many elements equal the extremum y[o] (max/min gradients split among ties).
template <typename T>
struct CountEqR {
  using acc_t = T;
  const T* y;
  T init() const { return T(0); }
  T step(T a, T x, int64_t o) const { return a + (x == y[o] ? T(1) : T(0)); }
  T merge(T a, T b) const { return a + b; }
  T finish(T a, int64_t) const { return a; }
};
// Zeros counted apart from the product of the nonzero elements (prod gradients).
template <typename T>
struct ZeroProd {
  T zeros, prod;
};
template <typename T>
struct ProdNzR {
  using acc_t = ZeroProd<T>;
  acc_t init() const { return {T(0), T(1)}; }
  acc_t step(acc_t a, T x, int64_t) const { return x == T(0) ? acc_t{a.zeros + 1, a.prod} : acc_t{a.zeros, a.prod * x}; }
  acc_t merge(acc_t a, acc_t b) const { return {a.zeros + b.zeros, a.prod * b.prod}; }
  acc_t finish(acc_t a, int64_t) const { return a; }
};

enum class Kind { kSum, kMean, kProd, kMax, kMin, kAny, kAll, kLse };

template <Kind K>
void reduce_kernel(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Plan p = make_plan(ctx, x, ctx.input(1), ctx.attr_or<bool>("keepdims", false));
  DType dt = x.dtype();
  if (p.identity) {
    ctx.set_output(0, x.reshaped(p.out_dims));
    return;
  }
  Tensor& o = ctx.allocate_output(0, dt, p.out_dims);
  if constexpr (K == Kind::kAny || K == Kind::kAll) {
    using R = std::conditional_t<K == Kind::kAny, AnyR, AllR>;
    reduce3(ctx, p.x.data<bool>(), o.data<bool>(), p.A, p.R, p.B, R{});
  } else if constexpr (K == Kind::kLse) {
    NESTOR_DISPATCH_FLOAT(dt, ctx.node().op, [&] {
      scalar_t* po = o.data<scalar_t>();
      const scalar_t* px = p.x.data<scalar_t>();
      reduce3(ctx, px, po, p.A, p.R, p.B, MaxR<scalar_t>{});
      std::vector<scalar_t> shift(po, po + o.num_elements());
      for (auto& s : shift) s = std::isfinite(s) ? s : scalar_t(0);
      reduce3(ctx, px, po, p.A, p.R, p.B, LseR<scalar_t>{shift.data()});
    });
  } else {
    NESTOR_DISPATCH_NUMERIC(dt, ctx.node().op, [&] {
      const scalar_t* px = p.x.data<scalar_t>();
      scalar_t* po = o.data<scalar_t>();
      if constexpr (K == Kind::kSum) reduce3(ctx, px, po, p.A, p.R, p.B, SumR<scalar_t>{});
      if constexpr (K == Kind::kMean) reduce3(ctx, px, po, p.A, p.R, p.B, SumR<scalar_t>{p.R, true});
      if constexpr (K == Kind::kProd) reduce3(ctx, px, po, p.A, p.R, p.B, ProdR<scalar_t>{});
      if constexpr (K == Kind::kMax) reduce3(ctx, px, po, p.A, p.R, p.B, MaxR<scalar_t>{});
      if constexpr (K == Kind::kMin) reduce3(ctx, px, po, p.A, p.R, p.B, MinR<scalar_t>{});
    });
  }
}

template <Kind K>
void reduce_shape(ShapeCtx& c) {
  c.expect_inputs(2);
  check_axes_input(c);
  DType dt = c.dtype(0);
  if (K == Kind::kAny || K == Kind::kAll) {
    if (dt != DType::kBool) c.fail("input must be bool, got ", dtype_name(dt));
  } else if (K == Kind::kLse) {
    c.expect_float(0);
  } else if (!is_numeric(dt)) {
    c.fail("input must be float32, float64, int32 or int64, got ", dtype_name(dt));
  }
  c.set_output(0, dt, reduced_shape(c, c.attr_or<bool>("keepdims", false)));
}

// Calls f(i, o) for every element i of `dims`, o being its index in the reduced `kd` dims.
template <typename F>
void for_each_with_reduced(KernelCtx& ctx, const Dims& dims, const Dims& kd, F f) {
  int64_t n = num_elements(dims);
  if (n == 0) return;
  if (dims.empty()) return f(int64_t{0}, int64_t{0});
  ops::BroadcastIndex bi(dims, kd);
  int64_t cols = dims.empty() ? 1 : dims.back();
  int64_t rows = n / cols;
  int64_t s = bi.inner_stride;
  parallel_elems(ctx, rows, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      int64_t base = bi.row_offset(r);
      for (int64_t c = 0; c < cols; ++c) f(r * cols + c, base + c * s);
    }
  }, std::max<int64_t>(1, 32768 / cols));
}

Output axes_in(GradCtx& g) { return g.input(1); }

NESTOR_OP("sum").shape(reduce_shape<Kind::kSum>).cpu(reduce_kernel<Kind::kSum>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("broadcast_reduced", {g.grad(0), g.shape_of(g.input(0)), axes_in(g)}));
});
NESTOR_OP("mean").shape(reduce_shape<Kind::kMean>).cpu(reduce_kernel<Kind::kMean>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("broadcast_reduced", {g.grad(0), g.shape_of(g.input(0)), axes_in(g)}, Attrs{{"mean", true}}));
});
NESTOR_OP("prod").shape(reduce_shape<Kind::kProd>).cpu(reduce_kernel<Kind::kProd>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("reduce_prod_grad", {g.input(0), g.grad(0), axes_in(g)}));
});
NESTOR_OP("max").shape(reduce_shape<Kind::kMax>).cpu(reduce_kernel<Kind::kMax>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("reduce_extremum_grad", {g.input(0), g.output(0), g.grad(0), axes_in(g)}));
});
NESTOR_OP("min").shape(reduce_shape<Kind::kMin>).cpu(reduce_kernel<Kind::kMin>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("reduce_extremum_grad", {g.input(0), g.output(0), g.grad(0), axes_in(g)}));
});
NESTOR_OP("any").shape(reduce_shape<Kind::kAny>).cpu(reduce_kernel<Kind::kAny>).no_grad();
NESTOR_OP("all").shape(reduce_shape<Kind::kAll>).cpu(reduce_kernel<Kind::kAll>).no_grad();
NESTOR_OP("logsumexp").shape(reduce_shape<Kind::kLse>).cpu(reduce_kernel<Kind::kLse>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("reduce_logsumexp_grad", {g.input(0), g.output(0), g.grad(0), axes_in(g)}));
});

// range_of_rank(x) = [0, 1, ..., rank(x) - 1] (int32): "every axis" when the rank is unknown.
NESTOR_OP("range_of_rank")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      c.set_output(0, DType::kInt32, PartialShape(Dims{c.shape(0).known_rank() ? c.shape(0).rank() : -1}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      int r = ctx.input(0).rank();
      Tensor& o = ctx.allocate_output(0, DType::kInt32, {r});
      for (int i = 0; i < r; ++i) o.data<int32_t>()[i] = i;
    });

// ---------------------------------------------------------------- gradient helpers
// Shape function of ops whose output is like input 0 (x) and whose last input is axes.
void like_input0(ShapeCtx& c) {
  c.expect_float(0);
  for (int i = 1; i + 1 < c.num_inputs(); ++i) c.expect_same_dtype(0, i);
  if (!is_integer(c.dtype(c.num_inputs() - 1))) c.fail("axes must be int32 or int64");
  c.set_output(0, c.dtype(0), c.shape(0));
}

// broadcast_reduced(g, shape, axes; mean): g, the result of reducing a tensor of `shape`
// over `axes` (with or without keepdims), broadcast back to `shape` (divided by the
// number of reduced elements when `mean`).
NESTOR_OP("broadcast_reduced")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      if (!is_integer(c.dtype(1)) || !is_integer(c.dtype(2))) c.fail("shape and axes must be int32 or int64");
      const Tensor* t = c.constant(1);
      const Node& src = c.graph().node(c.node().inputs[1].node);
      if (t) c.set_output(0, c.dtype(0), PartialShape(t->to_int_vector()));
      else if (src.op == "shape") c.set_output(0, c.dtype(0), c.graph().shape(src.inputs[0]));
      else c.set_output(0, c.dtype(0), PartialShape());
    })
    .grad([](GradCtx& g) {
      Output s = g.op(g.attr_or<bool>("mean", false) ? "mean" : "sum", {g.grad(0), g.input(2)},
                      Attrs{{"keepdims", true}});
      g.set_grad(0, g.reshape(s, g.shape_of(g.input(0))));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& gr = ctx.input(0);
      Dims dims = ctx.input(1).to_int_vector();
      Dims kd = ops::broadcast_reduced_kd(ctx, gr, dims);
      Tensor& o = ctx.allocate_output(0, gr.dtype(), dims);
      NESTOR_DISPATCH_NUMERIC(gr.dtype(), "broadcast_reduced", [&] {
        const scalar_t* pg = gr.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        const scalar_t scale = ops::broadcast_reduced_scale<scalar_t>(ctx, gr, dims, kd);
        // Small outputs whose reduced axes are all trailing (a loss per row back to [rows,
        // classes]) or all leading: plain repeat loops instead of the per-row index mapping.
        size_t lead = 0;
        while (lead < dims.size() && kd[lead] == dims[lead]) ++lead;
        size_t tail = lead;
        while (tail < dims.size() && kd[tail] == 1) ++tail;
        const int64_t n_out = num_elements(dims), n_g = gr.num_elements();
        const bool small = n_out <= 65536 && n_g > 0;  // larger ones go over the pool below
        if (small && tail == dims.size()) {  // kd = [d0..dj, 1, ..., 1]
          const int64_t inner = n_out / n_g;
          for (int64_t r = 0; r < n_g; ++r)
            for (int64_t c = 0; c < inner; ++c) po[r * inner + c] = pg[r] * scale;
          return;
        }
        size_t ones = 0;
        while (ones < dims.size() && kd[ones] == 1) ++ones;
        if (small && std::equal(kd.begin() + static_cast<std::ptrdiff_t>(ones), kd.end(),
                                  dims.begin() + static_cast<std::ptrdiff_t>(ones))) {  // kd = [1, ..., 1, dj..]
          for (int64_t r = 0; r < n_out / n_g; ++r)
            for (int64_t c = 0; c < n_g; ++c) po[r * n_g + c] = pg[c] * scale;
          return;
        }
        for_each_with_reduced(ctx, dims, kd, [&](int64_t i, int64_t j) { po[i] = pg[j] * scale; });
      });
    });

// Runs `Red` over x as the reduction of the op that is being differentiated.
template <typename T, typename Red>
std::vector<typename Red::acc_t> reduce_for_grad(KernelCtx& ctx, const Plan& p, const Red& red) {
  std::vector<typename Red::acc_t> out(static_cast<size_t>(num_elements(p.kd_dims)));
  if (p.identity) {  // each output reduces exactly its own element
    const T* px = p.x.data<T>();
    for (size_t o = 0; o < out.size(); ++o) out[o] = red.finish(red.step(red.init(), px[o], o), o);
  } else {
    reduce3(ctx, p.x.data<T>(), out.data(), p.A, p.R, p.B, red);
  }
  return out;
}

// reduce_extremum_grad(x, y, dy, axes): dy split equally among the elements equal to y.
NESTOR_OP("reduce_extremum_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      like_input0(c);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Plan p = make_plan(ctx, x, ctx.input(3), true);
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), "reduce_extremum_grad", [&] {
        const scalar_t* py = ctx.input(1).data<scalar_t>();
        const scalar_t* pd = ctx.input(2).data<scalar_t>();
        const scalar_t* px = x.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        auto cnt = reduce_for_grad<scalar_t>(ctx, p, CountEqR<scalar_t>{py});
        for_each_with_reduced(ctx, x.dims(), p.kd_dims, [&](int64_t i, int64_t j) {
          po[i] = px[i] == py[j] ? pd[j] / cnt[static_cast<size_t>(j)] : scalar_t(0);
        });
      });
    });

// reduce_prod_grad(x, dy, axes): dy times the product of the other reduced elements (exact
// when some are zero).
NESTOR_OP("reduce_prod_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      like_input0(c);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Plan p = make_plan(ctx, x, ctx.input(2), true);
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), "reduce_prod_grad", [&] {
        const scalar_t* pd = ctx.input(1).data<scalar_t>();
        const scalar_t* px = x.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        auto zp = reduce_for_grad<scalar_t>(ctx, p, ProdNzR<scalar_t>{});
        for_each_with_reduced(ctx, x.dims(), p.kd_dims, [&](int64_t i, int64_t j) {
          const ZeroProd<scalar_t>& a = zp[static_cast<size_t>(j)];
          scalar_t v = px[i];
          if (v != scalar_t(0)) po[i] = a.zeros == 0 ? pd[j] * (a.prod / v) : scalar_t(0);
          else po[i] = a.zeros == 1 ? pd[j] * a.prod : scalar_t(0);
        });
      });
    });

// reduce_logsumexp_grad(x, y, dy, axes) = dy * exp(x - y): dy times the softmax over axes.
NESTOR_OP("reduce_logsumexp_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      like_input0(c);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      std::vector<int64_t> axes = ctx.input(3).to_int_vector();
      Dims kd = reduced_dims(x.dims(), axes_mask(ctx, axes, x.rank()), true);
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), "reduce_logsumexp_grad", [&] {
        const scalar_t* py = ctx.input(1).data<scalar_t>();
        const scalar_t* pd = ctx.input(2).data<scalar_t>();
        const scalar_t* px = x.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        for_each_with_reduced(ctx, x.dims(), kd, [&](int64_t i, int64_t j) { po[i] = pd[j] * std::exp(px[i] - py[j]); });
      });
    });

// ---------------------------------------------------------------- argmax / argmin
template <bool kMax>
void arg_kernel(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& at = ctx.input(1);
  int64_t axis = arg_axis(ctx, x, at);
  int64_t A = 1, B = 1, R = x.dim(static_cast<int>(axis));
  for (int64_t i = 0; i < axis; ++i) A *= x.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < x.rank(); ++i) B *= x.dim(static_cast<int>(i));
  Dims od = x.dims();
  od.erase(od.begin() + axis);
  DType ot = ctx.node().out_dtypes[0];
  Tensor& o = ctx.allocate_output(0, ot, od);
  NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    const T* px = x.data<T>();
    NESTOR_DISPATCH_INDEX(ot, ctx.node().op, [&] {
      scalar_t* po = o.data<scalar_t>();
      parallel_elems(ctx, A * B, [&](int64_t s, int64_t e) {
        for (int64_t q = s; q < e; ++q) {
          const T* p = px + (q / B) * R * B + q % B;
          int64_t best = 0;
          T bv = p[0];
          for (int64_t r = 1; r < R; ++r) {
            T v = p[r * B];
            if (kMax ? v > bv : v < bv) {
              bv = v;
              best = r;
            }
          }
          po[q] = static_cast<scalar_t>(best);
        }
      }, std::max<int64_t>(1, 32768 / std::max<int64_t>(R, 1)));
    });
  });
}

void arg_shape(ShapeCtx& c) {
  c.expect_inputs(2);
  if (!is_numeric(c.dtype(0))) c.fail("input must be numeric, got ", dtype_name(c.dtype(0)));
  if (!is_integer(c.dtype(1))) c.fail("axis must be int32 or int64, got ", dtype_name(c.dtype(1)));
  DType ot = c.attr_or<DType>("output_type", DType::kInt64);
  if (!is_integer(ot)) c.fail("output_type must be int32 or int64, got ", dtype_name(ot));
  const PartialShape& in = c.shape(0);
  const Tensor* t = c.constant(1);
  if (t != nullptr && t->num_elements() != 1) c.fail("axis must be a scalar, got shape ", dims_str(t->dims()));
  if (!in.known_rank()) return c.set_output(0, ot, PartialShape());
  if (t == nullptr) return c.set_output(0, ot, PartialShape::unknown_of_rank(std::max(0, in.rank() - 1)));
  int64_t axis = normalize_axis(c, t->scalar_as_int(0), in.rank());
  Dims od = in.dims();
  od.erase(od.begin() + axis);
  c.set_output(0, ot, PartialShape(od));
}

NESTOR_OP("argmax").shape(arg_shape).no_grad().cpu(arg_kernel<true>);
NESTOR_OP("argmin").shape(arg_shape).no_grad().cpu(arg_kernel<false>);

// ---------------------------------------------------------------- l2_loss, bias_add_grad
// l2_loss(x) = sum(x ** 2) / 2.
NESTOR_OP("l2_loss")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      c.expect_float(0);
      c.set_output(0, c.dtype(0), PartialShape::scalar());
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.mul(g.input(0), g.grad(0))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Tensor& o = ctx.allocate_output(0, x.dtype(), {});
      NESTOR_DISPATCH_FLOAT(x.dtype(), "l2_loss", [&] {
        reduce3(ctx, x.data<scalar_t>(), o.data<scalar_t>(), 1, x.num_elements(), 1, SumSqR<scalar_t>{});
      });
    });

// bias_add_grad(dy) = sum of dy over every axis but the last.
NESTOR_OP("bias_add_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (!is_numeric(c.dtype(0))) c.fail("input must be numeric, got ", dtype_name(c.dtype(0)));
      const PartialShape& s = c.shape(0);
      if (s.known_rank() && s.rank() < 2) c.fail("input must be at least 2-D, got shape ", s.str());
      c.set_output(0, c.dtype(0), PartialShape(Dims{s.known_rank() ? s.dim(s.rank() - 1) : -1}));
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.op("bias_add", {g.zeros_like(g.input(0)), g.grad(0)})); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      if (x.rank() < 2) ctx.fail(Code::kInvalidArgument, "input must be at least 2-D, got shape ", dims_str(x.dims()));
      int64_t C = x.dims().back();
      Tensor& o = ctx.allocate_output(0, x.dtype(), {C});
      int64_t N = C ? x.num_elements() / C : 0;
      NESTOR_DISPATCH_NUMERIC(x.dtype(), "bias_add_grad", [&] {
        if (N * C > 65536 || C == 0) {  // large: reduce3 splits the rows over the pool
          reduce3(ctx, x.data<scalar_t>(), o.data<scalar_t>(), 1, N, C, SumR<scalar_t>{});
          return;
        }
        // Small: sums of G rows at a time into G * C >= 64 partial sums (one contiguous loop
        // that vectorizes even for C = 3), then the G partials of each column are added.
        const int64_t G = (64 + C - 1) / C, L = G * C;
        const scalar_t* px = x.data<scalar_t>();
        std::vector<scalar_t> acc(static_cast<size_t>(L), scalar_t(0));
        scalar_t* pa = acc.data();
        int64_t full = N / G;
        for (int64_t q = 0; q < full; ++q) {
          const scalar_t* blk = px + q * L;
          for (int64_t j = 0; j < L; ++j) pa[j] += blk[j];
        }
        const scalar_t* tail = px + full * L;
        for (int64_t j = 0; j < (N - full * G) * C; ++j) pa[j] += tail[j];
        scalar_t* po = o.data<scalar_t>();
        for (int64_t c = 0; c < C; ++c) {
          scalar_t s = 0;
          for (int64_t g = 0; g < G; ++g) s += pa[g * C + c];
          po[c] = s;
        }
      });
    });

}  // namespace
}  // namespace nestor
