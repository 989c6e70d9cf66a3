// NativeTensor: the JS object that owns a native TensorData. Freed by dispose() or by the GC's
// finalizer, whichever comes first.
#pragma once
#include <napi.h>

#include "cpp/tensor.h"

namespace tinynn::binding {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // A new JS NativeTensor owning `data`.
  static Napi::Object wrap(Napi::Env env, TensorData data);
  // The TensorWrap behind `v`, or null when v is not a NativeTensor.
  static TensorWrap* unwrap_if(const Napi::Value& v);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  // Runs inside the garbage collector (a basic finalizer): native work and external-memory
  // accounting only, so a synchronous loop gets dropped tensors' memory back without yielding.
  void Finalize(Napi::BasicEnv env) override;

  bool disposed() const { return !data_.storage; }
  TensorData& data() { return data_; }

 private:
  static Napi::Value create_empty(const Napi::CallbackInfo& info, bool zero);
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value is_disposed(const Napi::CallbackInfo& info);
  // Whether a running fit() holds the storage (eager use and dispose are refused meanwhile).
  Napi::Value is_busy(const Napi::CallbackInfo& info);
  Napi::Value to_array(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value to(const Napi::CallbackInfo& info);
  Napi::Value copy_from(const Napi::CallbackInfo& info);
  void release(Napi::Env env);

  TensorData data_;
  int64_t external_bytes_ = 0;  // reported to V8 so the GC sees native memory pressure
};

}  // namespace tinynn::binding
