// The element-wise primitive kernels through the CPU emulator, with their launchers' geometry
// (blocks_for(n) blocks of kThreads, the 32-bit index where the launcher takes it) and, for the
// grid-stride loops that only tensors of millions of elements reach, a grid smaller than the data
// with the 64-bit index:
//   - unary (cuda/kernels_unary.cuh), every UnaryOp on the special values (signed zeros,
//     subnormals, the overflow thresholds, ±FLT_MAX, ±inf, NaN) and random ones, in place too;
//   - binary (cuda/kernels_binary.cuh), every BinaryOp on every pair of special values (the flat
//     kernel), then on broadcast shapes through the launcher's simplify(): dimensions of size 1
//     dropped, neighbours merged (down to the flat kernel, or to fewer dimensions), scalars on
//     either side, rank 6, an operand read through permuted strides (a transposed view; the last
//     stride not 1), in place; and the strided copies of permute and expand (maximum(x, x), or a
//     Mul by a one-element 1.0, through x's strides), which must copy every float exactly;
//   - the GEMM epilogue (cuda/kernels_epilogue.cuh), bias + every Activation, with and without a
//     bias, on rows with a stride past their end (the gap untouched);
//   - gather_rows (cuda/kernels_gather.cuh), repeated and boundary indices; one_hot, labels at
//     both ends and out of range (a NaN row);
//   - bernoulli_mask (cuda/kernels_random.cuh): every element equal to cpp/counter_random.h's
//     formula for its index (the CPU backend's loop), the kept fraction within 5 sigma of keep;
//   - the SGD step over many tensors (cuda/kernels_optimizer.cuh) packed as the launcher packs them
//     (optimizer_args: 16 per launch, empty tensors skipped), for each SGD setting, three steps.
// References: the ops made of correctly rounded float operations (neg, abs, sqrt, relu, leaky
// relu, clamp, affine, +, −, ×, ÷, maximum, minimum, comparisons, the ReLU / leaky ReLU / tanh
// gradients, bias + ReLU, the SGD step) must equal the CPU backend's formula (cpp/cpu/
// elementwise_kernels.cc, cuda/sgd_math.cuh: PyTorch's SGD in the CPU backend's order) bit for bit,
// computed here in float (a NaN matching any NaN; maximum / minimum of +0 and −0 either zero).
// Those built on libm (exp, log, sigmoid, tanh, gelu, pow, the sigmoid and GELU gradients) are
// compared with float64 within kLibmTol of their error scale (primitives.h); where the formula
// computed in float (binary_float, unary_float) gives NaN or ±infinity, the kernel must too.
#include "tests/kernel-emulation/cuda_emulator.h"
#include "cuda/kernels_binary.cuh"
#include "cuda/kernels_epilogue.cuh"
#include "cuda/kernels_gather.cuh"
#include "cuda/kernels_random.cuh"
#include "cuda/kernels_optimizer.cuh"
#include "cuda/kernels_unary.cuh"
#include "cuda/launch_shape.cuh"
#include "tests/kernel-emulation/check.h"
#include "tests/kernel-emulation/primitives.h"
#include "tests/kernel-emulation/sgd_reference.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <string>
#include <type_traits>

