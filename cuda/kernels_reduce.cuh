// The bodies of Backend::reduce's and Backend::argmax's kernels over the middle axis of x viewed as
// [outer, len, inner], and the launcher's choice among them (reduce_path) and their grids.
// Every output's order of operations depends on the shape alone, never on scheduling, and no
// float atomics are used: results are bit-reproducible.
// - inner == 1 (rows of len contiguous floats): one warp per row, or for rows longer than
//   kLongRow one block of kLongRowThreads, thread t combining elements t, t + T, t + 2T, ... in
//   order, then a fixed tree over the threads;
// - inner > 1 (a column per output, stride inner): a block covers 32 consecutive columns of one
//   outer index; its 16 thread rows each combine every 16th k in order, then one thread per
//   column combines the 16 partials in order (for a [rows, cols] bias gradient: the reduction
//   order of tinynn's earlier bias_grad kernel).
// argmax keeps the first k of the largest value, a NaN counting as the largest.
// Plain C++ apart from CUDA's built-ins, the shared memory an argument: cuda/kernels_reduce.cu
// wraps the bodies in __global__ kernels and launches them, and the CPU emulator in
// tests/kernel-emulation/ runs them on the host (with the same paths and grids).
#pragma once
#include <climits>
#include <cstdint>

#include "cpp/backend.h"
#include "cuda/row_reduce.cuh"

namespace tinynn::gpu::reduce {

constexpr int kRowWarps = 8;          // rows per block, a warp each
constexpr int64_t kLongRow = 4096;    // longer rows get a block each
constexpr int kLongRowThreads = 512;
constexpr int kLongRowWarps = kLongRowThreads / 32;
constexpr int kCols = 32;             // columns per block of the column kernels
constexpr int kRowGroups = 16;        // k strides of the column kernels
constexpr unsigned kMaxGrid = 65535;  // blocks in y (the column kernels' outer), and the row grids' cap
constexpr int kArgmaxColumnThreads = 256;

// ---- the launcher's choice of kernel and its grid ----

enum class ReducePath {
  Columns,   // inner > 1: reduce_columns_body, blocks of kCols × kRowGroups threads
  LongRows,  // inner == 1, len > kLongRow: reduce_long_rows_body, blocks of kLongRowThreads
  Rows,      // inner == 1: reduce_rows_body, blocks of kRowWarps warps
};
inline ReducePath reduce_path(int64_t len, int64_t inner) {
  return inner > 1 ? ReducePath::Columns : len > kLongRow ? ReducePath::LongRows : ReducePath::Rows;
}

inline unsigned capped(int64_t blocks) { return static_cast<unsigned>(blocks < kMaxGrid ? blocks : kMaxGrid); }
// Rows: a warp each (reduce_rows_body, argmax_rows_body).
inline unsigned row_blocks(int64_t rows) { return capped((rows + kRowWarps - 1) / kRowWarps); }
// Columns: the grid is column_blocks(inner) × capped(outer).
inline unsigned column_blocks(int64_t inner) { return static_cast<unsigned>((inner + kCols - 1) / kCols); }
// argmax_columns_body: a thread per output.
inline unsigned argmax_column_blocks(int64_t outer, int64_t inner) {
  return capped((outer * inner + kArgmaxColumnThreads - 1) / kArgmaxColumnThreads);
}

// ---- the reductions ----

// The accumulator's start: what an empty reduction gives, 0 for Sum, ∓infinity for Max and Min
// (an empty Mean: 0 / 0, NaN).
template <ReduceOp OP>
__device__ inline float identity() {
  if constexpr (OP == ReduceOp::Max) {
    return -INFINITY;
  } else if constexpr (OP == ReduceOp::Min) {
    return INFINITY;
  } else {
    return 0.f;
  }
}

// Max and Min propagate NaN, as torch.amax / torch.amin do.
template <ReduceOp OP>
__device__ inline float combine(float acc, float v) {
  if constexpr (OP == ReduceOp::Max) {
    return acc > v || isnan(acc) ? acc : v;
  } else if constexpr (OP == ReduceOp::Min) {
    return acc < v || isnan(acc) ? acc : v;
  } else {
    return acc + v;
  }
}

// The combined value of len elements as the op's result; stored into *out (accumulate: added).
template <ReduceOp OP>
__device__ inline void store(float* out, float value, int64_t len, bool accumulate) {
  // len 0: 0 / 0 = NaN, as Backend::reduce documents it (torch.mean of nothing; the CPU backend).
  if constexpr (OP == ReduceOp::Mean) value = value / static_cast<float>(len);
  *out = accumulate ? *out + value : value;
}

// The warp's values combined in a fixed butterfly, the result in every lane.
template <ReduceOp OP>
__device__ inline float warp_combine(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = combine<OP>(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// inner == 1: warp w of block b takes rows b·kRowWarps + w, striding by gridDim.x·kRowWarps.
template <ReduceOp OP>
__device__ inline void reduce_rows_body(const float* __restrict__ x, float* __restrict__ out, int64_t rows,
                                        int64_t len, bool accumulate) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t r = blockIdx.x * int64_t{kRowWarps} + warp; r < rows; r += int64_t{gridDim.x} * kRowWarps) {
    const float* row = x + r * len;
    float acc = identity<OP>();
    for (int64_t k = lane; k < len; k += 32) acc = combine<OP>(acc, row[k]);
    acc = warp_combine<OP>(acc);
    if (lane == 0) store<OP>(out + r, acc, len, accumulate);
  }
}

// reduce_long_rows_body's shared memory.
struct LongRowsSmem {
  float partial[kLongRowWarps];
};

// inner == 1, long rows: block b takes rows b, b + gridDim.x, ...; its warps' results are
// combined in warp order.
template <ReduceOp OP>
__device__ inline void reduce_long_rows_body(const float* __restrict__ x, float* __restrict__ out, int64_t rows,
                                             int64_t len, bool accumulate, LongRowsSmem& s) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * len;
    float acc = identity<OP>();
    for (int64_t k = threadIdx.x; k < len; k += kLongRowThreads) acc = combine<OP>(acc, row[k]);
    acc = warp_combine<OP>(acc);
    if (lane == 0) s.partial[warp] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
      float total = s.partial[0];
      for (int w = 1; w < kLongRowWarps; ++w) total = combine<OP>(total, s.partial[w]);
      store<OP>(out + r, total, len, accumulate);
    }
    __syncthreads();  // partial is free for the next row
  }
}

