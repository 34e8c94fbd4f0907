// parse_example: serialized tf.train.Example protos -> dense Tensors and SparseTensors
// (tf.io.parse_example / parse_single_example), one node for every key of a spec.
//
// Inputs:  serialized   string [batch] (or a scalar: one example, no batch dimension)
//          names        string, same shape as serialized (only with attr has_names = true;
//                       used in error messages)
//          defaults...  one per dense key; its dtype is the key's dtype (float32, int64 or
//                       string); 0 elements = required, else exactly prod(shape) elements
// Attrs:   dense_keys, dense_ranks, dense_dims (the dense shapes, concatenated),
//          sparse_keys, sparse_types ("float32", "int64" or "string" per sparse key)
// Outputs: sparse_indices x S (int64 [n, 2]), sparse_values x S ([n]),
//          sparse_shapes x S (int64 [2] = [batch, max values per example]),
//          dense_values x D ([batch] + shape)     (a scalar input drops the batch dimension)
//
// The wire format is decoded by a small bounds-checked reader, no protobuf library:
//   Example{Features features = 1}  Features{map<string, Feature> feature = 1}
//   Feature{oneof{BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3}}
//   {Bytes,Float,Int64}List{repeated value = 1}  (floats and ints packed or not, mixed allowed)
// Strictness follows TensorFlow's parser: unknown fields are skipped in an Example and in the
// value lists, rejected in Features, map entries and Feature; a map entry needs its key and
// value; `features` given twice merges and a repeated key takes the last value (as protobuf).
// A Feature with no list is a missing feature. Where TensorFlow is lax and protobuf rejects the
// bytes (a length past the end, packed floats whose length is not a multiple of 4) this reader
// rejects them too; a Feature holding two value lists (TF keeps the first, protobuf the last)
// is rejected as ambiguous.
#include <string_view>
#include <unordered_map>

#include "common.h"

namespace nestor {
namespace {

enum Kind : int { kNone = 0, kBytes = 1, kFloat = 2, kInt64 = 3 };
enum Wire : int { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

const char* kind_name(int k) {
  return k == kBytes ? "bytes_list (string)" : k == kFloat ? "float_list (float32)" : "int64_list (int64)";
}
int kind_of(DType d) { return d == DType::kString ? kBytes : d == DType::kFloat32 ? kFloat : kInt64; }

// A bounds-checked protobuf wire reader over [p, end). Every read returns false on bad bytes
// and leaves a reason in `err`.
struct Reader {
  const uint8_t* begin;
  const uint8_t* p;
  const uint8_t* end;
  const char* err = nullptr;

