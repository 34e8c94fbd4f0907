// nestor/predictor.hpp: header-only C++ RAII wrapper over the C API (nestor/c_api.h).
//
// Depends only on the C ABI of libnestor_runtime, so it works across compilers.
// Predictor handles are unique (move-only), tensors shared and immutable; failures throw nestor::capi::Error with the code.
//
//   nestor::capi::Predictor p("/exports/123");
//   auto out = p.run("predict", {{"age", nestor::capi::Tensor::of<float>({2}, {30.f, 50.f})}, ...});
//   const float* probs = out.at("probabilities").data<float>();
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "nestor/c_api.h"

namespace nestor {
namespace capi {

class Error : public std::runtime_error {
 public:
  Error(nestor_code code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  nestor_code code() const { return code_; }

 private:
  nestor_code code_;
};

// Throws if `s` is an error status (and frees it either way).
inline void check(nestor_status* s) {
  if (s == nullptr) return;
  Error e(nestor_status_code(s), nestor_status_message(s));
  nestor_status_release(s);
  throw e;
}

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr nestor_dtype value = NESTOR_FLOAT32; };
template <> struct DTypeOf<double> { static constexpr nestor_dtype value = NESTOR_FLOAT64; };
template <> struct DTypeOf<int32_t> { static constexpr nestor_dtype value = NESTOR_INT32; };
template <> struct DTypeOf<int64_t> { static constexpr nestor_dtype value = NESTOR_INT64; };

class Tensor {
 public:
  Tensor() = default;
  // Takes ownership. Copies share the (immutable) tensor; the last one releases it.
  explicit Tensor(nestor_tensor* t) : t_(t, nestor_tensor_release) {}

  static Tensor create(nestor_dtype dtype, const std::vector<int64_t>& dims, const void* data, size_t nbytes) {
    nestor_tensor* t = nullptr;
    check(nestor_tensor_create(dtype, dims.data(), static_cast<int>(dims.size()), data, nbytes, &t));
    return Tensor(t);
  }
  template <typename T>
  static Tensor of(const std::vector<int64_t>& dims, const std::vector<T>& values) {
    return create(DTypeOf<T>::value, dims, values.data(), values.size() * sizeof(T));
  }
  // bool tensors: one byte (0/1) per element.
  static Tensor of_bools(const std::vector<int64_t>& dims, const std::vector<uint8_t>& values) {
    return create(NESTOR_BOOL, dims, values.data(), values.size());
  }
  static Tensor strings(const std::vector<int64_t>& dims, const std::vector<std::string>& values) {
    std::vector<const char*> p;
    std::vector<size_t> n;
    for (const auto& s : values) {
      p.push_back(s.data());
      n.push_back(s.size());
    }
    int64_t count = 1;
    for (int64_t d : dims) count *= d;
    if (count != static_cast<int64_t>(values.size()))
      throw Error(NESTOR_INVALID_ARGUMENT, "string tensor: shape and number of values differ");
    nestor_tensor* t = nullptr;
    check(nestor_tensor_create_strings(dims.data(), static_cast<int>(dims.size()), p.data(), n.data(), &t));
    return Tensor(t);
  }

  bool valid() const { return t_ != nullptr; }
  const nestor_tensor* get() const { return t_.get(); }
  nestor_dtype dtype() const { return nestor_tensor_dtype(t_.get()); }
  std::vector<int64_t> dims() const {
    const int64_t* d = nestor_tensor_dims(t_.get());
    return std::vector<int64_t>(d, d + nestor_tensor_rank(t_.get()));
  }
  int64_t num_elements() const { return nestor_tensor_num_elements(t_.get()); }
  template <typename T>
  const T* data() const {
    if (dtype() != DTypeOf<T>::value) throw Error(NESTOR_INVALID_ARGUMENT, "tensor has another dtype");
    return static_cast<const T*>(nestor_tensor_data(t_.get()));
  }
  const uint8_t* bools() const {
    if (dtype() != NESTOR_BOOL) throw Error(NESTOR_INVALID_ARGUMENT, "tensor is not bool");
    return static_cast<const uint8_t*>(nestor_tensor_data(t_.get()));
  }
  std::string string_at(int64_t i) const {
    size_t n = 0;
    const char* s = nestor_tensor_string_at(t_.get(), i, &n);
    if (s == nullptr) throw Error(NESTOR_INVALID_ARGUMENT, "not a string tensor, or index out of range");
    return std::string(s, n);
  }

 private:
  std::shared_ptr<nestor_tensor> t_;
};

class Predictor {
 public:
  explicit Predictor(const std::string& dir, int intra_op_threads = 0) {
    nestor_predictor_options o{sizeof(nestor_predictor_options), intra_op_threads};
    nestor_predictor* p = nullptr;
    check(nestor_predictor_load(dir.c_str(), &o, &p));
    p_.reset(p);
  }

  std::vector<std::string> signature_names() const {
    std::vector<std::string> out;
    for (size_t i = 0, n = nestor_predictor_num_signatures(p_.get()); i < n; ++i)
      out.push_back(nestor_predictor_signature_name(p_.get(), i));
    return out;
  }

  struct Spec {
    std::string key;
    nestor_dtype dtype;
    int rank;                   // -1: unknown
    std::vector<int64_t> dims;  // -1: unknown dimension
  };
  std::vector<Spec> inputs(const std::string& sig) const { return specs(sig, true); }
  std::vector<Spec> outputs(const std::string& sig) const { return specs(sig, false); }

  std::map<std::string, Tensor> run(const std::string& sig, const std::map<std::string, Tensor>& inputs) const {
    std::vector<const char*> keys;
    std::vector<const nestor_tensor*> ts;
    for (const auto& kv : inputs) {
      keys.push_back(kv.first.c_str());
      ts.push_back(kv.second.get());
    }
    size_t n = 0;
    char** out_keys = nullptr;
    nestor_tensor** outs = nullptr;
    check(nestor_predictor_run(p_.get(), sig.c_str(), keys.size(), keys.data(), ts.data(), &n, &out_keys, &outs));
    std::map<std::string, Tensor> result;
    for (size_t i = 0; i < n; ++i) {
      // The map takes each tensor; the arrays and keys are freed below.
      Tensor t(outs[i]);
      outs[i] = nullptr;
      result.emplace(out_keys[i], std::move(t));
    }
    nestor_outputs_release(n, out_keys, outs);
    return result;
  }

 private:
  std::vector<Spec> specs(const std::string& sig, bool in) const {
    size_t n = 0;
    check(in ? nestor_predictor_num_inputs(p_.get(), sig.c_str(), &n)
             : nestor_predictor_num_outputs(p_.get(), sig.c_str(), &n));
    std::vector<Spec> out;
    for (size_t i = 0; i < n; ++i) {
      const char* key = nullptr;
      nestor_dtype dt;
      int rank = 0;
      const int64_t* dims = nullptr;
      check(in ? nestor_predictor_input(p_.get(), sig.c_str(), i, &key, &dt, &rank, &dims)
               : nestor_predictor_output(p_.get(), sig.c_str(), i, &key, &dt, &rank, &dims));
      out.push_back(Spec{key, dt, rank, rank > 0 ? std::vector<int64_t>(dims, dims + rank) : std::vector<int64_t>{}});
    }
    return out;
  }
  struct Del {
    void operator()(nestor_predictor* p) const { nestor_predictor_release(p); }
  };
  std::unique_ptr<nestor_predictor, Del> p_;
};

}  // namespace capi
}  // namespace nestor
