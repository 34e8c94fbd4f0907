// serving_latency <export_dir> <signature> <batch> <calls> <intra_op_threads>
//
// Loads an export through the pure C API (nestor/c_api.h), builds one input tensor per
// signature input (numeric inputs only: the first unknown dimension becomes `batch`, other
// unknown ones 1; values from bench::values), runs 200 warm-up calls, then times `calls` calls
// of nestor_predictor_run + nestor_outputs_release one by one. Prints bench::print_json's line,
// whose "output" is the signature's first output (float32) of one call.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "latency_util.h"
#include "nestor/c_api.h"

namespace {

[[noreturn]] void die(nestor_status* s, const char* what) {
  std::fprintf(stderr, "serving_latency: %s: %s\n", what, nestor_status_message(s));
  nestor_status_release(s);
  std::exit(1);
}

void check(nestor_status* s, const char* what) {
  if (s) die(s, what);
}

struct Input {
  std::string key;
  nestor_tensor* tensor = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s <export_dir> <signature> <batch> <calls> <intra_op_threads>\n", argv[0]);
    return 2;
  }
  const char* sig = argv[2];
  const int64_t batch = std::atoll(argv[3]);
  const int calls = std::atoi(argv[4]);
  nestor_predictor_options opts{sizeof(nestor_predictor_options), std::atoi(argv[5])};
  nestor_predictor* p = nullptr;
  check(nestor_predictor_load(argv[1], &opts, &p), "load");

  size_t n_in = 0;
  check(nestor_predictor_num_inputs(p, sig, &n_in), "inputs");
  std::vector<Input> inputs(n_in);
  uint32_t state = bench::kSeed;
  for (size_t i = 0; i < n_in; ++i) {
    const char* key = nullptr;
    nestor_dtype dt;
    int rank = 0;
    const int64_t* spec = nullptr;
    check(nestor_predictor_input(p, sig, i, &key, &dt, &rank, &spec), "input spec");
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
    nestor_status* s = nullptr;
    if (dt == NESTOR_FLOAT32) {
      auto v = bench::values<float>(n, state);
      s = nestor_tensor_create(dt, dims.data(), rank, v.data(), v.size() * sizeof(float), &inputs[i].tensor);
    } else if (dt == NESTOR_FLOAT64) {
      auto v = bench::values<double>(n, state);
      s = nestor_tensor_create(dt, dims.data(), rank, v.data(), v.size() * sizeof(double), &inputs[i].tensor);
    } else {
      std::fprintf(stderr, "serving_latency: input '%s' is %s; only float inputs are generated\n", key,
                   nestor_dtype_name(dt));
      return 1;
    }
    check(s, "tensor");
    inputs[i].key = key;
  }
  std::vector<const char*> keys;
  std::vector<const nestor_tensor*> ts;
  for (const auto& in : inputs) {
    keys.push_back(in.key.c_str());
    ts.push_back(in.tensor);
  }

  auto run = [&](size_t* n_out, nestor_tensor*** outs) {
    check(nestor_predictor_run(p, sig, keys.size(), keys.data(), ts.data(), n_out, nullptr, outs), "run");
  };
  std::vector<float> first;
  {
    size_t n_out = 0;
    nestor_tensor** outs = nullptr;
    run(&n_out, &outs);
    if (n_out && nestor_tensor_dtype(outs[0]) == NESTOR_FLOAT32) {
      first.resize(static_cast<size_t>(nestor_tensor_num_elements(outs[0])));
      std::memcpy(first.data(), nestor_tensor_data(outs[0]), first.size() * sizeof(float));
    }
    nestor_outputs_release(n_out, nullptr, outs);
  }
  auto us = bench::time_calls(
      [&] {
        size_t n_out = 0;
        nestor_tensor** outs = nullptr;
        run(&n_out, &outs);
        nestor_outputs_release(n_out, nullptr, outs);
      },
      calls);
  bench::print_json(us, first);
  for (auto& in : inputs) nestor_tensor_release(in.tensor);
  nestor_predictor_release(p);
  return 0;
}
