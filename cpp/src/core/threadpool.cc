#include "nestor/threadpool.h"

#include <algorithm>
#include <cstdlib>
#include <exception>

namespace nestor {

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
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
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
      if (++chunks_done_ == num_chunks_) done_cv_.notify_all();
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
  int64_t chunk = (n + chunks - 1) / chunks;
  {
    std::lock_guard<std::mutex> l(mu_);
    job_ = &fn;
    job_n_ = n;
    job_chunk_ = chunk;
    num_chunks_ = (n + chunk - 1) / chunk;
    next_chunk_ = 0;
    chunks_done_ = 0;
    error_ = nullptr;
    ++generation_;
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
    ++chunks_done_;
  }
  done_cv_.wait(l, [&] { return chunks_done_ == num_chunks_; });
  job_ = nullptr;
  if (error_) {
    std::exception_ptr err = error_;
    error_ = nullptr;
    l.unlock();
    std::rethrow_exception(err);  // the first failure of any chunk, on the calling thread
  }
}

}  // namespace nestor
