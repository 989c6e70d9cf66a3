// Backend::binary: out = f(a, b) with broadcasting, one kernel pair per BinaryOp (the op a
// template argument). The launcher first simplifies the Broadcast (drops dimensions of size 1,
// merges neighbours that both operands walk contiguously); when both operands then run with out
// element for element (the common case: same shapes), a flat loop; otherwise every thread turns
// its flat index into per-dimension indices and each operand's offset through its strides.
#include "cuda/activation_math.cuh"
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

// PyTorch's torch.maximum / torch.minimum: a NaN in either operand gives NaN.
__device__ inline float maximum(float a, float b) { return a > b || isnan(a) ? a : b; }
__device__ inline float minimum(float a, float b) { return a < b || isnan(a) ? a : b; }

template <BinaryOp OP>
__device__ inline float binary_op(float a, float b, float param) {
  if constexpr (OP == BinaryOp::Add) {
    return a + b;
  } else if constexpr (OP == BinaryOp::Sub) {
    return a - b;
  } else if constexpr (OP == BinaryOp::Mul) {
    return a * b;
  } else if constexpr (OP == BinaryOp::Div) {
    return a / b;
  } else if constexpr (OP == BinaryOp::Pow) {
    return powf(a, b);
  } else if constexpr (OP == BinaryOp::Maximum) {
    return maximum(a, b);
  } else if constexpr (OP == BinaryOp::Minimum) {
    return minimum(a, b);
  } else if constexpr (OP == BinaryOp::Eq) {
    return a == b ? 1.f : 0.f;
  } else if constexpr (OP == BinaryOp::Gt) {
    return a > b ? 1.f : 0.f;
  } else if constexpr (OP == BinaryOp::Lt) {
    return a < b ? 1.f : 0.f;
  } else if constexpr (OP == BinaryOp::ReluGrad) {
    return relu_grad(a, b);
  } else if constexpr (OP == BinaryOp::LeakyReluGrad) {
    return leaky_relu_grad(a, b, param);
  } else if constexpr (OP == BinaryOp::SigmoidGrad) {
    return sigmoid_grad(a, b);
  } else if constexpr (OP == BinaryOp::TanhGrad) {
    return tanh_grad(a, b);
  } else {
    static_assert(OP == BinaryOp::GeluGrad, "every BinaryOp has its case");
    return gelu_grad(a, b);
  }
}

// out may alias a or b (when that operand is not broadcast): each element is read, then
// written, by the same thread.
template <BinaryOp OP, typename Index>
__global__ void binary_flat_kernel(const float* a, const float* b, float* out, Index n, float param) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    out[i] = binary_op<OP>(a[i], b[i], param);
}

// Index is uint32_t when out's size fits: every offset into a or b is below it.
template <BinaryOp OP, typename Index>
__global__ void binary_broadcast_kernel(const float* a, const float* b, float* out, const Broadcast s, Index n,
                                        float param) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    Index rest = i, oa = 0, ob = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d > 0; --d) {
      if (d < s.rank) {
        const Index size = static_cast<Index>(s.shape[d]);
        const Index q = rest / size, index = rest - q * size;
        oa += index * static_cast<Index>(s.a_stride[d]);
        ob += index * static_cast<Index>(s.b_stride[d]);
        rest = q;
      }
    }
    oa += rest * static_cast<Index>(s.a_stride[0]);
    ob += rest * static_cast<Index>(s.b_stride[0]);
    out[i] = binary_op<OP>(a[oa], b[ob], param);
  }
}

// The same broadcast with the fewest dimensions: those of size 1 dropped (their index is always
// 0), and a dimension merged into the next inner one when both operands step over it exactly as
// over the whole inner one.
Broadcast simplify(const Broadcast& s) {
  Broadcast r;
  r.rank = 0;
  for (int d = 0; d < s.rank; ++d) {
    if (s.shape[d] == 1) continue;
    if (r.rank > 0) {
      const int p = r.rank - 1;  // r's innermost so far, the outer neighbour of d
      if (r.a_stride[p] == s.a_stride[d] * s.shape[d] && r.b_stride[p] == s.b_stride[d] * s.shape[d]) {
        r.shape[p] *= s.shape[d];
        r.a_stride[p] = s.a_stride[d];
        r.b_stride[p] = s.b_stride[d];
        continue;
      }
    }
    r.shape[r.rank] = s.shape[d];
    r.a_stride[r.rank] = s.a_stride[d];
    r.b_stride[r.rank] = s.b_stride[d];
    ++r.rank;
  }
  return r;
}

template <BinaryOp OP>
void launch(cudaStream_t stream, const float* a, const float* b, float* out, const Broadcast& s, size_t n,
            float param) {
  const bool flat = s.rank == 0 || (s.rank == 1 && s.a_stride[0] == 1 && s.b_stride[0] == 1);
  const unsigned blocks = blocks_for(n);
  if (flat && fits_u32(n))
    binary_flat_kernel<OP, uint32_t><<<blocks, kThreads, 0, stream>>>(a, b, out, static_cast<uint32_t>(n), param);
  else if (flat)
    binary_flat_kernel<OP, size_t><<<blocks, kThreads, 0, stream>>>(a, b, out, n, param);
  else if (fits_u32(n))
    binary_broadcast_kernel<OP, uint32_t><<<blocks, kThreads, 0, stream>>>(a, b, out, s, static_cast<uint32_t>(n), param);
  else
    binary_broadcast_kernel<OP, size_t><<<blocks, kThreads, 0, stream>>>(a, b, out, s, n, param);
}

}  // namespace

void launch_binary(cudaStream_t stream, BinaryOp op, const float* a, const float* b, float* out,
                   const Broadcast& shape, float param) {
  const int64_t numel = shape.numel();
  if (numel <= 0) return;
  const size_t n = static_cast<size_t>(numel);
  const Broadcast s = simplify(shape);
  switch (op) {
    case BinaryOp::Add: launch<BinaryOp::Add>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Sub: launch<BinaryOp::Sub>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Mul: launch<BinaryOp::Mul>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Div: launch<BinaryOp::Div>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Pow: launch<BinaryOp::Pow>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Maximum: launch<BinaryOp::Maximum>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Minimum: launch<BinaryOp::Minimum>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Eq: launch<BinaryOp::Eq>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Gt: launch<BinaryOp::Gt>(stream, a, b, out, s, n, param); break;
    case BinaryOp::Lt: launch<BinaryOp::Lt>(stream, a, b, out, s, n, param); break;
    case BinaryOp::ReluGrad: launch<BinaryOp::ReluGrad>(stream, a, b, out, s, n, param); break;
    case BinaryOp::LeakyReluGrad: launch<BinaryOp::LeakyReluGrad>(stream, a, b, out, s, n, param); break;
    case BinaryOp::SigmoidGrad: launch<BinaryOp::SigmoidGrad>(stream, a, b, out, s, n, param); break;
    case BinaryOp::TanhGrad: launch<BinaryOp::TanhGrad>(stream, a, b, out, s, n, param); break;
    case BinaryOp::GeluGrad: launch<BinaryOp::GeluGrad>(stream, a, b, out, s, n, param); break;
  }
  check_launch("binary kernel launch");
}

}  // namespace tinynn::gpu
