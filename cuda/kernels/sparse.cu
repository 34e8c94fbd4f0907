// CUDA kernels for cpp/src/ops/sparse.cc: segment_sum/mean/sqrt_n, unsorted_segment_sum
// (combiners), segment_gather_grad, dim_size, sparse_segment_sum/mean/sqrt_n,
// sparse_segment_weighted_sum and its grad, segment_normalize_weights and its grad,
// sparse_tensor_dense_matmul and its values grad, sparse_tensor_to_dense.
//
// Segment ids, indices, num_segments, sp_indices and dense_shape are host-memory inputs:
// the output shapes depend on their values, and the host checks them with the CPU
// kernels' messages. The host groups the positions of each segment (CSR, copied to the
// device in one transfer); one thread per output element then adds its segment's rows in
// the CPU's order with products rounded before the add (mul_rn), so the sums are
// deterministic, use no atomics and reproduce the CPU's bits. Segments no id names are
// zero. sparse_tensor_to_dense stays on the CPU for non-float values (ids and strings feed
// host-side consumers).
#include <cmath>
#include <unordered_set>

#include "kernels/index_util.cuh"
#include "ops/sparse_util.h"

namespace nestor {
namespace cuda {
namespace {

using sparse_util::check_seg_range;
using sparse_util::check_sparse_segment;
using sparse_util::Segments;
using sparse_util::sorted_segments;
using sparse_util::sparse_segments;
using sparse_util::unsorted_segments;
using sparse_util::Comb;
using sparse_util::combiner;
using sparse_util::row_size;
using sparse_util::sparse_indices;
using sparse_util::SpMM;

// The CPU's scale_of: 1, 1/count or 1/sqrt(count) (correctly rounded on both devices).
template <typename T>
__device__ T scale_of(Comb c, int64_t count) {
  if constexpr (std::is_floating_point<T>::value) {
    if (c == Comb::kSum || count == 0) return T(1);
    if (c == Comb::kMean) return T(1) / static_cast<T>(count);
    return T(1) / sqrt(static_cast<T>(count));
  } else {
    return c == Comb::kSum || count == 0 ? T(1) : T(1) / static_cast<T>(count);
  }
}

void zero(CudaBackend& be, Tensor& t) {
  if (t.nbytes()) NESTOR_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), be.stream()));
}

// ---------------------------------------------------------------- segment reductions
// out[keys[u]] = sum over the positions p of group u (in order) of w_p * data[row_p],
// w_p = (weights ? weights[p] : 1) * scale(group size), row_p = rows ? rows[k] : p.
template <typename T>
struct SegArgs {
  const T* data = nullptr;
  const T* weights = nullptr;
  const int64_t* keys = nullptr;
  const int64_t* offsets = nullptr;
  const int64_t* pos = nullptr;   // null: position k of the grouping is k (sorted ids)
  const int64_t* rows = nullptr;  // data row of grouped position k; null: the position
  int64_t groups = 0, inner = 0;
  Comb comb = Comb::kSum;
  T* out = nullptr;
};

template <typename T>
__global__ void segment_reduce_kernel(SegArgs<T> a) {
  NESTOR_GRID_STRIDE(e, a.groups * a.inner) {
    const int64_t u = e / a.inner, j = e % a.inner;
    const int64_t b = a.offsets[u], end = a.offsets[u + 1];
    const T scale = scale_of<T>(a.comb, end - b);
    T acc = T(0);
    for (int64_t k = b; k < end; ++k) {
      const int64_t p = a.pos ? a.pos[k] : k;
      const int64_t r = a.rows ? a.rows[k] : p;
      const T w = a.weights ? mul_rn(a.weights[p], scale) : scale;
      acc += mul_rn(w, a.data[r * a.inner + j]);
    }
    a.out[a.keys[u] * a.inner + j] = acc;
  }
}

