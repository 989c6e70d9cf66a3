#include "cpp/cpu/gemm_pack_x86.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2,fma")))

namespace tinynn::cpu {
namespace {

// Writes the transpose of the 8x8 block at b (rows ldb apart) to out (rows out_rs apart). The
// 128-bit loads pair row r with row r + 4 in one register, so only in-lane shuffles remain
// (16 per block instead of 24 with a cross-lane stage).
AVX2_TARGET inline void transpose8x8(const float* b, long ldb, float* out, long out_rs) {
  __m256 t[8];  // t[r]: columns 0-3 of rows r, r + 4; t[r + 4]: columns 4-7
  for (int r = 0; r < 4; ++r) {
    const float* lo = b + r * ldb;
    const float* hi = b + (r + 4) * ldb;
    t[r] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
    t[r + 4] =
        _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo + 4)), _mm_loadu_ps(hi + 4), 1);
  }
  for (int h = 0; h < 8; h += 4) {
    const __m256 u0 = _mm256_unpacklo_ps(t[h], t[h + 1]), u1 = _mm256_unpackhi_ps(t[h], t[h + 1]);
    const __m256 u2 = _mm256_unpacklo_ps(t[h + 2], t[h + 3]);
    const __m256 u3 = _mm256_unpackhi_ps(t[h + 2], t[h + 3]);
    _mm256_storeu_ps(out + (h + 0) * out_rs, _mm256_shuffle_ps(u0, u2, 0x44));
    _mm256_storeu_ps(out + (h + 1) * out_rs, _mm256_shuffle_ps(u0, u2, 0xee));
    _mm256_storeu_ps(out + (h + 2) * out_rs, _mm256_shuffle_ps(u1, u3, 0x44));
    _mm256_storeu_ps(out + (h + 3) * out_rs, _mm256_shuffle_ps(u1, u3, 0xee));
  }
}

// Lanes [0, n) of a vector: the partial last 8 columns of a row.
AVX2_TARGET inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// tb=false: rows of op(B) are rows of B; copy n floats per k and zero the padding.
AVX2_TARGET void pack_rows(const float* B, long ldb, int kc, int n, float* out, long out_rs) {
  const int full = n & ~7;
  const __m256i mask = lane_mask(n - full);
  for (int k = 0; k < kc; ++k, B += ldb, out += out_rs) {
    int j = 0;
    for (; j < full; j += 8) _mm256_storeu_ps(out + j, _mm256_loadu_ps(B + j));
    if (j < n) {
      _mm256_storeu_ps(out + j, _mm256_maskload_ps(B + j, mask));
      j += 8;
    }
    for (; j < out_rs; j += 8) _mm256_storeu_ps(out + j, _mm256_setzero_ps());
  }
}

// tb=true: op(B)(k, j) = B[j·ldb + k], so a panel is the transpose of n rows of B: 8x8 blocks
// through registers, scalar edges. k outermost, so that each group of 8 panel rows is written
// whole while it is in L1.
AVX2_TARGET void pack_columns(const float* B, long ldb, int kc, int n, float* out, long out_rs) {
  const int full_n = n & ~7, full_k = kc & ~7;
  for (int k = 0; k < full_k; k += 8)
    for (int j = 0; j < full_n; j += 8)
      transpose8x8(B + j * ldb + k, ldb, out + k * out_rs + j, out_rs);
  for (int k = full_k; k < kc; ++k)
    for (int j = 0; j < full_n; ++j) out[k * out_rs + j] = B[j * ldb + k];
  for (int k = 0; k < kc; ++k) {
    float* o = out + k * out_rs;
    for (int j = full_n; j < n; ++j) o[j] = B[j * ldb + k];
    for (int j = n; j < out_rs; ++j) o[j] = 0.f;
  }
}

}  // namespace

AVX2_TARGET void pack_b_avx2(bool tb, const float* B, long ldb, int k0, int kc, int n0, int n,
                             float* out, long out_rs) {
  if (tb)
    pack_columns(B + n0 * ldb + k0, ldb, kc, n, out, out_rs);
  else
    pack_rows(B + k0 * ldb + n0, ldb, kc, n, out, out_rs);
}

}  // namespace tinynn::cpu
#endif
