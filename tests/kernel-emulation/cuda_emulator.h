// A small CPU emulator for CUDA kernel bodies, so that CI (no GPU) runs the index math, the
// barriers, the distributed-shared-memory reductions and the epilogues of the kernels in cuda/
// against references. Include it BEFORE a kernel-body header (cuda/*.cuh written as plain C++
// apart from CUDA's built-ins); build with g++ -std=c++20 -O2 -pthread -ffp-contract=off.
//
// Model: one OS thread per CUDA thread, all threads of one cluster running at once (clusters one
// after another, in blockIdx order or a seeded permutation of it), __syncthreads() and
// cluster.sync() real barriers, each block's shared memory its own `Smem` object followed by the
// launch's dynamic shared memory (`extern __shared__`). Warp-level collectives (__shfl*_sync,
// __syncwarp) are a rendezvous of the warp's lanes: a barrier over the lanes that have not
// returned, at which each lane leaves its operand and reads another's. What it checks, loudly
// (message on stderr, then abort, so a test sees a non-zero exit and never a hang):
//   - map_shared_rank of an address outside the calling block's shared memory, or a bad rank;
//   - barrier mismatch: a thread returning while others of its block (cluster) wait at
//     __syncthreads (cluster.sync), or calling one after some have returned — CUDA C++ requires
//     every thread of the block (cluster) to reach each barrier;
//   - a thread returning after reading a peer's shared memory with no cluster.sync() in between
//     (in CUDA the peer block may already have exited); in addition a block's shared memory is
//     poisoned when its last thread returns, so a late peer read through an older mapping tends
//     to see NaNs (best effort: that one depends on timing);
//   - reads of shared memory never written: it starts filled with 0xFF bytes (NaN floats, -1 ints);
//   - warp-level collectives: a mask other than the full one (not emulated), lanes of one warp at
//     different intrinsics, a shuffle reading a lane that has returned (an undefined value);
//   - __trap(), exceptions out of a body, and no progress at all for $EMU_STALL_S seconds
//     (default 30: a deadlock, e.g. a thread at __syncthreads while the rest of its block waits
//     at cluster.sync).
// Not modelled: lock-step warps (lanes run independently between collectives, as independent
// thread scheduling (sm_70+) allows: code relying on implicit warp synchrony fails or races here,
// as it may on the GPU), partial-mask collectives, concurrent blocks outside a cluster (a ticket
// reduction's last block always sees the others finished: the block order varies, not overlap),
// the GPU's weaker memory model (x86 orders more than PTX requires; plain shared-memory accesses
// between barriers are ordered here as a GPU would not guarantee), implicit FMA contraction
// (nvcc contracts a*b+c by default, g++ with -ffp-contract=off does not: bodies that must match
// the GPU bit for bit use fmaf / __fmul_rn / __fadd_rn explicitly, as ours do), __ldg's
// and __ldcg's cache semantics, occupancy, launch limits other than the ones checked below.
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
#include <numeric>
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
struct Warp;
struct ThreadCtx {
  Block* block = nullptr;
  Cluster* cluster = nullptr;
  bool peer_read_pending = false;  // mapped a peer's shared memory since the last cluster.sync()
  Warp* warp = nullptr;
  uint64_t warp_seq = 0;  // warp-level collectives this thread has entered
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

// The warp-level collectives, and the rendezvous of a warp's lanes that they share.
enum class WarpOp : unsigned char { syncwarp, shfl, shfl_xor, shfl_down };

inline const char* warp_op_name(WarpOp op) {
  switch (op) {
    case WarpOp::syncwarp: return "__syncwarp";
    case WarpOp::shfl: return "__shfl_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
  }
  return "?";
}

// A barrier over the warp's lanes that have not returned (CUDA: "all non-exited threads named in
// mask must execute the same intrinsic"), and each lane's operand in a slot. The slots are
// double-buffered by the collective's sequence number: a lane may enter the next collective
// (writing the other buffer) while slower lanes still read this one, and cannot enter the one
// after before every lane has arrived at the next, done reading.
struct Warp {
  struct Slot {
    uint64_t value;
    uint64_t seq;
    WarpOp op;
  };
  std::mutex m;
  unsigned live = 0, arrived = 0;  // guarded by m
  std::atomic<uint32_t> exited{0};  // lanes returned (or not in the block: a partial last warp)
  std::atomic<unsigned> phase{0};
  Slot slots[2][32];

