// CpuBackend's element-wise primitives: unary, binary (with broadcasting) and dropout's mask.
#include <vector>

#include "cpp/cpu/cpu_backend.h"
#include "cpp/cpu/elementwise_kernels.h"
#include "cpp/cpu/vector_kernels.h"

namespace tinynn::cpu {
namespace {

constexpr size_t kElementGrain = 1 << 14;

// Offsets of a and b at the start of output row `row` (rows: all dimensions but the last).
void row_offsets(const Broadcast& bc, int64_t row, int64_t* a_off, int64_t* b_off) {
  *a_off = 0;
  *b_off = 0;
  for (int d = bc.rank - 2; d >= 0; --d) {
    const int64_t i = row % bc.shape[d];
    row /= bc.shape[d];
    *a_off += i * bc.a_stride[d];
    *b_off += i * bc.b_stride[d];
  }
}

// Copies n elements `stride` apart into `row` and returns its data.
const float* gather_row(const float* src, int64_t stride, int64_t n, std::vector<float>& row) {
  row.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) row[i] = src[i * stride];
  return row.data();
}

// Ops that cost tens of cycles an element (exp, tanh, log, GELU, …) split over the pool at a
// smaller size than the ones that stream memory.
bool is_transcendental(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp: case UnaryOp::Log: case UnaryOp::Sigmoid: case UnaryOp::Tanh: case UnaryOp::Gelu:
    case UnaryOp::Pow: return true;
    default: return false;
  }
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const float* x, float* y, size_t n, float a, float b) {
  const size_t grain = is_transcendental(op) ? kElementGrain / 8 : kElementGrain;
  parallel_range(pool_, n, grain, [&](size_t i0, size_t i1) { unary_kernel(op, x + i0, y + i0, i1 - i0, a, b); });
}

void CpuBackend::bernoulli_mask(float* out, size_t n, float keep, float scale, uint32_t key0, uint32_t key1) {
  parallel_range(pool_, n, kElementGrain / 4,
                 [&](size_t i0, size_t i1) { bernoulli_kernel(out + i0, i0, i1 - i0, keep, scale, key0, key1); });
}

void CpuBackend::binary(BinaryOp op, const float* a, const float* b, float* out, const Broadcast& bc, float param) {
  const int64_t n = bc.numel();
  if (n == 0) return;
  if (is_elementwise(bc)) {
    const size_t grain = op == BinaryOp::GeluGrad || op == BinaryOp::Pow ? kElementGrain / 8 : kElementGrain;
    parallel_range(pool_, n, grain, [&](size_t i0, size_t i1) {
      binary_kernel(op, a + i0, 1, b + i0, 1, out + i0, i1 - i0, param);
    });
    return;
  }
  // Rows of the last dimension. An operand that advances by more than one element along it (a
  // permuted read) is gathered into a contiguous row first.
  const int64_t cols = bc.rank > 0 ? bc.shape[bc.rank - 1] : 1;
  const int64_t as = bc.rank > 0 ? bc.a_stride[bc.rank - 1] : 0, bs = bc.rank > 0 ? bc.b_stride[bc.rank - 1] : 0;
  const int64_t rows = n / cols;
  const size_t grain = std::max<size_t>(1, kElementGrain / static_cast<size_t>(cols));
  parallel_range(pool_, rows, grain, [&](size_t r0, size_t r1) {
    thread_local std::vector<float> a_row, b_row;
    for (size_t r = r0; r < r1; ++r) {
      int64_t ao = 0, bo = 0;
      row_offsets(bc, static_cast<int64_t>(r), &ao, &bo);
      const float* ap = a + ao;
      const float* bp = b + bo;
      if (as > 1) ap = gather_row(a + ao, as, cols, a_row);
      if (bs > 1) bp = gather_row(b + bo, bs, cols, b_row);
      binary_kernel(op, ap, as > 1 ? 1 : as, bp, bs > 1 ? 1 : bs, out + r * cols, cols, param);
    }
  });
}

}  // namespace tinynn::cpu
