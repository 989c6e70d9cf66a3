// Reading and checking JS arguments. Each reader throws tinynn::TypeError / RangeError naming the
// argument, what was expected and what came.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cpp/tensor.h"

namespace tinynn::binding {

std::string describe(const Napi::Value& v);  // "a string", "undefined", "the number NaN", ...

bool read_bool(const Napi::Value& v, const char* what);
double read_finite(const Napi::Value& v, const char* what);
// An integer in [min, max].
int64_t read_int(const Napi::Value& v, const char* what, int64_t min, int64_t max);
std::string read_string(const Napi::Value& v, const char* what);
// A shape: an array of at most kMaxRank integers each >= 1 ([] is a scalar; RangeError on zero or
// negative sizes).
std::vector<int64_t> read_shape(const Napi::Value& v, const char* what);
DType read_dtype(const Napi::Value& v, const char* what);

// The tensor behind a NativeTensor object: live (not disposed), not held by a running driver
// (unless allow_busy).
TensorData& read_tensor(const Napi::Value& v, const char* what, bool allow_busy = false);
// read_tensor of a float32 tensor of any rank.
TensorData& read_float_tensor(const Napi::Value& v, const char* what);
// read_tensor plus dtype and rank checks.
TensorData& read_tensor(const Napi::Value& v, const char* what, DType dtype, size_t rank);

void require_same_device(const TensorData& a, const char* a_name, const TensorData& b, const char* b_name);

}  // namespace tinynn::binding
