// What a driver's async work holds while it runs, and how it ends: the tensors it uses (held
// busy, so eager ops and disposal refuse them), its promise, and the driver's running flag.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "cpp/tensor.h"

namespace tinynn::binding {

// Storages held by a running fit: eager ops and disposal refuse them until it ends.
class BusyHold {
 public:
  explicit BusyHold(std::vector<std::shared_ptr<Storage>> storages) : storages_(std::move(storages)) {
    for (auto& s : storages_) s->busy.fetch_add(1);
  }
  ~BusyHold() { release(); }
  void release() {
    for (auto& s : storages_) s->busy.fetch_sub(1);
    storages_.clear();
  }

 private:
  std::vector<std::shared_ptr<Storage>> storages_;
};

// What a worker settles on the JS thread: its promise, the hold on the tensors it used, and the
// driver's running flag. settle() runs also while the env is being torn down (a worker terminated
// or the process exiting mid-fit), when every call into JS fails and node-addon-api throws
// Napi::Error: nobody is left to receive the result then, and an exception escaping would abort().
class Settlement {
 public:
  Settlement(Napi::Env env, std::unique_ptr<BusyHold> hold, std::shared_ptr<std::atomic<bool>> running)
      : deferred_(Napi::Promise::Deferred::New(env)), hold_(std::move(hold)), running_(std::move(running)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  // Releases the tensors and the driver, then resolves or rejects through `with`(deferred).
  template <typename With>
  void settle(With&& with) {
    hold_->release();
    running_->store(false);
    try {
      with(deferred_);
    } catch (const Napi::Error&) {
    }
  }

  void reject(const Napi::Error& e) {
    settle([&](Napi::Promise::Deferred& d) { d.Reject(e.Value()); });
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<BusyHold> hold_;
  std::shared_ptr<std::atomic<bool>> running_;
};

}  // namespace tinynn::binding