namespace {

namespace gpu = tinynn::gpu;
using emu::DeviceBuffer;
using namespace emu_test;
using tinynn::Activation;
using tinynn::BinaryOp;
using tinynn::Broadcast;
using tinynn::kMaxRank;
using tinynn::ParamUpdate;
using tinynn::SgdConfig;
using tinynn::UnaryOp;

// A grid for the grid-stride loops: fewer threads than elements, so each thread takes several.
constexpr unsigned kStrideBlocks = 2;

template <class T>
std::unique_ptr<DeviceBuffer<T>> device(const std::vector<T>& h) {
  auto d = std::make_unique<DeviceBuffer<T>>(h.size());
  upload(*d, h);
  return d;
}

// ---- unary ------------------------------------------------------------------------------------

const char* unary_name(UnaryOp op) {
  static const char* const names[] = {"neg", "exp",  "log", "sqrt", "abs",   "relu",  "leaky_relu",
                                      "sigmoid", "tanh", "gelu", "pow", "clamp", "affine"};
  return names[static_cast<int>(op)];
}

// f(std::integral_constant<UnaryOp, op>) for a run-time op, as launch_unary's switch.
template <class F>
void with_unary(UnaryOp op, F f) {
  switch (op) {
    case UnaryOp::Neg: return f(std::integral_constant<UnaryOp, UnaryOp::Neg>{});
    case UnaryOp::Exp: return f(std::integral_constant<UnaryOp, UnaryOp::Exp>{});
    case UnaryOp::Log: return f(std::integral_constant<UnaryOp, UnaryOp::Log>{});
    case UnaryOp::Sqrt: return f(std::integral_constant<UnaryOp, UnaryOp::Sqrt>{});
    case UnaryOp::Abs: return f(std::integral_constant<UnaryOp, UnaryOp::Abs>{});
    case UnaryOp::Relu: return f(std::integral_constant<UnaryOp, UnaryOp::Relu>{});
    case UnaryOp::LeakyRelu: return f(std::integral_constant<UnaryOp, UnaryOp::LeakyRelu>{});
    case UnaryOp::Sigmoid: return f(std::integral_constant<UnaryOp, UnaryOp::Sigmoid>{});
    case UnaryOp::Tanh: return f(std::integral_constant<UnaryOp, UnaryOp::Tanh>{});
    case UnaryOp::Gelu: return f(std::integral_constant<UnaryOp, UnaryOp::Gelu>{});
    case UnaryOp::Pow: return f(std::integral_constant<UnaryOp, UnaryOp::Pow>{});
    case UnaryOp::Clamp: return f(std::integral_constant<UnaryOp, UnaryOp::Clamp>{});
    case UnaryOp::Affine: return f(std::integral_constant<UnaryOp, UnaryOp::Affine>{});
  }
}

// The CPU backend's formula in float (cpp/cpu/elementwise_kernels.cc). *exact: the op is made of
// correctly rounded operations, so the kernel must give these bits; else (libm) this only says
// where the result is NaN or infinite.
float unary_float(UnaryOp op, float v, float a, float b, bool* exact) {
  *exact = true;
  switch (op) {
    case UnaryOp::Neg: return -v;
    case UnaryOp::Sqrt: return std::sqrt(v);
    case UnaryOp::Abs: return std::fabs(v);
    case UnaryOp::Relu: return v < 0.f ? 0.f : v;
    case UnaryOp::LeakyRelu: return v > 0.f ? v : a * v;
    case UnaryOp::Clamp: return std::min(std::max(v, a), b);
    case UnaryOp::Affine: return a * v + b;
    default: break;
  }
  *exact = false;
  switch (op) {
    case UnaryOp::Exp: return std::exp(v);
    case UnaryOp::Log: return std::log(v);
    case UnaryOp::Sigmoid: return 1.f / (1.f + std::exp(-v));
    case UnaryOp::Tanh: return std::tanh(v);
    case UnaryOp::Gelu: return 0.5f * v * (1.f + std::erf(v * gpu::kSqrtHalf));
    case UnaryOp::Pow: return std::pow(v, a);
    default: return NAN;
  }
}

// The libm ops in float64, as cpp/backend.h defines them; *scale: the magnitude their float
// rounding error grows with.
double unary_double(UnaryOp op, double x, double a, double* scale) {
  double r = NAN, s = 0;
  switch (op) {
    case UnaryOp::Exp: r = std::exp(x); break;
    case UnaryOp::Log: r = std::log(x); break;
    case UnaryOp::Sigmoid: r = 1 / (1 + std::exp(-x)); break;
    case UnaryOp::Tanh: r = std::tanh(x); break;
    case UnaryOp::Gelu: {
      // 1 + erf cancels for negative x: its absolute error is that of erf, times 0.5·|x|.
      const double e = std::erf(x * M_SQRT1_2);
      r = 0.5 * x * (1 + e);
      s = 0.5 * std::fabs(x) * (1 + std::fabs(e));
      break;
    }
    case UnaryOp::Pow: r = std::pow(x, a); break;
    default: break;
  }
  *scale = std::isfinite(s) ? std::fmax(s, std::fabs(r)) : std::fabs(r);
  return r;
}

void check_unary(Compare& c, const char* what, UnaryOp op, float a, float b, const std::vector<float>& x,
                 const std::vector<float>& y) {
  for (size_t i = 0; i < x.size(); ++i) {
    bool exact;
    const float f = unary_float(op, x[i], a, b, &exact);
    if (exact) {
      c.same(what, i, y[i], f);
    } else {
      double scale;
      const double r = unary_double(op, x[i], a, &scale);
      c.near_or_special(what, i, y[i], f, r, scale, kLibmTol, kLibmFloor);
    }
  }
}

// y = op(x) as launch_unary runs it (blocks_for(n) × kThreads, 32-bit index), or (stride) on
// kStrideBlocks blocks with the 64-bit index.
void run_unary(UnaryOp op, const float* x, float* y, size_t n, float a, float b, bool stride) {
  with_unary(op, [&](auto o) {
    constexpr UnaryOp OP = decltype(o)::value;
    if (stride)
      launch_1d<NoSmem>(kStrideBlocks, gpu::kThreads, 0, [&](NoSmem&) { gpu::unary::unary_body<OP, size_t>(x, y, n, a, b); });
    else
      launch_1d<NoSmem>(gpu::blocks_for(n), gpu::kThreads, 0, [&](NoSmem&) {
        gpu::unary::unary_body<OP, uint32_t>(x, y, static_cast<uint32_t>(n), a, b);
      });
  });
}

Case unary_case(UnaryOp op, float a, float b, uint64_t seed) {
  Case cs;
  char params[80] = "";
  if (op == UnaryOp::LeakyRelu || op == UnaryOp::Pow) std::snprintf(params, sizeof params, "(%g)", a);
  if (op == UnaryOp::Clamp || op == UnaryOp::Affine) std::snprintf(params, sizeof params, "(%g, %g)", a, b);
  Timer timer;
  Rng rng(seed);
  std::vector<float> x = special_values();
  while (x.size() < 600) x.push_back(rng.uniform(-8.f, 8.f));
  while (x.size() < 900) x.push_back(rng.uniform(0.f, 3.f));  // log, sqrt and pow's domain
  const size_t n = x.size();
  cs.name = std::string("unary ") + unary_name(op) + params + ": " + std::to_string(n) + " values (" +
            std::to_string(gpu::blocks_for(n)) + " blocks), in place on " + std::to_string(kStrideBlocks) +
            " blocks (grid stride, 64-bit index)";
  Compare c;
  DeviceBuffer<float> dx(n), dy(n);
  upload(dx, x);
  run_unary(op, dx.data(), dy.data(), n, a, b, false);
  check_unary(c, "y", op, a, b, x, download(dy));
  const std::vector<float> first = download(dy);
  run_unary(op, dx.data(), dx.data(), n, a, b, true);  // y aliasing x
  same_bits(c, "y (in place, grid stride)", first, download(dx));
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- binary -----------------------------------------------------------------------------------

const char* binary_name(BinaryOp op) {
  static const char* const names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq",
                                      "gt", "lt", "relu_grad", "leaky_relu_grad", "sigmoid_grad",
                                      "tanh_grad", "gelu_grad"};
  return names[static_cast<int>(op)];
}

template <class F>
void with_binary(BinaryOp op, F f) {
  switch (op) {
    case BinaryOp::Add: return f(std::integral_constant<BinaryOp, BinaryOp::Add>{});
    case BinaryOp::Sub: return f(std::integral_constant<BinaryOp, BinaryOp::Sub>{});
    case BinaryOp::Mul: return f(std::integral_constant<BinaryOp, BinaryOp::Mul>{});
    case BinaryOp::Div: return f(std::integral_constant<BinaryOp, BinaryOp::Div>{});
    case BinaryOp::Pow: return f(std::integral_constant<BinaryOp, BinaryOp::Pow>{});
    case BinaryOp::Maximum: return f(std::integral_constant<BinaryOp, BinaryOp::Maximum>{});
    case BinaryOp::Minimum: return f(std::integral_constant<BinaryOp, BinaryOp::Minimum>{});
    case BinaryOp::Eq: return f(std::integral_constant<BinaryOp, BinaryOp::Eq>{});
    case BinaryOp::Gt: return f(std::integral_constant<BinaryOp, BinaryOp::Gt>{});
    case BinaryOp::Lt: return f(std::integral_constant<BinaryOp, BinaryOp::Lt>{});
    case BinaryOp::ReluGrad: return f(std::integral_constant<BinaryOp, BinaryOp::ReluGrad>{});
    case BinaryOp::LeakyReluGrad: return f(std::integral_constant<BinaryOp, BinaryOp::LeakyReluGrad>{});
    case BinaryOp::SigmoidGrad: return f(std::integral_constant<BinaryOp, BinaryOp::SigmoidGrad>{});
    case BinaryOp::TanhGrad: return f(std::integral_constant<BinaryOp, BinaryOp::TanhGrad>{});
    case BinaryOp::GeluGrad: return f(std::integral_constant<BinaryOp, BinaryOp::GeluGrad>{});
  }
}

constexpr float kLeakySlope = 0.2f;  // LeakyReluGrad's param

// The CPU backend's formula in float (cpp/cpu/elementwise_kernels.cc). *exact as for unary_float.
// The CPU associates SigmoidGrad's products as dy·(y·(1 − y)), the kernel as (dy·y)·(1 − y), and
// GeluGrad's exponent as (−0.5·x)·x against −0.5·(x·x): the two differ in the last bit, and where
// an intermediate overflows or underflows (dy = 1e-40, y = 3e38: the CPU's −inf, the kernel's
// −9e36), so both are compared with float64 here and their specials are the kernel's association's.
float binary_float(BinaryOp op, float x, float y, float param, bool* exact) {
  *exact = true;
  switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
    case BinaryOp::Maximum: return x != x || y != y ? NAN : std::max(x, y);
    case BinaryOp::Minimum: return x != x || y != y ? NAN : std::min(x, y);
    case BinaryOp::Eq: return x == y ? 1.f : 0.f;
    case BinaryOp::Gt: return x > y ? 1.f : 0.f;
    case BinaryOp::Lt: return x < y ? 1.f : 0.f;
    case BinaryOp::ReluGrad: return y > 0.f ? x : 0.f;
    case BinaryOp::LeakyReluGrad: return y > 0.f ? x : param * x;
    case BinaryOp::TanhGrad: return x * (1.f - y * y);
    default: break;
  }
  *exact = false;
  switch (op) {
    case BinaryOp::Pow: return std::pow(x, y);
    case BinaryOp::SigmoidGrad: return (x * y) * (1.f - y);
    case BinaryOp::GeluGrad: {
      const float cdf = 0.5f * (1.f + std::erf(y * gpu::kSqrtHalf));
      const float pdf = gpu::kInvSqrt2Pi * std::exp(-0.5f * (y * y));
      return x * (cdf + y * pdf);
    }
    default: return NAN;
  }
}

