#include "cpp/binding/args.h"

#include <cmath>

#include "cpp/binding/tensor_wrap.h"
#include "cpp/errors.h"

namespace tinynn::binding {

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return std::string("the boolean ") + (v.As<Napi::Boolean>().Value() ? "true" : "false");
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "the number NaN";
    std::string s = std::to_string(d);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return "the number " + s;
  }
  if (v.IsString()) return "the string '" + v.As<Napi::String>().Utf8Value().substr(0, 40) + "'";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  if (TensorWrap::unwrap_if(v)) return "a tensor";
  return "an object";
}

bool read_bool(const Napi::Value& v, const char* what) {
  if (!v.IsBoolean()) throw TypeError(std::string(what) + " must be a boolean, got " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

double read_finite(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw TypeError(std::string(what) + " must be a number, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw RangeError(std::string(what) + " must be a finite number, got " + describe(v));
  return d;
}

int64_t read_int(const Napi::Value& v, const char* what, int64_t min, int64_t max) {
  double d = read_finite(v, what);
  if (d != std::floor(d)) throw TypeError(std::string(what) + " must be an integer, got " + describe(v));
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    throw RangeError(std::string(what) + " must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                     "], got " + describe(v));
  }
  return static_cast<int64_t>(d);
}

std::string read_string(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw TypeError(std::string(what) + " must be a string, got " + describe(v));
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int64_t> read_shape(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw TypeError(std::string(what) + " must be an array of sizes, got " + describe(v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > static_cast<uint32_t>(kMaxRank)) {
    throw RangeError(std::string(what) + " must have at most " + std::to_string(kMaxRank) + " dimensions, got " +
                     std::to_string(a.Length()));
  }
  std::vector<int64_t> shape;
  double total = 1;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    std::string name = std::string(what) + "[" + std::to_string(i) + "]";
    shape.push_back(read_int(a.Get(i), name.c_str(), 1, int64_t{1} << 31));
    total *= static_cast<double>(shape.back());
  }
  if (total > static_cast<double>(int64_t{1} << 34)) {
    throw RangeError(std::string(what) + " " + shape_string(shape) + " has more than 2^34 elements");
  }
  return shape;
}

DType read_dtype(const Napi::Value& v, const char* what) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "float32") return DType::F32;
  if (s == "uint8") return DType::U8;
  if (s == "int32") return DType::I32;
  throw TypeError(std::string(what) + " must be 'float32', 'uint8' or 'int32', got " + describe(v));
}

TensorData& read_tensor(const Napi::Value& v, const char* what, bool allow_busy) {
  TensorWrap* w = TensorWrap::unwrap_if(v);
  if (!w) throw TypeError(std::string(what) + " must be a tensor, got " + describe(v));
  if (w->disposed()) throw TypeError(std::string(what) + " is a disposed tensor");
  if (!allow_busy && w->data().storage->busy.load() > 0) {
    throw RuntimeError(std::string(what) + " is in use by a running fit(); wait for it to finish");
  }
  return w->data();
}

TensorData& read_tensor(const Napi::Value& v, const char* what, DType dtype, size_t rank) {
  TensorData& t = read_tensor(v, what);
  if (t.dtype != dtype) {
    throw TypeError(std::string(what) + " must be a " + dtype_name(dtype) + " tensor, got " + dtype_name(t.dtype));
  }
  if (t.shape.size() != rank) {
    throw RangeError(std::string(what) + " must be " + std::to_string(rank) + "-D, got shape " + shape_string(t.shape));
  }
  return t;
}

void require_same_device(const TensorData& a, const char* a_name, const TensorData& b, const char* b_name) {
  if (a.device() != b.device()) {
    throw TypeError(std::string(a_name) + " is on " + a.device().name() + " but " + b_name + " is on " +
                    b.device().name() + "; move them to one device with .to()");
  }
}

TensorData& read_float_tensor(const Napi::Value& v, const char* what) {
  TensorData& t = read_tensor(v, what);
  if (t.dtype != DType::F32) throw TypeError(std::string(what) + " must be a float32 tensor, got " + dtype_name(t.dtype));
  return t;
}

}  // namespace tinynn::binding
