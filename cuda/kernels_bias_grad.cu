// The bias gradient: column sums of dy [rows, cols]. A block owns 32 columns; its 16 thread rows
// each sum a fixed stride of rows, then one thread per column adds the 16 partials in order. The
// summation order depends only on the shape, so repeated runs give identical bits.
#include "cuda/check.h"
#include "cuda/kernels.h"

namespace tinynn::gpu {
namespace {

constexpr int kCols = 32;  // columns per block: one warp reads 32 consecutive floats of a row
constexpr int kRowGroups = 16;

__global__ void bias_grad_kernel(const float* __restrict__ dy, int rows, int cols,
                                 float* __restrict__ db, bool accumulate) {
  __shared__ float partial[kRowGroups][kCols];
  const int c = blockIdx.x * kCols + threadIdx.x;
  float sum = 0.f;
  if (c < cols)
    for (int r = threadIdx.y; r < rows; r += kRowGroups) sum += dy[static_cast<size_t>(r) * cols + c];
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float total = accumulate ? db[c] : 0.f;
    float s = 0.f;
    for (int g = 0; g < kRowGroups; ++g) s += partial[g][threadIdx.x];
    db[c] = total + s;
  }
}

}  // namespace

void launch_bias_grad(cudaStream_t stream, const float* dy, int rows, int cols, float* db,
                      bool accumulate) {
  if (cols <= 0) return;
  const unsigned blocks = static_cast<unsigned>((cols + kCols - 1) / kCols);
  bias_grad_kernel<<<blocks, dim3(kCols, kRowGroups), 0, stream>>>(dy, rows, cols, db, accumulate);
  check_launch("bias_grad kernel launch");
}

}  // namespace tinynn::gpu
