#include "cpp/binding/js_errors.h"

#include <new>

namespace tinynn::binding {
namespace {

Napi::Error with_code(Napi::Error err, const char* code) {
  err.Set("code", Napi::String::New(err.Env(), code));
  return err;
}

}  // namespace

Napi::Error make_js_error(Napi::Env env, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const TypeError& e) {
    return Napi::TypeError::New(env, e.what());
  } catch (const RangeError& e) {
    return Napi::RangeError::New(env, e.what());
  } catch (const Aborted& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("name", Napi::String::New(env, "AbortError"));
    return with_code(err, "ABORT_ERR");
  } catch (const OutOfMemory& e) {
    return with_code(Napi::Error::New(env, e.what()), "ERR_TINYNN_OUT_OF_MEMORY");
  } catch (const std::bad_alloc&) {
    return with_code(Napi::Error::New(env, "tinynn: out of host memory"), "ERR_TINYNN_OUT_OF_MEMORY");
  } catch (const std::exception& e) {
    return Napi::Error::New(env, e.what());
  } catch (...) {
    return Napi::Error::New(env, "tinynn: unknown native error");
  }
}

}  // namespace tinynn::binding
