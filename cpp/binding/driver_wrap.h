// NativeDriver: the fused training driver as a JS object. fit() and evaluate() run on a worker
// thread and return Promises; progress arrives on the JS thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "cpp/training_driver.h"

namespace tinynn::binding {

class DriverWrap : public Napi::ObjectWrap<DriverWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit DriverWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value fit(const Napi::CallbackInfo& info);
  Napi::Value evaluate(const Napi::CallbackInfo& info);
  Napi::Value abort(const Napi::CallbackInfo& info);
  Napi::Value momentum_initialized(const Napi::CallbackInfo& info);

  std::shared_ptr<TrainingDriver> driver_;
  int output_classes_ = 0;
  std::vector<std::shared_ptr<Storage>> params_;  // W0, b0, …, then the momentum buffers
  std::shared_ptr<std::atomic<bool>> running_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace tinynn::binding
