#include "common.h"

namespace nestor {
namespace ops {

PartialShape broadcast_shapes(const ShapeCtx& c, const PartialShape& a, const PartialShape& b) {
  if (!a.known_rank() || !b.known_rank()) return PartialShape::unknown();
  size_t r = std::max(a.dims().size(), b.dims().size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.dims().size() ? 1 : a.dims()[i - (r - a.dims().size())];
    int64_t db = i < r - b.dims().size() ? 1 : b.dims()[i - (r - b.dims().size())];
    if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da < 0) out[i] = db;
    else if (db < 0) out[i] = da;
    else if (da == db) out[i] = da;
    else c.fail("shapes ", a.str(), " and ", b.str(), " are not broadcast-compatible");
    if (out[i] == 1 && (da < 0 || db < 0)) out[i] = -1;
  }
  return PartialShape(out);
}

BroadcastIndex::BroadcastIndex(const Dims& out, const Dims& in) : out_dims(out), strides(out.size(), 0) {
  size_t off = out.size() - in.size();
  int64_t s = 1;
  for (size_t i = in.size(); i-- > 0;) {
    strides[i + off] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  inner_stride = out.empty() ? 0 : strides.back();
}

int64_t BroadcastIndex::row_offset(int64_t row) const {
  int64_t off = 0;
  for (size_t i = out_dims.size() - 1; i-- > 0;) {
    int64_t d = out_dims[i];
    off += (row % d) * strides[i];
    row /= d;
  }
  return off;
}

void binary_same_dtype(ShapeCtx& c) {
  c.expect_inputs(2);
  c.expect_same_dtype(0, 1);
  c.set_output(0, c.dtype(0), broadcast_shapes(c, c.shape(0), c.shape(1)));
}

void binary_to_bool(ShapeCtx& c) {
  c.expect_inputs(2);
  c.expect_same_dtype(0, 1);
  c.set_output(0, DType::kBool, broadcast_shapes(c, c.shape(0), c.shape(1)));
}

}  // namespace ops
}  // namespace nestor
