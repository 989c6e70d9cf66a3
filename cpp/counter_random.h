// Random numbers from a counter-based hash: element i of a draw keyed by (key0, key1) is a pure
// function of the keys and i. Any thread makes any element without shared state, and a draw gives
// the same values on every backend (the CPU loops and the CUDA kernels include this header).
#pragma once
#include <cstddef>
#include <cstdint>

#ifdef __CUDACC__
#define TINYNN_HOST_DEVICE __host__ __device__
#else
#define TINYNN_HOST_DEVICE
#endif

namespace tinynn {

// A 32-bit integer hash with full avalanche ("lowbias32", Chris Wellons' hash prospector, public
// domain); a bijection, so distinct counters never collide within one key.
TINYNN_HOST_DEVICE inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x21f0aaadu;
  x ^= x >> 15;
  x *= 0x735a2d97u;
  x ^= x >> 15;
  return x;
}

// Uniform in [0, 1) with 24 random bits (every float there is a multiple of 2^-24).
TINYNN_HOST_DEVICE inline float counter_uniform(uint32_t key0, uint32_t key1, uint64_t i) {
  const uint32_t lo = static_cast<uint32_t>(i), hi = static_cast<uint32_t>(i >> 32);
  const uint32_t h = hash32(hash32(lo ^ key0) + (key1 ^ hash32(hi)));
  return static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
}

// Dropout's mask: scale where the draw keeps the element (probability keep), else 0.
TINYNN_HOST_DEVICE inline float bernoulli_mask_value(uint32_t key0, uint32_t key1, uint64_t i, float keep,
                                                     float scale) {
  return counter_uniform(key0, key1, i) < keep ? scale : 0.f;
}

}  // namespace tinynn
