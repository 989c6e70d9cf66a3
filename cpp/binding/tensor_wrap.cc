#include "cpp/binding/tensor_wrap.h"

#include <cstring>

#include "cpp/binding/addon_data.h"
#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/devices.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

// Marks a constructor call coming from wrap(): the TensorData is handed over out of band.
thread_local TensorData* pending_wrap = nullptr;

DType typed_array_dtype(const Napi::TypedArray& a) {
  switch (a.TypedArrayType()) {
    case napi_float32_array: return DType::F32;
    case napi_uint8_array: return DType::U8;
    case napi_int32_array: return DType::I32;
    default: throw TypeError("data must be a Float32Array, Uint8Array or Int32Array");
  }
}

}  // namespace

Napi::Function TensorWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {StaticMethod("empty", [](const Napi::CallbackInfo& i) { return create_empty(i, false); }),
                      StaticMethod("zeros", [](const Napi::CallbackInfo& i) { return create_empty(i, true); }),
                      InstanceAccessor<&TensorWrap::shape>("shape"),
                      InstanceAccessor<&TensorWrap::dtype>("dtype"),
                      InstanceAccessor<&TensorWrap::device>("device"),
                      InstanceAccessor<&TensorWrap::is_disposed>("disposed"),
                      InstanceAccessor<&TensorWrap::is_busy>("busy"),
                      InstanceMethod<&TensorWrap::to_array>("toArray"),
                      InstanceMethod<&TensorWrap::dispose>("dispose"),
                      InstanceMethod<&TensorWrap::to>("to"),
                      InstanceMethod<&TensorWrap::copy_from>("copyFrom")});
}

Napi::Object TensorWrap::wrap(Napi::Env env, TensorData data) {
  pending_wrap = &data;
  Napi::Object obj = addon_data(env).tensor_constructor.New({});
  pending_wrap = nullptr;
  return obj;
}

TensorWrap* TensorWrap::unwrap_if(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object obj = v.As<Napi::Object>();
  if (!obj.InstanceOf(addon_data(v.Env()).tensor_constructor.Value())) return nullptr;
  return TensorWrap::Unwrap(obj);
}

// new NativeTensor(data: TypedArray, shape: number[], device: string): copies data.
TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (pending_wrap) {
      data_ = std::move(*pending_wrap);
    } else {
      if (!info[0].IsTypedArray()) throw TypeError("data must be a Float32Array, Uint8Array or Int32Array, got " + describe(info[0]));
      Napi::TypedArray array = info[0].As<Napi::TypedArray>();
      DType dtype = typed_array_dtype(array);
      std::vector<int64_t> shape = read_shape(info[1], "shape");
      Backend& backend = backend_for(parse_device(read_string(info[2], "device")));
      size_t numel = 1;
      for (int64_t d : shape) numel *= static_cast<size_t>(d);
      if (numel != array.ElementLength()) {
        throw RangeError("data has " + std::to_string(array.ElementLength()) + " elements but shape " +
                         shape_string(shape) + " needs " + std::to_string(numel));
      }
      data_ = make_tensor(backend, shape, dtype);
      // The elements' address straight from the typed array: it may view a SharedArrayBuffer,
      // which ArrayBuffer() refuses.
      void* elements = nullptr;
      if (napi_get_typedarray_info(env, array, nullptr, nullptr, &elements, nullptr, nullptr) != napi_ok) {
        throw TypeError("data: cannot read the typed array's elements");
      }
      const uint8_t* src = static_cast<const uint8_t*>(elements);
      backend.upload(data_.storage->data(), src, numel * dtype_size(dtype));
    }
    external_bytes_ = static_cast<int64_t>(data_.storage->bytes());
    Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
  });
}

TensorWrap::~TensorWrap() = default;

