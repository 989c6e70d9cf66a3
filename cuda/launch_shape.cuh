// Grid sizing shared by the element-wise kernels: enough blocks to cover n once, capped so that
// huge tensors use grid-stride loops instead of millions of tiny blocks; and when their indices
// may be 32-bit.
#pragma once
#include <cstddef>

namespace tinynn::gpu {

constexpr int kThreads = 256;
constexpr size_t kMaxBlocks = 8192;  // ≥ 64 per SM on an H200's 132 SMs

inline unsigned blocks_for(size_t n, size_t per_block = kThreads) {
  size_t blocks = (n + per_block - 1) / per_block;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// 32-bit indexing for a grid-stride loop over a·b elements: i + gridDim·blockDim (≤ 2^21) can
// never pass 2^32.
inline bool fits_u32(size_t a, size_t b = 1) { return a * b < (size_t{1} << 31); }

}  // namespace tinynn::gpu
