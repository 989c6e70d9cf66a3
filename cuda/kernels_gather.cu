// The row gathers: a batch of u8 samples to float (Backend::gather_batch), float rows by index
// (Backend::gather_rows), and one-hot rows of labels (Backend::one_hot). A thread per output element, consecutive threads along a row.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_gather.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

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

// dst [rows, cols] from src [N, cols] at rows indices[r]; the body in kernels_gather.cuh.
template <typename Index>
__global__ void gather_rows_kernel(const float* __restrict__ src, Index cols, const int32_t* __restrict__ indices,
                                   Index rows, float* __restrict__ dst) {
  gather::gather_rows_body<Index>(src, cols, indices, rows, dst);
}

template <typename Index>
__global__ void one_hot_kernel(const int32_t* __restrict__ labels, Index rows, Index classes, float* __restrict__ out) {
  gather::one_hot_body<Index>(labels, rows, classes, out);
}

}  // namespace

void launch_one_hot(cudaStream_t stream, const int32_t* labels, int rows, int classes, float* out) {
  if (rows <= 0 || classes <= 0) return;
  const size_t n = static_cast<size_t>(rows) * classes;
  if (fits_u32(rows, classes))
    one_hot_kernel<uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(labels, rows, classes, out);
  else
    one_hot_kernel<size_t><<<blocks_for(n), kThreads, 0, stream>>>(labels, rows, classes, out);
  check_launch("one_hot kernel launch");
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

void launch_gather_rows(cudaStream_t stream, const float* src, int cols, const int32_t* indices, int rows,
                        float* dst) {
  if (rows <= 0 || cols <= 0) return;
  const size_t n = static_cast<size_t>(rows) * cols;
  if (fits_u32(rows, cols))
    gather_rows_kernel<uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(src, cols, indices, rows, dst);
  else
    gather_rows_kernel<size_t><<<blocks_for(n), kThreads, 0, stream>>>(src, cols, indices, rows, dst);
  check_launch("gather_rows kernel launch");
}

}  // namespace tinynn::gpu