  Reader(const uint8_t* b, const uint8_t* e) : begin(b), p(b), end(e) {}
  bool done() const { return p >= end; }
  bool bad(const char* why) {
    err = why;
    return false;
  }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p >= end) return bad("truncated varint");
      uint8_t b = *p++;
      if (shift == 63 && b > 1) return bad("varint longer than 64 bits");
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return bad("varint longer than 10 bytes");
  }
  bool tag(int& field, int& wire) {
    uint64_t t;
    if (!varint(t)) return false;
    wire = static_cast<int>(t & 7);
    if ((t >> 3) == 0 || (t >> 3) > 0x1FFFFFFF) return bad("invalid field number");
    field = static_cast<int>(t >> 3);
    if (wire != kVarint && wire != kFixed64 && wire != kLen && wire != kFixed32)
      return bad(wire == 3 || wire == 4 ? "groups (wire types 3 and 4) are not allowed" : "invalid wire type");
    return true;
  }
  bool bytes(size_t n, const uint8_t*& out) {
    if (n > static_cast<size_t>(end - p)) return bad("length past the end of the message");
    out = p;
    p += n;
    return true;
  }
  bool len_delimited(Reader& sub) {
    uint64_t n;
    const uint8_t* q;
    if (!varint(n)) return false;
    if (n > static_cast<uint64_t>(end - p)) return bad("length past the end of the message");
    if (!bytes(static_cast<size_t>(n), q)) return false;
    sub = Reader(q, q + n);
    return true;
  }
  bool skip(int wire) {
    uint64_t v;
    const uint8_t* q;
    switch (wire) {
      case kVarint: return varint(v);
      case kFixed64: return bytes(8, q);
      case kFixed32: return bytes(4, q);
      default: {
        Reader sub(nullptr, nullptr);
        return len_delimited(sub);
      }
    }
  }
  size_t offset() const { return static_cast<size_t>(p - begin); }
};

// The value list of one Feature: its kind and the bytes of the list message.
struct List {
  int kind = kNone;
  const uint8_t* p = nullptr;
  const uint8_t* end = nullptr;
};

// Visits the values of a list message: fn(Reader& r, int wire) is called on each value
// field (wire type already checked) and must consume it; other fields are skipped.
template <typename F>
bool for_each_value_field(const List& l, Reader& r, F&& fn) {
  r = Reader(l.p, l.end);
  while (!r.done()) {
    int field, wire;
    if (!r.tag(field, wire)) return false;
    if (field != 1) {
      if (!r.skip(wire)) return false;
      continue;
    }
    bool ok = l.kind == kBytes ? wire == kLen : l.kind == kFloat ? (wire == kLen || wire == kFixed32)
                                                                 : (wire == kLen || wire == kVarint);
    if (!ok) return r.bad("value field with the wrong wire type");
    if (!fn(r, wire)) return false;
  }
  return true;
}

// Counts the values of a list (validating its bytes).
bool count_values(const List& l, Reader& r, int64_t& n) {
  n = 0;
  return for_each_value_field(l, r, [&](Reader& rd, int wire) {
    if (l.kind == kBytes || wire != kLen) {
      ++n;
      return rd.skip(wire);
    }
    Reader sub(nullptr, nullptr);
    if (!rd.len_delimited(sub)) return false;
    if (l.kind == kFloat) {
      size_t len = static_cast<size_t>(sub.end - sub.p);
      if (len % 4 != 0) return rd.bad("packed float_list length is not a multiple of 4");
      n += static_cast<int64_t>(len / 4);
      return true;
    }
    uint64_t v;
    while (!sub.done()) {
      if (!sub.varint(v)) return rd.bad(sub.err);
      ++n;
    }
    return true;
  });
}

float read_float(const uint8_t* q) {
  uint32_t bits = static_cast<uint32_t>(q[0]) | static_cast<uint32_t>(q[1]) << 8 |
                  static_cast<uint32_t>(q[2]) << 16 | static_cast<uint32_t>(q[3]) << 24;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Writes the values of a list already validated by count_values into `out` (of its dtype).
void write_values(const List& l, void* out) {
  Reader r(nullptr, nullptr);
  int64_t i = 0;
  for_each_value_field(l, r, [&](Reader& rd, int wire) {
    const uint8_t* q = nullptr;
    uint64_t v = 0;
    if (l.kind == kBytes) {
      Reader sub(nullptr, nullptr);
      rd.len_delimited(sub);
      static_cast<std::string*>(out)[i++].assign(reinterpret_cast<const char*>(sub.p),
                                                 static_cast<size_t>(sub.end - sub.p));
    } else if (l.kind == kFloat && wire == kFixed32) {
      if (rd.bytes(4, q)) static_cast<float*>(out)[i++] = read_float(q);
    } else if (l.kind == kInt64 && wire == kVarint) {
      rd.varint(v);
      static_cast<int64_t*>(out)[i++] = static_cast<int64_t>(v);
    } else {
      Reader sub(nullptr, nullptr);
      rd.len_delimited(sub);
      if (l.kind == kFloat) {
        for (; sub.p < sub.end; sub.p += 4) static_cast<float*>(out)[i++] = read_float(sub.p);
      } else {
        while (sub.varint(v)) {
          static_cast<int64_t*>(out)[i++] = static_cast<int64_t>(v);
          if (sub.done()) break;
        }
      }
    }
    return true;
  });
}

// ---------------------------------------------------------------- the spec of one node
// `slot` holds views of `keys`: moving a Spec keeps them valid, copying would not.
struct Spec {
  Spec() = default;
  Spec(const Spec&) = delete;
  Spec(Spec&&) = default;
  std::vector<std::string> keys;  // dense keys, then sparse keys
  size_t num_dense = 0;
  std::vector<Dims> shapes;        // dense
  std::vector<int64_t> counts;     // dense: elements per example
  std::vector<DType> types;        // dense then sparse
  std::unordered_map<std::string_view, int> slot;
};

std::vector<std::string> string_list(const Attrs& a, const char* name) {
  const AttrValue* v = a.find(name);
  if (v == nullptr) return {};
  if (auto* s = std::get_if<std::vector<std::string>>(v)) return *s;
  if (auto* i = std::get_if<std::vector<int64_t>>(v); i != nullptr && i->empty()) return {};  // []
  fail(Code::kInvalidArgument, "attribute '", name, "' must be a list of strings");
}

struct SpecError {
  const Node& n;
  template <typename... A>
  [[noreturn]] void fail(const A&... a) const {
    nestor::fail(Code::kInvalidArgument, "op '", n.name, "' (", n.op, "): ", a...);
  }
};

Spec make_spec(const Node& node, const std::vector<DType>& dense_types) {
  Spec s;
  const SpecError c{node};
  const Attrs& a = node.attrs;
  std::vector<std::string> dk = string_list(a, "dense_keys"), sk = string_list(a, "sparse_keys");
  std::vector<std::string> st = string_list(a, "sparse_types");
  std::vector<int64_t> ranks = a.get_or<std::vector<int64_t>>("dense_ranks", {});
  std::vector<int64_t> dims = a.get_or<std::vector<int64_t>>("dense_dims", {});
  if (dense_types.size() != dk.size() || ranks.size() != dk.size())
    c.fail(dk.size(), " dense keys need as many defaults (got ", dense_types.size(), ") and ranks (got ",
           ranks.size(), ")");
  if (st.size() != sk.size()) c.fail(sk.size(), " sparse keys need as many sparse_types, got ", st.size());
  s.num_dense = dk.size();
  size_t at = 0;
  for (size_t i = 0; i < dk.size(); ++i) {
    if (ranks[i] < 0 || at + static_cast<size_t>(ranks[i]) > dims.size())
      c.fail("dense_ranks and dense_dims do not describe ", dk.size(), " shapes");
    Dims d(dims.begin() + static_cast<std::ptrdiff_t>(at), dims.begin() + static_cast<std::ptrdiff_t>(at + ranks[i]));
    at += static_cast<size_t>(ranks[i]);
    for (int64_t x : d)
      if (x < 0) c.fail("dense key '", dk[i], "' needs a fully defined shape, got ", dims_str(d));
    s.counts.push_back(num_elements(d));
    s.shapes.push_back(std::move(d));
  }
  if (at != dims.size()) c.fail("dense_dims has ", dims.size() - at, " values beyond the dense shapes");
  s.keys = dk;
  s.keys.insert(s.keys.end(), sk.begin(), sk.end());
  s.types = dense_types;
  for (const std::string& t : st) s.types.push_back(dtype_from_name(t));
  for (size_t i = 0; i < s.types.size(); ++i) {
    DType d = s.types[i];
    if (d != DType::kFloat32 && d != DType::kInt64 && d != DType::kString)
      c.fail("feature '", s.keys[i], "' has dtype ", dtype_name(d), "; parsing supports float32, int64 and string");
  }
  for (size_t i = 0; i < s.keys.size(); ++i)
    if (!s.slot.emplace(std::string_view(s.keys[i]), static_cast<int>(i)).second)
      c.fail("feature key '", s.keys[i], "' is given twice");
  return s;
}

int first_default(const Node& n) { return n.attrs.get_or<bool>("has_names", false) ? 2 : 1; }

void parse_shape(ShapeCtx& c) {
  int d0 = first_default(c.node());
  if (c.num_inputs() < d0) c.fail("expects the serialized input", d0 == 2 ? " and example names" : "");
  std::vector<DType> dt;
  for (int i = d0; i < c.num_inputs(); ++i) dt.push_back(c.dtype(i));
  Spec s = make_spec(c.node(), dt);
  c.expect_dtype(0, DType::kString);
  const PartialShape& in = c.shape(0);
  if (in.known_rank() && in.rank() > 1) c.fail("serialized must be a scalar or a vector, got shape ", in.str());
  if (d0 == 2) {
    c.expect_dtype(1, DType::kString);
    if (!c.shape(1).is_compatible_with(in))
      c.fail("example names of shape ", c.shape(1).str(), " do not match serialized of shape ", in.str());
  }
  for (size_t i = 0; i < s.num_dense; ++i) {
    const PartialShape& ds = c.shape(d0 + static_cast<int>(i));
    int64_t n = ds.num_elements();
    if (n > 0 && n != s.counts[i])
      c.fail("default value of '", s.keys[i], "' has ", n, " elements, shape ", dims_str(s.shapes[i]), " needs ",
             s.counts[i]);
  }
  const size_t ns = s.keys.size() - s.num_dense;
  const int r = in.known_rank() ? in.rank() : -1;
  for (size_t j = 0; j < ns; ++j) {
    int o = static_cast<int>(j);
    c.set_output(o, DType::kInt64, PartialShape(Dims{-1, r < 0 ? -1 : r + 1}));
    c.set_output(static_cast<int>(ns) + o, s.types[s.num_dense + j], PartialShape(Dims{-1}));
    c.set_output(static_cast<int>(2 * ns) + o, DType::kInt64, PartialShape(Dims{r < 0 ? -1 : r + 1}));
  }
  for (size_t i = 0; i < s.num_dense; ++i) {
    PartialShape out;
    if (r == 0) out = PartialShape(s.shapes[i]);
    if (r == 1) {
      Dims d{in.dim(0)};
      d.insert(d.end(), s.shapes[i].begin(), s.shapes[i].end());
      out = PartialShape(d);
    }
    c.set_output(static_cast<int>(3 * ns + i), s.types[i], out);
  }
}

// ---------------------------------------------------------------- the kernel
struct Failure {
  int64_t example = -1;
  std::string msg;
};

class ExampleParser {
 public:
  ExampleParser(const Spec& s, std::vector<void*> dense_out, std::vector<const Tensor*> defaults,
                std::vector<List>& sparse_lists, std::vector<int64_t>& sparse_counts)
      : s_(s), dense_out_(std::move(dense_out)), defaults_(std::move(defaults)), lists_(sparse_lists),
        counts_(sparse_counts) {}

  // Parses example b; dense values are written, sparse lists located and counted.
  // Returns "" or the reason it failed.
  std::string parse(int64_t b, const std::string& bytes) {
    const size_t nk = s_.keys.size(), ns = nk - s_.num_dense;
    std::vector<List> found(nk);
    auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    Reader ex(p, p + bytes.size());
    while (!ex.done()) {
      int field, wire;
      if (!ex.tag(field, wire)) return malformed(ex);
      if (field != 1 || wire != kLen) {
        if (!ex.skip(wire)) return malformed(ex);
        continue;
      }
      Reader feats(nullptr, nullptr);
      if (!ex.len_delimited(feats)) return malformed(ex);
      while (!feats.done()) {
        Reader entry(nullptr, nullptr);
        if (!feats.tag(field, wire)) return malformed(feats, ex, "in Features");
        if (field != 1 || wire != kLen) return where(ex, "Features has a field other than its map entries");
        if (!feats.len_delimited(entry)) return malformed(feats, ex, "in Features");
        std::string err = map_entry(entry, found);
        if (!err.empty()) return where(ex, err);
      }
    }
    for (size_t k = 0; k < nk; ++k) {
      const List& l = found[k];
      const bool dense = k < s_.num_dense;
      const int want = kind_of(s_.types[k]);
      if (l.kind != kNone && l.kind != want)
        return "feature '" + s_.keys[k] + "' holds " + kind_name(l.kind) + " values, but the spec asks for " +
               dtype_name(s_.types[k]);
      int64_t n = 0;
      Reader r(nullptr, nullptr);
      if (l.kind != kNone && !count_values(l, r, n))
        return "feature '" + s_.keys[k] + "': malformed " + kind_name(l.kind) + ": " + r.err;
      if (!dense) {
        lists_[static_cast<size_t>(b) * ns + (k - s_.num_dense)] = l;
        counts_[static_cast<size_t>(b) * ns + (k - s_.num_dense)] = n;
        continue;
      }
      const int64_t want_n = s_.counts[k];
      const size_t esize = dtype_size(s_.types[k]);
      char* dst = static_cast<char*>(dense_out_[k]) + static_cast<size_t>(b * want_n) * esize;
      if (l.kind == kNone) {
        const Tensor* d = defaults_[k];
        if (d->num_elements() == 0 && want_n > 0)
          return "required feature '" + s_.keys[k] + "' (" + dtype_name(s_.types[k]) + ", shape " +
                 dims_str(s_.shapes[k]) + ") is missing and has no default value";
        if (s_.types[k] == DType::kString) {
          for (int64_t i = 0; i < want_n; ++i)
            reinterpret_cast<std::string*>(dst)[i] = d->data<std::string>()[i];
        } else if (want_n > 0) {
          std::memcpy(dst, d->raw(), static_cast<size_t>(want_n) * esize);
        }
        continue;
      }
      if (n != want_n)
        return "feature '" + s_.keys[k] + "' has " + std::to_string(n) + " values, but shape " +
               dims_str(s_.shapes[k]) + " needs " + std::to_string(want_n);
      write_values(l, dst);
    }
    return "";
  }

 private:
  std::string map_entry(Reader& entry, std::vector<List>& found) {
    const uint8_t *kp = nullptr, *ke = nullptr;
    Reader value(nullptr, nullptr);
    bool has_value = false;
    while (!entry.done()) {
      int field, wire;
      if (!entry.tag(field, wire)) return std::string("malformed map entry: ") + entry.err;
      if ((field != 1 && field != 2) || wire != kLen)
        return "a map entry of Features has a field other than its key (1) and value (2)";
      Reader sub(nullptr, nullptr);
      if (!entry.len_delimited(sub)) return std::string("malformed map entry: ") + entry.err;
      if (field == 1) {
        kp = sub.p;
        ke = sub.end;
      } else {
        value = sub;
        has_value = true;
      }
    }
    if (kp == nullptr || !has_value) return "a map entry of Features lacks its key or its value";
    auto it = s_.slot.find(std::string_view(reinterpret_cast<const char*>(kp), static_cast<size_t>(ke - kp)));
    if (it == s_.slot.end()) return "";  // a key the spec does not ask for
    const std::string& key = s_.keys[static_cast<size_t>(it->second)];
    List l;
    while (!value.done()) {
      int field, wire;
      if (!value.tag(field, wire)) return "feature '" + key + "': malformed Feature: " + value.err;
      if (field < 1 || field > 3 || wire != kLen)
        return "feature '" + key + "': Feature has a field other than bytes_list, float_list and int64_list";
      if (l.kind != kNone) return "feature '" + key + "': Feature holds more than one value list";
      Reader sub(nullptr, nullptr);
      if (!value.len_delimited(sub)) return "feature '" + key + "': malformed Feature: " + value.err;
      l = List{field, sub.p, sub.end};
    }
    found[static_cast<size_t>(it->second)] = l;  // a repeated key: the last one wins
    return "";
  }
  static std::string where(const Reader& ex, const std::string& what) {
    return "malformed tf.Example (byte " + std::to_string(ex.offset()) + "): " + what;
  }
  static std::string malformed(const Reader& ex) { return where(ex, ex.err); }
  static std::string malformed(const Reader& inner, const Reader& ex, const char* in) {
    return where(ex, std::string(inner.err) + " " + in);
  }

  const Spec& s_;
  std::vector<void*> dense_out_;
  std::vector<const Tensor*> defaults_;
  std::vector<List>& lists_;
  std::vector<int64_t>& counts_;
};

void parse_kernel(KernelCtx& ctx) {
  const int d0 = first_default(ctx.node());
  std::vector<DType> dt;
  std::vector<const Tensor*> defaults;
  for (int i = d0; i < ctx.num_inputs(); ++i) {
    dt.push_back(ctx.input(i).dtype());
    defaults.push_back(&ctx.input(i));
  }
  const Spec s = make_spec(ctx.node(), dt);
  const Tensor& ser = ctx.input(0);
  if (ser.rank() > 1) ctx.fail(Code::kInvalidArgument, "serialized must be a scalar or a vector, got shape ",
                               dims_str(ser.dims()));
  const bool single = ser.rank() == 0;
  const int64_t batch = ser.num_elements();
  const Tensor* names = d0 == 2 ? &ctx.input(1) : nullptr;
  if (names != nullptr && names->dims() != ser.dims())
    ctx.fail(Code::kInvalidArgument, "example names of shape ", dims_str(names->dims()),
             " do not match serialized of shape ", dims_str(ser.dims()));
  const size_t ns = s.keys.size() - s.num_dense;
  std::vector<void*> dense_out;
  for (size_t i = 0; i < s.num_dense; ++i) {
    const Tensor& d = *defaults[i];
    if (d.num_elements() != 0 && d.num_elements() != s.counts[i])
      ctx.fail(Code::kInvalidArgument, "default value of '", s.keys[i], "' has ", d.num_elements(),
               " elements, shape ", dims_str(s.shapes[i]), " needs ", s.counts[i]);
    Dims od = s.shapes[i];
    if (!single) od.insert(od.begin(), batch);
    dense_out.push_back(ctx.allocate_output(static_cast<int>(3 * ns + i), s.types[i], od).raw());
  }
  std::vector<List> lists(static_cast<size_t>(batch) * ns);
  std::vector<int64_t> counts(static_cast<size_t>(batch) * ns, 0);
  ExampleParser parser(s, dense_out, defaults, lists, counts);
  const std::string* in = ser.data<std::string>();
  std::mutex mu;
  Failure first;
  ops::parallel_elems(ctx, batch, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      std::string err = parser.parse(b, in[b]);
      if (err.empty()) continue;
      std::lock_guard<std::mutex> lock(mu);
      if (first.example < 0 || b < first.example) first = Failure{b, std::move(err)};
      return;
    }
  }, 64);
  if (first.example >= 0) {
    std::string who = names != nullptr && !names->data<std::string>()[first.example].empty()
                          ? " ('" + names->data<std::string>()[first.example] + "')" : "";
    ctx.fail(Code::kInvalidArgument, "example ", first.example, who, ": ", first.msg);
  }
  // Sparse outputs: the values of each key, example by example.
  for (size_t j = 0; j < ns; ++j) {
    const DType t = s.types[s.num_dense + j];
    std::vector<int64_t> start(static_cast<size_t>(batch) + 1, 0);
    int64_t width = 0;
    for (int64_t b = 0; b < batch; ++b) {
      int64_t n = counts[static_cast<size_t>(b) * ns + j];
      width = std::max(width, n);
      start[static_cast<size_t>(b) + 1] = start[static_cast<size_t>(b)] + n;
    }
    const int64_t total = start.back(), cols = single ? 1 : 2;
    int64_t* ind = ctx.allocate_output(static_cast<int>(j), DType::kInt64, {total, cols}).data<int64_t>();
    Tensor& vals = ctx.allocate_output(static_cast<int>(ns + j), t, {total});
    int64_t* shp = ctx.allocate_output(static_cast<int>(2 * ns + j), DType::kInt64, {cols}).data<int64_t>();
    if (single) {
      shp[0] = width;
    } else {
      shp[0] = batch;
      shp[1] = width;
    }
    char* vp = static_cast<char*>(vals.raw());
    const size_t esize = dtype_size(t);
    ops::parallel_elems(ctx, batch, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t at = start[static_cast<size_t>(b)], n = start[static_cast<size_t>(b) + 1] - at;
        for (int64_t i = 0; i < n; ++i) {
          int64_t* row = ind + (at + i) * cols;
          if (single) {
            row[0] = i;
          } else {
            row[0] = b;
            row[1] = i;
          }
        }
        if (n > 0) write_values(lists[static_cast<size_t>(b) * ns + j], vp + static_cast<size_t>(at) * esize);
      }
    }, 256);
  }
}

NESTOR_OP("parse_example").shape(parse_shape).no_grad().cpu(parse_kernel);

}  // namespace
}  // namespace nestor
