// The element-wise kernels of vector_kernels.h. No multiply-add is contracted into an FMA here:
// the scalar loops they replace (compiled for baseline x86-64) round after each operation, and
// the results must stay bit-identical to them.
#pragma GCC optimize("fp-contract=off")
#include "cpp/cpu/vector_kernels.h"

#include <algorithm>
#include <cmath>

#include "cpp/cpu/cpu_features.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VECTOR_KERNELS_AVX512 1
#define AVX512_FN __attribute__((target("avx512f,avx2")))
#endif

namespace tinynn::cpu {
namespace {

void sgd_portable(float* param, const float* grad, float* mom, size_t n, const SgdConfig& cfg,
                  bool first_step) {
  const float wd = cfg.weight_decay, m = cfg.momentum, damp = 1.f - cfg.dampening, lr = cfg.lr;
  const bool nesterov = cfg.nesterov;
  for (size_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (wd != 0.f) g += wd * param[i];
    if (m != 0.f) {
      float buf = first_step ? g : m * mom[i] + damp * g;
      mom[i] = buf;
      g = nesterov ? g + m * buf : buf;
    }
    param[i] -= lr * g;
  }
}

#ifdef VECTOR_KERNELS_AVX512
inline __mmask16 tail_mask(size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

template <bool WD, bool MOM, bool FIRST, bool NESTEROV>
AVX512_FN void sgd_avx512(float* param, const float* grad, float* mom, size_t n,
                                 const SgdConfig& cfg) {
  const __m512 wd = _mm512_set1_ps(cfg.weight_decay), m = _mm512_set1_ps(cfg.momentum);
  const __m512 damp = _mm512_set1_ps(1.f - cfg.dampening), lr = _mm512_set1_ps(cfg.lr);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    __m512 p = _mm512_maskz_loadu_ps(k, param + i);
    __m512 g = _mm512_maskz_loadu_ps(k, grad + i);
    if (WD) g = _mm512_add_ps(g, _mm512_mul_ps(wd, p));
    if (MOM) {
      __m512 buf = FIRST ? g
                         : _mm512_add_ps(_mm512_mul_ps(m, _mm512_maskz_loadu_ps(k, mom + i)),
                                         _mm512_mul_ps(damp, g));
      _mm512_mask_storeu_ps(mom + i, k, buf);
      g = NESTEROV ? _mm512_add_ps(g, _mm512_mul_ps(m, buf)) : buf;
    }
    _mm512_mask_storeu_ps(param + i, k, _mm512_sub_ps(p, _mm512_mul_ps(lr, g)));
  }
}

template <bool WD>
void sgd_avx512_dispatch(float* param, const float* grad, float* mom, size_t n,
                         const SgdConfig& cfg, bool first_step) {
  if (cfg.momentum == 0.f) return sgd_avx512<WD, false, false, false>(param, grad, mom, n, cfg);
  if (first_step) {
    if (cfg.nesterov) return sgd_avx512<WD, true, true, true>(param, grad, mom, n, cfg);
    return sgd_avx512<WD, true, true, false>(param, grad, mom, n, cfg);
  }
  if (cfg.nesterov) return sgd_avx512<WD, true, false, true>(param, grad, mom, n, cfg);
  return sgd_avx512<WD, true, false, false>(param, grad, mom, n, cfg);
}

AVX512_FN void relu_backward_avx512(const float* dy, const float* y, float* dx, size_t n) {
  const __m512 zero = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    const __mmask16 pos = _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, y + i), zero, _CMP_GT_OQ);
    _mm512_mask_storeu_ps(dx + i, k, _mm512_maskz_loadu_ps(pos, dy + i));
  }
}

AVX512_FN void bias_relu_avx512(float* y, const float* bias, size_t n, bool relu) {
  const __m512 zero = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    __m512 v = _mm512_maskz_loadu_ps(k, y + i);
    v = _mm512_add_ps(v, bias ? _mm512_maskz_loadu_ps(k, bias + i) : zero);  // y + 0.f: -0 → +0
    if (relu) v = _mm512_maskz_max_ps(0xffff, zero, v);  // std::max(v, 0.f): v unless v < 0 (NaN and -0 kept)
    _mm512_mask_storeu_ps(y + i, k, v);
  }
}

