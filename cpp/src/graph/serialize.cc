// Graph wire format (little endian):
//   "NSTG" u32 version u32 num_nodes, then per node:
//   str name, str op, str device, u32 n_in {i32 node, i32 index}, u32 n_ctrl {i32},
//   u32 n_attrs {str name, u8 tag, payload}
// str = u32 length + bytes. Deserialization re-adds every node through Graph::add_node,
// so shapes and dtypes are re-inferred and validated; every length is bounds-checked.
#include <cstring>

#include "nestor/graph.h"
#include "nestor/op.h"

namespace nestor {
namespace {

constexpr uint32_t kVersion = 1;
enum Tag : uint8_t { kI64 = 0, kF64, kBool, kStr, kVecI64, kVecF64, kVecStr, kDType, kShape, kTensor };

class Writer {
 public:
  template <typename T>
  void pod(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& s) {
    pod<uint32_t>(static_cast<uint32_t>(s.size()));
    out.append(s);
  }
  std::string out;
};

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  void need(size_t n) {
    if (n > s_.size() - pos_) fail(Code::kDataLoss, "graph: truncated data at byte ", pos_, " (need ", n, " more)");
  }
  template <typename T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    uint32_t n = pod<uint32_t>();
    need(n);
    std::string r = s_.substr(pos_, n);
    pos_ += n;
    return r;
  }
  uint32_t count(size_t min_item_bytes) {
    uint32_t n = pod<uint32_t>();
    if (min_item_bytes && n > (s_.size() - pos_) / min_item_bytes)
      fail(Code::kDataLoss, "graph: count ", n, " at byte ", pos_ - 4, " exceeds the data");
    return n;
  }
  bool done() const { return pos_ == s_.size(); }
  size_t remaining() const { return s_.size() - pos_; }
  void bytes(void* dst, size_t n) {
    need(n);
    if (n) std::memcpy(dst, s_.data() + pos_, n);
    pos_ += n;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

void write_dims(Writer& w, const Dims& d) {
  w.pod<uint32_t>(static_cast<uint32_t>(d.size()));
  for (auto v : d) w.pod<int64_t>(v);
}

Dims read_dims(Reader& r) {
  uint32_t n = r.count(8);
  Dims d(n);
  for (auto& v : d) v = r.pod<int64_t>();
  return d;
}

void write_attr(Writer& w, const AttrValue& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) { w.pod<uint8_t>(kI64); w.pod(x); }
        else if constexpr (std::is_same_v<T, double>) { w.pod<uint8_t>(kF64); w.pod(x); }
        else if constexpr (std::is_same_v<T, bool>) { w.pod<uint8_t>(kBool); w.pod<uint8_t>(x); }
        else if constexpr (std::is_same_v<T, std::string>) { w.pod<uint8_t>(kStr); w.str(x); }
        else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          w.pod<uint8_t>(kVecI64); w.pod<uint32_t>(static_cast<uint32_t>(x.size()));
          for (auto e : x) w.pod(e);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          w.pod<uint8_t>(kVecF64); w.pod<uint32_t>(static_cast<uint32_t>(x.size()));
          for (auto e : x) w.pod(e);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          w.pod<uint8_t>(kVecStr); w.pod<uint32_t>(static_cast<uint32_t>(x.size()));
          for (auto& e : x) w.str(e);
        } else if constexpr (std::is_same_v<T, DType>) { w.pod<uint8_t>(kDType); w.pod<uint8_t>(static_cast<uint8_t>(x)); }
        else if constexpr (std::is_same_v<T, PartialShape>) {
          w.pod<uint8_t>(kShape); w.pod<uint8_t>(x.known_rank()); write_dims(w, x.dims());
        } else {
          w.pod<uint8_t>(kTensor);
          w.pod<uint8_t>(static_cast<uint8_t>(x.dtype()));
          write_dims(w, x.dims());
          if (x.dtype() == DType::kString) {
            for (int64_t i = 0; i < x.num_elements(); ++i) w.str(x.template data<std::string>()[i]);
          } else {
            w.pod<uint64_t>(x.nbytes());
            w.out.append(static_cast<const char*>(x.raw()), x.nbytes());
          }
        }
      },
      v);
}

DType read_dtype(Reader& r) {
  uint8_t t = r.pod<uint8_t>();
  if (t > static_cast<uint8_t>(DType::kString)) fail(Code::kDataLoss, "graph: invalid dtype code ", int(t));
  return static_cast<DType>(t);
}