// Pow, SigmoidGrad and GeluGrad in float64 (cpp/backend.h: dy·f'(·) from y, or x for GELU), with
// the magnitude their float rounding error grows with.
double binary_double(BinaryOp op, double x, double y, double* scale) {
  double r = NAN, s = 0;
  switch (op) {
    case BinaryOp::Pow: r = std::pow(x, y); break;
    case BinaryOp::SigmoidGrad:
      r = x * y * (1 - y);
      s = std::fabs(x * y) * (1 + std::fabs(y));  // 1 − y exact or relatively small
      break;
    case BinaryOp::GeluGrad: {
      const double e = std::erf(y * M_SQRT1_2), cdf = 0.5 * (1 + e);
      const double pdf = std::exp(-0.5 * y * y) / std::sqrt(2 * M_PI);
      r = x * (cdf + y * pdf);
      // erf's absolute error through 1 + erf; y·y's rounding through exp: relatively 0.5·y²·ε.
      const double ypdf = std::fabs(y) * pdf;
      s = std::fabs(x) * (0.5 * (1 + std::fabs(e)) + (ypdf > 0 ? ypdf * (1 + 0.5 * y * y) : 0));
      break;
    }
    default: break;
  }
  *scale = std::isfinite(s) ? std::fmax(s, std::fabs(r)) : std::fabs(r);
  return r;
}

void check_binary(Compare& c, const char* what, size_t i, BinaryOp op, float got, float x, float y) {
  bool exact;
  const float f = binary_float(op, x, y, kLeakySlope, &exact);
  if (exact) {
    c.same(what, i, got, f, op == BinaryOp::Maximum || op == BinaryOp::Minimum);
  } else {
    double scale;
    const double r = binary_double(op, x, y, &scale);
    c.near_or_special(what, i, got, f, r, scale, kLibmTol, kLibmFloor);
  }
}

