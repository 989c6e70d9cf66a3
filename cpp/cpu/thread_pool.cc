#include "cpp/cpu/thread_pool.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace tinynn::cpu {
namespace {

// Long enough to bridge the gap between two ops of an eager training step issued from JS
// (~10-50 µs), short enough that an idle pool stops burning a core almost at once.
constexpr auto kWorkerSpin = std::chrono::microseconds(300);
// The caller waits for the other threads' share of a region; it rarely lasts longer than this.
constexpr auto kCallerSpin = std::chrono::microseconds(2000);

// The pool whose task this thread is running, if any.
thread_local const ThreadPool* t_running_pool = nullptr;

// Marks this thread as running a task of `pool` for its lifetime.
class RunningTask {
 public:
  explicit RunningTask(const ThreadPool* pool) : saved_(t_running_pool) { t_running_pool = pool; }
  ~RunningTask() { t_running_pool = saved_; }
  RunningTask(const RunningTask&) = delete;
  RunningTask& operator=(const RunningTask&) = delete;

 private:
  const ThreadPool* saved_;
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or until `limit` has passed; returns done(). Past the first few µs it
// yields between checks, so that on a machine busier than its cores the thread it waits for
// can run.
template <typename Done>
bool spin_until(Done&& done, std::chrono::microseconds limit) {
  constexpr auto kPauseOnly = std::chrono::microseconds(20);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    const auto spent = std::chrono::steady_clock::now() - start;
    if (spent >= limit) return done();
    if (spent >= kPauseOnly) std::this_thread::yield();
  }
}

int available_cpus() {
#if defined(__linux__)
  // Honours taskset/cpusets, which hardware_concurrency() ignores: a pool bigger than the CPUs it
  // may use spins against itself.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  int n = static_cast<int>(std::thread::hardware_concurrency());
  return n > 0 ? n : 1;
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_tasks(int self) {
  const int stride = size();
  std::unique_lock<std::mutex> lock(mutex_);
  while (fn_ && unclaimed_ > 0) {
    int task = -1;
    for (int t = self; t < tasks_ && task < 0; t += stride)
      if (!claimed_[t]) task = t;
    for (int t = 0; t < tasks_ && task < 0; ++t)
      if (!claimed_[t]) task = t;
    claimed_[task] = 1;
    --unclaimed_;
    const std::function<void(int)>* fn = fn_;
    lock.unlock();
    std::exception_ptr failure;
    {
      RunningTask running(this);
      try {
        (*fn)(task);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    lock.lock();
    if (failure && !error_) error_ = failure;
    if (finished_.fetch_add(1) + 1 == tasks_ && caller_sleeping_) done_.notify_one();
  }
}

void ThreadPool::worker_loop(int self) {
  uint64_t seen = 0;
  for (;;) {
    auto woken = [&] { return stop_.load() || generation_.load() != seen; };
    if (!spin_until(woken, kWorkerSpin)) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++sleeping_workers_;
      wake_.wait(lock, woken);
      --sleeping_workers_;
    }
    if (stop_.load()) return;
    seen = generation_.load();
    run_tasks(self);
  }
}

void ThreadPool::parallel_for(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  if (tasks == 1 || workers_.empty() || t_running_pool == this) {
    for (int t = 0; t < tasks; ++t) fn(t);
    return;
  }
  std::lock_guard<std::mutex> region(region_mutex_);
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    tasks_ = tasks;
    claimed_.assign(tasks, 0);
    unclaimed_ = tasks;
    finished_.store(0);
    generation_.fetch_add(1);
    wake = sleeping_workers_ > 0;
  }
  if (wake) wake_.notify_all();
  run_tasks(0);
  auto all_done = [&] { return finished_.load() == tasks; };
  std::unique_lock<std::mutex> lock(mutex_);
  if (!all_done()) {
    lock.unlock();
    const bool done = spin_until(all_done, kCallerSpin);
    lock.lock();
    if (!done) {
      caller_sleeping_ = true;
      done_.wait(lock, all_done);
      caller_sleeping_ = false;
    }
  }
  fn_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

ThreadPool& default_thread_pool() {
  // Never destroyed: a static destructor would join the workers while the process exits or the
  // addon unloads, and on Windows that runs under the loader lock, which a thread needs to end, so
  // the join never returns (the process hung at exit with 2 or more threads). The idle workers
  // wait on a condition variable; the process's exit ends them.
  static ThreadPool* pool = new ThreadPool([] {
    const char* env = std::getenv("TINYNN_NUM_THREADS");
    int n = env ? std::atoi(env) : 0;
    return n > 0 ? n : available_cpus();
  }());
  return *pool;
}

}  // namespace tinynn::cpu
