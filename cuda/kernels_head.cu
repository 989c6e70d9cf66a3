// Launchers of the fused head kernels (the head stage of a fused training step, StagedStep::head):
// the bodies, their geometry and the why of them are in kernels_head.cuh; here the __global__
// wrappers (their shared memory) and the choice of kernel, grid and cluster size.
#include <cooperative_groups.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/cluster_support.h"
#include "cuda/kernels_fused.h"
#include "cuda/kernels_head.cuh"

namespace tinynn::gpu {
namespace {

using namespace head;

__global__ void __launch_bounds__(kThreads) linear_xent_tiled_kernel(const __grid_constant__ HeadArgs a) {
  extern __shared__ float smem[];  // smem_floats(a.in, a.out, a.tile)
  __shared__ TiledSmem sm;
  linear_xent_tiled_body(a, sm, smem);
}

template <int MAXO, bool EXACT>
__global__ void __launch_bounds__(kClusterThreads) linear_xent_cluster_kernel(const __grid_constant__ HeadArgs a) {
  extern __shared__ float4 cluster_smem4[];  // ClusterLayout<MAXO>::kSmemBytes
  __shared__ ClusterSmem sm;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  linear_xent_cluster_body<MAXO, EXACT>(a, sm, cluster_smem4, cooperative_groups::this_cluster());
#else
  linear_xent_cluster_body<MAXO, EXACT>(a, sm, cluster_smem4, NoCluster{});  // one block, no cluster
#endif
}

// Rows are spread evenly over as many blocks as one cluster may hold (16 on the H100/H200, else
// the portable 8; one block without clusters), at least one row per warp: measured on the H200,
// 8 blocks of 1 row per warp beat 4 of 2 at batch 64, and 16 blocks beat 8 at batch 512.
template <int MAXO, bool EXACT>
void launch_cluster(cudaStream_t stream, HeadArgs& a, bool clusters) {
  using L = ClusterLayout<MAXO>;
  auto kernel = linear_xent_cluster_kernel<MAXO, EXACT>;
  // Function attributes and the largest cluster, once per device: shared memory beyond the
  // default 48 KB; clusters beyond the portable size where the device can schedule them.
  // Cached in atomics, not a std::map under a std::mutex: nvcc compiles this file with g++ while
  // the glibc-floor build links libc++, so host code here calls nothing in libstdc++. Two threads
  // that miss at once both ask the device, which answers both the same.
  constexpr int kCachedDevices = 64;
  static std::atomic<int> largest[kCachedDevices];
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  int max_blocks = device < kCachedDevices ? largest[device].load(std::memory_order_acquire) : 0;
  if (max_blocks == 0) {
    if (L::kSmemBytes > kSmemLimit)
      check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(L::kSmemBytes)),
                 "cudaFuncSetAttribute(linear_xent_step)");
    max_blocks = 1;
    if (clusters) {
      max_blocks = kPortableClusterBlocks;
      if (cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1) == cudaSuccess) {
        cudaLaunchConfig_t probe{};
        probe.gridDim = dim3(kMaxClusterBlocks);
        probe.blockDim = dim3(kClusterThreads);
        probe.dynamicSmemBytes = L::kSmemBytes;
        int potential = 0;
        if (cudaOccupancyMaxPotentialClusterSize(&potential, kernel, &probe) == cudaSuccess)
          max_blocks = std::max(max_blocks, std::min(potential, kMaxClusterBlocks));
      }
      cudaGetLastError();  // a refused attribute or query leaves the portable size
    }
    if (device < kCachedDevices) largest[device].store(max_blocks, std::memory_order_release);
  }
  const ClusterGrid grid = cluster_grid(a.rows, max_blocks);
  a.tile = grid.tile;
  const int blocks = grid.blocks;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(blocks));
  config.blockDim = dim3(kClusterThreads);
  config.dynamicSmemBytes = L::kSmemBytes;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  if (blocks > 1) {
    attribute[0].id = cudaLaunchAttributeClusterDimension;
    attribute[0].val.clusterDim.x = static_cast<unsigned>(blocks);
    attribute[0].val.clusterDim.y = 1;
    attribute[0].val.clusterDim.z = 1;
    config.attrs = attribute;
    config.numAttrs = 1;
  }
  check_cuda(cudaLaunchKernelEx(&config, kernel, a), "linear_xent_step kernel launch");
}

// Launches the kernel that suits `a` (tile and grid chosen here); false when none fits.
bool launch_head(cudaStream_t stream, HeadArgs& a) {
  const int rows = a.rows, in = a.in, out = a.out;
  if (rows <= 0 || in <= 0 || out <= 0 || out > kMaxClasses) return false;
  const auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vectorisable = aligned16(a.h) && aligned16(a.W) && aligned16(a.dW) &&
                            (!a.h_bias || aligned16(a.h_bias)) && (!a.dh || aligned16(a.dh)) &&
                            (!a.dh_bias || aligned16(a.dh_bias)) && (!a.W_momentum || aligned16(a.W_momentum)) &&
                            (!a.h_bias_momentum || aligned16(a.h_bias_momentum));
  if (in == kClusterIn && out <= 16 && vectorisable) {
    const bool clusters = device_has_clusters();
    if (out == 10)
      launch_cluster<10, true>(stream, a, clusters);
    else
      launch_cluster<16, false>(stream, a, clusters);
    return true;
  }
  const TiledPlan plan = tiled_plan(rows, in, out);
  if (plan.tile == 0) return false;
  a.tile = plan.tile;
  linear_xent_tiled_kernel<<<plan.blocks, kThreads, plan.smem_bytes, stream>>>(a);
  check_launch("linear_xent_step kernel launch");
  return true;
}

}  // namespace

bool launch_linear_xent_step(cudaStream_t stream, const HeadScratch& scratch, float* h, float* h_bias,
                             bool relu_input, float* W, float* b, const int32_t* labels, int rows, int in,
                             int out, float* logits, float* dlogits, float* loss, int32_t* correct, float* dW,
                             float* db, float* dh, float* dh_bias, const HeadSgd& sgd) {
  HeadArgs a{h, h_bias, W, b, labels, rows, in, out, 0, relu_input, logits, dlogits, loss, correct, dW, db, dh,
             dh_bias, scratch, true, sgd.params, sgd.W_momentum, sgd.b_momentum, sgd.h_bias_momentum};
  return launch_head(stream, a);
}

}  // namespace tinynn::gpu
