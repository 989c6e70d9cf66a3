// The driver's async work: fit() and evaluate() run on the libuv thread pool and settle a promise
// on the JS thread (errors through make_js_error); fit's progress events arrive there too.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

#include "cpp/binding/settlement.h"
#include "cpp/training_driver.h"

namespace tinynn::binding {

// Queues driver->fit(spec); resolves to the epoch records. on_progress (may be empty) receives
// { kind: 'batch' | 'epoch', ... } objects.
Napi::Promise queue_fit(Napi::Env env, std::shared_ptr<TrainingDriver> driver, FitSpec spec, Napi::Function on_progress,
                        std::unique_ptr<BusyHold> hold, std::shared_ptr<std::atomic<bool>> running);

// Queues driver->evaluate(data, ...); resolves to { loss, accuracy }.
Napi::Promise queue_evaluate(Napi::Env env, std::shared_ptr<TrainingDriver> driver, DriverDataset data, int batch,
                             float scale, float shift, std::unique_ptr<BusyHold> hold,
                             std::shared_ptr<std::atomic<bool>> running);

}  // namespace tinynn::binding
