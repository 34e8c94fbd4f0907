// Index arithmetic of gather_nd, scatter_nd, tensor_scatter_nd_update and
// tensor_scatter_nd_add, shared by the CPU kernels (cpp/src/ops/gather_nd.cc) and the CUDA
// kernels (cuda/kernels/gather_nd.cu) so that both devices accept the same indices and fail
// with the same messages.
//
// `indices` has dims [B..., R..., depth] where B are the batch_dims leading dims, equal to
// the leading dims of the indexed tensor P (params of gather_nd, the output of the
// scatters). Each index row addresses the slice P[b..., i_0, ..., i_{depth-1}, :...] of
// `slice` elements; gather_nd's output (and the scatters' updates) has dims
// indices.dims[:-1] + P.dims[batch_dims + depth:].
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "nestor/op.h"

namespace nestor {
namespace nd {

struct Plan {
  int64_t batches = 1;       // product of the batch dims
  int64_t rows = 1;          // index rows per batch
  int64_t depth = 0;         // indices.dims[-1]
  int64_t slice = 1;         // elements per addressed slice
  int64_t batch_stride = 1;  // elements of P per batch
  Dims limits, strides;      // extent and element stride of the indexed dims of P
  Dims out_dims;             // indices.dims[:-1] + P.dims[batch_dims + depth:]
  int64_t total_rows() const { return batches * rows; }
};

// "[i, j]": the position of index row `r` in indices.dims[:-1].
inline std::string row_position(const Dims& ind, int64_t r) {
  Dims pos(ind.size() - 1);
  for (size_t k = pos.size(); k-- > 0;) {
    const int64_t d = std::max<int64_t>(ind[k], 1);
    pos[k] = r % d;
    r /= d;
  }
  std::ostringstream s;
  s << "[";
  for (size_t k = 0; k < pos.size(); ++k) s << (k ? ", " : "") << pos[k];
  s << "]";
  return s.str();
}

// "[-1, 3]": integers as they are (dims_str shows negative dims as "?").
inline std::string ints_str(const Dims& v) {
  std::ostringstream s;
  s << "[";
  for (size_t k = 0; k < v.size(); ++k) s << (k ? ", " : "") << v[k];
  s << "]";
  return s.str();
}

// The plan of indexing P (dims `p`, called `what` in messages: "params", "shape",
// "tensor") with indices of dims `ind`. Ctx is anything with fail(Code, ...).
template <typename Ctx>
Plan plan(const Ctx& c, const Dims& p, const Dims& ind, int64_t batch_dims, const char* what) {
  const int64_t pr = static_cast<int64_t>(p.size()), ir = static_cast<int64_t>(ind.size());
  if (ir == 0) c.fail(Code::kInvalidArgument, "indices must be at least 1-D, got a scalar");
  if (batch_dims < 0 || batch_dims >= ir)
    c.fail(Code::kInvalidArgument, "batch_dims ", batch_dims, " must be in [0, rank(indices) = ", ir, ")");
  Plan pl;
  pl.depth = ind.back();
  if (batch_dims + pl.depth > pr)
    c.fail(Code::kInvalidArgument, "index depth (the last dimension of indices, shape ", dims_str(ind), ") ",
           pl.depth, batch_dims ? " plus batch_dims " + std::to_string(batch_dims) : std::string(),
           " exceeds the rank ", pr, " of ", what, " (shape ", dims_str(p), ")");
  for (int64_t k = 0; k < batch_dims; ++k)
    if (p[static_cast<size_t>(k)] != ind[static_cast<size_t>(k)])
      c.fail(Code::kInvalidArgument, "the first batch_dims = ", batch_dims, " dimensions of ", what, " (shape ",
             dims_str(p), ") and indices (shape ", dims_str(ind), ") must be equal");
  for (int64_t k = 0; k < batch_dims; ++k) pl.batches *= p[static_cast<size_t>(k)];
  for (int64_t k = batch_dims; k + 1 < ir; ++k) pl.rows *= ind[static_cast<size_t>(k)];
  for (int64_t k = batch_dims + pl.depth; k < pr; ++k) pl.slice *= p[static_cast<size_t>(k)];
  pl.limits.assign(p.begin() + batch_dims, p.begin() + batch_dims + pl.depth);
  pl.strides.assign(static_cast<size_t>(pl.depth), 0);
  int64_t s = pl.slice;
  for (int64_t k = pl.depth; k-- > 0;) {
    pl.strides[static_cast<size_t>(k)] = s;
    s *= pl.limits[static_cast<size_t>(k)];
  }
  pl.batch_stride = s;
  pl.out_dims.assign(ind.begin(), ind.end() - 1);
  pl.out_dims.insert(pl.out_dims.end(), p.begin() + batch_dims + pl.depth, p.end());
  return pl;
}

// The element offset in P of the slice of every index row (batch-major), checking every
// index against its dimension; `idx` is an int32/int64 host tensor.
template <typename Ctx>
std::vector<int64_t> offsets(const Ctx& c, const Plan& pl, const Tensor& idx, const Dims& p, int64_t batch_dims,
                             const char* what) {
  std::vector<int64_t> off(static_cast<size_t>(pl.total_rows()));
  NESTOR_DISPATCH_INDEX(idx.dtype(), "indices", [&] {
    const scalar_t* pi = idx.data<scalar_t>();
    for (int64_t r = 0; r < pl.total_rows(); ++r) {
      int64_t o = (r / pl.rows) * pl.batch_stride;
      const scalar_t* row = pi + r * pl.depth;
      for (int64_t k = 0; k < pl.depth; ++k) {
        const int64_t v = static_cast<int64_t>(row[k]), lim = pl.limits[static_cast<size_t>(k)];
        if (v < 0 || v >= lim) {
          std::ostringstream vals;
          for (int64_t q = 0; q < pl.depth; ++q) vals << (q ? ", " : "") << static_cast<int64_t>(row[q]);
          c.fail(Code::kInvalidArgument, "indices", row_position(idx.dims(), r), " = [", vals.str(),
                 "] does not index into ", what, " of shape ", dims_str(p), ": ", v, " is not in [0, ", lim,
                 ") (dimension ", batch_dims + k, ")");
        }
        o += v * pl.strides[static_cast<size_t>(k)];
      }
      off[static_cast<size_t>(r)] = o;
    }
  });
  return off;
}

// The scatters' check that updates have the dims gather_nd would give.
template <typename Ctx>
void check_updates(const Ctx& c, const Plan& pl, const Tensor& updates) {
  if (updates.dims() != pl.out_dims)
    c.fail(Code::kInvalidArgument, "updates must have shape ", dims_str(pl.out_dims),
           " (indices.shape[:-1] + shape[depth:]), got ", dims_str(updates.dims()));
}

// tensor_scatter_nd_*'s checks of (tensor, indices, updates): the plan and every index row's
// offset in tensor.
template <typename Ctx>
std::pair<Plan, std::vector<int64_t>> tensor_scatter_plan(const Ctx& c, const Tensor& t, const Tensor& idx,
                                                          const Tensor& updates) {
  Plan pl = plan(c, t.dims(), idx.dims(), 0, "tensor");
  check_updates(c, pl, updates);
  if (updates.dtype() != t.dtype())
    c.fail(Code::kInvalidArgument, "updates must have the dtype of tensor (", dtype_name(t.dtype()), "), got ",
           dtype_name(updates.dtype()));
  std::vector<int64_t> off = offsets(c, pl, idx, t.dims(), 0, "tensor");
  return {std::move(pl), std::move(off)};
}

// scatter_nd's shape input: a vector of non-negative dims.
template <typename Ctx>
Dims scatter_shape(const Ctx& c, const Tensor& shape) {
  if (shape.rank() != 1) c.fail(Code::kInvalidArgument, "shape must be a vector, got shape ", dims_str(shape.dims()));
  Dims d = shape.to_int_vector();
  for (int64_t v : d)
    if (v < 0) c.fail(Code::kInvalidArgument, "shape must be non-negative, got ", ints_str(d));
  return d;
}

}  // namespace nd
}  // namespace nestor
