// Window geometry of the NHWC 2-D convolution and pooling ops (cpp/src/ops/conv.cc,
// cuda/kernels/conv.cu): TensorFlow's output sizes and SAME padding arithmetic.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nestor/op.h"
#include "nestor/tensor.h"

namespace nestor {
namespace ops {

// Output extent of one spatial axis and the padding before it, as TensorFlow computes them:
// VALID: ceil((in - k + 1) / s), no padding; SAME: ceil(in / s), total padding
// max((out - 1) * s + k - in, 0), of which total / 2 goes before. out = -1 when in < 0 (unknown).
struct AxisWindow {
  int64_t out = -1;
  int64_t pad_before = 0;
};
inline AxisWindow window_axis(int64_t in, int64_t k, int64_t s, bool same) {
  AxisWindow a;
  if (in < 0) return a;
  if (same) {
    a.out = (in + s - 1) / s;
    int64_t total = std::max<int64_t>((a.out - 1) * s + k - in, 0);
    a.pad_before = total / 2;
  } else {
    a.out = in >= k ? (in - k + s) / s : 0;
  }
  return a;
}

// The attributes "strides" (and "ksize" for pooling): 4 ints [1, h, w, 1]; "padding": SAME or VALID.
struct WindowAttrs {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1;
  bool same = false;
};

// Reads strides / ksize / padding; `fail` reports an invalid value (a ShapeCtx or KernelCtx).
template <typename Ctx>
WindowAttrs window_attrs(const Ctx& c, bool pool) {
  auto four = [&](const char* name) {
    const std::vector<int64_t>& v = c.template attr<std::vector<int64_t>>(name);
    if (v.size() != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      fail(Code::kInvalidArgument, "op '", c.node().name, "' (", c.node().op, "): ", name,
           " must be [1, h, w, 1] with h, w >= 1 (NHWC; no batch or channel stride), got [", s, "]");
    }
    return std::array<int64_t, 2>{v[1], v[2]};
  };
  WindowAttrs w;
  auto s = four("strides");
  w.sh = s[0];
  w.sw = s[1];
  if (pool) {
    auto k = four("ksize");
    w.kh = k[0];
    w.kw = k[1];
  }
  const std::string& p = c.template attr<std::string>("padding");
  if (p != "SAME" && p != "VALID")
    fail(Code::kInvalidArgument, "op '", c.node().name, "' (", c.node().op,
         "): padding must be \"SAME\" or \"VALID\", got \"", p, "\"");
  w.same = p == "SAME";
  return w;
}

// Full geometry of one NHWC window op at run time.
struct ConvGeom {
  int64_t n = 0, h = 0, w = 0, c = 0;  // input
  int64_t kh = 1, kw = 1, oc = 0;      // window (filter [kh, kw, c, oc]; pooling: oc = c)
  int64_t sh = 1, sw = 1;
  int64_t oh = 0, ow = 0, pad_t = 0, pad_l = 0;
  Dims out_dims() const { return {n, oh, ow, oc}; }
  int64_t rows() const { return n * oh * ow; }     // output pixels
  int64_t patch() const { return kh * kw * c; }    // im2col row length
};

inline ConvGeom make_geom(const Dims& in, int64_t kh, int64_t kw, int64_t oc, const WindowAttrs& a) {
  ConvGeom g;
  g.n = in[0];
  g.h = in[1];
  g.w = in[2];
  g.c = in[3];
  g.kh = kh;
  g.kw = kw;
  g.oc = oc;
  g.sh = a.sh;
  g.sw = a.sw;
  AxisWindow ah = window_axis(g.h, kh, a.sh, a.same), aw = window_axis(g.w, kw, a.sw, a.same);
  g.oh = ah.out;
  g.ow = aw.out;
  g.pad_t = ah.pad_before;
  g.pad_l = aw.pad_before;
  return g;
}

// Run-time checks shared by the CPU and CUDA kernels: (input, filter) of a convolution ->
// its geometry.
inline ConvGeom conv_geom(const KernelCtx& ctx, const Dims& x, const Dims& f) {
  if (x.size() != 4 || f.size() != 4)
    ctx.fail(Code::kInvalidArgument, "input must be 4-D and filter 4-D, got shapes ", dims_str(x), " and ",
             dims_str(f));
  if (x[3] != f[2])
    ctx.fail(Code::kInvalidArgument, "input has ", x[3], " channels (shape ", dims_str(x), ") but the filter expects ",
             f[2], " (shape ", dims_str(f), ")");
  WindowAttrs a = window_attrs(ctx, false);
  if (f[0] < 1 || f[1] < 1 || (!a.same && (x[1] < f[0] || x[2] < f[1])))
    ctx.fail(Code::kInvalidArgument, "computed output size would be negative: input shape ", dims_str(x),
             ", filter shape ", dims_str(f), a.same ? "" : " with VALID padding");
  return make_geom(x, f[0], f[1], f[3], a);
}

// The input of a pooling op -> its geometry.
inline ConvGeom pool_geom(const KernelCtx& ctx, const Dims& x) {
  if (x.size() != 4) ctx.fail(Code::kInvalidArgument, "input must be 4-D, got shape ", dims_str(x));
  WindowAttrs a = window_attrs(ctx, true);
  if (!a.same && (x[1] < a.kh || x[2] < a.kw))
    ctx.fail(Code::kInvalidArgument, "computed output size would be negative: input shape ", dims_str(x), ", window ",
             a.kh, "x", a.kw, " with VALID padding");
  return make_geom(x, a.kh, a.kw, x[3], a);
}

// Checks dy against the geometry the forward op gives for (input, filter).
inline void check_dy(const KernelCtx& ctx, const ConvGeom& g, const Tensor& dy) {
  if (dy.dims() != g.out_dims())
    ctx.fail(Code::kInvalidArgument, "dy of shape ", dims_str(dy.dims()), " does not match the output ",
             dims_str(g.out_dims()), " of the forward op");
}

}  // namespace ops
}  // namespace nestor
