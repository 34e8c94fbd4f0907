// Native ops behind feature columns, bit-exact with TensorFlow's:
//   string_to_hash_bucket_fast  Fingerprint64(s) % num_buckets (tf.strings.to_hash_bucket_fast)
//   fingerprint64               the uint64 FarmHash fingerprint of each string, as int64 bits
//   as_string                   decimal text of ints (floats "%f", bools "true"/"false"), as tf.as_string
//   vocab_lookup                index of a key in a vocabulary; OOV keys hash into num_oov_buckets
//                               (StaticVocabularyTable / categorical_column_with_vocabulary_list)
//   bucketize                   index of the first boundary > x (tf.raw_ops.Bucketize)
//   sparse_cross_hashed         hashed Cartesian product of sparse columns (tf.sparse.cross_hashed)
// All are CPU kernels without gradients.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "../core/farmhash.h"
#include "common.h"

namespace nestor {
namespace {

using farmhash::Fingerprint64;

int64_t positive_attr(const ShapeCtx& c, const char* name) {
  int64_t n = c.attr<int64_t>(name);
  if (n <= 0) c.fail(name, " must be >= 1, got ", n);
  return n;
}

// ---------------------------------------------------------------- string hashing
void string_in_same_shape(ShapeCtx& c, DType out) {
  c.expect_inputs(1);
  if (c.dtype(0) != DType::kString) c.fail("input must be a string tensor, got ", dtype_name(c.dtype(0)));
  c.set_output(0, out, c.shape(0));
}

NESTOR_OP("string_to_hash_bucket_fast")
    .shape([](ShapeCtx& c) {
      positive_attr(c, "num_buckets");
      string_in_same_shape(c, DType::kInt64);
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const uint64_t nb = static_cast<uint64_t>(ctx.attr<int64_t>("num_buckets"));
      ops::unary_kernel<std::string, int64_t>(
          ctx, [nb](const std::string& s) { return static_cast<int64_t>(Fingerprint64(s) % nb); });
    });

NESTOR_OP("fingerprint64")
    .shape([](ShapeCtx& c) { string_in_same_shape(c, DType::kInt64); })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      ops::unary_kernel<std::string, int64_t>(
          ctx, [](const std::string& s) { return static_cast<int64_t>(Fingerprint64(s)); });
    });

// ---------------------------------------------------------------- as_string
template <typename T>
std::string to_text(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  } else {
    // "%f", as tf.as_string with the default precision; inf/nan as printf spells them.
    char buf[512];
    int n = std::snprintf(buf, sizeof buf, "%f", static_cast<double>(v));
    return std::string(buf, static_cast<size_t>(std::max(0, std::min<int>(n, sizeof buf - 1))));
  }
}

NESTOR_OP("as_string")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (c.dtype(0) == DType::kString) c.fail("input must be numeric or bool, got string");
      c.set_output(0, DType::kString, c.shape(0));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_POD(ctx.input(0).dtype(), "as_string", [&] {
        ops::unary_kernel<scalar_t, std::string>(ctx, [](scalar_t v) { return to_text(v); });
      });
    });