// Zeroes `o` and launches the reduction of the groups `gr` (positions `rows` into data).
template <typename T>
void segment_reduce(CudaBackend& be, const Tensor& data, const T* weights, const Groups& gr, bool identity_pos,
                    const std::vector<int64_t>* rows, Comb comb, Tensor& o, int64_t inner) {
  zero(be, o);
  const int64_t n = gr.size() * inner;
  if (n == 0) return;
  static const std::vector<int64_t> kNone;
  DeviceInts dev(be, {&gr.keys, &gr.offsets, identity_pos ? &kNone : &gr.pos, rows ? rows : &kNone});
  SegArgs<T> a;
  a.data = data.data<T>();
  a.weights = weights;
  a.keys = dev.part(0);
  a.offsets = dev.part(1);
  a.pos = dev.part(2);
  a.rows = dev.part(3);
  a.groups = gr.size();
  a.inner = inner;
  a.comb = comb;
  a.out = o.data<T>();
  segment_reduce_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(a);
  NESTOR_CUDA_CHECK_LAUNCH();
}

// segment_*(data, segment_ids): ids sorted, so each segment is a run of positions.
void segment_kernel(KernelCtx& ctx, Comb comb) {
  const Tensor& data = ctx.input(0);
  Segments s = sorted_segments(ctx, data, ctx.input(1));
  const std::vector<int64_t>& ids = s.ids;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, data.dtype(), s.out);
  Groups gr;  // runs of equal ids
  gr.offsets.push_back(0);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 0 || ids[i] != ids[i - 1]) {
      if (i) gr.offsets.push_back(static_cast<int64_t>(i));
      gr.keys.push_back(ids[i]);
    }
  }
  if (!ids.empty()) gr.offsets.push_back(static_cast<int64_t>(ids.size()));
  NESTOR_DISPATCH_NUMERIC(data.dtype(), ctx.node().op, [&] {
    segment_reduce<scalar_t>(be, data, nullptr, gr, true, nullptr, comb, o, row_size(data.dims(), 1));
  });
}

const KernelPlacement kIdsOnHost{{1}, {}, nullptr};
const KernelPlacementRegistrar p_segment_sum("segment_sum", DeviceType::kCuda, kIdsOnHost);
const KernelPlacementRegistrar p_segment_mean("segment_mean", DeviceType::kCuda, kIdsOnHost);
const KernelPlacementRegistrar p_segment_sqrt_n("segment_sqrt_n", DeviceType::kCuda, kIdsOnHost);
NESTOR_REGISTER_KERNEL("segment_sum", DeviceType::kCuda, [](KernelCtx& ctx) { segment_kernel(ctx, Comb::kSum); });
NESTOR_REGISTER_KERNEL("segment_mean", DeviceType::kCuda, [](KernelCtx& ctx) { segment_kernel(ctx, Comb::kMean); });
NESTOR_REGISTER_KERNEL("segment_sqrt_n", DeviceType::kCuda, [](KernelCtx& ctx) { segment_kernel(ctx, Comb::kSqrtn); });

// unsorted_segment_sum(data, segment_ids, num_segments; combiner): negative ids dropped.
const KernelPlacementRegistrar p_unsorted("unsorted_segment_sum", DeviceType::kCuda,
                                          KernelPlacement{{1, 2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("unsorted_segment_sum", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& sid = ctx.input(1);
  Comb comb = combiner(ctx);
  Segments s = unsorted_segments(ctx, data, sid, ctx.input(2));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, data.dtype(), s.out);
  Groups gr = group_by_key(s.ids, s.num, true);
  NESTOR_DISPATCH_NUMERIC(data.dtype(), "unsorted_segment_sum", [&] {
    segment_reduce<scalar_t>(be, data, nullptr, gr, false, nullptr, comb, o,
                             row_size(data.dims(), static_cast<size_t>(sid.rank())));
  });
}));

// dim_size(x; axis): only x's dims are read; the int64 result is a host-memory output (it
// is a num_segments, read on the host by its consumers).
const KernelPlacementRegistrar p_dim_size("dim_size", DeviceType::kCuda, KernelPlacement{{}, {0}, nullptr});
NESTOR_REGISTER_KERNEL("dim_size", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = x.rank(), a = ctx.attr_or<int64_t>("axis", 0);
  if (a < -rank || a >= rank) ctx.fail(Code::kInvalidArgument, "axis ", a, " is out of range for rank ", rank);
  if (a < 0) a += rank;
  Tensor o = Tensor::empty(DType::kInt64, {}, cpu_allocator());
  o.data<int64_t>()[0] = x.dim(static_cast<int>(a));
  ctx.set_output(0, o);
}));