  void open() {  // m held
    arrived = 0;
    phase.fetch_add(1, std::memory_order_release);
    phase.notify_all();
    progress.fetch_add(1, std::memory_order_relaxed);
  }
  void arrive_and_wait() {
    std::unique_lock<std::mutex> l(m);
    const unsigned ph = phase.load(std::memory_order_relaxed);
    if (++arrived == live) {
      open();
      return;
    }
    l.unlock();
    for (unsigned p = ph; p == ph; p = phase.load(std::memory_order_acquire)) phase.wait(ph, std::memory_order_acquire);
  }
  // A lane returns: the others no longer wait for it.
  void on_return(unsigned lane) {
    std::lock_guard<std::mutex> l(m);
    exited.fetch_or(1u << lane);
    --live;
    if (arrived != 0 && arrived == live) open();
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

// __threadfence(): a sequentially consistent fence, which with the relaxed atomics below gives the
// ticket pattern its ordering (writes; fence; atomicAdd in one block, atomicAdd; fence; reads in
// the last). ThreadSanitizer does not model fences: there an acq_rel read-modify-write of one
// shared variable stands in (every fence joins, and passes on, the clocks of all earlier ones).
#if defined(__SANITIZE_THREAD__)
namespace emu {
inline std::atomic<unsigned> tsan_fence{0};
}
inline void __threadfence() { emu::tsan_fence.fetch_add(0, std::memory_order_acq_rel); }
#else
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
#endif

// CUDA's atomics are relaxed (no ordering of other accesses: that is __threadfence()'s job).
inline unsigned atomicAdd(unsigned* address, unsigned val) {
  return std::atomic_ref<unsigned>(*address).fetch_add(val, std::memory_order_relaxed);
}
inline int atomicAdd(int* address, int val) {
  return std::atomic_ref<int>(*address).fetch_add(val, std::memory_order_relaxed);
}

// CUDA's integer min / max (global functions in device code).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
using std::isnan;

// ---- warp-level collectives (full mask only) ---------------------------------------------------
namespace emu {

// Enters a collective: checks the mask, leaves `value` in this lane's slot, waits for the warp's
// other lanes and checks that they entered the same intrinsic. Returns the slots.
inline const Warp::Slot* warp_collective(WarpOp op, unsigned mask, uint64_t value) {
  if (!ctx.warp) fail("%s outside an emulated thread", warp_op_name(op));
  if (mask != 0xffffffffu)
    fail("%s(mask 0x%08x): only the full mask is emulated (every lane of the warp taking part)", warp_op_name(op), mask);
  Warp& w = *ctx.warp;
  const unsigned lane = threadIdx.x % 32;
  const uint64_t seq = ++ctx.warp_seq;
  Warp::Slot* buf = w.slots[seq & 1];
  buf[lane] = {value, seq, op};
  w.arrive_and_wait();
  const uint32_t gone = w.exited.load();
  for (unsigned l = 0; l < 32; ++l) {
    if (buf[l].seq == seq) {
      if (buf[l].op != op)
        fail("warp-level mismatch: lane %u at %s while lane %u is at %s (every lane must execute the same intrinsic)",
             lane, warp_op_name(op), l, warp_op_name(buf[l].op));
    } else if (!(gone >> l & 1u)) {
      fail("warp-level mismatch: lane %u at its warp-level collective #%llu (%s), lane %u at another one", lane,
           static_cast<unsigned long long>(seq), warp_op_name(op), l);
    }
  }
  return buf;
}

template <class T>
T warp_shuffle(WarpOp op, unsigned mask, T var, unsigned src) {
  static_assert(std::is_arithmetic_v<T> && sizeof(T) <= 8, "a shuffle moves one 1..8-byte arithmetic value");
  uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof var);
  const Warp::Slot* buf = warp_collective(op, mask, bits);
  const unsigned lane = threadIdx.x % 32;
  if (src == lane) return var;
  if (buf[src].seq != ctx.warp_seq)
    fail("%s: lane %u reads lane %u, which has returned (an undefined value)", warp_op_name(op), lane, src);
  T v;
  std::memcpy(&v, &buf[src].value, sizeof v);
  return v;
}

// The first lane past this lane's segment of `width` lanes.
inline unsigned segment_end(int width, WarpOp op) {
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    fail("%s: width %d is not a power of two in 1..32", warp_op_name(op), width);
  return ((threadIdx.x % 32) & ~static_cast<unsigned>(width - 1)) + static_cast<unsigned>(width);
}

}  // namespace emu

inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::warp_collective(emu::WarpOp::syncwarp, mask, 0); }

// var of lane srcLane modulo width, within this lane's segment.
template <class T>
T __shfl_sync(unsigned mask, T var, int srcLane, int width = 32) {
  const unsigned end = emu::segment_end(width, emu::WarpOp::shfl);
  return emu::warp_shuffle(emu::WarpOp::shfl, mask, var, end - width + (static_cast<unsigned>(srcLane) & (width - 1)));
}

// var of lane (lane ^ laneMask); this lane's own var where that lies past its segment.
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = 32) {
  const unsigned end = emu::segment_end(width, emu::WarpOp::shfl_xor);
  const unsigned src = (threadIdx.x % 32) ^ static_cast<unsigned>(laneMask);
  return emu::warp_shuffle(emu::WarpOp::shfl_xor, mask, var, src < end ? src : threadIdx.x % 32);
}

