// CUDA kernels for cpp/src/ops/nn.cc: softmax, log_softmax and their grads, the softmax
// and sigmoid cross entropies, bias_add. Softmax-like ops work on lanes along `axis`
// (element r of lane q at (q / B) * R * B + q % B + r * B), one thread per lane.
#include <cmath>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

struct Lanes {
  int64_t A = 1, R = 1, B = 1;
  int64_t count() const { return A * B; }
};

Lanes lanes_of(const KernelCtx& ctx, const Dims& d, int64_t axis) {
  if (d.empty()) ctx.fail(Code::kInvalidArgument, "input must have rank >= 1, got a scalar");
  int64_t rank = static_cast<int64_t>(d.size());
  if (axis < -rank || axis >= rank) ctx.fail(Code::kInvalidArgument, "axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  Lanes l;
  for (int64_t i = 0; i < axis; ++i) l.A *= d[static_cast<size_t>(i)];
  l.R = d[static_cast<size_t>(axis)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < d.size(); ++i) l.B *= d[i];
  return l;
}

template <typename T>
__device__ T lane_max(const T* p, int64_t R, int64_t st) {
  T m = -INFINITY;
  for (int64_t r = 0; r < R; ++r) m = p[r * st] > m ? p[r * st] : m;
  return m;
}

template <typename T, bool kLog>
__global__ void softmax_kernel(const T* x, T* y, int64_t lanes, int64_t R, int64_t B) {
  NESTOR_GRID_STRIDE(q, lanes) {
    int64_t off = (q / B) * R * B + q % B;
    const T* p = x + off;
    T* o = y + off;
    T m = lane_max(p, R, B);
    T s = 0;
    for (int64_t r = 0; r < R; ++r) {
      T e = exp(p[r * B] - m);
      if (!kLog) o[r * B] = e;
      s += e;
    }
    if (kLog) {
      T ls = log(s);
      for (int64_t r = 0; r < R; ++r) o[r * B] = (p[r * B] - m) - ls;
    } else {
      T inv = T(1) / s;
      for (int64_t r = 0; r < R; ++r) o[r * B] *= inv;
    }
  }
}

template <bool kLog>
void softmax_host(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Lanes l = lanes_of(ctx, x.dims(), ctx.attr_or<int64_t>("axis", -1));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  if (x.num_elements() == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
    softmax_kernel<scalar_t, kLog><<<blocks_for(l.count()), kThreads, 0, be.stream()>>>(
        x.data<scalar_t>(), o.data<scalar_t>(), l.count(), l.R, l.B);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}
NESTOR_REGISTER_KERNEL("softmax", DeviceType::kCuda, softmax_host<false>);
NESTOR_REGISTER_KERNEL("log_softmax", DeviceType::kCuda, softmax_host<true>);

void check_same_dims(const KernelCtx& ctx, const Tensor& a, const Tensor& b, const char* what) {
  if (a.dims() != b.dims())
    ctx.fail(Code::kInvalidArgument, what, " must have the same shape, got ", dims_str(a.dims()), " and ",
             dims_str(b.dims()));
}

// softmax_grad(dy, y) = (dy - sum(dy * y)) * y; log_softmax_grad(dy, y) = dy - exp(y) * sum(dy).
template <typename T, bool kLog>
__global__ void softmax_grad_kernel(const T* dy, const T* y, T* o, int64_t lanes, int64_t R, int64_t B) {
  NESTOR_GRID_STRIDE(q, lanes) {
    int64_t off = (q / B) * R * B + q % B;
    T s = 0;
    for (int64_t r = 0; r < R; ++r) s += kLog ? dy[off + r * B] : dy[off + r * B] * y[off + r * B];
    for (int64_t r = 0; r < R; ++r) {
      int64_t i = off + r * B;
      o[i] = kLog ? dy[i] - exp(y[i]) * s : (dy[i] - s) * y[i];
    }
  }
}

template <bool kLog>
void softmax_grad_host(KernelCtx& ctx) {
  const Tensor& dy = ctx.input(0);
  const Tensor& y = ctx.input(1);
  check_same_dims(ctx, dy, y, "dy and y");
  Lanes l = lanes_of(ctx, y.dims(), ctx.attr_or<int64_t>("axis", -1));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, y.dtype(), y.dims());
  if (y.num_elements() == 0) return;
  NESTOR_DISPATCH_FLOAT(y.dtype(), ctx.node().op, [&] {
    softmax_grad_kernel<scalar_t, kLog><<<blocks_for(l.count()), kThreads, 0, be.stream()>>>(
        dy.data<scalar_t>(), y.data<scalar_t>(), o.data<scalar_t>(), l.count(), l.R, l.B);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}
NESTOR_REGISTER_KERNEL("softmax_grad", DeviceType::kCuda, softmax_grad_host<false>);
NESTOR_REGISTER_KERNEL("log_softmax_grad", DeviceType::kCuda, softmax_grad_host<true>);

// loss = sum(-labels * log_softmax(logits)), backprop = softmax(logits) * sum(labels) - labels.
template <typename T>
__global__ void softmax_xent_kernel(const T* x, const T* z, T* loss, T* bp, int64_t lanes, int64_t R, int64_t B) {
  NESTOR_GRID_STRIDE(q, lanes) {
    int64_t off = (q / B) * R * B + q % B;
    T m = lane_max(x + off, R, B);
    T s = 0, zsum = 0;
    for (int64_t r = 0; r < R; ++r) {
      s += exp(x[off + r * B] - m);
      zsum += z[off + r * B];
    }
    T ls = log(s), acc = 0;
    for (int64_t r = 0; r < R; ++r) {
      int64_t i = off + r * B;
      T lsm = (x[i] - m) - ls;
      if (z[i] != T(0)) acc -= z[i] * lsm;
      bp[i] = exp(lsm) * zsum - z[i];
    }
    loss[q] = acc;
  }
}

NESTOR_REGISTER_KERNEL("softmax_cross_entropy_with_logits", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& z = ctx.input(1);
  check_same_dims(ctx, x, z, "logits and labels");
  int64_t axis = ctx.attr_or<int64_t>("axis", -1);
  Lanes l = lanes_of(ctx, x.dims(), axis);
  Dims ld = x.dims();
  ld.erase(ld.begin() + (axis < 0 ? axis + x.rank() : axis));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& loss = ctx.allocate_output(0, x.dtype(), ld);
  Tensor& bp = ctx.allocate_output(1, x.dtype(), x.dims());
  if (l.count() == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
    softmax_xent_kernel<scalar_t><<<blocks_for(l.count()), kThreads, 0, be.stream()>>>(
        x.data<scalar_t>(), z.data<scalar_t>(), loss.data<scalar_t>(), bp.data<scalar_t>(), l.count(), l.R, l.B);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// loss = logsumexp(logits) - logits[label], backprop = softmax(logits) - onehot(label).
template <typename T, typename I>
__global__ void sparse_xent_kernel(const T* x, const I* z, T* loss, T* bp, int64_t N, int64_t C) {
  NESTOR_GRID_STRIDE(q, N) {
    const T* p = x + q * C;
    T m = lane_max(p, C, 1);
    T s = 0;
    for (int64_t r = 0; r < C; ++r) s += exp(p[r] - m);
    T ls = log(s);
    for (int64_t r = 0; r < C; ++r) bp[q * C + r] = exp((p[r] - m) - ls);
    int64_t lab = static_cast<int64_t>(z[q]);
    bp[q * C + lab] -= T(1);
    loss[q] = ls - (p[lab] - m);
  }
}

// The labels are validated on the host (the CPU kernel's error for out-of-range labels),
// then copied to the device.
const KernelPlacementRegistrar sparse_xent_place("sparse_softmax_cross_entropy_with_logits", DeviceType::kCuda,
                                                 KernelPlacement{{1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("sparse_softmax_cross_entropy_with_logits", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& z = ctx.input(1);
  check_sparse_labels(ctx, x, z);
  int64_t C = x.dims().back(), N = z.num_elements();
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& loss = ctx.allocate_output(0, x.dtype(), z.dims());
  Tensor& bp = ctx.allocate_output(1, x.dtype(), x.dims());
  if (N == 0) return;
  Tensor zd = be.copy_from(z);
  NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    NESTOR_DISPATCH_INDEX(z.dtype(), ctx.node().op, [&] {
      sparse_xent_kernel<T, scalar_t><<<blocks_for(N), kThreads, 0, be.stream()>>>(
          x.data<T>(), zd.data<scalar_t>(), loss.data<T>(), bp.data<T>(), N, C);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  });
}));

template <typename T>
struct SigmoidXent {
  __device__ T operator()(T x, T z) const { return (x > T(0) ? x : T(0)) - x * z + log1p(exp(-fabs(x))); }
};

NESTOR_REGISTER_KERNEL("sigmoid_cross_entropy_with_logits", DeviceType::kCuda, ([](KernelCtx& ctx) {
  check_same_dims(ctx, ctx.input(0), ctx.input(1), "logits and labels");
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), ctx.node().op,
                        [&] { launch_binary<scalar_t, scalar_t>(ctx, SigmoidXent<scalar_t>{}); });
}));

template <typename T>
__global__ void sigmoid_xent_grad_kernel(const T* x, const T* z, const T* d, T* o, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    T v = x[i];
    T sig = v >= T(0) ? T(1) / (T(1) + exp(-v)) : exp(v) / (T(1) + exp(v));
    o[i] = d[i] * (sig - z[i]);
  }
}

NESTOR_REGISTER_KERNEL("sigmoid_cross_entropy_with_logits_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  check_same_dims(ctx, x, ctx.input(1), "logits and labels");
  check_same_dims(ctx, x, ctx.input(2), "logits and dy");
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  int64_t n = x.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
    sigmoid_xent_grad_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(
        x.data<scalar_t>(), ctx.input(1).data<scalar_t>(), ctx.input(2).data<scalar_t>(), o.data<scalar_t>(), n);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

template <typename T>
__global__ void bias_add_kernel(const T* v, const T* b, T* o, int64_t n, int64_t C) {
  NESTOR_GRID_STRIDE(i, n) o[i] = v[i] + b[i % C];
}

NESTOR_REGISTER_KERNEL("bias_add", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& v = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (v.rank() < 2 || b.rank() != 1 || b.dim(0) != v.dims().back())
    ctx.fail(Code::kInvalidArgument, "bias of shape ", dims_str(b.dims()),
             " must be 1-D and match the last dimension of value of shape ", dims_str(v.dims()),
             " (value at least 2-D)");
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, v.dtype(), v.dims());
  int64_t n = v.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_NUMERIC(v.dtype(), "bias_add", [&] {
    bias_add_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(v.data<scalar_t>(), b.data<scalar_t>(),
                                                                          o.data<scalar_t>(), n, b.dim(0));
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
