// Host-side rules of the segment and SparseTensor ops, shared by the CPU kernels
// (sparse.cc) and the CUDA kernels (cuda/kernels/sparse.cu) so that both check their inputs
// with the same messages: combiners, index vectors read as int64, segment-id ranges,
// SparseTensor indices within dense_shape, and the sparse matmul's attributes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nestor/op.h"
#include "shape_util.h"

namespace nestor {
namespace sparse_util {

enum class Comb : int { kSum, kMean, kSqrtn };

// The "combiner" attribute: "sum", "mean" (1/count) or "sqrtn" (1/sqrt(count)). Ctx has
// attr_or and fail(Code, ...) (KernelCtx, or a ShapeCtx adaptor).
template <typename Ctx>
Comb combiner(const Ctx& c, const std::string& dflt = "sum") {
  std::string s = c.template attr_or<std::string>("combiner", dflt);
  if (s == "sum") return Comb::kSum;
  if (s == "mean") return Comb::kMean;
  if (s == "sqrtn") return Comb::kSqrtn;
  c.fail(Code::kInvalidArgument, "combiner must be 'sum', 'mean' or 'sqrtn', got '", s, "'");
}

// An int32 or int64 tensor (in host memory) as int64 values.
inline std::vector<int64_t> ints(const Tensor& t, const char* what) {
  std::vector<int64_t> v(static_cast<size_t>(t.num_elements()));
  NESTOR_DISPATCH_INDEX(t.dtype(), what, [&] {
    const scalar_t* p = t.data<scalar_t>();
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int64_t>(p[j]);
  });
  return v;
}

// Elements per row of a tensor of dims `d` below axis k.
inline int64_t row_size(const Dims& d, size_t k) {
  int64_t r = 1;
  for (size_t i = k; i < d.size(); ++i) r *= d[i];
  return r;
}

inline void check_seg_range(const KernelCtx& ctx, const std::vector<int64_t>& seg, int64_t num) {
  for (size_t i = 0; i < seg.size(); ++i)
    if (seg[i] < 0 || seg[i] >= num)
      ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", seg[i], " is out of range [0, ", num, ")");
}

// Checks sp_indices [N, rank] within dense_shape; returns them row-major.
inline std::vector<int64_t> sparse_indices(const KernelCtx& ctx, const Tensor& ind, const Dims& shape, int64_t n) {
  int64_t r = static_cast<int64_t>(shape.size());
  if (ind.rank() != 2 || ind.dim(0) != n || ind.dim(1) != r)
    ctx.fail(Code::kInvalidArgument, "sp_indices must have shape (", n, ", ", r, ") for ", n,
             " values and dense_shape ", dims_str(shape), ", got ", dims_str(ind.dims()));
  std::vector<int64_t> v = ints(ind, "sp_indices");
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < r; ++k) {
      int64_t x = v[static_cast<size_t>(i * r + k)];
      if (x < 0 || x >= shape[static_cast<size_t>(k)])
        ctx.fail(Code::kInvalidArgument, "sp_indices[", i, ", ", k, "] = ", x, " is out of bounds [0, ",
                 shape[static_cast<size_t>(k)], ") of dense_shape ", dims_str(shape));
    }
  return v;
}

// sparse_tensor_dense_matmul's attributes (transpose_output: the gradient's private attr).
struct SpMM {
  bool adj_a, adj_b, tout;
  explicit SpMM(const Node& n)
      : adj_a(n.attrs.get_or<bool>("adjoint_a", false)), adj_b(n.attrs.get_or<bool>("adjoint_b", false)),
        tout(n.attrs.get_or<bool>("transpose_output", false)) {}
};

}  // namespace sparse_util
}  // namespace nestor
