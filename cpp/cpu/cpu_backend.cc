#include "cpp/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "cpp/cpu/elementwise_kernels.h"
#include "cpp/cpu/host_allocator.h"
#include "cpp/cpu/optimizer_kernels.h"
#include "cpp/cpu/vector_kernels.h"
#include "cpp/cpu/gemm.h"
#include "cpp/devices.h"
#include "cpp/errors.h"

namespace tinynn::cpu {
namespace {


class CallRecording final : public Recording {
 public:
  explicit CallRecording(std::function<void()> calls) : calls_(std::move(calls)) {}
  void replay() override { calls_(); }

 private:
  std::function<void()> calls_;
};

// Work runs as it is enqueued: by the time a mark exists, everything before it is done.
class DoneMarker final : public Marker {
 public:
  void wait() override {}
};

}  // namespace

void* CpuBackend::alloc(size_t bytes) { return HostAllocator::instance().allocate(bytes); }
void CpuBackend::free(void* p) noexcept { HostAllocator::instance().release(p); }
void CpuBackend::upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
  ++host_sync_count();
  std::memcpy(dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); }
void CpuBackend::zero(void* dst, size_t bytes) { std::memset(dst, 0, bytes); }
std::unique_ptr<Marker> CpuBackend::mark() { return std::make_unique<DoneMarker>(); }
void CpuBackend::upload_unqueued(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download_unqueued(void* dst, const void* src, size_t bytes) {
  ++host_sync_count();
  std::memcpy(dst, src, bytes);
}

std::unique_ptr<Recording> CpuBackend::record(const std::function<void()>& enqueue) {
  return std::make_unique<CallRecording>(enqueue);
}

void CpuBackend::gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                      const float* B, int ldb, float beta, float* C, int ldc,
                      const GemmEpilogue& epilogue) {
  // The GEMM's store applies the bias and ReLU; other activations follow as a pass over C.
  const bool in_store = epilogue.activation == Activation::None || epilogue.activation == Activation::Relu;
  sgemm(pool_, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
        in_store ? epilogue : GemmEpilogue{epilogue.bias});
  if (in_store) return;
  const UnaryOp op = activation_op(epilogue.activation);
  parallel_range(pool_, M, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) unary_kernel(op, C + r * ldc, C + r * ldc, N, epilogue.slope, 0.f);
  });
}

void CpuBackend::optimizer_update(const ParamUpdate* params, int count, const OptimizerConfig& cfg, int64_t step) {
  require_optimizer_states(params, count, cfg);
  const OptimizerStepConstants constants = optimizer_step_constants(cfg, step);
  // One region over all tensors, as if they were one array: element-wise, so any split gives the
  // same result. [lo, hi) of tensor u, o elements in.
  size_t total = 0;
  for (int t = 0; t < count; ++t) total += params[t].n;
  parallel_range(pool_, total, 1 << 14, [&](size_t i0, size_t i1) {
    size_t base = 0;
    for (int t = 0; t < count && base < i1; ++t) {
      const ParamUpdate& u = params[t];
      const size_t lo = std::max(i0, base), hi = std::min(i1, base + u.n);
      if (lo < hi) optimizer_update_range(u, lo - base, hi - lo, constants);
      base += u.n;
    }
  });
}

void CpuBackend::one_hot(const int32_t* labels, int rows, int classes, float* out) {
  for (int r = 0; r < rows; ++r) {
    float* row = out + static_cast<size_t>(r) * classes;
    const int32_t label = labels[r];
    const bool valid = label >= 0 && label < classes;
    std::fill(row, row + classes, valid ? 0.f : std::numeric_limits<float>::quiet_NaN());
    if (valid) row[label] = 1.f;
  }
}

void CpuBackend::gather_rows(const float* src, int cols, const int32_t* indices, int rows, float* dst) {
  parallel_range(pool_, rows, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      std::memcpy(dst + r * cols, src + static_cast<size_t>(indices[r]) * cols, sizeof(float) * cols);
    }
  });
}

void CpuBackend::gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                              const int32_t* indices, int rows, float scale, float shift,
                              float* x, int32_t* y) {
  parallel_range(pool_, rows, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      u8_to_f32_kernel(images + static_cast<size_t>(indices[r]) * features, x + r * features, features, scale,
                       shift);
      y[r] = labels[indices[r]];
    }
  });
}

}  // namespace tinynn::cpu

namespace tinynn {

Backend& cpu_backend() {
  static cpu::CpuBackend backend(cpu::default_thread_pool());
  return backend;
}

}  // namespace tinynn
