// The N-API boundary for errors: every entry point runs its body through guard(), which turns the
// native core's exceptions into the matching JS error class. Nothing escapes as a C++ exception.
#pragma once
#include <napi.h>

#include <exception>
#include <new>

#include "cpp/errors.h"

namespace tinynn::binding {

Napi::Error make_js_error(Napi::Env env, const std::exception& e);

template <typename Fn>
auto guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;  // already a JS error; node-addon-api rethrows it into JS
  } catch (const std::exception& e) {
    throw make_js_error(env, e);
  } catch (...) {
    throw Napi::Error::New(env, "tinynn: unknown native error");
  }
  return Result();
}

}  // namespace tinynn::binding