// ---------------------------------------------------------------- vocab_lookup
// An open-addressing table from a key's 64-bit hash to its vocabulary index. String keys
// use their Fingerprint64, which the OOV bucket of a miss reuses.
class VocabTable {
 public:
  template <typename K, typename H>
  void build(const std::vector<K>& keys, H hash) {
    size_t cap = 16;
    while (cap < keys.size() * 2 + 1) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, Slot{0, -1});
    for (size_t i = 0; i < keys.size(); ++i) {
      uint64_t h = hash(keys[i]);
      size_t j = static_cast<size_t>(mix(h)) & mask_;
      while (slots_[j].index >= 0) j = (j + 1) & mask_;
      slots_[j] = Slot{h, static_cast<int64_t>(i)};
    }
  }
  // Index of `key` (hash `h`), or -1; eq(i) says whether vocabulary entry i equals key.
  template <typename Eq>
  int64_t find(uint64_t h, Eq eq) const {
    for (size_t j = static_cast<size_t>(mix(h)) & mask_;; j = (j + 1) & mask_) {
      const Slot& s = slots_[j];
      if (s.index < 0) return -1;
      if (s.hash == h && eq(s.index)) return s.index;
    }
  }

 private:
  struct Slot {
    uint64_t hash;
    int64_t index;
  };
  static uint64_t mix(uint64_t h) { return (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL; }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

uint64_t int_hash(int64_t v) { return static_cast<uint64_t>(v) * 0x9e3779b97f4a7c15ULL; }

struct Vocab {
  std::vector<std::string> skeys;
  std::vector<int64_t> ikeys;
  VocabTable table;
};

const std::vector<std::string> kNoStrings;
const std::vector<int64_t> kNoInts;

const std::vector<std::string>& string_keys(const Attrs& a) {
  const AttrValue* v = a.find("keys");
  if (v != nullptr) {
    if (auto* s = std::get_if<std::vector<std::string>>(v)) return *s;
  }
  return kNoStrings;
}
const std::vector<int64_t>& int_keys(const Attrs& a) {
  const AttrValue* v = a.find("keys");
  if (v != nullptr) {
    if (auto* s = std::get_if<std::vector<int64_t>>(v)) return *s;
  }
  return kNoInts;
}

// Tables built once per node and reused by every run. An entry is reused only while its
// keys equal the node's (a memcmp-speed check), so a node address reused by a later
// graph never sees a stale table.
std::shared_ptr<const Vocab> cached_vocab(const Node& n, bool strings) {
  static std::mutex mu;
  static std::unordered_map<const Node*, std::shared_ptr<const Vocab>> cache;
  const auto& sk = string_keys(n.attrs);
  const auto& ik = int_keys(n.attrs);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(&n);
    if (it != cache.end() && it->second->skeys == sk && it->second->ikeys == ik) return it->second;
  }
  auto v = std::make_shared<Vocab>();
  v->skeys = sk;
  v->ikeys = ik;
  if (strings)
    v->table.build(v->skeys, [](const std::string& s) { return Fingerprint64(s); });
  else
    v->table.build(v->ikeys, int_hash);
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 1024) cache.clear();  // entries of dead graphs; live ones rebuild once
  cache[&n] = v;
  return v;
}

void vocab_shape(ShapeCtx& c) {
  c.expect_inputs(1);
  DType dt = c.dtype(0);
  if (dt != DType::kString && !is_integer(dt))
    c.fail("input must be string, int32 or int64, got ", dtype_name(dt));
  const AttrValue* k = c.node().attrs.find("keys");
  if (k == nullptr) c.fail("missing attribute 'keys'");
  if (auto* s = std::get_if<std::vector<std::string>>(k)) {
    if (dt != DType::kString) c.fail("string keys need a string input, got ", dtype_name(dt));
    std::unordered_set<std::string> seen;
    for (const auto& x : *s)
      if (!seen.insert(x).second) c.fail("duplicate key '", x, "' in the vocabulary");
  } else if (auto* iv = std::get_if<std::vector<int64_t>>(k)) {
    if (dt == DType::kString && !iv->empty()) c.fail("int keys need an int32 or int64 input, got string");
    std::unordered_set<int64_t> seen;
    for (int64_t x : *iv)
      if (!seen.insert(x).second) c.fail("duplicate key ", x, " in the vocabulary");
  } else {
    c.fail("attribute 'keys' must be a list of strings or of ints");
  }
  int64_t oov = c.attr_or<int64_t>("num_oov_buckets", 0);
  if (oov < 0) c.fail("num_oov_buckets must be >= 0, got ", oov);
  c.set_output(0, DType::kInt64, c.shape(0));
}

