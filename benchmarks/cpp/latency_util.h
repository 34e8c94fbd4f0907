// What serving_latency (nestor's C API), ort_latency (ONNX Runtime's C API) and paired_latency
// (both in one process) share, so that all time the same thing the same way: the input values,
// the warm-up and per-call timing, and the JSON they print.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

namespace bench {

// `n` values in [-2, 2) from a fixed linear congruential sequence; `state` carries on from
// one input to the next, so that both programs give a model the same inputs.
template <typename T>
std::vector<T> values(int64_t n, uint32_t& state) {
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<T>(static_cast<double>(state >> 8) / double(1u << 24) * 4.0 - 2.0);
  }
  return v;
}

constexpr uint32_t kSeed = 12345;
constexpr int kWarmupCalls = 200;
// Warm-up lasts at least this long too: a BLAS's worker threads busy-wait for a while after
// they start (OpenBLAS's for about 0.1 s), and a loaded model's first calls fault its pages in.
constexpr auto kWarmupTime = std::chrono::milliseconds(300);

// Runs `round()` at least kWarmupCalls times and for at least kWarmupTime.
template <typename F>
void warm_up(F&& round) {
  const auto warm_until = std::chrono::steady_clock::now() + kWarmupTime;
  for (int i = 0; i < kWarmupCalls || std::chrono::steady_clock::now() < warm_until; ++i) round();
}

// Microseconds of one call of `call()`.
template <typename F>
double time_one(F&& call) {
  const auto t0 = std::chrono::steady_clock::now();
  call();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

// Microseconds of each of `calls` calls of `call()`, after the warm-up; sorted.
template <typename F>
std::vector<double> time_calls(F&& call, int calls) {
  warm_up(call);
  std::vector<double> us(static_cast<size_t>(calls));
  for (auto& t : us) t = time_one(call);
  std::sort(us.begin(), us.end());
  return us;
}

// Microseconds of `calls` calls of each of a() and b(), alternated call by call, the order
// swapped every pair (a b, b a, a b, ...), after a warm-up alternated the same way: both see
// the same moments of a machine whose speed drifts by tens of percent over seconds, which
// separate runs, even interleaved ones, do not. Each list sorted.
template <typename A, typename B>
std::pair<std::vector<double>, std::vector<double>> time_paired(A&& a, B&& b, int calls) {
  warm_up([&] {
    a();
    b();
  });
  std::vector<double> ta(static_cast<size_t>(calls)), tb(static_cast<size_t>(calls));
  for (size_t i = 0; i < ta.size(); ++i) {
    if (i % 2 == 0) {
      ta[i] = time_one(a);
      tb[i] = time_one(b);
    } else {
      tb[i] = time_one(b);
      ta[i] = time_one(a);
    }
  }
  std::sort(ta.begin(), ta.end());
  std::sort(tb.begin(), tb.end());
  return {std::move(ta), std::move(tb)};
}

// {"p50_us", "p99_us", "mean_us", "calls", "samples_us": [sorted], "output": [...]}, where
// "output" is the first output of one call, flattened (the harness compares the engines).
inline void print_json_object(const std::vector<double>& sorted_us, const std::vector<float>& output) {
  double mean = 0;
  for (double t : sorted_us) mean += t / static_cast<double>(sorted_us.size());
  auto pct = [&](double q) {
    return sorted_us[std::min(sorted_us.size() - 1, static_cast<size_t>(q * (sorted_us.size() - 1) + 0.5))];
  };
  std::printf("{\"p50_us\": %.3f, \"p99_us\": %.3f, \"mean_us\": %.3f, \"calls\": %zu, \"samples_us\": [", pct(0.5),
              pct(0.99), mean, sorted_us.size());
  for (size_t i = 0; i < sorted_us.size(); ++i) std::printf("%s%.3f", i ? ", " : "", sorted_us[i]);
  std::printf("], \"output\": [");
  for (size_t i = 0; i < output.size(); ++i) std::printf("%s%.9g", i ? ", " : "", static_cast<double>(output[i]));
  std::printf("]}");
}

// print_json_object's object as one line.
inline void print_json(const std::vector<double>& sorted_us, const std::vector<float>& output) {
  print_json_object(sorted_us, output);
  std::printf("\n");
}

}  // namespace bench