AVX512_FN void u8_to_f32_avx512(const uint8_t* src, float* dst, size_t n, float scale,
                                       float shift) {
  const __m512 s = _mm512_set1_ps(scale), t = _mm512_set1_ps(shift);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    __m128i bytes;
    if (n - i >= 16) {
      bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    } else {  // byte-masked loads need AVX-512BW
      alignas(16) uint8_t tail[16] = {};
      for (size_t j = 0; j < n - i; ++j) tail[j] = src[i + j];
      bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
    }
    const __m512 v = _mm512_maskz_cvtepi32_ps(0xffff, _mm512_maskz_cvtepu8_epi32(0xffff, bytes));
    _mm512_mask_storeu_ps(dst + i, k, _mm512_add_ps(_mm512_mul_ps(v, s), t));
  }
}

AVX512_FN void add_row_avx512(float* acc, const float* row, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    _mm512_mask_storeu_ps(acc + i, k,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(k, acc + i), _mm512_maskz_loadu_ps(k, row + i)));
  }
}
#endif

bool use_avx512() {
#ifdef VECTOR_KERNELS_AVX512
  static const bool yes = cpu_features().avx512f;
  return yes;
#else
  return false;
#endif
}

}  // namespace

void sgd_kernel(float* param, const float* grad, float* mom, size_t n, const SgdConfig& cfg,
                bool first_step) {
#ifdef VECTOR_KERNELS_AVX512
  if (use_avx512()) {
    if (cfg.weight_decay != 0.f) return sgd_avx512_dispatch<true>(param, grad, mom, n, cfg, first_step);
    return sgd_avx512_dispatch<false>(param, grad, mom, n, cfg, first_step);
  }
#endif
  sgd_portable(param, grad, mom, n, cfg, first_step);
}

void relu_backward_kernel(const float* dy, const float* y, float* dx, size_t n) {
#ifdef VECTOR_KERNELS_AVX512
  if (use_avx512()) return relu_backward_avx512(dy, y, dx, n);
#endif
  for (size_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

void bias_relu_kernel(float* y, const float* bias, size_t n, bool relu) {
#ifdef VECTOR_KERNELS_AVX512
  if (use_avx512()) return bias_relu_avx512(y, bias, n, relu);
#endif
  for (size_t c = 0; c < n; ++c) {
    float v = y[c] + (bias ? bias[c] : 0.f);
    y[c] = relu ? std::max(v, 0.f) : v;
  }
}

void u8_to_f32_kernel(const uint8_t* src, float* dst, size_t n, float scale, float shift) {
#ifdef VECTOR_KERNELS_AVX512
  if (use_avx512()) return u8_to_f32_avx512(src, dst, n, scale, shift);
#endif
  for (size_t f = 0; f < n; ++f) dst[f] = src[f] * scale + shift;
}

void add_row_kernel(float* acc, const float* row, size_t n) {
#ifdef VECTOR_KERNELS_AVX512
  if (use_avx512()) return add_row_avx512(acc, row, n);
#endif
  for (size_t c = 0; c < n; ++c) acc[c] += row[c];
}

bool xent_row(const float* x, int label, int cols, float inv_rows, float* d, double* row_loss) {
  const bool valid = label >= 0 && label < cols;
  int best = 0;
  for (int c = 1; c < cols; ++c) if (x[c] > x[best]) best = c;
  const float mx = x[best];
  double sum = 0.0;
  for (int c = 0; c < cols; ++c) sum += std::exp(static_cast<double>(x[c] - mx));
  *row_loss = valid ? std::log(sum) - static_cast<double>(x[label] - mx) : std::nan("");
  if (d) {
    const double inv_sum = 1.0 / sum;
    for (int c = 0; c < cols; ++c) {
      float p = static_cast<float>(std::exp(static_cast<double>(x[c] - mx)) * inv_sum);
      d[c] = (p - (c == label ? 1.f : 0.f)) * inv_rows;
    }
  }
  return valid && best == label;
}

void RowStats::finish(int rows, float* mean_loss, int32_t* correct) const {
  double total = 0.0;
  int32_t hits = 0;
  for (int r = 0; r < rows; ++r) {
    total += loss[r];
    hits += hit[r];
  }
  *mean_loss = static_cast<float>(total / rows);
  if (correct) *correct += hits;
}

RowStats& row_stats(int rows) {
  thread_local RowStats stats;
  if (stats.loss.size() < static_cast<size_t>(rows)) {
    stats.loss.resize(rows);
    stats.hit.resize(rows);
  }
  return stats;
}

}  // namespace tinynn::cpu