// Collected by the GC: the storage goes with the wrapper unless a running driver still shares it.
void TensorWrap::Finalize(Napi::BasicEnv env) {
  if (external_bytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
  data_.storage.reset();
}

void TensorWrap::release(Napi::Env env) {
  if (!data_.storage) return;
  if (data_.storage->busy.load() > 0) throw RuntimeError("cannot dispose a tensor that a running fit() is using");
  data_.storage.reset();
  Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
}

Napi::Value TensorWrap::create_empty(const Napi::CallbackInfo& info, bool zero) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    std::vector<int64_t> shape = read_shape(info[0], "shape");
    DType dtype = read_dtype(info[1], "dtype");
    Backend& backend = backend_for(parse_device(read_string(info[2], "device")));
    TensorData t = make_tensor(backend, shape, dtype);
    if (zero) backend.zero(t.storage->data(), t.storage->bytes());
    return wrap(env, std::move(t));
  });
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, data_.shape.size());
  for (size_t i = 0; i < data_.shape.size(); ++i) out.Set(i, Napi::Number::New(env, static_cast<double>(data_.shape[i])));
  return out;
}

Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(data_.dtype));
}

Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  if (!data_.storage) return Napi::String::New(info.Env(), "disposed");
  return Napi::String::New(info.Env(), data_.device().name());
}

Napi::Value TensorWrap::is_disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed());
}

Napi::Value TensorWrap::is_busy(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), data_.storage && data_.storage->busy.load() > 0);
}

Napi::Value TensorWrap::to_array(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& t = read_tensor(info.This(), "tensor");
    size_t n = t.numel();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, n * dtype_size(t.dtype));
    t.backend().download(buffer.Data(), t.storage->data(), n * dtype_size(t.dtype));
    switch (t.dtype) {
      case DType::F32: return Napi::Float32Array::New(env, n, buffer, 0);
      case DType::U8: return Napi::Uint8Array::New(env, n, buffer, 0);
      case DType::I32: return Napi::Int32Array::New(env, n, buffer, 0);
    }
    return env.Undefined();
  });
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guard(env, [&] { release(env); });
  return env.Undefined();
}

Napi::Value TensorWrap::to(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& src = read_tensor(info.This(), "tensor");
    Backend& dst_backend = backend_for(parse_device(read_string(info[0], "device")));
    TensorData dst = make_tensor(dst_backend, src.shape, src.dtype);
    size_t bytes = src.numel() * dtype_size(src.dtype);
    if (src.device() == dst.device()) {
      dst_backend.copy(dst.storage->data(), src.storage->data(), bytes);
    } else if (src.device().kind == DeviceKind::Cpu) {
      dst_backend.upload(dst.storage->data(), src.storage->data(), bytes);
    } else if (dst.device().kind == DeviceKind::Cpu) {
      src.backend().download(dst.storage->data(), src.storage->data(), bytes);
    } else {
      std::vector<uint8_t> staging(bytes);
      src.backend().download(staging.data(), src.storage->data(), bytes);
      dst_backend.upload(dst.storage->data(), staging.data(), bytes);
    }
    return wrap(env, std::move(dst));
  });
}

Napi::Value TensorWrap::copy_from(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    TensorData& dst = read_tensor(info.This(), "tensor");
    TensorData& src = read_tensor(info[0], "source");
    if (src.dtype != dst.dtype || src.shape != dst.shape) {
      throw RangeError(std::string("copyFrom expects a ") + dtype_name(dst.dtype) + " tensor of shape " +
                       shape_string(dst.shape) + ", got " + dtype_name(src.dtype) + " " + shape_string(src.shape));
    }
    size_t bytes = src.numel() * dtype_size(src.dtype);
    if (src.device() == dst.device()) {
      dst.backend().copy(dst.storage->data(), src.storage->data(), bytes);
    } else {
      std::vector<uint8_t> staging(bytes);
      src.backend().download(staging.data(), src.storage->data(), bytes);
      dst.backend().upload(dst.storage->data(), staging.data(), bytes);
    }
  });
  return env.Undefined();
}

}  // namespace tinynn::binding
