// A small CPU emulator for CUDA kernel bodies, so that CI (no GPU) runs the index math, the
// barriers, the distributed-shared-memory reductions and the epilogues of the kernels in cuda/
// against references. Include it BEFORE a kernel-body header (cuda/*.cuh written as plain C++
// apart from CUDA's built-ins); build with g++ -std=c++20 -O2 -pthread -ffp-contract=off.
//
// Model: one OS thread per CUDA thread, all threads of one cluster running at once (clusters one
// after another), __syncthreads() and cluster.sync() real barriers, each block's shared memory its
// own `Smem` object. What it checks, loudly (message on stderr, then abort, so a test sees a
// non-zero exit and never a hang):
//   - map_shared_rank of an address outside the calling block's shared memory, or a bad rank;
//   - barrier mismatch: a thread returning while others of its block (cluster) wait at
//     __syncthreads (cluster.sync), or calling one after some have returned — CUDA C++ requires
//     every thread of the block (cluster) to reach each barrier;
//   - a thread returning after reading a peer's shared memory with no cluster.sync() in between
//     (in CUDA the peer block may already have exited); in addition a block's shared memory is
//     poisoned when its last thread returns, so a late peer read through an older mapping tends
//     to see NaNs (best effort: that one depends on timing);
//   - reads of shared memory never written: it starts filled with 0xFF bytes (NaN floats, -1 ints);
//   - __trap(), exceptions out of a body, and no progress at all for $EMU_STALL_S seconds
//     (default 30: a deadlock, e.g. a thread at __syncthreads while the rest of its block waits
//     at cluster.sync).
// Not modelled: warps (no warp-level primitives, no lock-step, no warp-synchronous code), the
// GPU's weaker memory model (x86 orders more than PTX requires; plain shared-memory accesses
// between barriers are ordered here as a GPU would not guarantee), implicit FMA contraction
// (nvcc contracts a*b+c by default, g++ with -ffp-contract=off does not: bodies that must match
// the GPU bit for bit use fmaf / __fmul_rn / __fadd_rn explicitly, as ours do), __ldg's
// read-only-cache semantics, occupancy, launch limits other than the ones checked below.
#pragma once
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <semaphore>
#include <thread>
#include <type_traits>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

// ---- qualifiers ---------------------------------------------------------------------------------
#define __device__
#define __host__
#define __forceinline__ __inline__  // CUDA's own host definition adds always_inline; no need here
#define __launch_bounds__(...)
// __restrict__ is left alone: g++ understands it with the meaning nvcc gives it.

// ---- vector types (CUDA's layout and alignment) --------------------------------------------------
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };
struct alignas(4) uchar4 { unsigned char x, y, z, w; };
struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x, y, z; };
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }
inline uchar4 make_uchar4(unsigned char x, unsigned char y, unsigned char z, unsigned char w) { return {x, y, z, w}; }

// ---- built-in variables: set by the emulator for each emulated thread ---------------------------
inline thread_local uint3 threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;

