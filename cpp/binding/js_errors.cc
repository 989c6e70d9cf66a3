#include "cpp/binding/js_errors.h"

namespace tinynn::binding {

Napi::Error make_js_error(Napi::Env env, const std::exception& e) {
  if (dynamic_cast<const TypeError*>(&e)) return Napi::TypeError::New(env, e.what());
  if (dynamic_cast<const RangeError*>(&e)) return Napi::RangeError::New(env, e.what());
  if (dynamic_cast<const std::bad_alloc*>(&e)) return Napi::Error::New(env, "tinynn: out of host memory");
  Napi::Error err = Napi::Error::New(env, e.what());
  if (dynamic_cast<const OutOfMemory*>(&e)) err.Set("code", Napi::String::New(env, "ERR_TINYNN_OUT_OF_MEMORY"));
  return err;
}

}  // namespace tinynn::binding