// segment_gather_grad(g, segment_ids; combiner): out[i, :] = g[ids[i], :] * scale(count).
template <typename T>
__global__ void segment_gather_grad_kernel(const T* g, const int64_t* ids, const int64_t* counts, T* o, int64_t total,
                                           int64_t inner, Comb comb) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t i = e / inner, j = e % inner;
    const int64_t s = ids[i];
    o[e] = s < 0 ? T(0) : mul_rn(scale_of<T>(comb, counts[s]), g[s * inner + j]);
  }
}

const KernelPlacementRegistrar p_sgg("segment_gather_grad", DeviceType::kCuda, kIdsOnHost);
NESTOR_REGISTER_KERNEL("segment_gather_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& gt = ctx.input(0);
  const Tensor& sid = ctx.input(1);
  std::vector<int64_t> ids = host_ints(sid, "segment_ids");
  Comb comb = combiner(ctx);
  if (gt.rank() == 0) ctx.fail(Code::kInvalidArgument, "grad must be at least 1-D");
  int64_t num = gt.dim(0);
  std::vector<int64_t> count(static_cast<size_t>(num), 0);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= num)
      ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", ids[i], " is out of range [0, ", num, ")");
    if (ids[i] >= 0) ++count[static_cast<size_t>(ids[i])];
  }
  Dims od = sid.dims();
  od.insert(od.end(), gt.dims().begin() + 1, gt.dims().end());
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, gt.dtype(), od);
  const int64_t inner = row_size(gt.dims(), 1), total = o.num_elements();
  NESTOR_DISPATCH_FLOAT(gt.dtype(), "segment_gather_grad", [&] {
    if (total == 0) return;
    DeviceInts dev(be, {&ids, &count});
    segment_gather_grad_kernel<scalar_t><<<blocks_for(total), kThreads, 0, be.stream()>>>(
        gt.data<scalar_t>(), dev.part(0), dev.part(1), o.data<scalar_t>(), total, inner, comb);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- sparse_segment_*
// Groups positions by segment id, and the data row of each grouped position.
Groups group_segments(const std::vector<int64_t>& idx, const std::vector<int64_t>& seg, int64_t num,
                      std::vector<int64_t>& rows) {
  Groups gr = group_by_key(seg, num, false);
  rows.resize(gr.pos.size());
  for (size_t k = 0; k < rows.size(); ++k) rows[k] = idx[static_cast<size_t>(gr.pos[k])];
  return gr;
}

void sparse_segment_kernel(KernelCtx& ctx, Comb comb) {
  const Tensor& data = ctx.input(0);
  std::vector<int64_t> idx;
  Segments s = sparse_segments(ctx, idx);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, data.dtype(), s.out);
  std::vector<int64_t> rows;
  Groups gr = group_segments(idx, s.ids, s.num, rows);
  NESTOR_DISPATCH_FLOAT(data.dtype(), ctx.node().op, [&] {
    segment_reduce<scalar_t>(be, data, nullptr, gr, false, &rows, comb, o, row_size(data.dims(), 1));
  });
}

const KernelPlacement kSparseSegmentHost{{1, 2, 3}, {}, nullptr};
const KernelPlacementRegistrar p_ss_sum("sparse_segment_sum", DeviceType::kCuda, kSparseSegmentHost);
const KernelPlacementRegistrar p_ss_mean("sparse_segment_mean", DeviceType::kCuda, kSparseSegmentHost);
const KernelPlacementRegistrar p_ss_sqrtn("sparse_segment_sqrt_n", DeviceType::kCuda, kSparseSegmentHost);
NESTOR_REGISTER_KERNEL("sparse_segment_sum", DeviceType::kCuda,
                       [](KernelCtx& ctx) { sparse_segment_kernel(ctx, Comb::kSum); });
NESTOR_REGISTER_KERNEL("sparse_segment_mean", DeviceType::kCuda,
                       [](KernelCtx& ctx) { sparse_segment_kernel(ctx, Comb::kMean); });
NESTOR_REGISTER_KERNEL("sparse_segment_sqrt_n", DeviceType::kCuda,
                       [](KernelCtx& ctx) { sparse_segment_kernel(ctx, Comb::kSqrtn); });

// sparse_segment_weighted_sum(data, indices, weights, segment_ids, num_segments).
const KernelPlacementRegistrar p_ssw("sparse_segment_weighted_sum", DeviceType::kCuda,
                                     KernelPlacement{{1, 3, 4}, {}, nullptr});
NESTOR_REGISTER_KERNEL("sparse_segment_weighted_sum", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& data = ctx.input(0);
  if (data.rank() == 0) ctx.fail(Code::kInvalidArgument, "data must be at least 1-D, got a scalar");
  std::vector<int64_t> idx = host_ints(ctx.input(1), "indices"), seg = host_ints(ctx.input(3), "segment_ids");
  if (ctx.input(2).num_elements() != static_cast<int64_t>(idx.size()))
    ctx.fail(Code::kInvalidArgument, "weights has ", ctx.input(2).num_elements(), " entries but indices has ",
             idx.size());
  int64_t num = ctx.input(4).scalar_as_int();
  if (num < 0) ctx.fail(Code::kInvalidArgument, "num_segments must be >= 0, got ", num);
  check_sparse_segment(ctx, data.dim(0), idx, seg, num);
  Dims od = data.dims();
  od[0] = num;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, data.dtype(), od);
  std::vector<int64_t> rows;
  Groups gr = group_segments(idx, seg, num, rows);
  NESTOR_DISPATCH_FLOAT(data.dtype(), "sparse_segment_weighted_sum", [&] {
    segment_reduce<scalar_t>(be, data, ctx.input(2).data<scalar_t>(), gr, false, &rows, Comb::kSum, o,
                             row_size(data.dims(), 1));
  });
}));

