// TensorBoard summaries as graph ops: summary_scalar, summary_histogram and merge_summary.
// Each produces a serialized `tensorflow.Summary` protobuf as a scalar string tensor. The
// protobuf wire format is written (and, for merge_summary, read) by hand here, so libnestor
// needs no protobuf library. Field numbers follow tensorflow/core/framework/summary.proto:
//   Summary        { repeated Value value = 1; }
//   Summary.Value  { string tag = 1; oneof { float simple_value = 2; HistogramProto histo = 5; } }
//   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
//                    repeated double bucket_limit = 6 [packed], bucket = 7 [packed]; }
#include <cfloat>
#include <cmath>
#include <set>

#include "common.h"

namespace nestor {
namespace {

// ---------------------------------------------------------------- wire format
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, uint32_t field, WireType wt) { put_varint(out, (uint64_t{field} << 3) | wt); }

template <typename T>
void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts (x86-64, aarch64)
  out.append(b, sizeof(T));
}

void put_bytes(std::string& out, uint32_t field, const std::string& s) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, s.size());
  out.append(s);
}

// proto3: a plain (non-oneof) scalar field equal to its default is not written.
void put_double(std::string& out, uint32_t field, double v) {
  if (v == 0.0 && !std::signbit(v)) return;
  put_key(out, field, kFixed64);
  put_le(out, v);
}

void put_packed_doubles(std::string& out, uint32_t field, const std::vector<double>& v) {
  if (v.empty()) return;
  put_key(out, field, kLengthDelimited);
  put_varint(out, v.size() * sizeof(double));
  for (double d : v) put_le(out, d);
}

// One Summary.Value wrapped as a whole Summary message (field 1 of Summary).
std::string summary_with_value(const std::string& value) {
  std::string out;
  put_bytes(out, 1, value);
  return out;
}

// ---------------------------------------------------------------- reading (merge_summary)
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) break;
      uint8_t b = *p++;
      v |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  // Skips a field of wire type `wt`; returns its bytes for length-delimited fields.
  std::string field(uint32_t wt) {
    size_t n = 0;
    switch (wt) {
      case kVarint: varint(); return {};
      case kFixed64: n = 8; break;
      case kFixed32: n = 4; break;
      case kLengthDelimited: n = static_cast<size_t>(varint()); break;
      default: ok = false; return {};
    }
    if (!ok || n > static_cast<size_t>(end - p)) {
      ok = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    return wt == kLengthDelimited ? s : std::string();
  }
};

// Appends the tags of a serialized Summary to `tags`; false if it does not parse.
bool summary_tags(const std::string& bytes, std::vector<std::string>& tags) {
  Reader r{reinterpret_cast<const uint8_t*>(bytes.data()), reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size()};
  while (r.ok && r.p < r.end) {
    uint64_t key = r.varint();
    uint32_t wt = static_cast<uint32_t>(key & 7);
    std::string v = r.field(wt);
    if (!r.ok) return false;
    if ((key >> 3) != 1) continue;
    if (wt != kLengthDelimited) return false;
    Reader vr{reinterpret_cast<const uint8_t*>(v.data()), reinterpret_cast<const uint8_t*>(v.data()) + v.size()};
    std::string tag;
    while (vr.ok && vr.p < vr.end) {
      uint64_t vkey = vr.varint();
      std::string f = vr.field(static_cast<uint32_t>(vkey & 7));
      if (vr.ok && (vkey >> 3) == 1) tag = f;
    }
    if (!vr.ok) return false;
    tags.push_back(tag);
  }
  return r.ok;
}

// ---------------------------------------------------------------- histogram
// TensorFlow's default bucket limits (tensorflow/core/lib/histogram/histogram.cc): limits
// growing by 10% from 1e-12 to 1e20, mirrored for negatives, with 0 in the middle and
// +-DBL_MAX at the ends.
const std::vector<double>& default_bucket_limits() {
  static const std::vector<double> limits = [] {
    std::vector<double> pos, neg;
    for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) {
      pos.push_back(v);
      neg.push_back(-v);
    }
    pos.push_back(DBL_MAX);
    neg.push_back(-DBL_MAX);
    std::vector<double> all(neg.rbegin(), neg.rend());
    all.push_back(0.0);
    all.insert(all.end(), pos.begin(), pos.end());
    return all;
  }();
  return limits;
}

// std::upper_bound(limits, v) - limits.begin() (the first limit above v) without the
// 11-step binary search: the limits grow by 1.1x from 1e-12 on either side of 0, so a guess
// from v's binary exponent and mantissa (log2(1 + f) ~ f, within 0.09) is at most two places
// off, and a short walk makes it exact.
size_t bucket_index(const std::vector<double>& limits, double v) {
  const size_t n = limits.size();
  const size_t zero = (n - 1) / 2;  // the limits are symmetric around their middle entry, 0
  if (v == 0.0) return zero + 1;
  double a = std::fabs(v);
  int64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  double log2a = static_cast<double>((bits >> 52) - 1023) +
                 static_cast<double>(bits & ((int64_t{1} << 52) - 1)) / static_cast<double>(int64_t{1} << 52);
  double k = (log2a + 39.863137138648348) * 7.272540897341713;  // log_1.1(a / 1e-12)
  k = std::min(std::max(k, 0.0), static_cast<double>(n));
  size_t steps = static_cast<size_t>(k);
  size_t b = v > 0 ? std::min(n, zero + 1 + steps) : (steps >= zero ? 0 : zero - steps);
  while (b > 0 && limits[b - 1] > v) --b;
  while (b < n && limits[b] <= v) ++b;
  return b;
}

