// serving_latency <export_dir> <signature> <batch> <calls> <intra_op_threads>
//
// Loads an export through the pure C API (nestor/c_api.h), builds one input tensor per
// signature input (numeric inputs only: the first unknown dimension becomes `batch`, other
// unknown ones 1; values from a fixed pseudo-random sequence), runs 200 warm-up calls, then
// times `calls` calls of nestor_predictor_run + nestor_outputs_release one by one. Prints one
// JSON line: {"p50_us": ..., "p99_us": ..., "mean_us": ..., "calls": ..., "samples_us": [sorted latencies]}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

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

template <typename T>
std::vector<T> values(int64_t n, uint32_t& state) {
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<T>(static_cast<double>(state >> 8) / double(1u << 24) * 4.0 - 2.0);
  }
  return v;
}

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
  uint32_t state = 12345;
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
      auto v = values<float>(n, state);
      s = nestor_tensor_create(dt, dims.data(), rank, v.data(), v.size() * sizeof(float), &inputs[i].tensor);
    } else if (dt == NESTOR_FLOAT64) {
      auto v = values<double>(n, state);
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

  auto call = [&] {
    size_t n_out = 0;
    nestor_tensor** outs = nullptr;
    check(nestor_predictor_run(p, sig, keys.size(), keys.data(), ts.data(), &n_out, nullptr, &outs), "run");
    nestor_outputs_release(n_out, nullptr, outs);
  };
  for (int i = 0; i < 200; ++i) call();
  std::vector<double> us(static_cast<size_t>(calls));
  for (auto& t : us) {
    auto t0 = std::chrono::steady_clock::now();
    call();
    t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  double mean = 0;
  for (double t : us) mean += t / calls;
  std::sort(us.begin(), us.end());
  auto pct = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * (us.size() - 1) + 0.5))]; };
  std::printf("{\"p50_us\": %.3f, \"p99_us\": %.3f, \"mean_us\": %.3f, \"calls\": %d, \"samples_us\": [", pct(0.5),
              pct(0.99), mean, calls);
  for (size_t i = 0; i < us.size(); ++i) std::printf("%s%.3f", i ? ", " : "", us[i]);
  std::printf("]}\n");
  for (auto& in : inputs) nestor_tensor_release(in.tensor);
  nestor_predictor_release(p);
  return 0;
}
