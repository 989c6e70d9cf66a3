// Backend::binary: out = f(a, b) with broadcasting, one kernel pair per BinaryOp (the op a
// template argument). The launcher first simplifies the Broadcast (drops dimensions of size 1,
// merges neighbours that both operands walk contiguously); when both operands then run with out
// element for element (the common case: same shapes), a flat loop; otherwise every thread turns
// its flat index into per-dimension indices and each operand's offset through its strides.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_binary.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

// The bodies (and binary_op, simplify, is_flat) in kernels_binary.cuh.
template <BinaryOp OP, typename Index>
__global__ void binary_flat_kernel(const float* a, const float* b, float* out, Index n, float param) {
  binary::binary_flat_body<OP, Index>(a, b, out, n, param);
}

template <BinaryOp OP, typename Index>
__global__ void binary_broadcast_kernel(const float* a, const float* b, float* out, const Broadcast s, Index n,
                                        float param) {
  binary::binary_broadcast_body<OP, Index>(a, b, out, s, n, param);
}

template <BinaryOp OP>
void launch(cudaStream_t stream, const float* a, const float* b, float* out, const Broadcast& s, size_t n,
            float param) {
  const bool flat = binary::is_flat(s);
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
  const Broadcast s = binary::simplify(shape);
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
