// Packing of op(B) panels with AVX2, shared by the AVX2 and AVX-512 kernel sets (the transposes
// of tb=true are the only costly part of packing, and 8x8 AVX2 transposes already keep it well
// under the panel's compute time). Same contract as GemmKernels::pack.
#pragma once

namespace tinynn::cpu {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
void pack_b_avx2(bool tb, const float* B, long ldb, int k0, int kc, int n0, int n, float* out,
                 long out_rs);
#endif

}  // namespace tinynn::cpu
