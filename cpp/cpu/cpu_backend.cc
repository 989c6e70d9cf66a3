#include "cpp/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpp/cpu/cpu_fused_kernels.h"
#include "cpp/cpu/gemm.h"
#include "cpp/devices.h"
#include "cpp/errors.h"

namespace tinynn::cpu {
namespace {

constexpr size_t kAlignment = 64;  // one cache line; AVX loads never straddle two

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

void* CpuBackend::alloc(size_t bytes) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw OutOfMemory("out of host memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}

void CpuBackend::free(void* p) noexcept { std::free(p); }
void CpuBackend::upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copy(void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); }
void CpuBackend::zero(void* dst, size_t bytes) { std::memset(dst, 0, bytes); }
std::unique_ptr<Marker> CpuBackend::mark() { return std::make_unique<DoneMarker>(); }
void CpuBackend::upload_unqueued(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download_unqueued(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }

std::unique_ptr<Recording> CpuBackend::record(const std::function<void()>& enqueue) {
  return std::make_unique<CallRecording>(enqueue);
}

void CpuBackend::gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                      const float* B, int ldb, float beta, float* C, int ldc,
                      const GemmEpilogue& epilogue) {
  sgemm(pool_, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epilogue);
}

void CpuBackend::bias_relu(float* y, const float* bias, int rows, int cols, bool relu) {
  parallel_range(pool_, rows, 64, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) bias_relu_kernel(y + r * cols, bias, cols, relu);
  });
}

void CpuBackend::relu_backward(const float* dy, const float* y, float* dx, size_t n) {
  parallel_range(pool_, n, 1 << 14, [&](size_t i0, size_t i1) {
    relu_backward_kernel(dy + i0, y + i0, dx + i0, i1 - i0);
  });
}

void CpuBackend::add(float* y, const float* x, size_t n) {
  parallel_range(pool_, n, 1 << 14, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) y[i] += x[i];
  });
}

void CpuBackend::bias_grad(const float* dy, int rows, int cols, float* db, bool accumulate) {
  // Columns split over the pool; each column summed in row order so results never depend on the
  // thread count.
  parallel_range(pool_, cols, 16, [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; ++c) db[c] = accumulate ? db[c] : 0.f;
    for (int r = 0; r < rows; ++r) {
      const float* row = dy + static_cast<size_t>(r) * cols;
      for (size_t c = c0; c < c1; ++c) db[c] += row[c];
    }
  });
}

void CpuBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int cols,
                              float* loss, float* dlogits, int32_t* correct) {
  // Per-row losses in double, summed in row order: the result is independent of threading.
  RowStats& st = row_stats(rows);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  parallel_range(pool_, rows, 32, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      st.hit[r] = xent_row(logits + r * cols, labels[r], cols, inv_rows, dlogits ? dlogits + r * cols : nullptr,
                           &st.loss[r]);
  });
  st.finish(rows, loss, correct);
}

void CpuBackend::sgd_update(const SgdTensor* tensors, int count, const SgdConfig& cfg,
                            bool first_step) {
  // One region over all tensors, as if they were one array: element-wise, so any split gives the
  // same result.
  size_t total = 0;
  for (int t = 0; t < count; ++t) total += tensors[t].n;
  parallel_range(pool_, total, 1 << 14, [&](size_t i0, size_t i1) {
    size_t base = 0;
    for (int t = 0; t < count && base < i1; ++t) {
      const SgdTensor& s = tensors[t];
      const size_t lo = std::max(i0, base), hi = std::min(i1, base + s.n);
      if (lo < hi) {
        const size_t o = lo - base;
        sgd_kernel(s.param + o, s.grad + o, s.momentum_buf ? s.momentum_buf + o : nullptr, hi - lo, cfg,
                   first_step);
      }
      base += s.n;
    }
  });
}

void CpuBackend::softmax(const float* x, int rows, int cols, float* probs) {
  parallel_range(pool_, rows, 32, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* out = probs + r * cols;
      float mx = *std::max_element(in, in + cols);
      double sum = 0.0;
      for (int c = 0; c < cols; ++c) sum += std::exp(static_cast<double>(in[c] - mx));
      for (int c = 0; c < cols; ++c) out[c] = static_cast<float>(std::exp(static_cast<double>(in[c] - mx)) / sum);
    }
  });
}

void CpuBackend::argmax(const float* x, int rows, int cols, int32_t* out) {
  for (int r = 0; r < rows; ++r) {
    const float* row = x + static_cast<size_t>(r) * cols;
    int best = 0;
    for (int c = 1; c < cols; ++c) if (row[c] > row[best]) best = c;
    out[r] = best;
  }
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