// (g, data, indices, weights, segment_ids) -> (values[i] = g[seg[i]] * w[i],
// dweights[i] = <g[seg[i]], data[indices[i]]>, summed in column order as on the CPU).
template <typename T>
__global__ void ssw_values_kernel(const T* g, const T* w, const int64_t* seg, T* v, int64_t total, int64_t inner) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t i = e / inner, j = e % inner;
    v[e] = mul_rn(g[seg[i] * inner + j], w[i]);
  }
}

template <typename T>
__global__ void ssw_dweights_kernel(const T* g, const T* d, const int64_t* idx, const int64_t* seg, T* dw, int64_t n,
                                    int64_t inner) {
  NESTOR_GRID_STRIDE(i, n) {
    const T* gr = g + seg[i] * inner;
    const T* dr = d + idx[i] * inner;
    T acc = T(0);
    for (int64_t j = 0; j < inner; ++j) acc += mul_rn(gr[j], dr[j]);
    dw[i] = acc;
  }
}

const KernelPlacementRegistrar p_sswg("sparse_segment_weighted_sum_grad", DeviceType::kCuda,
                                      KernelPlacement{{2, 4}, {}, nullptr});
NESTOR_REGISTER_KERNEL("sparse_segment_weighted_sum_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& gt = ctx.input(0);
  const Tensor& data = ctx.input(1);
  std::vector<int64_t> idx = host_ints(ctx.input(2), "indices"), seg = host_ints(ctx.input(4), "segment_ids");
  const Tensor& w = ctx.input(3);
  // The forward op checked these; the CPU grad trusts them, the device re-checks (no
  // out-of-bounds reads on the GPU).
  if (data.rank() == 0 || gt.rank() == 0 || row_size(gt.dims(), 1) != row_size(data.dims(), 1))
    ctx.fail(Code::kInvalidArgument, "grad of shape ", dims_str(gt.dims()), " does not match data of shape ",
             dims_str(data.dims()));
  if (w.num_elements() != static_cast<int64_t>(idx.size()))
    ctx.fail(Code::kInvalidArgument, "weights has ", w.num_elements(), " entries but indices has ", idx.size());
  check_sparse_segment(ctx, data.dim(0), idx, seg, gt.dim(0));
  int64_t n = static_cast<int64_t>(idx.size()), inner = row_size(data.dims(), 1);
  Dims vd = data.dims();
  vd[0] = n;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& v = ctx.allocate_output(0, gt.dtype(), vd);
  Tensor& dw = ctx.allocate_output(1, gt.dtype(), {n});
  NESTOR_DISPATCH_FLOAT(gt.dtype(), "sparse_segment_weighted_sum_grad", [&] {
    using T = scalar_t;
    if (n == 0) return;
    DeviceInts dev(be, {&idx, &seg});
    if (v.num_elements() > 0) {
      ssw_values_kernel<T><<<blocks_for(v.num_elements()), kThreads, 0, be.stream()>>>(
          gt.data<T>(), w.data<T>(), dev.part(1), v.data<T>(), v.num_elements(), inner);
      NESTOR_CUDA_CHECK_LAUNCH();
    }
    ssw_dweights_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(gt.data<T>(), data.data<T>(), dev.part(0),
                                                                        dev.part(1), dw.data<T>(), n, inner);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- segment_normalize_weights
// norms[u] = sum over group u (in order) of w (mean) or w^2 then sqrt (sqrtn); with
// kGrad also t[u] = sum of g * w.
template <typename T, bool kGrad>
__global__ void segment_norms_kernel(const T* w, const T* g, const int64_t* offsets, const int64_t* pos, T* norms,
                                     T* t, int64_t groups, Comb comb) {
  NESTOR_GRID_STRIDE(u, groups) {
    T s = T(0), tt = T(0);
    for (int64_t k = offsets[u]; k < offsets[u + 1]; ++k) {
      const T x = w[pos[k]];
      s += comb == Comb::kMean ? x : mul_rn(x, x);
      if (kGrad) tt += mul_rn(g[pos[k]], x);
    }
    norms[u] = comb == Comb::kSqrtn ? sqrt(s) : s;
    if (kGrad) t[u] = tt;
  }
}

template <typename T>
__global__ void normalize_kernel(const T* w, const int64_t* grp, const T* norms, T* o, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    const T d = norms[grp[i]];
    o[i] = d == T(0) ? T(0) : w[i] / d;
  }
}

template <typename T>
__global__ void normalize_grad_kernel(const T* g, const T* w, const int64_t* grp, const T* norms, const T* t, T* o,
                                      int64_t n, Comb comb) {
  NESTOR_GRID_STRIDE(i, n) {
    const T S = norms[grp[i]], ti = t[grp[i]];
    T r = T(0);
    if (S != T(0)) r = comb == Comb::kMean ? g[i] / S - ti / (S * S) : g[i] / S - w[i] * ti / (S * S * S);
    o[i] = r;
  }
}

// Groups by segment and the group of each position.
Groups group_weights(const std::vector<int64_t>& seg, int64_t num, std::vector<int64_t>& grp) {
  Groups gr = group_by_key(seg, num, false);
  grp.assign(seg.size(), 0);
  for (int64_t u = 0; u < gr.size(); ++u)
    for (int64_t k = gr.offsets[static_cast<size_t>(u)]; k < gr.offsets[static_cast<size_t>(u) + 1]; ++k)
      grp[static_cast<size_t>(gr.pos[static_cast<size_t>(k)])] = u;
  return gr;
}

const KernelPlacementRegistrar p_snw("segment_normalize_weights", DeviceType::kCuda,
                                     KernelPlacement{{1, 2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("segment_normalize_weights", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& w = ctx.input(0);
  std::vector<int64_t> seg = host_ints(ctx.input(1), "segment_ids");
  int64_t num = ctx.input(2).scalar_as_int();
  Comb comb = combiner(ctx, "mean");
  if (w.num_elements() != static_cast<int64_t>(seg.size()))
    ctx.fail(Code::kInvalidArgument, "weights has ", w.num_elements(), " entries but segment_ids has ", seg.size());
  check_seg_range(ctx, seg, num);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, w.dtype(), w.dims());
  NESTOR_DISPATCH_FLOAT(w.dtype(), "segment_normalize_weights", [&] {
    using T = scalar_t;
    const int64_t n = static_cast<int64_t>(seg.size());
    if (n == 0) return;
    std::vector<int64_t> grp;
    Groups gr = group_weights(seg, num, grp);
    DeviceInts dev(be, {&gr.offsets, &gr.pos, &grp});
    Tensor norms = Tensor::empty(w.dtype(), {gr.size()}, be.allocator());
    segment_norms_kernel<T, false><<<blocks_for(gr.size()), kThreads, 0, be.stream()>>>(
        w.data<T>(), nullptr, dev.part(0), dev.part(1), norms.data<T>(), nullptr, gr.size(), comb);
    NESTOR_CUDA_CHECK_LAUNCH();
    normalize_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(w.data<T>(), dev.part(2), norms.data<T>(),
                                                                     o.data<T>(), n);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

const KernelPlacementRegistrar p_snwg("segment_normalize_weights_grad", DeviceType::kCuda,
                                      KernelPlacement{{2, 3}, {}, nullptr});
NESTOR_REGISTER_KERNEL("segment_normalize_weights_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& gt = ctx.input(0);
  const Tensor& w = ctx.input(1);
  std::vector<int64_t> seg = host_ints(ctx.input(2), "segment_ids");
  int64_t num = ctx.input(3).scalar_as_int();
  Comb comb = combiner(ctx, "mean");
  check_seg_range(ctx, seg, num);
  // The CPU grad trusts these sizes (checked by the forward op); the device re-checks.
  if (w.num_elements() != static_cast<int64_t>(seg.size()) || gt.num_elements() != w.num_elements())
    ctx.fail(Code::kInvalidArgument, "grad has ", gt.num_elements(), " and weights ", w.num_elements(),
             " entries but segment_ids has ", seg.size());
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, w.dtype(), w.dims());
  NESTOR_DISPATCH_FLOAT(w.dtype(), "segment_normalize_weights_grad", [&] {
    using T = scalar_t;
    const int64_t n = static_cast<int64_t>(seg.size());
    if (n == 0) return;
    std::vector<int64_t> grp;
    Groups gr = group_weights(seg, num, grp);
    DeviceInts dev(be, {&gr.offsets, &gr.pos, &grp});
    Tensor norms = Tensor::empty(w.dtype(), {2 * gr.size()}, be.allocator());
    T* s = norms.data<T>();
    T* t = s + gr.size();
    segment_norms_kernel<T, true><<<blocks_for(gr.size()), kThreads, 0, be.stream()>>>(
        w.data<T>(), gt.data<T>(), dev.part(0), dev.part(1), s, t, gr.size(), comb);
    NESTOR_CUDA_CHECK_LAUNCH();
    normalize_grad_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(gt.data<T>(), w.data<T>(), dev.part(2), s,
                                                                          t, o.data<T>(), n, comb);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- SparseTensor ops

// One thread per (distinct row i of op(A), column j): sum over i's entries p (in order) of
// v[p] * op(B)[k_p, j].
template <typename T>
__global__ void spmm_kernel(const T* v, const T* b, const int64_t* rows, const int64_t* offsets, const int64_t* pos,
                            const int64_t* kk, T* o, int64_t total, int64_t n, int64_t m, int64_t bs, bool adj_b,
                            bool tout) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t u = e / n, j = e % n;
    T acc = T(0);
    for (int64_t q = offsets[u]; q < offsets[u + 1]; ++q) {
      const int64_t p = pos[q], k = kk[p];
      acc += mul_rn(v[p], adj_b ? b[j * bs + k] : b[k * bs + j]);
    }
    const int64_t i = rows[u];
    (tout ? o[j * m + i] : o[i * n + j]) = acc;
  }
}

const KernelPlacementRegistrar p_spmm("sparse_tensor_dense_matmul", DeviceType::kCuda,
                                      KernelPlacement{{0, 2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("sparse_tensor_dense_matmul", DeviceType::kCuda, ([](KernelCtx& ctx) {
  SpMM a(ctx.node());
  const Tensor& vals = ctx.input(1);
  const Tensor& b = ctx.input(3);
  Dims shape = ctx.input(2).to_int_vector();
  if (shape.size() != 2) ctx.fail(Code::kInvalidArgument, "dense_shape must have 2 entries, got ", dims_str(shape));
  if (vals.rank() != 1) ctx.fail(Code::kInvalidArgument, "sp_values must be 1-D, got ", dims_str(vals.dims()));
  if (b.rank() != 2) ctx.fail(Code::kInvalidArgument, "b must be 2-D, got ", dims_str(b.dims()));
  int64_t nnz = vals.dim(0);
  std::vector<int64_t> ind = sparse_indices(ctx, ctx.input(0), shape, nnz);
  int64_t m = a.adj_a ? shape[1] : shape[0], k = a.adj_a ? shape[0] : shape[1];
  int64_t kb = a.adj_b ? b.dim(1) : b.dim(0), n = a.adj_b ? b.dim(0) : b.dim(1);
  if (k != kb)
    ctx.fail(Code::kInvalidArgument, "cannot multiply A of dense_shape ", dims_str(shape), " by b of shape ",
             dims_str(b.dims()), a.adj_a || a.adj_b ? " (after adjoints)" : "");
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, vals.dtype(), a.tout ? Dims{n, m} : Dims{m, n});
  NESTOR_DISPATCH_FLOAT(vals.dtype(), "sparse_tensor_dense_matmul", [&] {
    using T = scalar_t;
    zero(be, o);
    std::vector<int64_t> ri(static_cast<size_t>(nnz)), kk(static_cast<size_t>(nnz));
    for (size_t p = 0; p < ri.size(); ++p) {
      ri[p] = ind[2 * p + (a.adj_a ? 1 : 0)];
      kk[p] = ind[2 * p + (a.adj_a ? 0 : 1)];
    }
    Groups gr = group_by_key(ri, m, false);
    const int64_t total = gr.size() * n;
    if (total == 0) return;
    DeviceInts dev(be, {&gr.keys, &gr.offsets, &gr.pos, &kk});
    spmm_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(vals.data<T>(), b.data<T>(), dev.part(0),
                                                                     dev.part(1), dev.part(2), dev.part(3),
                                                                     o.data<T>(), total, n, m, b.dim(1), a.adj_b,
                                                                     a.tout);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// d sp_values[p] = sum_j G[i_p, j] * op(B)[k_p, j] (j in order, as on the CPU).
template <typename T>
__global__ void spmm_values_grad_kernel(const T* g, const T* b, const int64_t* ri, const int64_t* kk, T* o,
                                        int64_t nnz, int64_t n, int64_t gs, int64_t bs, bool adj_b, bool tout) {
  NESTOR_GRID_STRIDE(p, nnz) {
    const int64_t i = ri[p], k = kk[p];
    T acc = T(0);
    for (int64_t j = 0; j < n; ++j)
      acc += mul_rn(tout ? g[j * gs + i] : g[i * gs + j], adj_b ? b[j * bs + k] : b[k * bs + j]);
    o[p] = acc;
  }
}

const KernelPlacementRegistrar p_spmm_vg("sparse_tensor_dense_matmul_values_grad", DeviceType::kCuda,
                                         KernelPlacement{{0}, {}, nullptr});
NESTOR_REGISTER_KERNEL("sparse_tensor_dense_matmul_values_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  SpMM a(ctx.node());
  const Tensor& ind = ctx.input(0);
  const Tensor& gt = ctx.input(1);
  const Tensor& b = ctx.input(2);
  // The CPU grad trusts its inputs (checked by the forward op); the device re-checks them
  // so that no read is out of bounds.
  if (ind.rank() != 2 || ind.dim(1) != 2 || gt.rank() != 2 || b.rank() != 2)
    ctx.fail(Code::kInvalidArgument, "sp_indices of shape ", dims_str(ind.dims()), ", grad of shape ",
             dims_str(gt.dims()), " and b of shape ", dims_str(b.dims()), " do not form a sparse-dense matmul");
  int64_t nnz = ind.dim(0);
  std::vector<int64_t> iv = host_ints(ind, "sp_indices");
  int64_t n = a.adj_b ? b.dim(0) : b.dim(1), bs = b.dim(1), gs = gt.dim(1);
  int64_t gm = a.tout ? gt.dim(1) : gt.dim(0), gn = a.tout ? gt.dim(0) : gt.dim(1);
  int64_t bk = a.adj_b ? b.dim(1) : b.dim(0);
  if (gn != n)
    ctx.fail(Code::kInvalidArgument, "grad of shape ", dims_str(gt.dims()), " does not match b of shape ",
             dims_str(b.dims()));
  std::vector<int64_t> ri(static_cast<size_t>(nnz)), kk(static_cast<size_t>(nnz));
  for (int64_t p = 0; p < nnz; ++p) {
    int64_t r = iv[static_cast<size_t>(2 * p)], c = iv[static_cast<size_t>(2 * p + 1)];
    ri[static_cast<size_t>(p)] = a.adj_a ? c : r;
    kk[static_cast<size_t>(p)] = a.adj_a ? r : c;
    if (ri[static_cast<size_t>(p)] < 0 || ri[static_cast<size_t>(p)] >= gm || kk[static_cast<size_t>(p)] < 0 ||
        kk[static_cast<size_t>(p)] >= bk)
      ctx.fail(Code::kInvalidArgument, "sp_indices[", p, "] = [", r, ", ", c, "] is out of bounds for grad of shape ",
               dims_str(gt.dims()), " and b of shape ", dims_str(b.dims()));
  }
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, gt.dtype(), {nnz});
  NESTOR_DISPATCH_FLOAT(gt.dtype(), "sparse_tensor_dense_matmul_values_grad", [&] {
    using T = scalar_t;
    if (nnz == 0) return;
    DeviceInts dev(be, {&ri, &kk});
    spmm_values_grad_kernel<T><<<blocks_for(nnz), kThreads, 0, be.stream()>>>(
        gt.data<T>(), b.data<T>(), dev.part(0), dev.part(1), o.data<T>(), nnz, n, gs, bs, a.adj_b, a.tout);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// sparse_tensor_to_dense(sp_indices, sp_values, dense_shape, default_value; validate_indices).
// Without validate_indices, repeated positions keep the last value (the CPU writes them in
// order): the host keeps only the last entry per position, so the scatter has no races.
template <typename T>
__global__ void fill_kernel(T* o, const T* v, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) o[i] = *v;
}

template <typename T>
__global__ void scatter_kernel(const T* vals, const int64_t* lin, const int64_t* src, T* o, int64_t n) {
  NESTOR_GRID_STRIDE(q, n) o[lin[q]] = vals[src[q]];
}

bool floating_output(const Node& n) { return is_floating(n.out_dtypes[0]); }
const KernelPlacementRegistrar p_s2d("sparse_tensor_to_dense", DeviceType::kCuda,
                                     KernelPlacement{{0, 2}, {}, floating_output});
NESTOR_REGISTER_KERNEL("sparse_tensor_to_dense", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& vals = ctx.input(1);
  Dims shape = ctx.input(2).to_int_vector();
  int64_t n = vals.num_elements();
  std::vector<int64_t> ind = sparse_indices(ctx, ctx.input(0), shape, n);
  const bool ordered = ctx.attr_or<bool>("validate_indices", true);
  const size_t r = shape.size();
  std::vector<int64_t> lin(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = 0;
    for (size_t k = 0; k < r; ++k) p = p * shape[k] + ind[static_cast<size_t>(i) * r + k];
    lin[static_cast<size_t>(i)] = p;
    if (ordered && i > 0 && p <= lin[static_cast<size_t>(i - 1)])
      ctx.fail(Code::kInvalidArgument, "sp_indices[", i, "] is ",
               p == lin[static_cast<size_t>(i - 1)] ? "repeated" : "out of order",
               " (use sparse.reorder to sort a SparseTensor)");
  }
  const Tensor& dflt = ctx.input(3);
  if (dflt.num_elements() != 1)
    ctx.fail(Code::kInvalidArgument, "default_value must be a scalar, got shape ", dims_str(dflt.dims()));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, vals.dtype(), shape);
  std::vector<int64_t> keep_lin, keep_src;
  if (ordered) {
    keep_lin = lin;
    keep_src.resize(lin.size());
    for (size_t i = 0; i < keep_src.size(); ++i) keep_src[i] = static_cast<int64_t>(i);
  } else {
    std::unordered_set<int64_t> seen;
    seen.reserve(lin.size());
    for (size_t i = lin.size(); i-- > 0;)
      if (seen.insert(lin[i]).second) {
        keep_lin.push_back(lin[i]);
        keep_src.push_back(static_cast<int64_t>(i));
      }
  }
  NESTOR_DISPATCH_FLOAT(vals.dtype(), "sparse_tensor_to_dense", [&] {
    using T = scalar_t;
    const int64_t total = o.num_elements(), kept = static_cast<int64_t>(keep_lin.size());
    if (total == 0) return;
    fill_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(o.data<T>(), dflt.data<T>(), total);
    NESTOR_CUDA_CHECK_LAUNCH();
    if (kept == 0) return;
    DeviceInts dev(be, {&keep_lin, &keep_src});
    scatter_kernel<T><<<blocks_for(kept), kThreads, 0, be.stream()>>>(vals.data<T>(), dev.part(0), dev.part(1),
                                                                       o.data<T>(), kept);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