// out = op(a, b) as launch_binary runs it: simplify(), then the flat or the broadcast kernel on
// blocks_for(n) × kThreads with the 32-bit index; or (stride) on kStrideBlocks blocks with the
// 64-bit index.
void run_binary(BinaryOp op, const float* a, const float* b, float* out, const Broadcast& shape, float param,
                bool stride) {
  const size_t n = static_cast<size_t>(shape.numel());
  const Broadcast s = gpu::binary::simplify(shape);
  const bool flat = gpu::binary::is_flat(s);
  const unsigned blocks = stride ? kStrideBlocks : gpu::blocks_for(n);
  with_binary(op, [&](auto o) {
    constexpr BinaryOp OP = decltype(o)::value;
    launch_1d<NoSmem>(blocks, gpu::kThreads, 0, [&](NoSmem&) {
      if (flat && stride)
        gpu::binary::binary_flat_body<OP, size_t>(a, b, out, n, param);
      else if (flat)
        gpu::binary::binary_flat_body<OP, uint32_t>(a, b, out, static_cast<uint32_t>(n), param);
      else if (stride)
        gpu::binary::binary_broadcast_body<OP, size_t>(a, b, out, s, n, param);
      else
        gpu::binary::binary_broadcast_body<OP, uint32_t>(a, b, out, s, static_cast<uint32_t>(n), param);
    });
  });
}

// n elements, both operands contiguous (cpp/backend.cc's elementwise_shape).
Broadcast contiguous(int64_t n) {
  Broadcast bc;
  bc.rank = 1;
  bc.shape[0] = n;
  bc.a_stride[0] = bc.b_stride[0] = 1;
  return bc;
}

// numpy's broadcast of two shapes (cpp/backend.cc's broadcast_shapes: right-aligned, a broadcast
// dimension's stride 0).
Broadcast broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  Broadcast bc;
  bc.rank = static_cast<int>(std::max(a.size(), b.size()));
  int64_t as = 1, bs = 1;
  for (int d = bc.rank - 1; d >= 0; --d) {
    const int da = d - (bc.rank - static_cast<int>(a.size())), db = d - (bc.rank - static_cast<int>(b.size()));
    const int64_t na = da >= 0 ? a[da] : 1, nb = db >= 0 ? b[db] : 1;
    bc.shape[d] = std::max(na, nb);
    bc.a_stride[d] = na == 1 ? 0 : as;
    bc.b_stride[d] = nb == 1 ? 0 : bs;
    as *= na;
    bs *= nb;
  }
  return bc;
}

// The operands' offsets of out's element i, from the unsimplified broadcast.
void offsets(const Broadcast& s, int64_t i, int64_t* oa, int64_t* ob) {
  *oa = *ob = 0;
  for (int d = s.rank - 1; d >= 0; --d) {
    const int64_t index = i % s.shape[d];
    i /= s.shape[d];
    *oa += index * s.a_stride[d];
    *ob += index * s.b_stride[d];
  }
}

int64_t extent(const Broadcast& s, bool of_a) {  // elements an operand spans
  int64_t e = 1;
  for (int d = 0; d < s.rank; ++d) e += (s.shape[d] - 1) * (of_a ? s.a_stride[d] : s.b_stride[d]);
  return e;
}

std::string dims(const Broadcast& s, const int64_t* stride = nullptr) {
  std::string o = "[";
  for (int d = 0; d < s.rank; ++d) {
    o += (d ? "," : "") + std::to_string(s.shape[d]);
    if (stride) o += ":" + std::to_string(stride[d]);
  }
  return o + "]";
}

struct Shape {
  const char* what;
  Broadcast bc;
  int simplified_rank;  // what simplify() must give: the path this shape is here for
  bool flat;            // is_flat() of that
  bool in_place;        // out aliases a (a is not broadcast)
};

std::vector<Shape> binary_shapes() {
  std::vector<Shape> v;
  v.push_back({"same shapes, merged to one dimension", broadcast({3, 5, 7}, {3, 5, 7}), 1, true, false});
  v.push_back({"same shapes in place", broadcast({4, 70}, {4, 70}), 1, true, true});
  v.push_back({"all dimensions of size 1", broadcast({1, 1, 1}, {1, 1}), 0, true, false});
  v.push_back({"bias rows", broadcast({6, 40}, {40}), 2, false, false});
  v.push_back({"bias rows in place", broadcast({9, 33}, {33}), 2, false, true});
  v.push_back({"columns", broadcast({7, 30}, {7, 1}), 2, false, false});
  v.push_back({"outer product", broadcast({4, 1, 6}, {1, 5, 1}), 3, false, false});
  v.push_back({"no merge", broadcast({2, 3, 4, 5}, {3, 1, 5}), 4, false, false});
  v.push_back({"merged pairs", broadcast({2, 3, 4, 5}, {2, 3, 1, 1}), 2, false, false});
  v.push_back({"size-1 dimensions dropped", broadcast({1, 7, 1, 9}, {1, 1, 1, 9}), 2, false, false});
  v.push_back({"scalar b", broadcast({5, 6}, {1}), 1, false, false});
  v.push_back({"scalar a", broadcast({1}, {5, 6}), 1, false, false});
  v.push_back({"rank 6", broadcast({2, 1, 3, 1, 2, 3}, {1, 2, 1, 2, 1, 3}), 6, false, false});
  // a transposed [5, 7] view (strides 1, 5) against a contiguous b: out[i, j] = a[j, i] op b[i, j].
  Broadcast t;
  t.rank = 2;
  t.shape[0] = 7, t.shape[1] = 5;
  t.a_stride[0] = 1, t.a_stride[1] = 7;
  t.b_stride[0] = 5, t.b_stride[1] = 1;
  v.push_back({"a transposed (last stride 7)", t, 2, false, false});
  return v;
}

