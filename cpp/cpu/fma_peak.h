// The machine's measured fp32 multiply-add peak: every thread of the pool runs independent FMA
// chains (enough of them to cover the FMA latency on every pipe) for a given time. It is the
// yardstick the GEMM benchmark divides by.
#pragma once
#include <string>

#include "cpp/cpu/thread_pool.h"

namespace tinynn::cpu {

// GFLOP/s (2 per multiply-add) over all threads of the pool, measured for about `seconds` with
// the instruction set `isa`: "avx512", "avx2", "portable", or "" for the widest one this CPU
// supports (fma_peak_isa()). Returns 0 when the CPU lacks `isa`; negative `seconds` count as 0.
// Throws RangeError for an unknown isa name.
double fma_peak_gflops(ThreadPool& pool, double seconds, const std::string& isa);

// The widest instruction set fma_peak_gflops can measure here.
const char* fma_peak_isa();

}  // namespace tinynn::cpu