AttrValue read_attr(Reader& r) {
  uint8_t tag = r.pod<uint8_t>();
  switch (tag) {
    case kI64: return r.pod<int64_t>();
    case kF64: return r.pod<double>();
    case kBool: return r.pod<uint8_t>() != 0;
    case kStr: return r.str();
    case kVecI64: { std::vector<int64_t> v(r.count(8)); for (auto& e : v) e = r.pod<int64_t>(); return v; }
    case kVecF64: { std::vector<double> v(r.count(8)); for (auto& e : v) e = r.pod<double>(); return v; }
    case kVecStr: { std::vector<std::string> v(r.count(4)); for (auto& e : v) e = r.str(); return v; }
    case kDType: return read_dtype(r);
    case kShape: {
      bool known = r.pod<uint8_t>() != 0;
      Dims d = read_dims(r);
      return known ? PartialShape(d) : PartialShape();
    }
    case kTensor: {
      DType dt = read_dtype(r);
      Dims d = read_dims(r);
      for (auto e : d) if (e < 0) fail(Code::kDataLoss, "graph: negative tensor dimension");
      if (dt == DType::kString) {
        int64_t n = num_elements(d);
        if (n < 0 || static_cast<uint64_t>(n) > r.remaining() / 4)
          fail(Code::kDataLoss, "graph: string tensor of shape ", dims_str(d), " exceeds the data");
        Tensor t = Tensor::empty(dt, d);
        for (int64_t i = 0; i < n; ++i) t.data<std::string>()[i] = r.str();
        return t;
      }
      uint64_t nb = r.pod<uint64_t>();
      if (nb != static_cast<uint64_t>(num_elements(d)) * dtype_size(dt))
        fail(Code::kDataLoss, "graph: tensor of shape ", dims_str(d), " has ", nb, " bytes");
      Tensor t = Tensor::empty(dt, d);
      r.bytes(t.raw(), nb);
      return t;
    }
    default: fail(Code::kDataLoss, "graph: unknown attribute tag ", int(tag));
  }
}

}  // namespace

std::string Graph::serialize() const {
  Writer w;
  w.out.append("NSTG", 4);
  w.pod<uint32_t>(kVersion);
  w.pod<uint32_t>(static_cast<uint32_t>(num_nodes()));
  for (int id = 0; id < num_nodes(); ++id) {
    const Node& n = node(id);
    w.str(n.name);
    w.str(n.op);
    w.str(n.device);
    w.pod<uint32_t>(static_cast<uint32_t>(n.inputs.size()));
    for (auto& in : n.inputs) { w.pod<int32_t>(in.node); w.pod<int32_t>(in.index); }
    w.pod<uint32_t>(static_cast<uint32_t>(n.control_inputs.size()));
    for (int c : n.control_inputs) w.pod<int32_t>(c);
    w.pod<uint32_t>(static_cast<uint32_t>(n.attrs.items().size()));
    for (auto& kv : n.attrs.items()) { w.str(kv.first); write_attr(w, kv.second); }
  }
  return w.out;
}

std::shared_ptr<Graph> Graph::deserialize(const std::string& bytes) {
  if (bytes.size() < 12 || bytes.compare(0, 4, "NSTG") != 0)
    fail(Code::kDataLoss, "graph: not a nestor graph (bad magic)");
  Reader r(bytes);
  r.need(4);
  for (int i = 0; i < 4; ++i) r.pod<char>();
  uint32_t version = r.pod<uint32_t>();
  if (version != kVersion) fail(Code::kDataLoss, "graph: unsupported version ", version);
  uint32_t n = r.count(16);
  auto g = std::make_shared<Graph>();
  for (uint32_t id = 0; id < n; ++id) {
    std::string name = r.str(), op = r.str(), device = r.str();
    std::vector<Output> inputs(r.count(8));
    for (auto& in : inputs) { in.node = r.pod<int32_t>(); in.index = r.pod<int32_t>(); }
    std::vector<int> ctrl(r.count(4));
    for (auto& c : ctrl) c = r.pod<int32_t>();
    uint32_t na = r.count(5);
    Attrs attrs;
    for (uint32_t a = 0; a < na; ++a) {
      std::string an = r.str();
      attrs.set(an, read_attr(r));
    }
    int got = g->add_node(op, inputs, std::move(attrs), name, ctrl, device);
    if (g->node(got).name != name) fail(Code::kDataLoss, "graph: duplicate node name '", name, "'");
  }
  if (!r.done()) fail(Code::kDataLoss, "graph: trailing bytes after the last node");
  return g;
}

}  // namespace nestor