Case binary_case(BinaryOp op, uint64_t seed) {
  Case cs;
  cs.name = std::string("binary ") + binary_name(op);
  Timer timer;
  Rng rng(seed);
  Compare c, paths;
  const bool positive_a = op == BinaryOp::Pow;  // real powers of random operands

  // Every pair of special values, and random pairs: the flat kernel, on the launcher's grid and on a
  // grid stride.
  {
    const std::vector<float> sv = special_values();
    std::vector<float> a, b;
    for (float x : sv)
      for (float y : sv) a.push_back(x), b.push_back(y);
    while (a.size() < sv.size() * sv.size() + 300) a.push_back(rng.uniform(-3.f, 3.f)), b.push_back(rng.uniform(-3.f, 3.f));
    const size_t n = a.size();
    DeviceBuffer<float> da(n), db(n), out(n);
    upload(da, a), upload(db, b);
    run_binary(op, da.data(), db.data(), out.data(), contiguous(static_cast<int64_t>(n)), kLeakySlope,
               false);
    const std::vector<float> o = download(out);
    for (size_t i = 0; i < n; ++i) check_binary(c, "special pairs", i, op, o[i], a[i], b[i]);
    DeviceBuffer<float> out2(n);
    run_binary(op, da.data(), db.data(), out2.data(), contiguous(static_cast<int64_t>(n)), kLeakySlope,
               true);
    same_bits(c, "special pairs (grid stride, 64-bit index)", o, download(out2));
    cs.name += ": " + std::to_string(sv.size()) + "² special pairs";
  }

  // The broadcast shapes, each through simplify() as the launcher does.
  int shapes = 0;
  for (const Shape& sh : binary_shapes()) {
    const Broadcast& bc = sh.bc;
    const Broadcast s = gpu::binary::simplify(bc);
    paths.exact((std::string(sh.what) + ": simplified rank").c_str(), 0, int64_t{s.rank}, int64_t{sh.simplified_rank});
    paths.exact((std::string(sh.what) + ": flat kernel").c_str(), 0, int64_t{gpu::binary::is_flat(s)}, int64_t{sh.flat});
    const int64_t n = bc.numel(), na = extent(bc, true), nb = extent(bc, false);
    std::vector<float> a(na), b(nb);
    for (auto& v : a) v = positive_a ? rng.uniform(0.05f, 3.f) : rng.uniform(-3.f, 3.f);
    for (auto& v : b) v = rng.uniform(-3.f, 3.f);
    if (na > 2 && !positive_a) a[1] = NAN;
    if (nb > 3) b[2] = INFINITY, b[3] = -0.f;
    for (int pass = 0; pass < 2; ++pass) {  // the launcher's grid, then a grid stride
      const bool stride = pass == 1;
      DeviceBuffer<float> da(na), db(nb), dout(n);
      upload(da, a), upload(db, b);
      float* out = sh.in_place ? da.data() : dout.data();
      run_binary(op, da.data(), db.data(), out, bc, kLeakySlope, stride);
      const std::vector<float> o = sh.in_place ? download(da) : download(dout);
      const std::string what = std::string(sh.what) + (stride ? " (grid stride)" : "");
      for (int64_t i = 0; i < n; ++i) {
        int64_t oa, ob;
        offsets(bc, i, &oa, &ob);
        check_binary(c, what.c_str(), static_cast<size_t>(i), op, o[i], a[oa], b[ob]);
      }
    }
    ++shapes;
  }
  cs.name += ", " + std::to_string(shapes) + " broadcast shapes (flat, merged, rank 6, transposed, in place)";
  Report::fold(cs, c);
  Report::fold(cs, paths);
  cs.seconds = timer.seconds();
  return cs;
}

