// What the programs testing the primitive kernels (elementwise_test.cc, reductions_test.cc) share:
// launches on 1-D or 2-D grids, the special float values every op is fed, and the tolerances of
// the libm-based ops.
#pragma once
#include "tests/kernel-emulation/check.h"

#include <cfloat>
#include <cstdint>
#include <vector>

namespace emu_test {

// The shared memory of a kernel that declares none.
struct NoSmem {};

// <<<dim3(gx, gy), dim3(bx, by)>>>: the emulator's 1-D launch of gx·gy blocks of bx·by threads, with
// the built-in variables set as CUDA sets them (x fastest: thread t of a block is (t % bx, t / bx),
// block b is (b % gx, b / gx)), so that a block's warps are the same 32 consecutive threads. The
// emulator takes a thread's lane as threadIdx.x % 32, so a 2-D block needs bx a multiple of 32.
// Blocks run in blockIdx order, or in a permutation seeded by order_seed. body(smem) per thread.
template <class Smem, class Body>
void launch_2d(unsigned gx, unsigned gy, unsigned bx, unsigned by, uint64_t order_seed, Body body) {
  if (by > 1 && bx % 32 != 0) emu::fail("launch_2d: blocks of %u × %u threads: x must be a multiple of 32", bx, by);
  emu::Launch l;
  l.grid_blocks = gx * gy;
  l.block_threads = bx * by;
  l.cluster_order_seed = order_seed;
  emulate_launch<Smem>(l, [&](Smem& s, void*) {
    const uint3 t = threadIdx, b = blockIdx;
    const dim3 gd = gridDim, bd = blockDim;
    threadIdx = {t.x % bx, t.x / bx, 0};
    blockIdx = {b.x % gx, b.x / gx, 0};
    blockDim = {bx, by, 1};
    gridDim = {gx, gy, 1};
    body(s);
    threadIdx = t, blockIdx = b, blockDim = bd, gridDim = gd;  // as the emulator left them
  });
}

// <<<blocks, threads>>>.
template <class Smem, class Body>
void launch_1d(unsigned blocks, unsigned threads, uint64_t order_seed, Body body) {
  launch_2d<Smem>(blocks, 1, threads, 1, order_seed, body);
}

// Inputs every element-wise op sees besides random ones: signed zeros, ±1, values around the
// libm functions' overflow and underflow thresholds, the smallest normal and a subnormal, the
// largest finite floats, infinities and NaN.
inline std::vector<float> special_values() {
  return {0.f,    -0.f,    1.f,    -1.f,    0.5f,     -0.5f,    2.f,       -2.f,      3.f,      -3.f,
          10.f,   -10.f,   20.f,   -20.f,   88.5f,    -88.5f,   89.f,      -89.f,     100.f,    -100.f,
          1e-30f, -1e-30f, 1e-40f, -1e-40f, FLT_MIN,  -FLT_MIN, 3e38f,     -3e38f,    FLT_MAX,  -FLT_MAX,
          INFINITY, -INFINITY, NAN};
}

// The libm functions (expf, logf, tanhf, erff, powf) are not correctly rounded: CUDA documents up
// to 2 ulp for expf, tanhf and erff and 4 for powf; glibc's are within 1. kLibmTol (8 ulp at
// 1.0, relative to the error scale each check computes) covers those and the few rounded float
// operations around them; a wrong element, operand or formula is off by far more.
constexpr double kLibmTol = 8 * static_cast<double>(FLT_EPSILON);
// Results below this magnitude are compared absolutely: underflowing intermediates (expf(100) is
// infinite, so the kernel's sigmoid(-100) is 0, not 3.7e-44) lose what float64 keeps.
constexpr double kLibmFloor = 1e-30;

}  // namespace emu_test
