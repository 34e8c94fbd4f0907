#include "nestor/threadpool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NESTOR_CPU_RELAX() _mm_pause()
#else
#define NESTOR_CPU_RELAX() std::this_thread::yield()
#endif

namespace nestor {

namespace {

// A worker that has just finished a chunk spins this long for the next job before it sleeps,
// and the caller spins this long for the workers' chunks before it sleeps. A step hands the
// pool jobs between single-threaded kernels of up to a millisecond or so, and a futex wake-up
// costs 50-300 us on a busy VM: with 50 us of spinning the batch-64 MLP's p99 latency was 3-4x
// its p50, with 2 ms it is 1.4x (benchmarks/serving.py). OpenBLAS's own threads spun ~0.1 s.
constexpr auto kSpin = std::chrono::microseconds(2000);

template <typename Pred>
bool spin_until(Pred ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      NESTOR_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

}  // namespace

int default_num_threads() {
  if (const char* e = std::getenv("NESTOR_NUM_THREADS")) {
    int v = std::atoi(e);
    if (v > 0) return v;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
    if (stop_) return;
    seen = generation_.load(std::memory_order_relaxed);
    while (next_chunk_ < num_chunks_) {
      int64_t c = next_chunk_++;
      const auto* job = job_;
      int64_t b = c * job_chunk_, e = std::min(job_n_, b + job_chunk_);
      l.unlock();
      std::exception_ptr err;
      try {
        (*job)(b, e);
      } catch (...) {
        err = std::current_exception();
      }
      l.lock();
      if (err && !error_) error_ = err;
      if (chunks_done_.fetch_add(1, std::memory_order_acq_rel) + 1 == num_chunks_) done_cv_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (num_threads_ == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> run_lock(run_mu_, std::try_to_lock);
  if (!run_lock.owns_lock()) {  // nested or concurrent use: run inline
    fn(0, n);
    return;
  }
  int64_t chunks = std::min<int64_t>(num_threads_, (n + grain - 1) / grain);
  dispatch(n, (n + chunks - 1) / chunks, fn);
}

bool ThreadPool::try_run_concurrently(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return true;
  if (n > num_threads_) return false;
  if (n == 1) {
    fn(0, 1);
    return true;
  }
  std::unique_lock<std::mutex> run_lock(run_mu_, std::try_to_lock);
  if (!run_lock.owns_lock()) return false;
  dispatch(n, 1, fn);  // n chunks for n threads, all of them idle: every chunk starts at once
  return true;
}

// Runs [0, n) in chunks of `chunk` on the workers and the caller; the caller holds run_mu_.
void ThreadPool::dispatch(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    job_ = &fn;
    job_n_ = n;
    job_chunk_ = chunk;
    num_chunks_ = (n + chunk - 1) / chunk;
    next_chunk_ = 0;
    chunks_done_ = 0;
    error_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  std::unique_lock<std::mutex> l(mu_);
  while (next_chunk_ < num_chunks_) {
    int64_t c = next_chunk_++;
    int64_t b = c * job_chunk_, e = std::min(job_n_, b + job_chunk_);
    l.unlock();
    std::exception_ptr err;
    try {
      fn(b, e);
    } catch (...) {
      err = std::current_exception();
    }
    l.lock();
    if (err && !error_) error_ = err;
    chunks_done_.fetch_add(1, std::memory_order_acq_rel);
  }
  l.unlock();
  spin_until([&] { return chunks_done_.load(std::memory_order_acquire) == num_chunks_; });
  l.lock();
  done_cv_.wait(l, [&] { return chunks_done_.load(std::memory_order_relaxed) == num_chunks_; });
  job_ = nullptr;
  if (error_) {
    std::exception_ptr err = error_;
    error_ = nullptr;
    l.unlock();
    std::rethrow_exception(err);  // the first failure of any chunk, on the calling thread
  }
}

}  // namespace nestor