// permute's and expand's strided copies (cpp/binding/shape_ops.cc's strided_copy): out [shape] = x
// read at Σ index·stride through the broadcast kernel, as maximum(x, x) with both operands at x's
// strides (simplify() merges what is contiguous: an identity permutation takes the flat kernel),
// and as the earlier x · (a one-element 1.0, stride 0). Either must copy every float exactly, NaN
// and −0 included.
Case strided_copy_case(uint64_t seed) {
  Case cs;
  cs.name = "strided copies (permute, expand) as maximum(x, x) and x·1, [size:x stride]→simplified rank:";
  Timer timer;
  Rng rng(seed);
  Compare c;
  // x's shape and, per out dimension, x's dimension (−1: a new one, expand's stride 0).
  struct P {
    std::vector<int64_t> x_shape;
    std::vector<int> dims;
    std::vector<int64_t> out_shape;
  };
  const P copies[] = {
      {{3, 4, 5}, {2, 0, 1}, {5, 3, 4}},
      {{6, 50}, {1, 0}, {50, 6}},
      {{2, 3, 4, 5}, {0, 2, 1, 3}, {2, 4, 3, 5}},
      {{3, 4, 5}, {0, 1, 2}, {3, 4, 5}},  // identity
      {{2, 3, 2, 3, 2, 2}, {5, 3, 1, 4, 2, 0}, {2, 3, 3, 2, 2, 2}},
      {{1, 7, 1, 3}, {3, 1, 2, 0}, {3, 7, 1, 1}},
      {{3, 1}, {-1, 0, 1}, {4, 3, 5}},  // expand [3, 1] → [4, 3, 5]
  };
  const std::vector<float> sv = special_values();
  for (const P& p : copies) {
    const int xr = static_cast<int>(p.x_shape.size()), rank = static_cast<int>(p.out_shape.size());
    std::vector<int64_t> xs(xr);
    int64_t n = 1;
    for (int d = xr - 1; d >= 0; --d) xs[d] = n, n *= p.x_shape[d];
    Broadcast bc;
    bc.rank = rank;
    for (int d = 0; d < rank; ++d) {
      const int from = p.dims[d];
      bc.shape[d] = p.out_shape[d];
      bc.a_stride[d] = from < 0 || p.x_shape[from] != p.out_shape[d] ? 0 : xs[from];
    }
    std::vector<float> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = i < static_cast<int64_t>(sv.size()) ? sv[i] : rng.uniform(-4.f, 4.f);
    std::reverse(x.begin(), x.end());  // the special values at the end: a different dimension index each
    const std::string what = dims(bc, bc.a_stride);
    for (int form = 0; form < 2; ++form) {  // maximum(x, x); x · 1
      Broadcast f = bc;
      for (int d = 0; d < rank; ++d) f.b_stride[d] = form == 0 ? bc.a_stride[d] : 0;
      DeviceBuffer<float> dx(n), one(1), out(static_cast<size_t>(bc.numel()));
      upload(dx, x);
      one[0] = 1.f;
      if (form == 0)
        run_binary(BinaryOp::Maximum, dx.data(), dx.data(), out.data(), f, 0.f, false);
      else
        run_binary(BinaryOp::Mul, dx.data(), one.data(), out.data(), f, 0.f, false);
      const std::vector<float> o = download(out);
      const std::string w = what + (form == 0 ? " maximum(x, x)" : " x·1");
      for (int64_t i = 0; i < bc.numel(); ++i) {
        int64_t oa, ob;
        offsets(f, i, &oa, &ob);
        c.same(w.c_str(), static_cast<size_t>(i), o[i], x[oa]);
      }
      if (form == 0) cs.name += " " + what + "→" + std::to_string(gpu::binary::simplify(f).rank);
    }
  }
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- the GEMM epilogue ------------------------------------------------------------------------

const char* activation_name(Activation a) {
  static const char* const names[] = {"none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu"};
  return names[static_cast<int>(a)];
}

template <class F>
void with_activation(Activation a, F f) {
  switch (a) {
    case Activation::None: return f(std::integral_constant<Activation, Activation::None>{});
    case Activation::Relu: return f(std::integral_constant<Activation, Activation::Relu>{});
    case Activation::LeakyRelu: return f(std::integral_constant<Activation, Activation::LeakyRelu>{});
    case Activation::Sigmoid: return f(std::integral_constant<Activation, Activation::Sigmoid>{});
    case Activation::Tanh: return f(std::integral_constant<Activation, Activation::Tanh>{});
    case Activation::Gelu: return f(std::integral_constant<Activation, Activation::Gelu>{});
  }
}

Case epilogue_case(Activation act, uint64_t seed) {
  Case cs;
  constexpr int R = 37, C = 13, LD = 16;  // a row stride past the row: columns C..LD-1 untouched
  constexpr float kSlope = 0.05f;
  cs.name = std::string("epilogue bias+") + activation_name(act) + ": " + std::to_string(R) + "×" + std::to_string(C) +
            " (ld " + std::to_string(LD) + "), with and without bias, grid stride";
  Timer timer;
  Rng rng(seed);
  Compare c;
  std::vector<float> y0(static_cast<size_t>(R) * LD), bias(C);
  const std::vector<float> sv = special_values();
  for (size_t i = 0; i < y0.size(); ++i) y0[i] = i < sv.size() ? sv[i] : rng.uniform(-6.f, 6.f);
  for (auto& v : bias) v = rng.uniform(-1.f, 1.f);
  bias[3] = -0.f;
  const UnaryOp op = tinynn::activation_op(act);
  const float a = act == Activation::LeakyRelu ? kSlope : 1.f, b = 0.f;
  for (int pass = 0; pass < 3; ++pass) {  // bias (launcher's grid), no bias, bias on a grid stride
    const bool with_bias = pass != 1, stride = pass == 2;
    DeviceBuffer<float> y(y0.size());
    upload(y, y0);
    const auto db = device(bias);
    const float* bp = with_bias ? db->data() : nullptr;
    with_activation(act, [&](auto at) {
      constexpr Activation A = decltype(at)::value;
      if (stride)
        launch_1d<NoSmem>(kStrideBlocks, gpu::kThreads, 0, [&](NoSmem&) {
          gpu::epilogue::bias_activation_body<size_t, A>(y.data(), LD, bp, R, C, kSlope);
        });
      else
        launch_1d<NoSmem>(gpu::blocks_for(static_cast<size_t>(R) * C), gpu::kThreads, 0, [&](NoSmem&) {
          gpu::epilogue::bias_activation_body<uint32_t, A>(y.data(), LD, bp, R, C, kSlope);
        });
    });
    const std::vector<float> got = download(y);
    const std::vector<float>& in = y0;
    const char* what = with_bias ? (stride ? "y (grid stride)" : "y") : "y (no bias)";
    std::vector<float> x(C);
    for (int r = 0; r < R; ++r) {
      // The kernel adds 0.f without a bias, as here.
      for (int col = 0; col < C; ++col) x[col] = in[static_cast<size_t>(r) * LD + col] + (bp ? bias[col] : 0.f);
      std::vector<float> row(got.begin() + static_cast<ptrdiff_t>(r) * LD, got.begin() + static_cast<ptrdiff_t>(r) * LD + C);
      if (act == Activation::None)
        for (int col = 0; col < C; ++col) c.same(what, static_cast<size_t>(r) * LD + col, row[col], x[col]);
      else
        check_unary(c, what, op, a, b, x, row);
      for (int col = C; col < LD; ++col)
        c.same("past the row", static_cast<size_t>(r) * LD + col, got[static_cast<size_t>(r) * LD + col],
               in[static_cast<size_t>(r) * LD + col]);
    }
  }
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- gather_rows ------------------------------------------------------------------------------

Case gather_rows_case(uint64_t seed) {
  Case cs;
  constexpr int N = 50, COLS = 37, ROWS = 40;
  cs.name = "gather_rows: " + std::to_string(ROWS) + " of " + std::to_string(N) + " rows × " + std::to_string(COLS) +
            " (repeats, first and last row), grid stride";
  Timer timer;
  Rng rng(seed);
  Compare c;
  std::vector<float> src(static_cast<size_t>(N) * COLS);
  const std::vector<float> sv = special_values();
  for (size_t i = 0; i < src.size(); ++i) src[i] = i < sv.size() ? sv[i] : rng.uniform(-5.f, 5.f);
  std::vector<int32_t> idx(ROWS);
  for (auto& v : idx) v = static_cast<int32_t>(rng.below(N));
  idx[0] = N - 1, idx[1] = 0, idx[2] = idx[3] = 7, idx[ROWS - 1] = N - 1;
  const auto dsrc = device(src);
  const auto didx = device(idx);
  for (int pass = 0; pass < 2; ++pass) {
    DeviceBuffer<float> dst(static_cast<size_t>(ROWS) * COLS);  // ends at the guard page
    if (pass == 0)
      launch_1d<NoSmem>(gpu::blocks_for(dst.size()), gpu::kThreads, 0, [&](NoSmem&) {
        gpu::gather::gather_rows_body<uint32_t>(dsrc->data(), COLS, didx->data(), ROWS, dst.data());
      });
    else
      launch_1d<NoSmem>(kStrideBlocks, 64, 0, [&](NoSmem&) {
        gpu::gather::gather_rows_body<size_t>(dsrc->data(), COLS, didx->data(), ROWS, dst.data());
      });
    const std::vector<float> got = download(dst);
    for (int r = 0; r < ROWS; ++r)
      for (int col = 0; col < COLS; ++col)
        c.same(pass ? "dst (grid stride)" : "dst", static_cast<size_t>(r) * COLS + col,
               got[static_cast<size_t>(r) * COLS + col], src[static_cast<size_t>(idx[r]) * COLS + col]);
  }
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

Case one_hot_case(uint64_t seed) {
  Case cs;
  constexpr int ROWS = 41, CLASSES = 13;
  cs.name = "one_hot: " + std::to_string(ROWS) + " labels of " + std::to_string(CLASSES) + " classes (ends, out of range), grid stride";
  Timer timer;
  Rng rng(seed);
  Compare c;
  std::vector<int32_t> labels(ROWS);
  for (auto& v : labels) v = static_cast<int32_t>(rng.below(CLASSES));
  labels[0] = 0, labels[1] = CLASSES - 1, labels[2] = -1, labels[3] = CLASSES, labels[ROWS - 1] = INT32_MIN;
  const auto dlabels = device(labels);
  for (int pass = 0; pass < 2; ++pass) {
    DeviceBuffer<float> out(static_cast<size_t>(ROWS) * CLASSES);
    if (pass == 0)
      launch_1d<NoSmem>(gpu::blocks_for(out.size()), gpu::kThreads, 0, [&](NoSmem&) {
        gpu::gather::one_hot_body<uint32_t>(dlabels->data(), ROWS, CLASSES, out.data());
      });
    else
      launch_1d<NoSmem>(kStrideBlocks, 64, 0, [&](NoSmem&) {
        gpu::gather::one_hot_body<size_t>(dlabels->data(), ROWS, CLASSES, out.data());
      });
    const std::vector<float> got = download(out);
    for (int r = 0; r < ROWS; ++r) {
      const bool valid = labels[r] >= 0 && labels[r] < CLASSES;
      for (int k = 0; k < CLASSES; ++k) {
        const float want = !valid ? std::nanf("") : labels[r] == k ? 1.f : 0.f;
        c.same(pass ? "one-hot (grid stride)" : "one-hot", static_cast<size_t>(r) * CLASSES + k,
               got[static_cast<size_t>(r) * CLASSES + k], want);
      }
    }
  }
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- bernoulli_mask ----------------------------------------------------------------------------

Case bernoulli_case(float keep, uint64_t seed) {
  Case cs;
  constexpr size_t N = 100003;
  cs.name = "bernoulli_mask: keep " + std::to_string(keep) + ", " + std::to_string(N) + " elements, grid stride";
  Timer timer;
  Rng rng(seed);
  Compare c;
  const uint32_t key0 = static_cast<uint32_t>(rng.below(1u << 31)) * 2u + 1u, key1 = static_cast<uint32_t>(rng.below(1u << 31));
  const float scale = keep > 0 ? 1.f / keep : 0.f;
  for (int pass = 0; pass < 2; ++pass) {
    DeviceBuffer<float> out(N);
    if (pass == 0)
      launch_1d<NoSmem>(gpu::blocks_for(N), gpu::kThreads, 0, [&](NoSmem&) {
        gpu::random::bernoulli_body<uint32_t>(out.data(), static_cast<uint32_t>(N), keep, scale, key0, key1);
      });
    else
      launch_1d<NoSmem>(kStrideBlocks, 64, 0, [&](NoSmem&) {
        gpu::random::bernoulli_body<size_t>(out.data(), N, keep, scale, key0, key1);
      });
    const std::vector<float> got = download(out);
    size_t kept = 0;
    for (size_t i = 0; i < N; ++i) {
      c.same(pass ? "mask (grid stride)" : "mask", i, got[i], tinynn::bernoulli_mask_value(key0, key1, i, keep, scale));
      kept += got[i] != 0.f;
    }
    // The kept fraction: binomial, within 5 standard deviations (exact at keep 0 and 1).
    const double sigma = std::sqrt(static_cast<double>(N) * keep * (1 - keep));
    c.near("kept fraction", 0, static_cast<double>(kept) / N, keep, 1.0, 5 * sigma / N);
  }
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- the SGD step -----------------------------------------------------------------------------

// optimizer_update as launch_sgd_update runs it: optimizer_args() per 16 tensors, blocks_for(total) ×
// kThreads each (or kStrideBlocks blocks). Returns the launches.
int run_sgd(const std::vector<ParamUpdate>& params, const SgdConfig& config, bool first_step, bool stride) {
  int launches = 0;
  const int count = static_cast<int>(params.size());
  const gpu::SgdParams step = gpu::sgd_params(config, first_step);
  for (int first = 0; first < count; first += gpu::optim::kOptimizerTensors) {
    const gpu::optim::OptimizerArgs a = gpu::optim::optimizer_args(params.data(), first, count);
    if (a.count == 0) continue;
    const size_t total = a.end[a.count - 1];
    launch_1d<NoSmem>(stride ? kStrideBlocks : gpu::blocks_for(total), gpu::kThreads, 0,
                      [&](NoSmem&) { gpu::optim::sgd_body(a, step); });
    ++launches;
  }
  return launches;
}

Case sgd_case(const Sgd& o, bool stride, uint64_t seed) {
  // 19 tensors, 4 of them empty: two launches (16 tensors, 12 of them non-empty; then 3).
  const std::vector<size_t> sizes = {300, 0, 1, 17, 256, 5, 0, 1000, 3, 64, 7, 0, 129, 31, 2, 500, 11, 0, 40};
  constexpr int kSteps = 3;
  Case cs;
  Timer timer;
  Rng rng(seed);
  Compare c;
  const SgdConfig config{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov};
  const bool momentum = o.momentum != 0.f;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> p, g, m;
  std::vector<std::vector<float>> pr(sizes.size()), mr(sizes.size());  // the reference's state
  std::vector<ParamUpdate> ups(sizes.size());
  for (size_t t = 0; t < sizes.size(); ++t) {
    p.push_back(std::make_unique<DeviceBuffer<float>>(sizes[t]));
    g.push_back(std::make_unique<DeviceBuffer<float>>(sizes[t]));
    m.push_back(std::make_unique<DeviceBuffer<float>>(sizes[t]));  // passed even without momentum
    pr[t].resize(sizes[t]);
    for (auto& v : pr[t]) v = rng.uniform(-1.f, 1.f);
    mr[t].assign(sizes[t], 0.f);
    upload(*p[t], pr[t]);
    ups[t].param = p[t]->data();
    ups[t].grad = g[t]->data();
    ups[t].state[0] = m[t]->data();
    ups[t].n = sizes[t];
  }
  int launches = 0;
  for (int step = 0; step < kSteps; ++step) {
    const bool first = step == 0;
    std::vector<std::vector<float>> grads(sizes.size());
    for (size_t t = 0; t < sizes.size(); ++t) {
      grads[t].resize(sizes[t]);
      for (auto& v : grads[t]) v = rng.uniform(-2.f, 2.f);
      upload(*g[t], grads[t]);
    }
    launches = run_sgd(ups, config, first, stride);
    for (size_t t = 0; t < sizes.size(); ++t) {
      const std::vector<float> gp = download(*p[t]), gm = download(*m[t]);
      const std::string pw = "step " + std::to_string(step + 1) + " tensor " + std::to_string(t);
      const std::string mw = pw + " momentum";
      for (size_t e = 0; e < sizes[t]; ++e) {
        float nb = 0;
        pr[t][e] = sgd_ref(pr[t][e], grads[t][e], mr[t][e], &nb, o, first);
        if (momentum) mr[t][e] = nb;
        c.exact(pw.c_str(), e, gp[e], pr[t][e]);
        if (momentum) c.exact(mw.c_str(), e, gm[e], mr[t][e]);
      }
      if (!momentum) untouched(c, mw.c_str(), gm);  // no buffer without momentum
    }
  }
  size_t total = 0;
  for (size_t s : sizes) total += s;
  cs.name = std::string("sgd ") + o.name + ": " + std::to_string(sizes.size()) + " tensors (" + std::to_string(total) +
            " floats, 4 empty) in " + std::to_string(launches) + " launches, " + std::to_string(kSteps) + " steps" +
            (stride ? ", grid stride (threads crossing tensors)" : "");
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

}  // namespace

int main() {
  Report report;
  uint64_t seed = 700;
  const struct {
    UnaryOp op;
    float a, b;
  } unaries[] = {
      {UnaryOp::Neg, 0, 0},         {UnaryOp::Exp, 0, 0},       {UnaryOp::Log, 0, 0},        {UnaryOp::Sqrt, 0, 0},
      {UnaryOp::Abs, 0, 0},         {UnaryOp::Relu, 0, 0},      {UnaryOp::LeakyRelu, 0.01f, 0},
      {UnaryOp::Sigmoid, 0, 0},     {UnaryOp::Tanh, 0, 0},      {UnaryOp::Gelu, 0, 0},       {UnaryOp::Pow, 2.5f, 0},
      {UnaryOp::Pow, 3.f, 0},       {UnaryOp::Pow, -1.f, 0},    {UnaryOp::Pow, 0.5f, 0},     {UnaryOp::Pow, 0.f, 0},
      {UnaryOp::Clamp, -1.f, 1.5f}, {UnaryOp::Clamp, 2.f, -1.f}, {UnaryOp::Affine, 1.5f, -0.25f},
      {UnaryOp::Affine, 1.f, 0.f},
  };
  for (const auto& u : unaries) report.add(unary_case(u.op, u.a, u.b, ++seed));
  for (int op = 0; op <= static_cast<int>(BinaryOp::GeluGrad); ++op) report.add(binary_case(static_cast<BinaryOp>(op), ++seed));
  report.add(strided_copy_case(++seed));
  for (int a = 0; a <= static_cast<int>(Activation::Gelu); ++a) report.add(epilogue_case(static_cast<Activation>(a), ++seed));
  report.add(gather_rows_case(++seed));
  report.add(one_hot_case(++seed));
  for (float keep : {0.f, 0.2f, 0.5f, 0.9f, 1.f}) report.add(bernoulli_case(keep, ++seed));
  for (const Sgd* o : {&kPlain, &kMomentum, &kDamped, &kNesterov}) report.add(sgd_case(*o, false, ++seed));
  report.add(sgd_case(kNesterov, true, ++seed));
  return report.print("elementwise_test");
}
