// The element-wise kernels: bias+ReLU epilogue, ReLU backward, and the batch gather.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

// Index is uint32_t when rows·cols fits (cheaper division), else size_t.
template <typename Index>
__global__ void bias_relu_kernel(float* __restrict__ y, int ld, const float* __restrict__ bias,
                                 Index rows, Index cols, bool relu) {
  const Index total = rows * cols;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index r = i / cols, c = i - r * cols;
    float* p = y + static_cast<size_t>(r) * ld + c;
    float v = *p + (bias ? bias[c] : 0.f);
    // v < 0 ? 0 : v keeps a NaN as NaN, like the CPU backend's std::max(v, 0.f).
    *p = relu && v < 0.f ? 0.f : v;
  }
}

__global__ void relu_backward_kernel(const float* dy, const float* y, float* dx, size_t n) {
  // dx may alias dy: each element is read, then written, by the same thread.
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

__global__ void add_kernel(float* y, const float* x, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

// x [rows, features] f32 from images [N, features] u8 at rows indices[r]; y [rows] from labels.
template <typename Index>
__global__ void gather_batch_kernel(const uint8_t* __restrict__ images,
                                    const uint8_t* __restrict__ labels, Index features,
                                    const int32_t* __restrict__ indices, Index rows, float scale,
                                    float shift, float* __restrict__ x, int32_t* __restrict__ y) {
  const Index total = rows * features;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index r = i / features, f = i - r * features;
    const size_t src = static_cast<size_t>(indices[r]);
    x[i] = static_cast<float>(images[src * features + f]) * scale + shift;
    if (f == 0) y[r] = labels[src];
  }
}

// 32-bit indexing when i + gridDim·blockDim (≤ 2^21) can never pass 2^32.
bool fits_u32(size_t a, size_t b) { return a * b < (size_t{1} << 31); }

}  // namespace

void launch_bias_relu(cudaStream_t stream, float* y, int ld, const float* bias, int rows, int cols,
                      bool relu) {
  if (rows <= 0 || cols <= 0) return;
  const size_t n = static_cast<size_t>(rows) * cols;
  if (fits_u32(rows, cols))
    bias_relu_kernel<uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(y, ld, bias, rows, cols, relu);
  else
    bias_relu_kernel<size_t><<<blocks_for(n), kThreads, 0, stream>>>(y, ld, bias, rows, cols, relu);
  check_launch("bias_relu kernel launch");
}

void launch_add(cudaStream_t stream, float* y, const float* x, size_t n) {
  if (n == 0) return;
  add_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, x, n);
  check_launch("add kernel launch");
}

void launch_relu_backward(cudaStream_t stream, const float* dy, const float* y, float* dx, size_t n) {
  if (n == 0) return;
  relu_backward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(dy, y, dx, n);
  check_launch("relu_backward kernel launch");
}

void launch_gather_batch(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                         int features, const int32_t* indices, int rows, float scale, float shift,
                         float* x, int32_t* y) {
  if (rows <= 0 || features <= 0) return;
  const size_t n = static_cast<size_t>(rows) * features;
  if (fits_u32(rows, features))
    gather_batch_kernel<uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(
        images, labels, features, indices, rows, scale, shift, x, y);
  else
    gather_batch_kernel<size_t><<<blocks_for(n), kThreads, 0, stream>>>(
        images, labels, features, indices, rows, scale, shift, x, y);
  check_launch("gather_batch kernel launch");
}

}  // namespace tinynn::gpu
