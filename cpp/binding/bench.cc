#include "cpp/binding/bench.h"

#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/cpu/fma_peak.h"
#include "cpp/cpu/gemm.h"
#include "cpp/cpu/thread_pool.h"

namespace tinynn::binding {
namespace {

// fmaPeak(seconds, isa?) → GFLOP/s of independent FMA chains on every pool thread; isa defaults
// to the widest the CPU has ('avx512', 'avx2' or 'portable').
Napi::Value fma_peak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    double seconds = read_finite(info[0], "seconds");
    std::string isa = info[1].IsUndefined() ? cpu::fma_peak_isa() : read_string(info[1], "isa");
    return Napi::Number::New(env, cpu::fma_peak_gflops(cpu::default_thread_pool(), seconds, isa));
  });
}

// gemmKernel() → the kernel set the CPU GEMM uses now ('avx512', 'avx2' or 'portable').
Napi::Value gemm_kernel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cpu::sgemm_kernel_name());
}

// threads() → the size of the CPU thread pool.
Napi::Value threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::default_thread_pool().size());
}

}  // namespace

Napi::Object define_bench(Napi::Env env) {
  Napi::Object bench = Napi::Object::New(env);
  bench.Set("fmaPeak", Napi::Function::New(env, fma_peak, "fmaPeak"));
  bench.Set("fmaPeakIsa", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
              return Napi::String::New(i.Env(), cpu::fma_peak_isa());
            }, "fmaPeakIsa"));
  bench.Set("gemmKernel", Napi::Function::New(env, gemm_kernel, "gemmKernel"));
  bench.Set("threads", Napi::Function::New(env, threads, "threads"));
  return bench;
}

}  // namespace tinynn::binding