// Encodes a HistogramProto as TensorFlow's Histogram::EncodeToProto(preserve_zero_buckets=false):
// runs of empty buckets collapse into one entry with the run's last limit.
std::string histogram_proto(const std::vector<double>& values) {
  const std::vector<double>& limits = default_bucket_limits();
  std::vector<double> counts(limits.size(), 0.0);
  double mn = DBL_MAX, mx = -DBL_MAX, num = 0, sum = 0, sum_sq = 0;
  for (double v : values) {
    size_t b = bucket_index(limits, v);
    if (b == limits.size()) b = limits.size() - 1;  // v == DBL_MAX
    counts[b] += 1.0;
    mn = std::min(mn, v);
    mx = std::max(mx, v);
    num += 1.0;
    sum += v;
    sum_sq += v * v;
  }
  std::vector<double> out_limits, out_counts;
  for (size_t i = 0; i < counts.size();) {
    double end = limits[i];
    double count = counts[i];
    ++i;
    if (count <= 0.0) {
      while (i < counts.size() && counts[i] <= 0.0) {
        end = limits[i];
        count = counts[i];
        ++i;
      }
    }
    out_limits.push_back(end);
    out_counts.push_back(count);
  }
  std::string h;
  put_double(h, 1, mn);
  put_double(h, 2, mx);
  put_double(h, 3, num);
  put_double(h, 4, sum);
  put_double(h, 5, sum_sq);
  put_packed_doubles(h, 6, out_limits);
  put_packed_doubles(h, 7, out_counts);
  return h;
}

const std::string& tag_attr(const ShapeCtx& c) {
  const std::string& tag = c.attr<std::string>("tag");
  if (tag.empty()) c.fail("the summary tag must be a non-empty string");
  return tag;
}

void expect_real(const ShapeCtx& c, int i, const char* what) {
  if (!is_numeric(c.dtype(i)))
    c.fail(what, " must be float32, float64, int32 or int64, got ", dtype_name(c.dtype(i)));
}

Tensor& scalar_string_output(KernelCtx& ctx, std::string s) {
  Tensor& o = ctx.allocate_output(0, DType::kString, {});
  o.data<std::string>()[0] = std::move(s);
  return o;
}

// summary_scalar(value) {tag}: a Summary with one simple_value (float, as TensorFlow).
NESTOR_OP("summary_scalar")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      tag_attr(c);
      expect_real(c, 0, "the value of a scalar summary");
      const PartialShape& s = c.shape(0);
      if (s.known_rank() && s.rank() != 0)
        c.fail("the value of scalar summary '", c.attr<std::string>("tag"), "' must be a scalar, got shape ",
               s.str());
      c.set_output(0, DType::kString, PartialShape(Dims{}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const std::string& tag = ctx.attr<std::string>("tag");
      if (x.num_elements() != 1 || !x.dims().empty())
        ctx.fail(Code::kInvalidArgument, "the value of scalar summary '", tag, "' must be a scalar, got shape ",
                 dims_str(x.dims()));
      float v = 0.f;
      NESTOR_DISPATCH_NUMERIC(x.dtype(), "summary_scalar", [&] { v = static_cast<float>(x.data<scalar_t>()[0]); });
      std::string value;
      put_bytes(value, 1, tag);
      put_key(value, 2, kFixed32);  // oneof member: always written, even when 0
      put_le(value, v);
      scalar_string_output(ctx, summary_with_value(value));
    });

// summary_histogram(values) {tag}: a Summary with one HistogramProto over all elements.
NESTOR_OP("summary_histogram")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      tag_attr(c);
      expect_real(c, 0, "the values of a histogram summary");
      c.set_output(0, DType::kString, PartialShape(Dims{}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const std::string& tag = ctx.attr<std::string>("tag");
      std::vector<double> values(static_cast<size_t>(x.num_elements()));
      NESTOR_DISPATCH_NUMERIC(x.dtype(), "summary_histogram", [&] {
        const scalar_t* p = x.data<scalar_t>();
        for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(p[i]);
      });
      for (size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i]))
          ctx.fail(Code::kInvalidArgument, "Nan in summary histogram for: ", tag, " (element ", i, " is ",
                   values[i], ")");
      std::string value;
      put_bytes(value, 1, tag);
      put_bytes(value, 5, histogram_proto(values));  // oneof member: always written
      scalar_string_output(ctx, summary_with_value(value));
    });

// merge_summary(s_1, ..., s_N): the Summary holding every value of every input (string
// tensors of any shape). Concatenation is a merge in the wire format (repeated fields
// append); duplicate tags are an error, as in TensorFlow.
NESTOR_OP("merge_summary")
    .shape([](ShapeCtx& c) {
      if (c.num_inputs() < 1) c.fail("merge_summary needs at least one input");
      for (int i = 0; i < c.num_inputs(); ++i)
        if (c.dtype(i) != DType::kString)
          c.fail("input ", i, " must be a string tensor of serialized Summary protos, got ", dtype_name(c.dtype(i)));
      c.set_output(0, DType::kString, PartialShape(Dims{}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      std::string out;
      std::set<std::string> seen;
      for (int i = 0; i < ctx.num_inputs(); ++i) {
        const Tensor& t = ctx.input(i);
        const std::string* s = t.data<std::string>();
        for (int64_t k = 0; k < t.num_elements(); ++k) {
          std::vector<std::string> tags;
          if (!summary_tags(s[k], tags))
            ctx.fail(Code::kInvalidArgument, "Could not parse one of the summary inputs (input ", i, ", element ",
                     k, ", ", s[k].size(), " bytes)");
          for (const auto& tag : tags)
            if (!seen.insert(tag).second)
              ctx.fail(Code::kInvalidArgument, "Duplicate tag ", tag, " found in summary inputs");
          out.append(s[k]);
        }
      }
      scalar_string_output(ctx, std::move(out));
    });

}  // namespace
}  // namespace nestor
