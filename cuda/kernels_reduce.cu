// Backend::reduce and Backend::argmax over the middle axis of x viewed as [outer, len, inner]:
// the bodies, their order of operations and the choice among them in kernels_reduce.cuh; here
// the __global__ wrappers (their shared memory) and the launches. Results are bit-reproducible.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_reduce.cuh"

namespace tinynn::gpu {
namespace {

using namespace reduce;

template <ReduceOp OP>
__global__ void reduce_rows_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t rows, int64_t len,
                                   bool accumulate) {
  reduce_rows_body<OP>(x, out, rows, len, accumulate);
}

template <ReduceOp OP>
__global__ void __launch_bounds__(kLongRowThreads) reduce_long_rows_kernel(const float* __restrict__ x,
                                                                           float* __restrict__ out, int64_t rows,
                                                                           int64_t len, bool accumulate) {
  __shared__ LongRowsSmem s;
  reduce_long_rows_body<OP>(x, out, rows, len, accumulate, s);
}

template <ReduceOp OP>
__global__ void reduce_columns_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t outer,
                                      int64_t len, int64_t inner, bool accumulate) {
  __shared__ ColumnsSmem s;
  reduce_columns_body<OP>(x, out, outer, len, inner, accumulate, s);
}

__global__ void argmax_rows_kernel(const float* __restrict__ x, int32_t* __restrict__ out, int64_t rows, int64_t len) {
  argmax_rows_body(x, out, rows, len);
}

__global__ void argmax_columns_kernel(const float* __restrict__ x, int32_t* __restrict__ out, int64_t outer,
                                      int64_t len, int64_t inner) {
  argmax_columns_body(x, out, outer, len, inner);
}

template <ReduceOp OP>
void launch(cudaStream_t stream, const float* x, float* out, int64_t outer, int64_t len, int64_t inner,
            bool accumulate) {
  switch (reduce_path(len, inner)) {
    case ReducePath::Columns:
      reduce_columns_kernel<OP><<<dim3(column_blocks(inner), capped(outer)), dim3(kCols, kRowGroups), 0, stream>>>(
          x, out, outer, len, inner, accumulate);
      break;
    case ReducePath::LongRows:
      reduce_long_rows_kernel<OP><<<capped(outer), kLongRowThreads, 0, stream>>>(x, out, outer, len, accumulate);
      break;
    case ReducePath::Rows:
      reduce_rows_kernel<OP><<<row_blocks(outer), kRowWarps * 32, 0, stream>>>(x, out, outer, len, accumulate);
      break;
  }
}

}  // namespace

void launch_reduce(cudaStream_t stream, ReduceOp op, const float* x, float* out, int64_t outer, int64_t len,
                   int64_t inner, bool accumulate) {
  if (outer <= 0 || inner <= 0) return;
  switch (op) {
    case ReduceOp::Sum: launch<ReduceOp::Sum>(stream, x, out, outer, len, inner, accumulate); break;
    case ReduceOp::Mean: launch<ReduceOp::Mean>(stream, x, out, outer, len, inner, accumulate); break;
    case ReduceOp::Max: launch<ReduceOp::Max>(stream, x, out, outer, len, inner, accumulate); break;
    case ReduceOp::Min: launch<ReduceOp::Min>(stream, x, out, outer, len, inner, accumulate); break;
  }
  check_launch("reduce kernel launch");
}

void launch_argmax(cudaStream_t stream, const float* x, int64_t outer, int64_t len, int64_t inner, int32_t* out) {
  if (outer <= 0 || inner <= 0) return;
  if (inner > 1) {
    argmax_columns_kernel<<<argmax_column_blocks(outer, inner), kArgmaxColumnThreads, 0, stream>>>(x, out, outer, len,
                                                                                                   inner);
  } else {
    argmax_rows_kernel<<<row_blocks(outer), kRowWarps * 32, 0, stream>>>(x, out, outer, len);
  }
  check_launch("argmax kernel launch");
}

}  // namespace tinynn::gpu
