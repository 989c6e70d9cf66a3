// What the CPU and the OS let the CPU kernels use, detected once with cpuid (and xgetbv: the OS
// must save the wide registers on context switches, or AVX code faults even on an AVX CPU).
#pragma once

namespace tinynn::cpu {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3 with YMM state enabled by the OS
  bool avx512f = false;   // AVX-512F with opmask/ZMM state enabled by the OS
};

const CpuFeatures& cpu_features();

}  // namespace tinynn::cpu
