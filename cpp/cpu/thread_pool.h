// A persistent pool of worker threads that runs parallel_for regions. One region at a time:
// callers from several threads (two fits at once) take turns.
//
// A training step is a burst of short regions (a 256x784x128 GEMM takes ~0.1 ms on two cores),
// so a condition-variable wake-up per region (tens of µs on a VM) would cost more than the work.
// Workers and the waiting caller therefore spin for a short while before they sleep.
//
// Task t belongs to thread t % size() (the caller is thread 0), so that consecutive regions with
// the same split (the same layer, step after step) find their part of C and B in the same core's
// cache; a thread that runs out of its own tasks takes any left unclaimed.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tinynn::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(t) for t in [0, tasks), spread over the pool and the calling thread; returns when all
  // are done. If fn throws, the other tasks still run and the first exception is rethrown here
  // (never on a worker thread). Called from inside one of this pool's tasks, it runs the tasks
  // in line (rather than waiting for a region that waits for it).
  void parallel_for(int tasks, const std::function<void(int)>& fn);

 private:
  void worker_loop(int self);
  // Runs tasks of the current region until none is left to claim: its own first, then others'.
  void run_tasks(int self);

  std::vector<std::thread> workers_;
  std::mutex region_mutex_;  // one region at a time
  // Guards the region below. generation_ and finished_ are atomics as well so that spinning
  // threads can watch them without the lock; they only change under it.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* fn_ = nullptr;
  int tasks_ = 0;
  std::vector<unsigned char> claimed_;  // [tasks_], capacity kept between regions
  int unclaimed_ = 0;
  std::atomic<int> finished_{0};
  std::atomic<uint64_t> generation_{0};
  int sleeping_workers_ = 0;
  bool caller_sleeping_ = false;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;  // the region's first exception, for the caller
};

// The process-wide pool: TINYNN_NUM_THREADS threads, else one per CPU this process may run on.
ThreadPool& default_thread_pool();

}  // namespace tinynn::cpu
