// fp32 row-major GEMM for the CPU backend: C[M,N] = alpha·op(A)·op(B) + beta·C, then the
// epilogue (bias per column, ReLU). Parallel over the pool.
//
// The kernel set is picked per call: the widest of avx512 / avx2 / portable that the CPU and OS
// support, unless TINYNN_GEMM=avx2 or TINYNN_GEMM=portable asks for a narrower one the CPU has.
// Results are deterministic: every element is summed in the same order whatever the number of
// threads (K is never split across threads).
#pragma once
#include "cpp/backend.h"
#include "cpp/cpu/thread_pool.h"

namespace tinynn::cpu {

// beta == 0 ignores C's old contents (NaN included). May throw OutOfMemory (growing the packing
// workspace) before any work starts.
void sgemm(ThreadPool& pool, bool ta, bool tb, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc,
           const GemmEpilogue& epilogue);

// The kernel set the next sgemm call will use: "avx512", "avx2" or "portable".
const char* sgemm_kernel_name();

}  // namespace tinynn::cpu