// var of lane (lane + delta); this lane's own var where that lies past its segment.
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const unsigned end = emu::segment_end(width, emu::WarpOp::shfl_down);
  const unsigned src = threadIdx.x % 32 + delta;
  return emu::warp_shuffle(emu::WarpOp::shfl_down, mask, var, src < end ? src : threadIdx.x % 32);
}

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

// A launch: grid_blocks × block_threads threads, in clusters of cluster_blocks consecutive
// blockIdx.x (cudaLaunchAttributeClusterDimension {cluster_blocks, 1, 1}), with
// dynamic_smem_bytes of `extern __shared__` memory per block (<<<grid, block, bytes>>>).
struct Launch {
  unsigned grid_blocks = 1, block_threads = 1, cluster_blocks = 1;
  size_t dynamic_smem_bytes = 0;
  // cudaFuncAttributeNonPortableClusterSizeAllowed set: clusters of up to 16 blocks (sm_90's
  // limit) instead of the portable 8.
  bool non_portable_cluster = false;
  // 0: clusters run in blockIdx order; else in a permutation seeded by it (CUDA promises no order,
  // so that a ticket's last block is not always the highest blockIdx).
  uint64_t cluster_order_seed = 0;
};

constexpr size_t kMaxSmemPerBlock = 227 * 1024;  // sm_90, with cudaFuncAttributeMaxDynamicSharedMemorySize

