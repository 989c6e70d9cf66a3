// Portable kernels for CPUs without AVX2 (and non-x86 builds): 4x8 micro-tiles written with
// GCC/Clang vector extensions, which the compiler maps to the baseline ISA (SSE2: 8 xmm
// accumulators; NEON likewise) or to scalar code. The same loops over plain float arrays get
// vectorised across rows by GCC 12 and run 4x slower.
#include <cstring>

#include "cpp/cpu/gemm_kernels.h"
#include "cpp/cpu/gemm_tiles.h"

namespace tinynn::cpu {
namespace {

constexpr int kMr = 4;
constexpr int kVec = 4;
constexpr int kNr = 2 * kVec;

typedef float Vec4 __attribute__((vector_size(16)));

inline Vec4 load4(const float* p) {
  Vec4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <bool TA, int R, int V>
struct Micro {
  static constexpr int kVecWidth = kVec;
  static void run(const GemmBlock& g, const float* a, const float* b, long b_rs, float* c,
                  const float* bias, int n) {
    Vec4 acc[R][V] = {};
    const long lda = g.lda;
    for (int k = 0; k < g.kc; ++k) {
      Vec4 bv[V];
      for (int v = 0; v < V; ++v) bv[v] = load4(b + v * kVec);
      for (int i = 0; i < R; ++i) {
        const float ai = TA ? a[i] : a[i * lda];
        for (int v = 0; v < V; ++v) acc[i][v] += ai * bv[v];
      }
      a += TA ? lda : 1;
      b += b_rs;
    }
    for (int i = 0; i < R; ++i) {
      float sums[V * kVec];
      std::memcpy(sums, acc[i], sizeof sums);
      float* ci = c + i * g.ldc;
      for (int j = 0; j < n; ++j) {
        float r = g.alpha * sums[j];
        if (g.load_c) r += g.beta * ci[j];
        if (bias) r += bias[j];
        if (g.relu) r = r < 0.f ? 0.f : r;  // NaN stays NaN
        ci[j] = r;
      }
    }
  }
};

void pack(bool tb, const float* B, long ldb, int k0, int kc, int n0, int n, float* out,
          long out_rs) {
  for (int k = 0; k < kc; ++k) {
    float* o = out + k * out_rs;
    if (tb) {
      const float* src = B + n0 * ldb + k0 + k;
      for (int j = 0; j < n; ++j) o[j] = src[j * ldb];
    } else {
      std::memcpy(o, B + (k0 + k) * ldb + n0, n * sizeof(float));
    }
    for (int j = n; j < out_rs; ++j) o[j] = 0.f;
  }
}

// 256 deep: a 256 x 8 panel is 8 KiB, within any L1.
constexpr GemmKernels kKernels{"portable", kMr, kNr, kVec, 256, &pack,
                               &TileWalker<Micro, kMr, 2>::compute, nullptr};

}  // namespace

const GemmKernels& portable_kernels() { return kKernels; }

}  // namespace tinynn::cpu
