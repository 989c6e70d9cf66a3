#include "cpp/permutation.h"

namespace tinynn {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias (Lemire's multiply-shift with rejection).
uint32_t uniform_below(uint64_t& state, uint32_t bound) {
  uint64_t threshold = (0x100000000ULL - bound) % bound;
  for (;;) {
    uint64_t m = (splitmix64(state) >> 32) * bound;
    if ((m & 0xffffffffULL) >= threshold) return static_cast<uint32_t>(m >> 32);
  }
}

}  // namespace

void epoch_permutation(uint64_t seed, uint64_t epoch, int32_t* out, int32_t n) {
  uint64_t state = seed * 0x2545f4914f6cdd1dULL ^ (epoch + 1) * 0x9e3779b97f4a7c15ULL;
  for (int32_t i = 0; i < n; ++i) out[i] = i;
  for (int32_t i = n - 1; i > 0; --i) {
    int32_t j = static_cast<int32_t>(uniform_below(state, static_cast<uint32_t>(i) + 1));
    int32_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
}

}  // namespace tinynn
