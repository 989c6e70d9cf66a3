// AVX2/FMA kernels: 6x16 micro-tiles, 12 ymm accumulators (two FMA pipes of 4-5 cycle latency
// need 8-10 independent chains) plus two B vectors and one broadcast: 15 of the 16 ymm registers.
// B panels are 16 wide; op(A) is broadcast in place.
#include "cpp/cpu/gemm_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "cpp/cpu/gemm_dot.h"
#include "cpp/cpu/gemm_pack_x86.h"
#include "cpp/cpu/gemm_tiles.h"

#define AVX2_TARGET __attribute__((target("avx2,fma")))

namespace tinynn::cpu {
namespace {

constexpr int kMr = 6;
constexpr int kVec = 8;
constexpr int kNr = 2 * kVec;

// Lanes [0, n) of a vector: the partial last 8 columns (or k) of a row.
AVX2_TARGET inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Rows i < R of a tile, V vectors of 8 columns (n valid columns, n > 8·(V-1)); b holds the panel
// with row stride b_rs, a points at op(A)(0, 0) of the tile.
template <bool TA, int R, int V>
struct Micro {
  static constexpr int kVecWidth = kVec;
  AVX2_TARGET static void run(const GemmBlock& g, const float* a, const float* b, long b_rs,
                              float* c, const float* bias, int n) {
    __m256 acc[R][V];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) acc[i][v] = _mm256_setzero_ps();

    const long lda = g.lda;
#pragma GCC unroll 4
    for (int k = 0; k < g.kc; ++k) {
      __m256 bv[V];
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) bv[v] = _mm256_loadu_ps(b + v * kVec);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const __m256 ai = _mm256_broadcast_ss(TA ? a + i : a + i * lda);
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      a += TA ? lda : 1;
      b += b_rs;
    }

    // Epilogue while the tile is in registers: alpha, beta·C, bias, ReLU; masked only at the edge.
    const __m256 alpha = _mm256_set1_ps(g.alpha), beta = _mm256_set1_ps(g.beta);
    const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      const int cols = n - v * kVec;
      const bool whole = cols >= kVec;
      const __m256i mask = lane_mask(cols);
      __m256 bias_v = zero;
      if (bias) {
        const float* bv = bias + v * kVec;
        bias_v = whole ? _mm256_loadu_ps(bv) : _mm256_maskload_ps(bv, mask);
      }
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        float* ci = c + i * g.ldc + v * kVec;
        __m256 r = _mm256_mul_ps(acc[i][v], alpha);
        if (g.load_c)
          r = _mm256_fmadd_ps(whole ? _mm256_loadu_ps(ci) : _mm256_maskload_ps(ci, mask), beta, r);
        if (bias) r = _mm256_add_ps(r, bias_v);
        if (g.relu) r = _mm256_max_ps(zero, r);  // NaN stays NaN
        if (whole)
          _mm256_storeu_ps(ci, r);
        else
          _mm256_maskstore_ps(ci, mask, r);
      }
    }
  }
};

// Sum of the 8 lanes.
AVX2_TARGET inline float reduce_add(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// R rows of A against C rows of B, 8 k per step; lanes are summed at the end.
template <int R, int C>
struct Dot {
  AVX2_TARGET static void run(const DotBlock& d, const float* a, const float* b, float* c,
                              const float* bias) {
    __m256 acc[R][C];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < C; ++j) acc[i][j] = _mm256_setzero_ps();
    const int full = d.k & ~(kVec - 1);
    const __m256i tail = lane_mask(d.k - full);
    for (int k = 0; k < d.k; k += kVec) {
      const bool whole = k < full;
      __m256 bv[C];
#pragma GCC unroll 8
      for (int j = 0; j < C; ++j)
        bv[j] = whole ? _mm256_loadu_ps(b + j * d.ldb + k)
                      : _mm256_maskload_ps(b + j * d.ldb + k, tail);
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const float* ai = a + i * d.lda + k;
        const __m256 av = whole ? _mm256_loadu_ps(ai) : _mm256_maskload_ps(ai, tail);
#pragma GCC unroll 8
        for (int j = 0; j < C; ++j) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
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

// 512 deep: a 6 x 512 slice of A is 12 KiB and a 512 x 16 panel 32 KiB.
constexpr GemmKernels kKernels{"avx2",       kMr, kNr, kVec, 512, &pack_b_avx2,
                               &TileWalker<Micro, kMr, 2>::compute, &DotWalker<Dot>::compute};

}  // namespace

const GemmKernels* avx2_kernels() { return &kKernels; }

}  // namespace tinynn::cpu

#else
namespace tinynn::cpu {
const GemmKernels* avx2_kernels() { return nullptr; }
}  // namespace tinynn::cpu
#endif
