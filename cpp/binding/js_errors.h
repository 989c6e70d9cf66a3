// The N-API boundary for errors, the one place where native exceptions become JS errors: every
// entry point runs its body through guard(), and the async workers convert the exception they
// caught on their thread with make_js_error() on the JS thread. Nothing escapes as a C++ exception.
#pragma once
#include <napi.h>

#include <exception>

#include "cpp/errors.h"

namespace tinynn::binding {

// TypeError / RangeError → the JS classes; Aborted → an Error named AbortError (code ABORT_ERR);
// OutOfMemory and std::bad_alloc → an Error with code ERR_TINYNN_OUT_OF_MEMORY; anything else →
// Error with its message.
Napi::Error make_js_error(Napi::Env env, std::exception_ptr error);

template <typename Fn>
auto guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;  // already a JS error; node-addon-api rethrows it into JS
  } catch (...) {
    throw make_js_error(env, std::current_exception());
  }
  return Result();
}

}  // namespace tinynn::binding
