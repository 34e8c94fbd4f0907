// io/predictor.cc: nestor::Predictor (see nestor/predictor.h).
#include "nestor/predictor.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "io/export.h"
#include "io/json.h"
#include "nestor/error.h"

namespace nestor {

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
  options.constant_variables = true;  // set once below, never assigned by a signature
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

std::vector<Tensor> Predictor::run(const std::string& signature, size_t n, const char* const* keys,
                                   const Tensor* const* inputs) const {
  const Signature& s = sig(signature);
  const size_t m = s.inputs.size();
  std::vector<Tensor> feeds(m);
  for (size_t i = 0; i < n; ++i) {
    size_t k = 0;
    while (k < m && s.inputs[k].key != keys[i]) ++k;
    if (k == m) {
      std::string names;
      for (const auto& spec : s.inputs) names += (names.empty() ? "" : ", ") + spec.key;
      fail(Code::kInvalidArgument, "signature '", signature, "' has no input '", keys[i], "'; its inputs are [",
           names, "]");
    }
    const TensorSpec& spec = s.inputs[k];
    const Tensor& t = *inputs[i];
    if (feeds[k].defined()) fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key,
                                 "' is given twice");
    if (!t.defined()) fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key, "' is empty");
    if (t.dtype() != spec.dtype)
      fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key, "' must be ",
           dtype_name(spec.dtype), ", got ", dtype_name(t.dtype()));
    if (!spec.shape.is_compatible_with(t.dims()))
      fail(Code::kInvalidArgument, "signature '", signature, "': input '", spec.key, "' must have shape ",
           spec.shape.str(), ", got ", dims_str(t.dims()));
    feeds[k] = t;
  }
  for (size_t k = 0; k < m; ++k)
    if (!feeds[k].defined())
      fail(Code::kInvalidArgument, "signature '", signature, "': missing input '", s.inputs[k].key, "'");
  return session_->run(*s.plan, feeds);
}

std::map<std::string, Tensor> Predictor::run(const std::string& signature,
                                             const std::map<std::string, Tensor>& inputs) const {
  std::vector<const char*> keys;
  std::vector<const Tensor*> values;
  for (const auto& kv : inputs) {
    keys.push_back(kv.first.c_str());
    values.push_back(&kv.second);
  }
  std::vector<Tensor> got = run(signature, keys.size(), keys.data(), values.data());
  const std::vector<TensorSpec>& specs = sig(signature).outputs;
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < specs.size(); ++i) out.emplace(specs[i].key, std::move(got[i]));
  return out;
}

}  // namespace nestor