// Runs body(smem, dynamic) for every thread of the launch: smem is what the __global__ wrapper
// declares `__shared__ Smem s;`, dynamic its `extern __shared__` memory (16-byte aligned, after
// the static part, in the same block's shared memory: map_shared_rank works on both).
template <class Smem, class Body>
void emulate_launch(const Launch& launch, Body body) {
  // What a __shared__ variable may be: no constructor runs, 48 KB at most for static shared memory.
  static_assert(std::is_trivially_default_constructible_v<Smem> && std::is_trivially_destructible_v<Smem>,
                "a __shared__ variable's type has no constructor or destructor to run");
  static_assert(sizeof(Smem) <= 48 * 1024, "static __shared__ memory is limited to 48 KB per block");
  const unsigned grid_blocks = launch.grid_blocks, block_threads = launch.block_threads;
  const unsigned cluster_blocks = launch.cluster_blocks, max_cluster = launch.non_portable_cluster ? 16 : 8;
  if (grid_blocks == 0 || block_threads == 0 || block_threads > 1024 || cluster_blocks == 0 ||
      cluster_blocks > max_cluster)
    fail("launch: grid %u blocks × %u threads, clusters of %u blocks: need 1..1024 threads, 1..%u blocks per "
         "cluster (%s)", grid_blocks, block_threads, cluster_blocks, max_cluster,
         launch.non_portable_cluster ? "non-portable cluster size allowed" : "the portable maximum");
  if (grid_blocks % cluster_blocks != 0)
    fail("launch: grid of %u blocks is not a multiple of the cluster size %u", grid_blocks, cluster_blocks);

  const size_t align = alignof(Smem) > 16 ? alignof(Smem) : 16;
  const size_t dynamic_at = (sizeof(Smem) + 15) / 16 * 16;
  const size_t extent = launch.dynamic_smem_bytes ? dynamic_at + launch.dynamic_smem_bytes : sizeof(Smem);
  if (extent > kMaxSmemPerBlock)
    fail("launch: %zu bytes of shared memory per block (%zu static + %zu dynamic): more than the %zu a block may "
         "have", extent, sizeof(Smem), launch.dynamic_smem_bytes, kMaxSmemPerBlock);
  const size_t bytes = (extent + align - 1) / align * align;
  struct Free {
    size_t align;
    void operator()(unsigned char* p) const { ::operator delete(p, std::align_val_t(align)); }
  };
  std::unique_ptr<unsigned char, Free> storage(
      static_cast<unsigned char*>(::operator new(bytes * cluster_blocks, std::align_val_t(align))), Free{align});

  std::vector<unsigned> order(grid_blocks / cluster_blocks);
  std::iota(order.begin(), order.end(), 0u);
  if (uint64_t s = launch.cluster_order_seed) {  // Fisher–Yates with xorshift64
    for (size_t i = order.size(); i > 1; --i) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      std::swap(order[i - 1], order[s % i]);
    }
  }

  const unsigned threads = cluster_blocks * block_threads;
  const unsigned warps_per_block = (block_threads + 31) / 32;
  for (const unsigned c : order) {
    const unsigned first = c * cluster_blocks;
    // Fresh barriers and poisoned shared memory for every cluster. Smem is an implicit-lifetime
    // type (trivial), so the bytes operator new returned hold Smem objects once used as such.
    std::vector<Block> blocks(cluster_blocks);
    std::unique_ptr<Warp[]> warps(new Warp[cluster_blocks * warps_per_block]);
    Cluster cluster;
    cluster.barrier.name = "cluster.sync()";
    cluster.barrier.expected = threads;
    cluster.blocks = &blocks;
    for (unsigned r = 0; r < cluster_blocks; ++r) {
      blocks[r].barrier.name = "__syncthreads()";
      blocks[r].barrier.expected = block_threads;
      blocks[r].smem = storage.get() + r * bytes;
      blocks[r].smem_bytes = extent;
      blocks[r].rank = r;
      std::memset(blocks[r].smem, 0xFF, bytes);
      for (unsigned w = 0; w < warps_per_block; ++w) {
        const unsigned lanes = block_threads - 32 * w < 32 ? block_threads - 32 * w : 32;
        warps[r * warps_per_block + w].live = lanes;
        warps[r * warps_per_block + w].exited = lanes == 32 ? 0u : ~0u << lanes;  // lanes not in the block
      }
    }
    const std::function<void(unsigned)> job = [&](unsigned i) {
      Block& block = blocks[i / block_threads];
      Warp& warp = warps[i / block_threads * warps_per_block + i % block_threads / 32];
      threadIdx = {i % block_threads, 0, 0};
      blockIdx = {first + i / block_threads, 0, 0};
      blockDim = {block_threads, 1, 1};
      gridDim = {grid_blocks, 1, 1};
      ctx = {&block, &cluster, false, &warp, 0};
      try {
        body(*std::launder(reinterpret_cast<Smem*>(block.smem)), static_cast<void*>(block.smem + dynamic_at));
      } catch (const std::exception& e) {
        fail("exception from the kernel body: %s", e.what());
      } catch (...) {
        fail("exception from the kernel body");
      }
      if (ctx.peer_read_pending)
        fail("returned after map_shared_rank of a peer block with no cluster.sync() since: that block may "
             "already have exited (its shared memory gone)");
      warp.on_return(threadIdx.x % 32);
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

// Runs body(smem) for every thread of a grid of grid_blocks × block_threads threads, in clusters of
// cluster_blocks consecutive blockIdx.x, without dynamic shared memory.
template <class Smem, class Body>
void emulate_launch(unsigned grid_blocks, unsigned block_threads, unsigned cluster_blocks, Body body) {
  Launch launch;
  launch.grid_blocks = grid_blocks, launch.block_threads = block_threads, launch.cluster_blocks = cluster_blocks;
  emulate_launch<Smem>(launch, [&body](Smem& s, void*) { body(s); });
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
