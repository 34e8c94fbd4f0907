// Host-side rules of the segment, SparseTensor and IndexedSlices ops, shared by the CPU
// kernels (sparse.cc, shape_ops.cc) and the CUDA kernels (cuda/kernels/sparse.cu,
// shape_ops.cu) so that both check their inputs with the same messages: combiners, index
// vectors read as int64, segment-id ranges, SparseTensor indices within dense_shape, the
// sparse matmul's attributes, and indexed_slices_to_dense's values and indices.
#pragma once

#include <algorithm>
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

// Checks indices in [0, rows) and segment ids >= 0 (and < num when given); returns num.
inline int64_t check_sparse_segment(const KernelCtx& ctx, int64_t rows, const std::vector<int64_t>& idx,
                                    const std::vector<int64_t>& seg, int64_t num) {
  if (idx.size() != seg.size())
    ctx.fail(Code::kInvalidArgument, "indices has ", idx.size(), " entries but segment_ids has ", seg.size());
  int64_t mx = -1;
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= rows)
      ctx.fail(Code::kInvalidArgument, "indices[", i, "] = ", idx[i], " is not in [0, ", rows, ")");
    if (seg[i] < 0) ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", seg[i], " is negative");
    if (num >= 0 && seg[i] >= num)
      ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", seg[i], " is out of range [0, ", num, ")");
    mx = std::max(mx, seg[i]);
  }
  return num >= 0 ? num : mx + 1;
}

// The checked arguments of a segment reduction: ids, the number of segments and the output's
// dims ([num] + data's dims after the ids' axes).
struct Segments {
  std::vector<int64_t> ids;
  int64_t num = 0;
  Dims out;
};

// segment_*(data, segment_ids): ids sorted, non-negative, one per row of data.
inline Segments sorted_segments(const KernelCtx& ctx, const Tensor& data, const Tensor& sid) {
  Segments s;
  s.ids = ints(sid, "segment_ids");
  const std::vector<int64_t>& ids = s.ids;
  if (data.rank() == 0 || data.dim(0) != static_cast<int64_t>(ids.size()))
    ctx.fail(Code::kInvalidArgument, "segment_ids should be the same size as dimension 0 of data: got ", ids.size(),
             " segment ids for data of shape ", dims_str(data.dims()));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0) ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", ids[i], " is negative");
    if (i && ids[i] < ids[i - 1])
      ctx.fail(Code::kInvalidArgument, "segment ids are not increasing: segment_ids[", i, "] = ", ids[i],
               " < segment_ids[", i - 1, "] = ", ids[i - 1]);
  }
  s.num = ids.empty() ? 0 : ids.back() + 1;
  s.out = data.dims();
  s.out[0] = s.num;
  return s;
}

// unsorted_segment_sum(data, segment_ids, num_segments): ids a prefix of data's shape, each
// < num_segments (negative ids are dropped).
inline Segments unsorted_segments(const KernelCtx& ctx, const Tensor& data, const Tensor& sid,
                                  const Tensor& num_segments) {
  Segments s;
  s.ids = ints(sid, "segment_ids");
  s.num = num_segments.scalar_as_int();
  if (s.num < 0) ctx.fail(Code::kInvalidArgument, "num_segments must be >= 0, got ", s.num);
  bool prefix = sid.rank() <= data.rank();
  for (int i = 0; prefix && i < sid.rank(); ++i) prefix = sid.dim(i) == data.dim(i);
  if (!prefix)
    ctx.fail(Code::kInvalidArgument, "segment_ids of shape ", dims_str(sid.dims()),
             " must be a prefix of data's shape ", dims_str(data.dims()));
  for (size_t i = 0; i < s.ids.size(); ++i)
    if (s.ids[i] >= s.num)
      ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", s.ids[i], " is out of range [0, ", s.num, ")");
  s.out = Dims{s.num};
  s.out.insert(s.out.end(), data.dims().begin() + sid.rank(), data.dims().end());
  return s;
}

// sparse_segment_*(data, indices, segment_ids[, num_segments]): `rows` holds the indices.
inline Segments sparse_segments(const KernelCtx& ctx, std::vector<int64_t>& rows) {
  const Tensor& data = ctx.input(0);
  if (data.rank() == 0) ctx.fail(Code::kInvalidArgument, "data must be at least 1-D, got a scalar");
  Segments s;
  rows = ints(ctx.input(1), "indices");
  s.ids = ints(ctx.input(2), "segment_ids");
  int64_t num = ctx.num_inputs() == 4 ? ctx.input(3).scalar_as_int() : -1;
  if (ctx.num_inputs() == 4 && num < 0) ctx.fail(Code::kInvalidArgument, "num_segments must be >= 0, got ", num);
  s.num = check_sparse_segment(ctx, data.dim(0), rows, s.ids, num);
  s.out = data.dims();
  s.out[0] = s.num;
  return s;
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

// indexed_slices_to_dense(indices, values, dense_shape) into an output of dims `shape`
// (already allocated): rows of the output (1 for a scalar), elements per row, and the
// indices, each checked in [0, rows) in order after values' size.
struct DenseSlices {
  int64_t rows = 0, row = 0;
  std::vector<int64_t> idx;
};
inline DenseSlices dense_slices(const KernelCtx& ctx, const Tensor& idx, const Tensor& val, const Dims& shape) {
  DenseSlices d;
  d.rows = shape.empty() ? 1 : shape[0];
  d.row = d.rows ? num_elements(shape) / std::max<int64_t>(d.rows, 1) : 0;
  const int64_t n = idx.num_elements();
  if (val.num_elements() != n * d.row)
    ctx.fail(Code::kInvalidArgument, "values of shape ", dims_str(val.dims()), " do not match ", n,
             " indices of rows of ", d.row, " elements");
  d.idx = idx.to_int_vector();
  for (int64_t r : d.idx)
    if (r < 0 || r >= d.rows) ctx.fail(Code::kInvalidArgument, "index ", r, " is out of range [0, ", d.rows, ")");
  return d;
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