void vocab_kernel(KernelCtx& ctx) {
  const Tensor& in = ctx.input(0);
  const bool strings = in.dtype() == DType::kString;
  std::shared_ptr<const Vocab> v = cached_vocab(ctx.node(), strings);
  const int64_t oov = ctx.attr_or<int64_t>("num_oov_buckets", 0);
  const int64_t dflt = ctx.attr_or<int64_t>("default_value", -1);
  const int64_t size = static_cast<int64_t>(strings ? v->skeys.size() : v->ikeys.size());
  Tensor& o = ctx.allocate_output(0, DType::kInt64, in.dims());
  int64_t* po = o.data<int64_t>();
  if (strings) {
    const std::string* pi = in.data<std::string>();
    ops::parallel_elems(ctx, in.num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const std::string& s = pi[i];
        uint64_t h = Fingerprint64(s);
        int64_t r = v->table.find(h, [&](int64_t k) { return v->skeys[static_cast<size_t>(k)] == s; });
        po[i] = r >= 0 ? r : oov > 0 ? size + static_cast<int64_t>(h % static_cast<uint64_t>(oov)) : dflt;
      }
    }, 8192);
    return;
  }
  NESTOR_DISPATCH_INDEX(in.dtype(), "vocab_lookup", [&] {
    const scalar_t* pi = in.data<scalar_t>();
    ops::parallel_elems(ctx, in.num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        int64_t x = static_cast<int64_t>(pi[i]);
        int64_t r = v->table.find(int_hash(x), [&](int64_t k) { return v->ikeys[static_cast<size_t>(k)] == x; });
        if (r < 0 && oov > 0) {  // TF hashes int keys through their decimal text
          char buf[24];
          auto t = std::to_chars(buf, buf + sizeof buf, x);
          r = size + static_cast<int64_t>(Fingerprint64(buf, static_cast<size_t>(t.ptr - buf)) %
                                          static_cast<uint64_t>(oov));
        }
        po[i] = r >= 0 ? r : dflt;
      }
    }, 8192);
  });
}

NESTOR_OP("vocab_lookup").shape(vocab_shape).no_grad().cpu(vocab_kernel);

// ---------------------------------------------------------------- bucketize
// TensorFlow keeps boundaries as float32 and compares each input against them in the
// input's own type (ints are converted to float, doubles compare with the widened floats).
template <typename Ctx>
std::vector<float> float_boundaries(const Ctx& c) {
  const AttrValue* a = c.node().attrs.find("boundaries");
  std::vector<float> b;
  if (a != nullptr) {
    if (auto* d = std::get_if<std::vector<double>>(a)) {
      for (double x : *d) b.push_back(static_cast<float>(x));
    } else if (auto* i = std::get_if<std::vector<int64_t>>(a)) {
      for (int64_t x : *i) b.push_back(static_cast<float>(x));
    }
  }
  return b;
}

NESTOR_OP("bucketize")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (!is_numeric(c.dtype(0))) c.fail("input must be float32, float64, int32 or int64, got ",
                                          dtype_name(c.dtype(0)));
      const AttrValue* a = c.node().attrs.find("boundaries");
      if (a == nullptr || !(std::holds_alternative<std::vector<double>>(*a) ||
                            std::holds_alternative<std::vector<int64_t>>(*a)))
        c.fail("attribute 'boundaries' must be a list of numbers");
      std::vector<float> b = float_boundaries(c);
      for (size_t i = 1; i < b.size(); ++i)
        if (!(b[i - 1] <= b[i]))
          c.fail("boundaries must be sorted in increasing order, but boundaries[", i - 1, "] = ", b[i - 1],
                 " > boundaries[", i, "] = ", b[i]);
      for (size_t i = 0; i < b.size(); ++i)
        if (std::isnan(b[i])) c.fail("boundaries[", i, "] is NaN");
      c.set_output(0, DType::kInt32, c.shape(0));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const std::vector<float> b = float_boundaries(ctx);
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "bucketize", [&] {
        ops::unary_kernel<scalar_t, int32_t>(ctx, [&b](scalar_t x) {
          return static_cast<int32_t>(std::upper_bound(b.begin(), b.end(), x) - b.begin());
        });
      });
    });

