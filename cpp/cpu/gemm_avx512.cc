// AVX-512F kernels: 8x32 micro-tiles, 16 zmm accumulators (two FMA pipes of 4-cycle latency need
// at least 8 independent chains), B panels 32 wide read with two loads per k and op(A) broadcast
// in place. Used when the CPU and OS support AVX-512F (e.g. Zen 4/5, Ice Lake and later).
#include "cpp/cpu/gemm_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "cpp/cpu/gemm_dot.h"
#include "cpp/cpu/gemm_pack_x86.h"
#include "cpp/cpu/gemm_tiles.h"

#define AVX512_TARGET __attribute__((target("avx512f,avx2,fma")))

namespace tinynn::cpu {
namespace {

constexpr int kMr = 8;
constexpr int kVec = 16;
constexpr int kNr = 2 * kVec;

// Rows i < R of a tile, V vectors of 16 columns (n valid columns, n > 16·(V-1)); b holds the
// panel with row stride b_rs, a points at op(A)(0, 0) of the tile.
template <bool TA, int R, int V>
struct Micro {
  static constexpr int kVecWidth = kVec;
  AVX512_TARGET static void run(const GemmBlock& g, const float* a, const float* b, long b_rs,
                                float* c, const float* bias, int n) {
    __m512 acc[R][V];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();

    const long lda = g.lda;
#pragma GCC unroll 4
    for (int k = 0; k < g.kc; ++k) {
      __m512 bv[V];
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) bv[v] = _mm512_loadu_ps(b + v * kVec);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const __m512 ai = _mm512_set1_ps(TA ? a[i] : a[i * lda]);
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      a += TA ? lda : 1;
      b += b_rs;
    }

    // Epilogue while the tile is in registers: alpha, beta·C, bias, ReLU, one masked store.
    const __m512 alpha = _mm512_set1_ps(g.alpha), beta = _mm512_set1_ps(g.beta);
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      const int cols = n - v * kVec;
      const __mmask16 mask = cols >= kVec ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
      const __m512 bias_v = bias ? _mm512_maskz_loadu_ps(mask, bias + v * kVec) : zero;
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        float* ci = c + i * g.ldc + v * kVec;
        __m512 r = _mm512_mul_ps(acc[i][v], alpha);
        if (g.load_c) r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, ci), beta, r);
        if (bias) r = _mm512_add_ps(r, bias_v);
        if (g.relu) r = _mm512_maskz_max_ps(mask, zero, r);  // NaN stays NaN
        _mm512_mask_storeu_ps(ci, mask, r);
      }
    }
  }
};

// Sum of the 16 lanes. The maskz forms: the plain ones (and _mm512_reduce_add_ps) pass GCC 12's
// self-initialised _mm512_undefined_ps, which -Wuninitialized flags.
AVX512_TARGET inline float reduce_add(__m512 v) {
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xffff, v, v, 0x4e));  // 256-bit halves
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xffff, v, v, 0xb1));  // 128-bit quarters
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(0xffff, v, 0x4e));        // pairs
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(0xffff, v, 0xb1));        // neighbours
  return _mm512_cvtss_f32(v);
}

// R rows of A against C rows of B, 16 k per step; lanes are summed at the end.
template <int R, int C>
struct Dot {
  AVX512_TARGET static void run(const DotBlock& d, const float* a, const float* b, float* c,
                                const float* bias) {
    __m512 acc[R][C];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < C; ++j) acc[i][j] = _mm512_setzero_ps();
    const int full = d.k & ~(kVec - 1);
    for (int k = 0; k < d.k; k += kVec) {
      const __mmask16 mask =
          k < full ? 0xffff : static_cast<__mmask16>((1u << (d.k - full)) - 1);
      __m512 bv[C];
#pragma GCC unroll 8
      for (int j = 0; j < C; ++j) bv[j] = _mm512_maskz_loadu_ps(mask, b + j * d.ldb + k);
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const __m512 av = _mm512_maskz_loadu_ps(mask, a + i * d.lda + k);
#pragma GCC unroll 8
        for (int j = 0; j < C; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < C; ++j) {
        float* cij = c + i * d.ldc + j;
        *cij = dot_epilogue(d, reduce_add(acc[i][j]), cij, bias ? bias + j : nullptr);
      }
  }
};

// 512 deep: an 8 x 512 slice of A is 16 KiB, a third of a 48 KiB L1.
constexpr GemmKernels kKernels{"avx512",     kMr, kNr, kVec, 512, &pack_b_avx2,
                               &TileWalker<Micro, kMr, 2>::compute, &DotWalker<Dot>::compute};

}  // namespace

const GemmKernels* avx512_kernels() { return &kKernels; }

}  // namespace tinynn::cpu

#else
namespace tinynn::cpu {
const GemmKernels* avx512_kernels() { return nullptr; }
}  // namespace tinynn::cpu
#endif
