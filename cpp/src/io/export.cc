// io/export.cc: safetensors reader and nestor::Predictor (see nestor/predictor.h).
#include "io/export.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "io/json.h"
#include "nestor/error.h"
#include "nestor/predictor.h"

namespace nestor {
namespace io {

std::string read_file(const std::string& path, size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(Code::kNotFound, path, " cannot be opened");
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  if (size < 0) fail(Code::kDataLoss, path, ": cannot determine its size");
  if (static_cast<uint64_t>(size) > max_bytes)
    fail(Code::kDataLoss, path, ": ", size, " bytes exceeds the limit of ", max_bytes);
  f.seekg(0, std::ios::beg);
  std::string s(static_cast<size_t>(size), '\0');
  if (size > 0 && !f.read(&s[0], size)) fail(Code::kDataLoss, path, ": read failed");
  return s;
}

namespace {

DType safetensors_dtype(const std::string& s) {
  if (s == "F32") return DType::kFloat32;
  if (s == "F64") return DType::kFloat64;
  if (s == "I32") return DType::kInt32;
  if (s == "I64") return DType::kInt64;
  if (s == "BOOL") return DType::kBool;
  return DType::kInvalid;
}

int64_t nonneg_int(const json::Value& v, const std::string& what) {
  if (!v.is_number() || !v.is_int || v.integer < 0) fail(Code::kDataLoss, what, " must be a non-negative integer");
  return v.integer;
}

}  // namespace

std::map<std::string, Tensor> parse_safetensors(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 8) fail(Code::kDataLoss, what, ": file of ", bytes.size(), " bytes is too short for a header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > bytes.size() - 8)
    fail(Code::kDataLoss, what, ": header length ", n, " exceeds the file size ", bytes.size());
  const size_t data_start = 8 + static_cast<size_t>(n);
  const uint64_t data_size = bytes.size() - data_start;
  json::Value header = json::parse(bytes.data() + 8, static_cast<size_t>(n), what + " header");
  if (!header.is_object()) fail(Code::kDataLoss, what, ": header is not a JSON object");
  std::map<std::string, Tensor> out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& kv : header.object) {
    const std::string& name = kv.first;
    if (name == "__metadata__") {
      if (!kv.second.is_object()) fail(Code::kDataLoss, what, ": __metadata__ is not an object");
      continue;
    }
    const std::string where = what + ": tensor '" + name + "'";
    const json::Value& e = kv.second;
    const json::Value* dt = e.find("dtype");
    const json::Value* shape = e.find("shape");
    const json::Value* offs = e.find("data_offsets");
    if (!e.is_object() || !dt || !shape || !offs) fail(Code::kDataLoss, where, " needs dtype, shape and data_offsets");
    if (!dt->is_string()) fail(Code::kDataLoss, where, ": dtype must be a string");
    DType dtype = safetensors_dtype(dt->string);
    if (dtype == DType::kInvalid) fail(Code::kDataLoss, where, ": unsupported dtype '", dt->string, "'");
    if (!shape->is_array()) fail(Code::kDataLoss, where, ": shape must be an array");
    Dims dims;
    uint64_t count = 1;
    const uint64_t limit = std::numeric_limits<int64_t>::max() / 8;
    for (const auto& d : shape->array) {
      int64_t x = nonneg_int(d, where + " shape entries");
      dims.push_back(x);
      if (x != 0 && count > limit / static_cast<uint64_t>(x)) fail(Code::kDataLoss, where, ": shape is too large");
      count *= static_cast<uint64_t>(x);
    }
    if (!offs->is_array() || offs->array.size() != 2) fail(Code::kDataLoss, where, ": data_offsets must be [begin, end]");
    uint64_t b = static_cast<uint64_t>(nonneg_int(offs->array[0], where + " data_offsets"));
    uint64_t en = static_cast<uint64_t>(nonneg_int(offs->array[1], where + " data_offsets"));
    if (b > en || en > data_size)
      fail(Code::kDataLoss, where, ": data_offsets [", b, ", ", en, "] outside the data of ", data_size, " bytes");
    uint64_t want = count * dtype_size(dtype);
    if (en - b != want)
      fail(Code::kDataLoss, where, ": data_offsets span ", en - b, " bytes, its dtype and shape need ", want);
    ranges.emplace_back(b, en);
    Tensor t = Tensor::empty(dtype, dims);
    if (want) std::memcpy(t.raw(), bytes.data() + data_start + b, static_cast<size_t>(want));
    if (dtype == DType::kBool) {
      const unsigned char* p = static_cast<const unsigned char*>(t.raw());
      for (uint64_t i = 0; i < count; ++i)
        if (p[i] > 1) fail(Code::kDataLoss, where, ": invalid bool byte ", int(p[i]), " at element ", i);
    }
    out.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second && ranges[i].first != ranges[i].second)
      fail(Code::kDataLoss, what, ": tensors overlap at byte ", ranges[i].first);
  return out;
}

}  // namespace io

