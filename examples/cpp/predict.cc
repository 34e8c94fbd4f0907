// predict <export_dir> <signature>: serve an export over stdin/stdout.
//
// Each input line is one JSON object, columnar: {"age": [31, 45], "color": ["red", "blue"]}
// (rows may be nested arrays for inputs of higher rank). A string may be given as
// {"b64": "<base64>"} (TF Serving's form for binary data, e.g. serialized tf.Examples).
// Each output line is a JSON object with every output of the signature, or {"error": "..."}
// for a bad line. Loading errors go to stderr with exit status 1.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "io/json.h"
#include "nestor/predictor.hpp"

namespace {

using nestor::capi::Error;
using nestor::capi::Tensor;
namespace json = nestor::json;

// Shape of a nested JSON array (leaves are non-arrays); checks it is rectangular.
void infer_dims(const json::Value& v, size_t depth, std::vector<int64_t>& dims, const std::string& key) {
  if (!v.is_array()) {
    if (depth != dims.size()) throw Error(NESTOR_INVALID_ARGUMENT, "input '" + key + "' is not rectangular");
    return;
  }
  if (depth == dims.size()) dims.push_back(static_cast<int64_t>(v.array.size()));
  else if (depth > dims.size() || dims[depth] != static_cast<int64_t>(v.array.size()))
    throw Error(NESTOR_INVALID_ARGUMENT, "input '" + key + "' is not rectangular");
  for (const auto& x : v.array) infer_dims(x, depth + 1, dims, key);
}

// Standard base64 (with padding) of a {"b64": ...} string input.
std::string from_base64(const std::string& in, const std::string& key) {
  auto bad = [&] { return Error(NESTOR_INVALID_ARGUMENT, "input '" + key + "' has invalid base64 data"); };
  if (in.size() % 4 != 0) throw bad();
  size_t n = in.size(), pad = 0;
  while (pad < 2 && n > pad && in[n - 1 - pad] == '=') ++pad;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i + pad < n; ++i) {
    char c = in[i];
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
          : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (v < 0) throw bad();
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

void leaves(const json::Value& v, std::vector<const json::Value*>& out) {
  if (v.is_array()) {
    for (const auto& x : v.array) leaves(x, out);
  } else {
    out.push_back(&v);
  }
}

Tensor to_tensor(const json::Value& v, nestor_dtype dt, const std::string& key) {
  std::vector<int64_t> dims;
  infer_dims(v, 0, dims, key);
  std::vector<const json::Value*> xs;
  leaves(v, xs);
  auto bad = [&](const char* want) { return Error(NESTOR_INVALID_ARGUMENT, "input '" + key + "' needs " + want); };
  if (dt == NESTOR_STRING) {
    std::vector<std::string> s;
    for (auto* x : xs) {
      const json::Value* b64 = x->is_object() && x->object.size() == 1 ? x->find("b64") : nullptr;
      if (b64 != nullptr && b64->is_string()) {
        s.push_back(from_base64(b64->string, key));
        continue;
      }
      if (!x->is_string()) throw bad("strings (or {\"b64\": ...} objects)");
      s.push_back(x->string);
    }
    return Tensor::strings(dims, s);
  }
  if (dt == NESTOR_BOOL) {
    std::vector<uint8_t> b;
    for (auto* x : xs) {
      if (!x->is_bool()) throw bad("booleans");
      b.push_back(x->boolean ? 1 : 0);
    }
    return Tensor::of_bools(dims, b);
  }
  for (auto* x : xs)
    if (!x->is_number()) throw bad("numbers");
  auto ints = [&]() {
    for (auto* x : xs)
      if (!x->is_int) throw bad("integers");
  };
  switch (dt) {
    case NESTOR_FLOAT32: {
      std::vector<float> f;
      for (auto* x : xs) f.push_back(static_cast<float>(x->number));
      return Tensor::of<float>(dims, f);
    }
    case NESTOR_FLOAT64: {
      std::vector<double> f;
      for (auto* x : xs) f.push_back(x->number);
      return Tensor::of<double>(dims, f);
    }
    case NESTOR_INT32: {
      ints();
      std::vector<int32_t> f;
      for (auto* x : xs) {
        if (x->integer < INT32_MIN || x->integer > INT32_MAX) throw bad("int32 values");
        f.push_back(static_cast<int32_t>(x->integer));
      }
      return Tensor::of<int32_t>(dims, f);
    }
    default: {
      ints();
      std::vector<int64_t> f;
      for (auto* x : xs) f.push_back(x->integer);
      return Tensor::of<int64_t>(dims, f);
    }
  }
}

void put_number(std::string& out, double v, int digits) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  out += buf;
}

void put_element(std::string& out, const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case NESTOR_FLOAT32: put_number(out, t.data<float>()[i], 9); break;
    case NESTOR_FLOAT64: put_number(out, t.data<double>()[i], 17); break;
    case NESTOR_INT32: out += std::to_string(t.data<int32_t>()[i]); break;
    case NESTOR_INT64: out += std::to_string(t.data<int64_t>()[i]); break;
    case NESTOR_BOOL: out += t.bools()[i] ? "true" : "false"; break;
    case NESTOR_STRING: json::append_quoted(out, t.string_at(i)); break;
  }
}

// Nested arrays, row-major.
void put_tensor(std::string& out, const Tensor& t, const std::vector<int64_t>& dims, size_t axis, int64_t& next) {
  if (axis == dims.size()) {
    put_element(out, t, next++);
    return;
  }
  out += '[';
  for (int64_t i = 0; i < dims[axis]; ++i) {
    if (i) out += ',';
    put_tensor(out, t, dims, axis + 1, next);
  }
  out += ']';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <export_dir> <signature>  (JSON lines on stdin)\n", argv[0]);
    return 2;
  }
  const std::string sig = argv[2];
  std::unique_ptr<nestor::capi::Predictor> p;
  std::vector<nestor::capi::Predictor::Spec> specs;
  try {
    p = std::make_unique<nestor::capi::Predictor>(argv[1]);
    specs = p->inputs(sig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "predict: %s\n", e.what());
    return 1;
  }
  std::string line;
  int failures = 0;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string out;
    try {
      json::Value row = json::parse(line, "input line");
      if (!row.is_object()) throw Error(NESTOR_INVALID_ARGUMENT, "input line must be a JSON object");
      std::map<std::string, Tensor> inputs;
      for (const auto& kv : row.object) {
        nestor_dtype dt = NESTOR_FLOAT32;
        bool known = false;
        for (const auto& s : specs)
          if (s.key == kv.first) {
            dt = s.dtype;
            known = true;
          }
        if (!known) throw Error(NESTOR_INVALID_ARGUMENT, "signature '" + sig + "' has no input '" + kv.first + "'");
        inputs.emplace(kv.first, to_tensor(kv.second, dt, kv.first));
      }
      std::map<std::string, Tensor> got = p->run(sig, inputs);
      out += '{';
      bool first = true;
      for (const auto& kv : got) {
        if (!first) out += ',';
        first = false;
        json::append_quoted(out, kv.first);
        out += ':';
        int64_t next = 0;
        put_tensor(out, kv.second, kv.second.dims(), 0, next);
      }
      out += '}';
    } catch (const std::exception& e) {
      ++failures;
      out = "{\"error\":";
      json::append_quoted(out, e.what());
      out += '}';
    }
    std::fputs(out.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  return failures ? 3 : 0;
}
