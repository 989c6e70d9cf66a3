// The per-stream scratch layouts that the ticket-reduction kernels share with their launchers
// (cuda/kernels.h, cuda/kernels_fused.h). Plain C++ with no CUDA header, so that the kernel
// bodies that use them (cuda/kernels_head.cuh, cuda/kernels_linear.cuh) also build on the host,
// for the CPU emulator in tests/kernel-emulation/.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinynn::gpu {

// Per-stream scratch for the cross-block reductions of the loss kernels (softmax_xent, mse): one
// partial per block and a ticket counter that the last block to finish resets to 0. Kernels on
// one stream never overlap, so they share it.
constexpr int kLossMaxBlocks = 1024;
struct LossScratch {
  double* loss_partials;  // [kLossMaxBlocks]
  int32_t* hit_partials;  // [kLossMaxBlocks]
  unsigned* ticket;       // 1, zero between launches
};
constexpr size_t kLossScratchBytes = kLossMaxBlocks * (sizeof(double) + sizeof(int32_t)) + 16;

// Per-stream scratch for the fused head's cross-block sums: per block, its partial dW, db and
// dh_bias (out·in + out + in floats), loss and hits; the ticket as for softmax_xent.
constexpr int kHeadMaxBlocks = 128;
constexpr size_t kHeadMaxPartial = 8192;  // floats per block: out·in + out + in must fit
struct HeadScratch {
  float* partials;        // [kHeadMaxBlocks, kHeadMaxPartial]
  double* loss_partials;  // [kHeadMaxBlocks]
  int32_t* hit_partials;  // [kHeadMaxBlocks]
  unsigned* ticket;       // 1, zero between launches
};
constexpr size_t kHeadScratchBytes =
    kHeadMaxBlocks * (kHeadMaxPartial * sizeof(float) + sizeof(double) + sizeof(int32_t)) + 16;

// Per-stream scratch for the split-K GEMMs of gather_linear and linear_grad_sgd: a partial tile
// per block ([kGemmMaxSplitBlocks][kGemmTileFloats]) and a ticket per output tile, which the last
// slice of the tile to finish resets to 0. Kernels on one stream never overlap, so both share it.
constexpr int kGemmMaxSplitBlocks = 512;
constexpr int kGemmMaxTiles = 256;
constexpr size_t kGemmTileFloats = 1024;
struct GemmScratch {
  float* partials;
  unsigned* tickets;
};
constexpr size_t kGemmScratchBytes =
    kGemmMaxSplitBlocks * kGemmTileFloats * sizeof(float) + kGemmMaxTiles * sizeof(unsigned);

}  // namespace tinynn::gpu
