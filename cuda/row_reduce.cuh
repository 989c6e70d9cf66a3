// Warp-level row reductions shared by the softmax kernels and the fused head: one warp reads one
// row of `cols` floats (global or shared memory), lanes striding by 32.
#pragma once
#include <climits>
#include <cmath>

namespace tinynn::gpu {

constexpr unsigned kFullMask = 0xffffffffu;

struct RowMax {
  float value;
  int index;
};

// The first index of the row maximum, the same choice as the CPU backend's sequential scan
// (`x[c] > x[best]` from best = 0): NaNs never win, except a NaN at index 0, which nothing beats.
__device__ inline RowMax warp_row_max(const float* x, int cols, int lane) {
  float best = -INFINITY;
  int index = INT_MAX;
  for (int c = lane; c < cols; c += 32) {
    const float v = x[c];
    if (v > best || (v == best && c < index)) {
      best = v;
      index = c;
    }
  }
  // (value desc, index asc) is a total order on non-NaN candidates, so every lane ends on the
  // same winner whatever the butterfly order.
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float ov = __shfl_xor_sync(kFullMask, best, offset);
    const int oi = __shfl_xor_sync(kFullMask, index, offset);
    if (ov > best || (ov == best && oi < index)) {
      best = ov;
      index = oi;
    }
  }
  const float first = x[0];
  if (index == INT_MAX || isnan(first)) return {first, 0};
  return {best, index};
}

// Sum over the warp in a fixed tree, then lane 0's result broadcast, so all lanes use one value.
template <typename T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(kFullMask, v, offset);
  return __shfl_sync(kFullMask, v, 0);
}

__device__ inline float row_exp_sum(const float* x, int cols, float max, int lane) {
  float sum = 0.f;
  for (int c = lane; c < cols; c += 32) sum += expf(x[c] - max);
  return warp_sum(sum);
}

// One row's cross-entropy term, logsumexp(x) − x[label], from its max and Σ exp(x − max); NaN
// for a label outside [0, cols) (no out-of-bounds read).
__device__ inline double row_xent(const float* x, int cols, int label, const RowMax& m, float sum) {
  if (label < 0 || label >= cols) return static_cast<double>(NAN);
  return static_cast<double>(logf(sum) - (x[label] - m.value));
}

}  // namespace tinynn::gpu