// ---------------------------------------------------------------- sparse_cross_hashed
// Inputs: indices_0, values_0, ..., indices_{k-1}, values_{k-1}, dense_shape (of the batch).
void cross_shape(ShapeCtx& c) {
  int64_t k = c.attr<int64_t>("num_columns");
  if (k < 1) c.fail("num_columns must be >= 1, got ", k);
  if (c.num_inputs() != 2 * k + 1)
    c.fail("expected ", 2 * k + 1, " inputs (indices and values of ", k, " columns, then dense_shape), got ",
           c.num_inputs());
  if (c.attr_or<int64_t>("num_buckets", 0) < 0) c.fail("num_buckets must be >= 0, got ", c.attr<int64_t>("num_buckets"));
  for (int64_t j = 0; j < k; ++j) {
    int ii = static_cast<int>(2 * j), vi = ii + 1;
    c.expect_dtype(ii, DType::kInt64);
    c.expect_rank(ii, 2);
    if (c.dtype(vi) != DType::kString && !is_integer(c.dtype(vi)))
      c.fail("values of column ", j, " must be string or int64, got ", dtype_name(c.dtype(vi)));
    c.expect_rank(vi, 1);
    const PartialShape& is = c.shape(ii);
    const PartialShape& vs = c.shape(vi);
    if (is.known_rank() && is.dim(1) >= 0 && is.dim(1) != 2)
      c.fail("indices of column ", j, " must have shape (n, 2), got ", is.str());
    if (is.known_rank() && vs.known_rank() && is.dim(0) >= 0 && vs.dim(0) >= 0 && is.dim(0) != vs.dim(0))
      c.fail("column ", j, " has indices of shape ", is.str(), " but values of shape ", vs.str());
  }
  c.expect_dtype(static_cast<int>(2 * k), DType::kInt64);
  c.set_output(0, DType::kInt64, PartialShape(Dims{-1, 2}));
  c.set_output(1, DType::kInt64, PartialShape(Dims{-1}));
  c.set_output(2, DType::kInt64, PartialShape(Dims{2}));
}

