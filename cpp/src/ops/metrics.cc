// Streaming-metric kernels. confusion_at_thresholds counts, in one pass over the batch,
// the weighted true positives, false positives, true negatives and false negatives of
// `predictions > threshold` for every threshold (tf.compat.v1.metrics' *_at_thresholds
// and auc), without materialising [T, N] comparison tensors.
//
// inputs:  labels (any non-string dtype; nonzero = positive, N elements),
//          predictions (float32/float64, N elements, each in [0, 1]),
//          weights (float32, 1 or N elements),
//          thresholds (float32 [T], any order)
// outputs: tp, fp, tn, fn (float32 [T]); sums are accumulated in float64.
//
// Algorithm: the thresholds are sorted once; each example lands in bucket k = the number of
// thresholds strictly below its prediction (binary search, O(log T)), and per-bucket label
// histograms are prefix-summed: the example counts as predicted positive for the k
// smallest thresholds. O(N log T + T log T) time, O(T) memory per thread.
#include <cmath>
#include <limits>
#include <numeric>

#include "common.h"

namespace nestor {
namespace {

void confusion_shape(ShapeCtx& c) {
  c.expect_inputs(4);
  if (c.dtype(0) == DType::kString) c.fail("labels must be numeric or bool, got string");
  c.expect_float(1);
  c.expect_dtype(2, DType::kFloat32);
  c.expect_dtype(3, DType::kFloat32);
  c.expect_rank(3, 1);
  const PartialShape& ls = c.shape(0);
  const PartialShape& ps = c.shape(1);
  if (ls.fully_defined() && ps.fully_defined() && ls.num_elements() != ps.num_elements())
    c.fail("labels of shape ", ls.str(), " and predictions of shape ", ps.str(),
           " must have the same number of elements");
  const PartialShape& ws = c.shape(2);
  if (ws.fully_defined() && ps.fully_defined() && ws.num_elements() != 1 &&
      ws.num_elements() != ps.num_elements())
    c.fail("weights of shape ", ws.str(), " must have 1 element or as many as predictions of shape ", ps.str());
  PartialShape out = PartialShape(Dims{c.shape(3).dim(0)});
  for (int i = 0; i < 4; ++i) c.set_output(i, DType::kFloat32, out);
}

void confusion_cpu(KernelCtx& ctx) {
  const Tensor& labels = ctx.input(0);
  const Tensor& preds = ctx.input(1);
  const Tensor& weights = ctx.input(2);
  const Tensor& thr = ctx.input(3);
  const int64_t n = preds.num_elements();
  const int64_t t = thr.num_elements();
  if (labels.num_elements() != n)
    ctx.fail(Code::kInvalidArgument, "labels have ", labels.num_elements(), " elements (shape ",
             dims_str(labels.dims()), "), predictions have ", n, " (shape ", dims_str(preds.dims()), ")");
  const int64_t nw = weights.num_elements();
  if (nw != 1 && nw != n)
    ctx.fail(Code::kInvalidArgument, "weights of shape ", dims_str(weights.dims()),
             " must have 1 element or as many as predictions (", n, ")");
  const float* tp_in = thr.data<float>();
  std::vector<int64_t> order(t);
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int64_t j = 0; j < t; ++j)
    if (std::isnan(tp_in[j])) ctx.fail(Code::kInvalidArgument, "threshold ", j, " is NaN");
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return tp_in[a] < tp_in[b]; });
  std::vector<float> sorted(t);
  for (int64_t j = 0; j < t; ++j) sorted[j] = tp_in[order[j]];

  const int64_t grain = 16384;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(ctx.pool().num_threads(), (n + grain - 1) / grain));
  const int64_t per = chunks ? (n + chunks - 1) / chunks : 0;
  const int64_t nb = t + 1;
  std::vector<double> hist(static_cast<size_t>(chunks * 2 * nb), 0.0);  // [chunk][pos|neg][bucket]
  std::vector<int64_t> bad(chunks, -1);
  const float* w = weights.data<float>();

  NESTOR_DISPATCH_FLOAT(preds.dtype(), "confusion_at_thresholds", [&] {
    using P = scalar_t;
    const P* p = preds.data<P>();
    NESTOR_DISPATCH_POD(labels.dtype(), "confusion_at_thresholds", [&] {
      const scalar_t* l = labels.data<scalar_t>();
      auto run = [&](int64_t cb, int64_t ce) {
        for (int64_t ch = cb; ch < ce; ++ch) {
          double* pos = hist.data() + ch * 2 * nb;
          double* neg = pos + nb;
          const int64_t b = ch * per, e = std::min(n, b + per);
          for (int64_t i = b; i < e; ++i) {
            const P v = p[i];
            if (!(v >= P(0) && v <= P(1))) {
              bad[ch] = i;
              break;
            }
            const float fv = static_cast<float>(v);
            const int64_t k = std::lower_bound(sorted.begin(), sorted.end(), fv) - sorted.begin();
            const double wi = nw == 1 ? w[0] : w[i];
            if (l[i] != scalar_t(0)) pos[k] += wi; else neg[k] += wi;
          }
        }
      };
      if (chunks == 1) run(0, 1); else ctx.pool().parallel_for(chunks, 1, run);
    });
    for (int64_t ch = 0; ch < chunks; ++ch)
      if (bad[ch] >= 0)
        ctx.fail(Code::kInvalidArgument, "predictions must be in [0, 1]: predictions[", bad[ch], "] = ",
                 static_cast<double>(p[bad[ch]]));
  });

  std::vector<double> pos(nb, 0.0), neg(nb, 0.0);
  for (int64_t ch = 0; ch < chunks; ++ch)
    for (int64_t k = 0; k < nb; ++k) {
      pos[k] += hist[ch * 2 * nb + k];
      neg[k] += hist[ch * 2 * nb + nb + k];
    }
  float* tp = ctx.allocate_output(0, DType::kFloat32, Dims{t}).data<float>();
  float* fp = ctx.allocate_output(1, DType::kFloat32, Dims{t}).data<float>();
  float* tn = ctx.allocate_output(2, DType::kFloat32, Dims{t}).data<float>();
  float* fn = ctx.allocate_output(3, DType::kFloat32, Dims{t}).data<float>();
  // Example in bucket k is predicted positive for sorted thresholds j < k.
  double pos_above = 0, neg_above = 0, pos_below = 0, neg_below = 0;
  for (int64_t j = 0; j < t; ++j) {
    pos_below += pos[j];
    neg_below += neg[j];
    fn[order[j]] = static_cast<float>(pos_below);
    tn[order[j]] = static_cast<float>(neg_below);
  }
  for (int64_t j = t - 1; j >= 0; --j) {
    pos_above += pos[j + 1];
    neg_above += neg[j + 1];
    tp[order[j]] = static_cast<float>(pos_above);
    fp[order[j]] = static_cast<float>(neg_above);
  }
}

NESTOR_OP("confusion_at_thresholds").shape(confusion_shape).no_grad().cpu(confusion_cpu);

}  // namespace
}  // namespace nestor
