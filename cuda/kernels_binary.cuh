// The bodies of Backend::binary's kernels (the op a template argument) and the launcher's
// simplification of a Broadcast: a flat loop when both operands run with out element for element,
// otherwise each thread turns its flat index into per-dimension indices and each operand's offset
// through its strides. Plain C++ apart from CUDA's built-ins: cuda/kernels_binary.cu wraps the
// bodies in __global__ kernels and launches them, and the CPU emulator in tests/kernel-emulation/
// runs them on the host (with simplify() and is_flat(), as the launcher does).
#pragma once
#include "cuda/activation_math.cuh"

namespace tinynn::gpu::binary {

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
__device__ inline void binary_flat_body(const float* a, const float* b, float* out, Index n, float param) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    out[i] = binary_op<OP>(a[i], b[i], param);
}

// Index is uint32_t when out's size fits: every offset into a or b is below it.
template <BinaryOp OP, typename Index>
__device__ inline void binary_broadcast_body(const float* a, const float* b, float* out, const Broadcast s, Index n,
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
inline Broadcast simplify(const Broadcast& s) {
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

// Whether a simplified broadcast runs the flat kernel: both operands walk out element for element.
inline bool is_flat(const Broadcast& s) {
  return s.rank == 0 || (s.rank == 1 && s.a_stride[0] == 1 && s.b_stride[0] == 1);
}

}  // namespace tinynn::gpu::binary
