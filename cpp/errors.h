// Errors raised inside the native core. They never cross the N-API boundary as C++ exceptions:
// the binding converts each kind to the matching JS error class.
#pragma once
#include <stdexcept>
#include <string>

namespace tinynn {

// A value of the wrong kind (wrong dtype, not a tensor, disposed tensor) → JS TypeError.
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A value out of its allowed range (shape mismatch, non-positive size) → JS RangeError.
struct RangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A device or runtime failure (CUDA/cuBLAS status, out of memory) → JS Error.
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct OutOfMemory : RuntimeError {
  using RuntimeError::RuntimeError;
};
// A fit stopped by abort() at a step boundary → JS AbortError.
struct Aborted : std::runtime_error {
  Aborted() : std::runtime_error("training was aborted") {}
};

}  // namespace tinynn