// ---------------------------------------------------------------- Predictor

struct Predictor::Signature {
  std::string method;
  std::vector<TensorSpec> inputs, outputs;
  std::vector<Output> in_out, out_out;
  std::shared_ptr<Plan> plan;
};

namespace {

constexpr size_t kMaxJson = size_t{16} << 20;
constexpr size_t kMaxGraph = size_t{1} << 30;
constexpr size_t kMaxVariables = size_t{16} << 30;

std::vector<Predictor::TensorSpec> tensor_specs(const Graph& g, const json::Value& v, const std::string& where,
                                                std::vector<Output>& outs) {
  if (!v.is_object()) fail(Code::kDataLoss, where, " must be an object");
  std::vector<Predictor::TensorSpec> specs;
  for (const auto& kv : v.object) {
    const std::string w = where + " '" + kv.first + "'";
    const json::Value* name = kv.second.find("name");
    const json::Value* dt = kv.second.find("dtype");
    const json::Value* shape = kv.second.find("shape");
    if (!name || !name->is_string() || !dt || !dt->is_string() || !shape)
      fail(Code::kDataLoss, w, " needs a string name, a string dtype and a shape");
    Predictor::TensorSpec s;
    s.key = kv.first;
    s.name = name->string;
    size_t colon = s.name.rfind(':');
    int node = colon == std::string::npos ? -1 : g.find(s.name.substr(0, colon));
    std::string idx = colon == std::string::npos ? "" : s.name.substr(colon + 1);
    if (node < 0 || idx.empty() || idx.size() > 6 || idx.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(idx) >= g.node(node).num_outputs())
      fail(Code::kDataLoss, w, ": tensor '", s.name, "' is not in the graph");
    Output o{node, std::stoi(idx)};
    try {
      s.dtype = dtype_from_name(dt->string);
    } catch (const Error&) {
      fail(Code::kDataLoss, w, ": unknown dtype '", dt->string, "'");
    }
    if (s.dtype != g.dtype(o))
      fail(Code::kDataLoss, w, ": dtype ", dt->string, " but the graph's tensor is ", dtype_name(g.dtype(o)));
    if (shape->is_array()) {
      Dims d;
      for (const auto& x : shape->array) {
        if (x.is_null()) d.push_back(-1);
        else if (x.is_number() && x.is_int && x.integer >= 0) d.push_back(x.integer);
        else fail(Code::kDataLoss, w, ": shape entries must be null or non-negative integers");
      }
      s.shape = PartialShape(d);
    } else if (!shape->is_null()) {
      fail(Code::kDataLoss, w, ": shape must be null or an array");
    }
    if (!s.shape.is_compatible_with(g.shape(o)))
      fail(Code::kDataLoss, w, ": shape ", s.shape.str(), " does not match the graph's ", g.shape(o).str());
    specs.push_back(std::move(s));
  }
  // Sorted by key, with their graph outputs in the same order.
  std::vector<size_t> order(specs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return specs[a].key < specs[b].key; });
  std::vector<Predictor::TensorSpec> sorted;
  for (size_t i : order) {
    const std::string& n = specs[i].name;
    size_t colon = n.rfind(':');
    outs.push_back(Output{g.find(n.substr(0, colon)), std::stoi(n.substr(colon + 1))});
    sorted.push_back(specs[i]);
  }
  return sorted;
}

}  // namespace

Predictor::~Predictor() = default;