void cross_kernel(KernelCtx& ctx) {
  const int64_t k = ctx.attr<int64_t>("num_columns");
  const uint64_t nb = static_cast<uint64_t>(ctx.attr_or<int64_t>("num_buckets", 0));
  const uint64_t key = static_cast<uint64_t>(ctx.attr_or<int64_t>("hash_key", 0xDECAFCAFFELL));
  const Tensor& shp = ctx.input(static_cast<int>(2 * k));
  if (shp.num_elements() < 1)
    ctx.fail(Code::kInvalidArgument, "dense_shape must have at least 1 element, got shape ", dims_str(shp.dims()));
  const int64_t batch = shp.data<int64_t>()[0];
  if (batch < 0) ctx.fail(Code::kInvalidArgument, "batch size dense_shape[0] = ", batch, " is negative");
  // Per column: the hashes of its values grouped by example (start offsets per example).
  std::vector<std::vector<uint64_t>> hashes(static_cast<size_t>(k));
  std::vector<std::vector<int64_t>> start(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(batch) + 1, 0));
  for (int64_t j = 0; j < k; ++j) {
    const Tensor& ind = ctx.input(static_cast<int>(2 * j));
    const Tensor& val = ctx.input(static_cast<int>(2 * j + 1));
    if (ind.rank() != 2 || ind.dim(1) != 2 || val.rank() != 1 || ind.dim(0) != val.dim(0))
      ctx.fail(Code::kInvalidArgument, "column ", j, ": indices of shape ", dims_str(ind.dims()),
               " and values of shape ", dims_str(val.dims()), " do not form a 2-D SparseTensor (want (n, 2) and (n,))");
    const int64_t n = val.dim(0);
    const int64_t* pi = ind.data<int64_t>();
    auto& st = start[static_cast<size_t>(j)];
    for (int64_t i = 0; i < n; ++i) {
      int64_t r = pi[2 * i];
      if (r < 0 || r >= batch)
        ctx.fail(Code::kInvalidArgument, "column ", j, ": indices[", i, ", 0] = ", r,
                 " is outside the batch [0, ", batch, ")");
      ++st[static_cast<size_t>(r) + 1];
    }
    for (int64_t b = 0; b < batch; ++b) st[static_cast<size_t>(b) + 1] += st[static_cast<size_t>(b)];
    std::vector<uint64_t> raw(static_cast<size_t>(n));
    if (val.dtype() == DType::kString) {
      const std::string* pv = val.data<std::string>();
      for (int64_t i = 0; i < n; ++i) raw[static_cast<size_t>(i)] = Fingerprint64(pv[i]);
    } else {
      NESTOR_DISPATCH_INDEX(val.dtype(), "sparse_cross_hashed", [&] {
        const scalar_t* pv = val.data<scalar_t>();
        for (int64_t i = 0; i < n; ++i) raw[static_cast<size_t>(i)] = static_cast<uint64_t>(static_cast<int64_t>(pv[i]));
      });
    }
    // Stable grouping by example (the input order within an example is kept).
    auto& h = hashes[static_cast<size_t>(j)];
    h.resize(static_cast<size_t>(n));
    std::vector<int64_t> fill(st.begin(), st.end() - 1);
    for (int64_t i = 0; i < n; ++i) h[static_cast<size_t>(fill[static_cast<size_t>(pi[2 * i])]++)] = raw[static_cast<size_t>(i)];
  }
  // Output rows per example: the product of the columns' counts.
  std::vector<int64_t> off(static_cast<size_t>(batch) + 1, 0);
  int64_t width = 0;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t cnt = 1;
    for (int64_t j = 0; j < k; ++j) {
      const auto& st = start[static_cast<size_t>(j)];
      cnt *= st[static_cast<size_t>(b) + 1] - st[static_cast<size_t>(b)];
    }
    width = std::max(width, cnt);
    off[static_cast<size_t>(b) + 1] = off[static_cast<size_t>(b)] + cnt;
  }
  const int64_t m = off.back();
  int64_t* oi = ctx.allocate_output(0, DType::kInt64, {m, 2}).data<int64_t>();
  int64_t* ov = ctx.allocate_output(1, DType::kInt64, {m}).data<int64_t>();
  int64_t* os = ctx.allocate_output(2, DType::kInt64, {2}).data<int64_t>();
  os[0] = batch;
  os[1] = width;
  const uint64_t mod = nb > 0 ? nb : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  ops::parallel_elems(ctx, batch, [&](int64_t b0, int64_t b1) {
    std::vector<int64_t> pos(static_cast<size_t>(k));
    for (int64_t b = b0; b < b1; ++b) {
      int64_t cnt = off[static_cast<size_t>(b) + 1] - off[static_cast<size_t>(b)];
      std::fill(pos.begin(), pos.end(), 0);
      for (int64_t c = 0; c < cnt; ++c) {
        uint64_t h = key;
        for (int64_t j = 0; j < k; ++j) {
          size_t at = static_cast<size_t>(start[static_cast<size_t>(j)][static_cast<size_t>(b)] + pos[static_cast<size_t>(j)]);
          h = farmhash::FingerprintCat64(h, hashes[static_cast<size_t>(j)][at]);
        }
        int64_t o = off[static_cast<size_t>(b)] + c;
        oi[2 * o] = b;
        oi[2 * o + 1] = c;
        ov[o] = static_cast<int64_t>(h % mod);
        // Next combination: the last column varies fastest.
        for (int64_t j = k - 1; j >= 0; --j) {
          const auto& st = start[static_cast<size_t>(j)];
          if (++pos[static_cast<size_t>(j)] < st[static_cast<size_t>(b) + 1] - st[static_cast<size_t>(b)]) break;
          pos[static_cast<size_t>(j)] = 0;
        }
      }
    }
  }, 256);
}

NESTOR_OP("sparse_cross_hashed").shape(cross_shape).no_grad().cpu(cross_kernel);

}  // namespace
}  // namespace nestor
