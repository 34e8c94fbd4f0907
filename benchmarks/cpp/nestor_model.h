// One export loaded through nestor's pure C API (nestor/c_api.h) and one input tensor per
// signature input: what serving_latency and paired_latency time. Numeric inputs only: the
// first unknown dimension becomes `batch`, other unknown ones 1; values from bench::values.
// Exits with a message on any failure (these are benchmark programs).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "latency_util.h"
#include "nestor/c_api.h"

namespace bench {

class NestorModel {
 public:
  NestorModel(const char* export_dir, const char* signature, int64_t batch, int threads, uint32_t& state)
      : signature_(signature) {
    nestor_predictor_options opts{sizeof(nestor_predictor_options), threads};
    check(nestor_predictor_load(export_dir, &opts, &predictor_), "load");
    size_t n_in = 0;
    check(nestor_predictor_num_inputs(predictor_, signature, &n_in), "inputs");
    for (size_t i = 0; i < n_in; ++i) {
      const char* key = nullptr;
      nestor_dtype dt;
      int rank = 0;
      const int64_t* spec = nullptr;
      check(nestor_predictor_input(predictor_, signature, i, &key, &dt, &rank, &spec), "input spec");
      std::vector<int64_t> dims;
      bool batched = false;
      for (int d = 0; d < rank; ++d) {
        int64_t v = spec[d];
        if (v < 0) v = batched ? 1 : batch;
        batched = batched || spec[d] < 0;
        dims.push_back(v);
      }
      int64_t n = 1;
      for (int64_t d : dims) n *= d;
      nestor_tensor* t = nullptr;
      if (dt == NESTOR_FLOAT32) {
        auto v = values<float>(n, state);
        check(nestor_tensor_create(dt, dims.data(), rank, v.data(), v.size() * sizeof(float), &t), "tensor");
      } else if (dt == NESTOR_FLOAT64) {
        auto v = values<double>(n, state);
        check(nestor_tensor_create(dt, dims.data(), rank, v.data(), v.size() * sizeof(double), &t), "tensor");
      } else {
        std::fprintf(stderr, "nestor: input '%s' is %s; only float inputs are generated\n", key,
                     nestor_dtype_name(dt));
        std::exit(1);
      }
      keys_.emplace_back(key);
      inputs_.push_back(t);
    }
    for (const auto& k : keys_) key_ptrs_.push_back(k.c_str());
    const_inputs_.assign(inputs_.begin(), inputs_.end());
  }
  NestorModel(const NestorModel&) = delete;
  NestorModel& operator=(const NestorModel&) = delete;
  ~NestorModel() {
    for (nestor_tensor* t : inputs_) nestor_tensor_release(t);
    nestor_predictor_release(predictor_);
  }

  // One call as a service makes it: nestor_predictor_run, then nestor_outputs_release.
  void call() {
    size_t n_out = 0;
    nestor_tensor** outs = run_once(&n_out);
    nestor_outputs_release(n_out, nullptr, outs);
  }

  // The signature's first output of one call, flattened (empty unless it is float32).
  std::vector<float> output() {
    size_t n_out = 0;
    nestor_tensor** outs = run_once(&n_out);
    std::vector<float> y;
    if (n_out && nestor_tensor_dtype(outs[0]) == NESTOR_FLOAT32) {
      y.resize(static_cast<size_t>(nestor_tensor_num_elements(outs[0])));
      std::memcpy(y.data(), nestor_tensor_data(outs[0]), y.size() * sizeof(float));
    }
    nestor_outputs_release(n_out, nullptr, outs);
    return y;
  }

 private:
  static void check(nestor_status* s, const char* what) {
    if (!s) return;
    std::fprintf(stderr, "nestor: %s: %s\n", what, nestor_status_message(s));
    nestor_status_release(s);
    std::exit(1);
  }
  nestor_tensor** run_once(size_t* n_out) {
    nestor_tensor** outs = nullptr;
    check(nestor_predictor_run(predictor_, signature_.c_str(), key_ptrs_.size(), key_ptrs_.data(),
                               const_inputs_.data(), n_out, nullptr, &outs),
          "run");
    return outs;
  }

  std::string signature_;
  nestor_predictor* predictor_ = nullptr;
  std::vector<std::string> keys_;
  std::vector<const char*> key_ptrs_;
  std::vector<nestor_tensor*> inputs_;
  std::vector<const nestor_tensor*> const_inputs_;
};

}  // namespace bench
