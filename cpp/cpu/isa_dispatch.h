// Copies of a kernel compiled for AVX-512, AVX2 and the baseline, the widest the CPU runs chosen
// once from cpuid (cpu_features()). In place of target_clones, which clang (the zig-built
// prebuilds) silently drops on a function first declared without it, leaving one AVX-512 copy
// that faults on older CPUs, and whose ifunc resolvers it cannot link into a shared library.
//   TINYNN_ISA_COPIES(unary, (UnaryOp op, ...), unary_body(op, ...)) defines unary_avx512,
//   unary_avx2 and unary_baseline; TINYNN_WIDEST(unary) is the one to call.
// The bodies are always_inline, so each copy vectorises at its own width.
#pragma once
#include "cpp/cpu/cpu_features.h"

namespace tinynn::cpu {

template <typename Fn>
Fn widest_isa(Fn avx512, Fn avx2, Fn baseline) {
  const CpuFeatures& f = cpu_features();
  return f.avx512f ? avx512 : f.avx2_fma ? avx2 : baseline;
}

}  // namespace tinynn::cpu

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TINYNN_ISA_COPIES(name, params, call)                      \
  __attribute__((target("avx512f"))) void name##_avx512 params { call; } \
  __attribute__((target("avx2"))) void name##_avx2 params { call; }      \
  void name##_baseline params { call; }
#define TINYNN_WIDEST(name) ::tinynn::cpu::widest_isa(name##_avx512, name##_avx2, name##_baseline)
#else
#define TINYNN_ISA_COPIES(name, params, call) void name##_baseline params { call; }
#define TINYNN_WIDEST(name) name##_baseline
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TINYNN_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define TINYNN_ALWAYS_INLINE inline
#endif