// ---- failures -------------------------------------------------------------------------------------
namespace emu {

struct Block;
struct Cluster;
struct ThreadCtx {
  Block* block = nullptr;
  Cluster* cluster = nullptr;
  bool peer_read_pending = false;  // mapped a peer's shared memory since the last cluster.sync()
};
inline thread_local ThreadCtx ctx;  // null outside emulated threads

// Prints where (which emulated thread) and why, then aborts the whole process: a failing check in
// one emulated thread must not leave the others waiting at a barrier forever.
[[noreturn]] inline void fail(const char* fmt, ...) {
  static std::atomic<bool> failing{false};
  if (failing.exchange(true))  // another thread is already reporting and aborting: one message
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ctx.block)
    std::fprintf(stderr, "cuda_emulator: block %u thread %u: %s\n", blockIdx.x, threadIdx.x, msg);
  else
    std::fprintf(stderr, "cuda_emulator: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

// Bumped at every barrier completion and thread return; the watchdog aborts when it stands still.
inline std::atomic<uint64_t> progress{0};

// A counting barrier that also knows how many participants have returned, so that a mismatch (some
// threads at a barrier the others never reach) is reported instead of hanging. The seq_cst pairs
// (arrived, then exited on arrival; exited, then arrived on return) guarantee that of a racing
// arrival and return at least one sees the other.
struct Barrier {
  const char* name = "";
  unsigned expected = 0;
  std::atomic<unsigned> arrived{0}, phase{0}, exited{0};

  void arrive_and_wait() {
    const unsigned ph = phase.load(std::memory_order_acquire);  // cannot move before we arrive
    const unsigned now = arrived.fetch_add(1) + 1;
    // Threads that returned after this barrier opened are fine (they passed it; seeing their
    // return we also see the phase move on); threads that returned while it is still closed
    // never reached it.
    if (const unsigned gone = exited.load(); gone != 0 && phase.load() == ph)
      fail("%s reached after %u of its %u threads returned without reaching it (barrier mismatch)", name, gone,
           expected);
    if (now == expected) {  // last to arrive: open the barrier (reset before the phase moves on)
      arrived.store(0, std::memory_order_relaxed);
      phase.fetch_add(1, std::memory_order_release);
      phase.notify_all();
      progress.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    for (unsigned p = ph; p == ph; p = phase.load(std::memory_order_acquire)) phase.wait(ph, std::memory_order_acquire);
  }

  // Called once by each participant when it returns; true for the last one.
  bool on_return() {
    const unsigned gone = exited.fetch_add(1) + 1;
    if (const unsigned waiting = arrived.load())
      fail("returned while %u threads wait at %s (barrier mismatch: every thread must reach it)", waiting, name);
    return gone == expected;
  }
};

struct Block {
  Barrier barrier;
  unsigned char* smem = nullptr;  // this block's Smem object
  size_t smem_bytes = 0;
  unsigned rank = 0;  // in its cluster
};

struct Cluster {
  Barrier barrier;
  std::vector<Block>* blocks = nullptr;
};

// The OS threads: created once (creating ~1000 threads per cluster would dominate the run time)
// and reused; worker i runs emulated thread i of the cluster in flight. A watchdog thread aborts
// when a launch makes no progress for stall_seconds.
class Pool {
 public:
  static Pool& get() {
    static Pool pool;
    return pool;
  }

  // Runs job(i) for i in [0, n) on n distinct threads and waits for all of them.
  void run(unsigned n, const std::function<void(unsigned)>& job) {
    while (workers_.size() < n) {
      auto w = std::make_unique<Worker>();
      const unsigned i = static_cast<unsigned>(workers_.size());
      w->thread = std::thread([this, i, wp = w.get()] { loop(i, *wp); });
      workers_.push_back(std::move(w));
    }
    job_ = &job;
    pending_.store(n);
    {
      std::lock_guard<std::mutex> l(m_);
      running_ = true;
    }
    for (unsigned i = 0; i < n; ++i) workers_[i]->go.release();
    for (unsigned p = pending_.load(); p != 0; p = pending_.load()) pending_.wait(p);
    std::lock_guard<std::mutex> l(m_);
    running_ = false;
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();  // the watchdog
    watchdog_.join();
    for (auto& w : workers_) w->go.release();
    for (auto& w : workers_) w->thread.join();
  }

 private:
  struct Worker {
    std::thread thread;
    std::binary_semaphore go{0};
  };

  Pool() {
    const char* s = std::getenv("EMU_STALL_S");
    stall_seconds_ = s && std::atoi(s) > 0 ? std::atoi(s) : 30;
    watchdog_ = std::thread([this] { watch(); });
  }

  void loop(unsigned i, Worker& w) {
    for (;;) {
      w.go.acquire();
      if (stop_) return;
      (*job_)(i);
      if (pending_.fetch_sub(1) == 1) pending_.notify_all();
    }
  }

  void watch() {
    std::unique_lock<std::mutex> l(m_);
    uint64_t last = progress.load();
    auto since = std::chrono::steady_clock::now();
    while (!stop_) {
      cv_.wait_for(l, std::chrono::seconds(1));
      const uint64_t now = progress.load();
      if (now != last || !running_) {
        last = now;
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since > std::chrono::seconds(stall_seconds_)) {
        fail("no barrier completed and no thread returned for %d s: deadlock (threads of one block at "
             "different barriers, or a spin loop)", stall_seconds_);
      }
    }
  }

  std::vector<std::unique_ptr<Worker>> workers_;
  const std::function<void(unsigned)>* job_ = nullptr;
  std::atomic<unsigned> pending_{0};
  std::mutex m_;
  std::condition_variable cv_;
  bool running_ = false;  // guarded by m_
  std::atomic<bool> stop_{false};
  int stall_seconds_ = 30;
  std::thread watchdog_;
};

}  // namespace emu

// ---- intrinsics -----------------------------------------------------------------------------------
inline void __syncthreads() { emu::ctx.block->barrier.arrive_and_wait(); }

template <class T>
inline T __ldg(const T* p) { return *p; }
template <class T>
inline T __ldcg(const T* p) { return *p; }

// fmaf comes from <cmath>: glibc's is exactly rounded like the GPU's FFMA. The _rn operations are
// plain IEEE float operations (round to nearest), which -ffp-contract=off keeps unfused.
using std::fmaf;
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
[[noreturn]] inline void __trap() { emu::fail("__trap()"); }

// ---- cooperative_groups: the cluster ------------------------------------------------------------
namespace cooperative_groups {

class cluster_group {
 public:
  static unsigned block_rank() { return emu::ctx.block->rank; }
  static unsigned num_blocks() { return static_cast<unsigned>(emu::ctx.cluster->blocks->size()); }
  static void sync() {
    emu::ctx.cluster->barrier.arrive_and_wait();
    emu::ctx.peer_read_pending = false;
  }
  // The address at the same offset in block `rank`'s shared memory (CUDA's signature: int rank).
  template <class T>
  static T* map_shared_rank(T* addr, int rank) {
    const emu::Block& own = *emu::ctx.block;
    const auto* p = reinterpret_cast<const unsigned char*>(addr);
    if (p < own.smem || p + sizeof(T) > own.smem + own.smem_bytes)
      emu::fail("map_shared_rank: %p (%zu bytes) is not inside this block's shared memory [%p, +%zu)",
                static_cast<const void*>(p), sizeof(T), static_cast<const void*>(own.smem), own.smem_bytes);
    if (rank < 0 || static_cast<unsigned>(rank) >= num_blocks())
      emu::fail("map_shared_rank: rank %d out of range (cluster of %u blocks)", rank, num_blocks());
    if (static_cast<unsigned>(rank) != own.rank) emu::ctx.peer_read_pending = true;
    return reinterpret_cast<T*>((*emu::ctx.cluster->blocks)[rank].smem + (p - own.smem));
  }
};

inline cluster_group this_cluster() { return {}; }

}  // namespace cooperative_groups

// ---- launch ---------------------------------------------------------------------------------------
namespace emu {

// Runs body(smem) for every thread of a grid of grid_blocks × block_threads threads, in clusters of
// cluster_blocks consecutive blockIdx.x (as a launch with cudaLaunchAttributeClusterDimension
// {cluster_blocks, 1, 1}). Smem is what the __global__ wrapper declares `__shared__ Smem s;`.
template <class Smem, class Body>
void emulate_launch(unsigned grid_blocks, unsigned block_threads, unsigned cluster_blocks, Body body) {
  // What a __shared__ variable may be: no constructor runs, 48 KB at most for static shared memory.
  static_assert(std::is_trivially_default_constructible_v<Smem> && std::is_trivially_destructible_v<Smem>,
                "a __shared__ variable's type has no constructor or destructor to run");
  static_assert(sizeof(Smem) <= 48 * 1024, "static __shared__ memory is limited to 48 KB per block");
  if (grid_blocks == 0 || block_threads == 0 || block_threads > 1024 || cluster_blocks == 0 || cluster_blocks > 8)
    fail("launch: grid %u blocks × %u threads, clusters of %u blocks: need 1..1024 threads, 1..8 blocks per "
         "cluster (the portable maximum)", grid_blocks, block_threads, cluster_blocks);
  if (grid_blocks % cluster_blocks != 0)
    fail("launch: grid of %u blocks is not a multiple of the cluster size %u", grid_blocks, cluster_blocks);

  const size_t align = alignof(Smem) > 16 ? alignof(Smem) : 16;
  const size_t bytes = (sizeof(Smem) + align - 1) / align * align;
  struct Free {
    size_t align;
    void operator()(unsigned char* p) const { ::operator delete(p, std::align_val_t(align)); }
  };
  std::unique_ptr<unsigned char, Free> storage(
      static_cast<unsigned char*>(::operator new(bytes * cluster_blocks, std::align_val_t(align))), Free{align});

  const unsigned threads = cluster_blocks * block_threads;
  for (unsigned first = 0; first < grid_blocks; first += cluster_blocks) {
    // Fresh barriers and poisoned shared memory for every cluster. Smem is an implicit-lifetime
    // type (trivial), so the bytes operator new returned hold Smem objects once used as such.
    std::vector<Block> blocks(cluster_blocks);
    Cluster cluster;
    cluster.barrier.name = "cluster.sync()";
    cluster.barrier.expected = threads;
    cluster.blocks = &blocks;
    for (unsigned r = 0; r < cluster_blocks; ++r) {
      blocks[r].barrier.name = "__syncthreads()";
      blocks[r].barrier.expected = block_threads;
      blocks[r].smem = storage.get() + r * bytes;
      blocks[r].smem_bytes = sizeof(Smem);
      blocks[r].rank = r;
      std::memset(blocks[r].smem, 0xFF, bytes);
    }
    const std::function<void(unsigned)> job = [&](unsigned i) {
      Block& block = blocks[i / block_threads];
      threadIdx = {i % block_threads, 0, 0};
      blockIdx = {first + i / block_threads, 0, 0};
      blockDim = {block_threads, 1, 1};
      gridDim = {grid_blocks, 1, 1};
      ctx = {&block, &cluster, false};
      try {
        body(*std::launder(reinterpret_cast<Smem*>(block.smem)));
      } catch (const std::exception& e) {
        fail("exception from the kernel body: %s", e.what());
      } catch (...) {
        fail("exception from the kernel body");
      }
      if (ctx.peer_read_pending)
        fail("returned after map_shared_rank of a peer block with no cluster.sync() since: that block may "
             "already have exited (its shared memory gone)");
      const bool block_done = block.barrier.on_return();
      cluster.barrier.on_return();
      // The block has exited: in CUDA its shared memory is gone. Poison it, so that a peer still
      // reading it (a missing final cluster.sync()) sees NaNs.
      if (block_done) std::memset(block.smem, 0xFF, bytes);
      progress.fetch_add(1, std::memory_order_relaxed);
      ctx = {};
    };
    Pool::get().run(threads, job);
  }
}

// Global memory with an inaccessible page right after the data, so that a kernel reading or
// writing past the end of a buffer faults (SIGSEGV) instead of passing silently. The start is
// 16-byte aligned (as cudaMalloc's 256), so up to 15 bytes before the guard are not covered.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data = n * sizeof(T);
    map_bytes_ = (data + 16 + page - 1) / page * page + page;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) fail("DeviceBuffer: mmap of %zu bytes failed", map_bytes_);
    map_ = static_cast<unsigned char*>(m);
    unsigned char* guard = map_ + map_bytes_ - page;
    if (mprotect(guard, page, PROT_NONE) != 0) fail("DeviceBuffer: mprotect failed");
    const uintptr_t start = (reinterpret_cast<uintptr_t>(guard) - data) & ~uintptr_t{15};
    data_ = reinterpret_cast<T*>(start);
    std::memset(map_, 0xFF, map_bytes_ - page);  // never-written outputs read as NaN / -1
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { munmap(map_, map_bytes_); }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  size_t n_, map_bytes_;
  unsigned char* map_;
  T* data_;
};

}  // namespace emu

using emu::emulate_launch;
