// native.bench: measurements of the machine itself, for bench/ and the GEMM tests.
#pragma once
#include <napi.h>

namespace tinynn::binding {

Napi::Object define_bench(Napi::Env env);

}  // namespace tinynn::binding
