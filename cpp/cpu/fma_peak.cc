#include "cpp/cpu/fma_peak.h"

#include <atomic>
#include <chrono>

#include "cpp/cpu/cpu_features.h"
#include "cpp/errors.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FMA_PEAK_X86 1
#endif

namespace tinynn::cpu {
namespace {

// Each kernel runs `iters` rounds of `kChains` independent acc = acc·m + a chains and returns a
// value that depends on all of them (so that none is optimised away); m and a keep the chains
// near 1, clear of overflow and denormals. Flops per round: 2 · kChains · vector width.
constexpr float kMul = 0.999999f;
constexpr float kAdd = 1e-6f;

#ifdef FMA_PEAK_X86
// 24 chains: two 512-bit FMA pipes of latency 4 need 8; the rest is margin (32 zmm registers).
constexpr int kChains512 = 24;
__attribute__((target("avx512f"))) float run_avx512(long iters) {
  __m512 acc[kChains512];
  const __m512 m = _mm512_set1_ps(kMul), a = _mm512_set1_ps(kAdd);
  for (int i = 0; i < kChains512; ++i) acc[i] = _mm512_set1_ps(1.f + i * 1e-3f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains512; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains512; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  return out[0];
}

// 12 chains: up to two 256-bit FMA pipes of latency 5 (16 ymm registers).
constexpr int kChains256 = 12;
__attribute__((target("avx2,fma"))) float run_avx2(long iters) {
  __m256 acc[kChains256];
  const __m256 m = _mm256_set1_ps(kMul), a = _mm256_set1_ps(kAdd);
  for (int i = 0; i < kChains256; ++i) acc[i] = _mm256_set1_ps(1.f + i * 1e-3f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains256; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains256; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0];
}
#endif

// GCC/Clang vector extensions, as in the portable GEMM kernels, which the compiler maps to the
// baseline ISA (SSE2 here, NEON on arm64): 12 chains of 4 floats, enough for a multiply and an
// add of 3-4 cycles each on two pipes.
typedef float Vec4 __attribute__((vector_size(16)));
constexpr int kChainsPortable = 12;
float run_portable(long iters) {
  Vec4 acc[kChainsPortable];
  for (int i = 0; i < kChainsPortable; ++i) acc[i] = Vec4{} + (1.f + i * 1e-3f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChainsPortable; ++i) acc[i] = acc[i] * kMul + kAdd;
  }
  Vec4 s = acc[0];
  for (int i = 1; i < kChainsPortable; ++i) s += acc[i];
  return s[0];
}

struct Kernel {
  float (*run)(long);
  double flops_per_iter;
};

bool find_kernel(const std::string& isa, Kernel* k) {
  const std::string want = isa.empty() ? fma_peak_isa() : isa;
#ifdef FMA_PEAK_X86
  const CpuFeatures& f = cpu_features();
  if (want == "avx512") {
    *k = {&run_avx512, 2.0 * kChains512 * 16};
    return f.avx512f;
  }
  if (want == "avx2") {
    *k = {&run_avx2, 2.0 * kChains256 * 8};
    return f.avx2_fma;
  }
#else
  if (want == "avx512" || want == "avx2") return false;
#endif
  if (want == "portable") {
    *k = {&run_portable, 2.0 * kChainsPortable * 4};
    return true;
  }
  throw RangeError("fmaPeak: isa must be 'avx512', 'avx2' or 'portable', got '" + isa + "'");
}

}  // namespace

const char* fma_peak_isa() {
  const CpuFeatures& f = cpu_features();
  return f.avx512f ? "avx512" : f.avx2_fma ? "avx2" : "portable";
}

double fma_peak_gflops(ThreadPool& pool, double seconds, const std::string& isa) {
  Kernel kernel{};
  if (!find_kernel(isa, &kernel)) return 0.0;
  using Clock = std::chrono::steady_clock;
  // Rounds of ~20 µs between clock reads; every thread stops at the same deadline.
  constexpr long kIters = 4096;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds > 0 ? seconds : 0.0);
  std::atomic<long> rounds{0};
  std::atomic<float> sink{0.f};
  pool.parallel_for(pool.size(), [&](int) {
    long mine = 0;
    float s = 0.f;
    do {
      s += kernel.run(kIters);
      ++mine;
    } while (Clock::now() < deadline);
    rounds += mine;
    sink.store(s, std::memory_order_relaxed);
  });
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return double(rounds.load()) * kIters * kernel.flops_per_iter / elapsed / 1e9;
}

}  // namespace tinynn::cpu
