// Grid sizing shared by the element-wise kernels: enough blocks to cover n once, capped so that
// huge tensors use grid-stride loops instead of millions of tiny blocks.
#pragma once
#include <cstddef>

namespace tinynn::gpu {

constexpr int kThreads = 256;
constexpr size_t kMaxBlocks = 8192;  // ≥ 64 per SM on an H200's 132 SMs

inline unsigned blocks_for(size_t n, size_t per_block = kThreads) {
  size_t blocks = (n + per_block - 1) / per_block;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

}  // namespace tinynn::gpu
