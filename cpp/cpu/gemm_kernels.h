// The contract between the GEMM driver (gemm.cc: K blocking, threads, packing buffers) and the
// kernels of one instruction set (gemm_avx512.cc, gemm_avx2.cc, gemm_portable.cc).
//
// The driver hands a kernel set one GemmBlock at a time: a block of C (m rows, n columns) updated
// from one K block of depth kc. op(A) is read in place (broadcast loads need no packing); op(B)
// comes as column panels nr wide, either straight from B (tb=false: rows of B are already
// contiguous in n) or packed by `pack` (always for tb=true; for tb=false where reading in place
// would thrash the caches; and the partial last panel). Every element of C is summed over k in
// increasing order with one multiply-add per k, whatever tile it falls in, so the result does
// not depend on how the driver splits M and N over threads.
#pragma once

namespace tinynn::cpu {

struct GemmBlock {
  // op(A)(i, k) = a[i * lda + k] when !ta, a[k * lda + i] when ta; i < m, k < kc.
  const float* a = nullptr;
  long lda = 0;
  bool ta = false;
  int m = 0;
  int kc = 0;
  // B panel p < n / nr covers columns [p·nr, p·nr + nr): element (k, j) at
  // b + p·b_panel_step + k·b_rs + j. The partial last panel (n % nr columns, when not 0) is at
  // tail with row stride tail_rs (a multiple of the vector width, zero-padded).
  int n = 0;
  const float* b = nullptr;
  long b_rs = 0;
  long b_panel_step = 0;
  const float* tail = nullptr;
  long tail_rs = 0;
  // C(i, j) at c[i * ldc + j] becomes alpha·acc + (load_c ? beta·C : 0), then + bias[j] when
  // bias, then max(·, 0) when relu.
  float* c = nullptr;
  long ldc = 0;
  float alpha = 1.f;
  float beta = 0.f;
  bool load_c = false;
  const float* bias = nullptr;
  bool relu = false;
};

// The skinny case (M <= 4 with tb, or N <= 4 without ta): C(i, j) for i < m, j < n as dot
// products of contiguous rows, a[i * lda + k] · b[j * ldb + k] over k < K, then the same
// epilogue. Packing B panels would cost more than the product itself. Each output is summed in
// vector lanes, then across them, in an order fixed by K alone.
struct DotBlock {
  const float* a = nullptr;
  long lda = 0;
  int m = 0;
  const float* b = nullptr;
  long ldb = 0;
  int n = 0;
  int k = 0;
  float* c = nullptr;
  long ldc = 0;
  float alpha = 1.f;
  float beta = 0.f;  // C is read only when beta != 0
  const float* bias = nullptr;
  bool relu = false;
};

struct GemmKernels {
  const char* name;
  int mr;      // rows of a micro-tile
  int nr;      // columns of a B panel (and of a micro-tile)
  int vec;     // SIMD width in floats: packed tails are padded to a multiple of it
  int kc_max;  // deepest K block: the mr x kc slice of A stays in L1 across a row of tiles
  // Writes op(B)(k0 + k, n0 + j) for k < kc, j < n to out[k * out_rs + j] and zeros to
  // columns [n, out_rs). op(B)(k, j) = tb ? B[j * ldb + k] : B[k * ldb + j].
  void (*pack)(bool tb, const float* B, long ldb, int k0, int kc, int n0, int n, float* out,
               long out_rs);
  void (*compute)(const GemmBlock& block);
  // Null in the portable set, which keeps to the tile path.
  void (*dot)(const DotBlock& block);
};

// Null where the instruction set is not compiled in (non-x86 builds).
const GemmKernels* avx512_kernels();
const GemmKernels* avx2_kernels();
const GemmKernels& portable_kernels();

}  // namespace tinynn::cpu
