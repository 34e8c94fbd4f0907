// nestor/threadpool.h: intra-op parallelism. parallel_for splits [0, n) into chunks of
// at least `grain` items and runs them on the pool's workers and the calling thread;
// it returns when all chunks are done, rethrowing the first exception any chunk threw.
// Small ranges run inline with no synchronisation.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nestor {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);  // total threads including the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
  // Runs fn(i, i + 1) for every i in [0, n) at the same time, one per thread, for work whose
  // parts wait on each other (OpenBLAS's threaded GEMM). Returns false, running nothing, when
  // that cannot be promised: n above the thread count, or the pool busy with another call.
  bool try_run_concurrently(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  void dispatch(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn);
  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0, job_chunk_ = 0, next_chunk_ = 0, num_chunks_ = 0;
  std::atomic<int64_t> chunks_done_{0};  // read by the caller's spin without the lock
  std::atomic<uint64_t> generation_{0};  // read by idle workers' spin without the lock
  std::exception_ptr error_;
  bool stop_ = false;
  std::mutex run_mu_;  // one parallel_for at a time per pool
};

int default_num_threads();

}  // namespace nestor
