// The body of Backend::softmax's kernel (softmax and log-softmax over rows), one warp per row, and
// the row grid it shares with softmax cross-entropy (cuda/kernels_softmax.cu). Plain C++ apart from
// CUDA's built-ins: cuda/kernels_softmax.cu wraps it in __global__ kernels and launches them, and
// the CPU emulator in tests/kernel-emulation/ runs it on the host.
#pragma once
#include <cstddef>

#include "cuda/row_reduce.cuh"

namespace tinynn::gpu::softmax {

constexpr int kWarps = 8;  // rows per block at a time
constexpr unsigned kMaxRowBlocks = 65535;

// Blocks of kWarps warps for `rows` rows, at most cap.
inline unsigned row_blocks(int rows, unsigned cap) {
  const unsigned blocks = (static_cast<unsigned>(rows) + kWarps - 1) / kWarps;
  return blocks < cap ? blocks : cap;
}

// LOG: out = (x − max) − log Σ exp(x − max); else exp(x − max) / Σ exp(x − max). Warp w of block b
// takes rows b·kWarps + w, striding by gridDim.x·kWarps.
template <bool LOG>
__device__ inline void softmax_body(const float* x, int rows, int cols, float* out) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int r = blockIdx.x * kWarps + warp; r < rows; r += gridDim.x * kWarps) {
    const float* in = x + static_cast<size_t>(r) * cols;
    const RowMax m = warp_row_max(in, cols, lane);
    const float sum = row_exp_sum(in, cols, m.value, lane);
    __syncwarp();  // out may alias x: every lane has read the row before any writes it
    float* o = out + static_cast<size_t>(r) * cols;
    if constexpr (LOG) {
      const float log_sum = logf(sum);
      for (int c = lane; c < cols; c += 32) o[c] = (in[c] - m.value) - log_sum;
    } else {
      for (int c = lane; c < cols; c += 32) o[c] = expf(in[c] - m.value) / sum;
    }
  }
}

}  // namespace tinynn::gpu::softmax