std::unique_ptr<Predictor> Predictor::load(const std::string& dir, SessionOptions options) {
  std::unique_ptr<Predictor> p(new Predictor());
  p->dir_ = dir;
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  const std::string sig_path = base + "signatures.json";
  json::Value meta = json::parse(io::read_file(sig_path, kMaxJson), "export " + dir + ": signatures.json");
  const json::Value* format = meta.find("format");
  const json::Value* defs = meta.find("signature_defs");
  if (!format || !format->is_string() || format->string != "nestor-export-1" || !defs || !defs->is_object())
    fail(Code::kDataLoss, "export ", dir, ": signatures.json has an unknown format");

  std::shared_ptr<Graph> graph;
  try {
    graph = Graph::deserialize(io::read_file(base + "graph.nstg", kMaxGraph));
  } catch (const Error& e) {
    fail(e.code() == Code::kNotFound ? Code::kDataLoss : e.code(), "export ", dir, ": graph.nstg: ", e.what());
  }
  p->session_ = std::make_shared<Session>(graph, options);

  std::map<std::string, Tensor> values;
  try {
    values = io::parse_safetensors(io::read_file(base + "variables.safetensors", kMaxVariables),
                                   "variables.safetensors");
  } catch (const Error& e) {
    fail(Code::kDataLoss, "export ", dir, ": ", e.what());
  }
  std::set<std::string> used;
  for (int i = 0; i < graph->num_nodes(); ++i) {
    const Node& n = graph->node(i);
    if (n.op != "variable") continue;
    auto it = values.find(n.name);
    if (it == values.end())
      fail(Code::kDataLoss, "export ", dir, ": variables.safetensors has no value for variable ", n.name);
    const Tensor& t = it->second;
    if (t.dtype() != n.out_dtypes[0] || !n.out_shapes[0].is_compatible_with(t.dims()))
      fail(Code::kDataLoss, "export ", dir, ": variable ", n.name, ": stored ", dtype_name(t.dtype()), " ",
           dims_str(t.dims()), ", the graph wants ", dtype_name(n.out_dtypes[0]), " ", n.out_shapes[0].str());
    p->session_->set_variable(n.attrs.get_or<std::string>("shared_name", n.name), t);
    used.insert(n.name);
  }
  for (const auto& kv : values)
    if (!used.count(kv.first))
      fail(Code::kDataLoss, "export ", dir, ": variables.safetensors holds '", kv.first,
           "', which is not a variable of the graph");

  for (const auto& kv : defs->object) {
    const std::string where = "export " + dir + ": signature '" + kv.first + "'";
    auto s = std::make_unique<Signature>();
    const json::Value* method = kv.second.find("method_name");
    const json::Value* in = kv.second.find("inputs");
    const json::Value* out = kv.second.find("outputs");
    if (!method || !method->is_string() || !in || !out)
      fail(Code::kDataLoss, where, " needs method_name, inputs and outputs");
    s->method = method->string;
    s->inputs = tensor_specs(*graph, *in, where + " input", s->in_out);
    s->outputs = tensor_specs(*graph, *out, where + " output", s->out_out);
    try {
      s->plan = p->session_->compile(s->in_out, s->out_out, {});
    } catch (const Error& e) {
      fail(Code::kDataLoss, where, ": cannot be compiled: ", e.what());
    }
    p->sigs_.emplace(kv.first, std::move(s));
  }
  if (p->sigs_.empty()) fail(Code::kDataLoss, "export ", dir, ": signatures.json has no signatures");
  return p;
}

const Predictor::Signature& Predictor::sig(const std::string& name) const {
  auto it = sigs_.find(name);
  if (it == sigs_.end()) {
    std::string names;
    for (const auto& kv : sigs_) names += (names.empty() ? "" : ", ") + kv.first;
    fail(Code::kInvalidArgument, "export ", dir_, " has no signature '", name, "'; its signatures are [", names, "]");
  }
  return *it->second;
}

std::vector<std::string> Predictor::signature_names() const {
  std::vector<std::string> out;
  for (const auto& kv : sigs_) out.push_back(kv.first);
  return out;
}

const std::string& Predictor::method_name(const std::string& s) const { return sig(s).method; }
const std::vector<Predictor::TensorSpec>& Predictor::inputs(const std::string& s) const { return sig(s).inputs; }
const std::vector<Predictor::TensorSpec>& Predictor::outputs(const std::string& s) const { return sig(s).outputs; }

std::map<std::string, Tensor> Predictor::run(const std::string& signature,
                                             const std::map<std::string, Tensor>& inputs) const {
  const Signature& s = sig(signature);
  for (const auto& kv : inputs) {
    bool known = false;
    for (const auto& spec : s.inputs) known = known || spec.key == kv.first;
    if (!known) {
      std::string keys;
      for (const auto& spec : s.inputs) keys += (keys.empty() ? "" : ", ") + spec.key;
      fail(Code::kInvalidArgument, "signature '", signature, "' has no input '", kv.first, "'; its inputs are [",
           keys, "]");
    }
  }
  std::vector<Tensor> feeds;
  for (const auto& spec : s.inputs) {
    auto it = inputs.find(spec.key);
    if (it == inputs.end()) fail(Code::kInvalidArgument, "signature '", signature, "': missing input '", spec.key, "'");
    const Tensor& t = it->second;
    if (!t.defined()) fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key, "' is empty");
    if (t.dtype() != spec.dtype)
      fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key, "' must be ",
           dtype_name(spec.dtype), ", got ", dtype_name(t.dtype()));
    if (!spec.shape.is_compatible_with(t.dims()))
      fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key, "' must have shape ",
           spec.shape.str(), ", got ", dims_str(t.dims()));
    feeds.push_back(t);
  }
  std::vector<Tensor> got = session_->run(*s.plan, feeds);
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < s.outputs.size(); ++i) out.emplace(s.outputs[i].key, got[i]);
  return out;
}

}  // namespace nestor