// reduce_columns_body's shared memory.
struct ColumnsSmem {
  float partial[kRowGroups][kCols];
};

// inner > 1: block (x, y) covers columns 32x .. 32x + 31 of outer indices y, y + gridDim.y, ...
template <ReduceOp OP>
__device__ inline void reduce_columns_body(const float* __restrict__ x, float* __restrict__ out, int64_t outer,
                                           int64_t len, int64_t inner, bool accumulate, ColumnsSmem& s) {
  const int64_t c = blockIdx.x * int64_t{kCols} + threadIdx.x;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    const float* base = x + o * len * inner;
    float acc = identity<OP>();
    if (c < inner)
      for (int64_t k = threadIdx.y; k < len; k += kRowGroups) acc = combine<OP>(acc, base[k * inner + c]);
    s.partial[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < inner) {
      float total = s.partial[0][threadIdx.x];
      for (int g = 1; g < kRowGroups; ++g) total = combine<OP>(total, s.partial[g][threadIdx.x]);
      store<OP>(out + o * inner + c, total, len, accumulate);
    }
    __syncthreads();  // partial is free for the next outer index
  }
}

// ---- argmax ----

// Whether (v, k) comes before the best so far (b, j): NaN above every number, then the larger
// value, then the smaller index. A total order, so any combination tree gives the same winner.
__device__ inline bool beats(float v, int k, float b, int j) {
  const bool vn = isnan(v), bn = isnan(b);
  if (vn != bn) return vn;
  if (!vn && v != b) return v > b;
  return k < j;
}

// inner == 1: a warp per row, as reduce_rows_body.
__device__ inline void argmax_rows_body(const float* __restrict__ x, int32_t* __restrict__ out, int64_t rows,
                                        int64_t len) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t r = blockIdx.x * int64_t{kRowWarps} + warp; r < rows; r += int64_t{gridDim.x} * kRowWarps) {
    const float* row = x + r * len;
    float best = -INFINITY;
    int index = INT_MAX;
    for (int64_t k = lane; k < len; k += 32) {
      const float v = row[k];
      if (beats(v, static_cast<int>(k), best, index)) {
        best = v;
        index = static_cast<int>(k);
      }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float ov = __shfl_xor_sync(kFullMask, best, offset);
      const int oi = __shfl_xor_sync(kFullMask, index, offset);
      if (beats(ov, oi, best, index)) {
        best = ov;
        index = oi;
      }
    }
    if (lane == 0) out[r] = index == INT_MAX ? 0 : index;  // INT_MAX: len 0
  }
}

// inner > 1: a thread per output, scanning its column in k order.
__device__ inline void argmax_columns_body(const float* __restrict__ x, int32_t* __restrict__ out, int64_t outer,
                                           int64_t len, int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t o = i / inner, c = i - o * inner;
    const float* column = x + o * len * inner + c;
    float best = -INFINITY;
    int index = 0;
    for (int64_t k = 0; k < len; ++k) {
      const float v = column[k * inner];
      if (k == 0 || beats(v, static_cast<int>(k), best, index)) {
        best = v;
        index = static_cast<int>(k);
      }
    }
    out[i] = index;
  }
}

}  // namespace tinynn::gpu::reduce
