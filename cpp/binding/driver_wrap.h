// NativeDriver: the training driver as a JS object. fit() and evaluate() run on a worker
// thread and return Promises; progress arrives on the JS thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "cpp/binding/settlement.h"
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
  Napi::Value stop_after_epoch(const Napi::CallbackInfo& info);
  Napi::Value executor(const Napi::CallbackInfo& info);
  std::unique_ptr<BusyHold> hold(std::vector<std::shared_ptr<Storage>> extra) const;

  std::shared_ptr<TrainingDriver> driver_;
  Device device_;
  std::vector<std::shared_ptr<Storage>> held_;  // parameters, optimizer state and step counts
  std::shared_ptr<std::atomic<bool>> running_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace tinynn::binding
