#include "cpp/binding/driver_workers.h"

#include "cpp/binding/js_errors.h"

namespace tinynn::binding {
namespace {

struct ProgressEvent {
  bool epoch_end = false;
  BatchProgress batch;
  EpochRecord epoch;
};

Napi::Object epoch_to_js(Napi::Env env, const EpochRecord& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epoch", r.epoch);
  o.Set("loss", r.loss);
  o.Set("accuracy", r.accuracy);
  o.Set("valLoss", r.val_loss ? Napi::Value(Napi::Number::New(env, *r.val_loss)) : env.Null());
  o.Set("valAccuracy", r.val_accuracy ? Napi::Value(Napi::Number::New(env, *r.val_accuracy)) : env.Null());
  o.Set("samplesPerSecond", r.samples_per_second);
  o.Set("seconds", r.seconds);
  return o;
}

Napi::Object batch_to_js(Napi::Env env, const BatchProgress& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", "batch");
  o.Set("epoch", p.epoch);
  o.Set("step", p.step);
  o.Set("stepsPerEpoch", p.steps_per_epoch);
  o.Set("loss", p.loss);
  o.Set("accuracy", p.accuracy);
  o.Set("samplesPerSecond", p.samples_per_second);
  o.Set("seconds", p.seconds);
  return o;
}

class FitWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
 public:
  FitWorker(Napi::Env env, std::shared_ptr<TrainingDriver> driver, FitSpec spec, Napi::Function on_progress,
            std::unique_ptr<BusyHold> hold, std::shared_ptr<std::atomic<bool>> running)
      : Napi::AsyncProgressQueueWorker<ProgressEvent>(env, "tinynn.fit"),
        settlement_(env, std::move(hold), std::move(running)),
        driver_(std::move(driver)),
        spec_(std::move(spec)) {
    if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
    // When this env goes away mid-fit (worker.terminate(), or the main thread's exit), stop the
    // fit at the next step: env teardown waits for the thread-pool work in flight, and a long fit
    // would otherwise hang terminate() (found by tests/concurrency.test.ts). Raw N-API rather than
    // Napi::Env::AddCleanupHook, whose Remove() after the hook has run frees its data twice.
    teardown_.driver = driver_;
    hooked_ = napi_add_env_cleanup_hook(env, &FitWorker::abort_on_teardown, &teardown_) == napi_ok;
  }

  ~FitWorker() override {
    // A no-op when the hook already ran (N-API drops a hook once it has run it).
    if (hooked_) napi_remove_env_cleanup_hook(Env(), &FitWorker::abort_on_teardown, &teardown_);
  }

  Napi::Promise promise() const { return settlement_.promise(); }

  void Execute(const ExecutionProgress& progress) override {
    try {
      FitCallbacks callbacks;
      callbacks.on_batch = [&](const BatchProgress& p) {
        ProgressEvent e;
        e.batch = p;
        progress.Send(&e, 1);
      };
      callbacks.on_epoch = [&](const EpochRecord& r) {
        ProgressEvent e;
        e.epoch_end = true;
        e.epoch = r;
        progress.Send(&e, 1);
      };
      history_ = driver_->fit(spec_, callbacks);
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  void OnProgress(const ProgressEvent* events, size_t count) override {
    try {
      report(events, count);
    } catch (const Napi::Error&) {
      driver_->abort();  // the env is going away (see Settlement): stop the fit
    }
  }

  void report(const ProgressEvent* events, size_t count) {
    if (on_progress_.IsEmpty()) return;
    Napi::Env env = Env();
    for (size_t i = 0; i < count; ++i) {
      Napi::Object o = events[i].epoch_end ? epoch_to_js(env, events[i].epoch) : batch_to_js(env, events[i].batch);
      if (events[i].epoch_end) o.Set("kind", "epoch");
      // A throwing callback must not kill the worker: its exception stops the fit.
      try {
        on_progress_.Call({o});
      } catch (const Napi::Error& e) {
        driver_->abort();
        callback_error_ = Napi::Persistent(e.Value());
      }
    }
  }

  void OnOK() override {
    settlement_.settle([&](Napi::Promise::Deferred& d) {
      Napi::Env env = Env();
      if (!callback_error_.IsEmpty()) {
        d.Reject(callback_error_.Value());
      } else if (error_) {
        d.Reject(make_js_error(env, error_).Value());
      } else {
        Napi::Array out = Napi::Array::New(env, history_.size());
        for (size_t i = 0; i < history_.size(); ++i) out.Set(i, epoch_to_js(env, history_[i]));
        d.Resolve(out);
      }
    });
  }

  void OnError(const Napi::Error& e) override { settlement_.reject(e); }

 private:
  Settlement settlement_;
  std::shared_ptr<TrainingDriver> driver_;
  FitSpec spec_;
  Napi::FunctionReference on_progress_;
  Napi::ObjectReference callback_error_;
  std::vector<EpochRecord> history_;
  std::exception_ptr error_;  // converted on the JS thread

  struct Teardown {
    std::shared_ptr<TrainingDriver> driver;
  };
  static void abort_on_teardown(void* arg) { static_cast<Teardown*>(arg)->driver->abort(); }
  Teardown teardown_;
  bool hooked_ = false;
};

class EvaluateWorker : public Napi::AsyncWorker {
 public:
  EvaluateWorker(Napi::Env env, std::shared_ptr<TrainingDriver> driver, DriverDataset data, int batch, float scale,
                 float shift, std::unique_ptr<BusyHold> hold, std::shared_ptr<std::atomic<bool>> running)
      : Napi::AsyncWorker(env, "tinynn.evaluate"),
        settlement_(env, std::move(hold), std::move(running)),
        driver_(std::move(driver)),
        data_(std::move(data)),
        batch_(batch),
        scale_(scale),
        shift_(shift) {}

  Napi::Promise promise() const { return settlement_.promise(); }

  void Execute() override {
    try {
      result_ = driver_->evaluate(data_, batch_, scale_, shift_);
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  void OnOK() override {
    settlement_.settle([&](Napi::Promise::Deferred& d) {
      Napi::Env env = Env();
      if (error_) {
        d.Reject(make_js_error(env, error_).Value());
        return;
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("loss", result_.loss);
      o.Set("accuracy", result_.accuracy);
      d.Resolve(o);
    });
  }

  void OnError(const Napi::Error& e) override { settlement_.reject(e); }

 private:
  Settlement settlement_;
  std::shared_ptr<TrainingDriver> driver_;
  DriverDataset data_;
  int batch_;
  float scale_, shift_;
  EvalResult result_;
  std::exception_ptr error_;  // converted on the JS thread
};

}  // namespace

Napi::Promise queue_fit(Napi::Env env, std::shared_ptr<TrainingDriver> driver, FitSpec spec, Napi::Function on_progress,
                        std::unique_ptr<BusyHold> hold, std::shared_ptr<std::atomic<bool>> running) {
  auto* worker = new FitWorker(env, std::move(driver), std::move(spec), on_progress, std::move(hold), std::move(running));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Promise queue_evaluate(Napi::Env env, std::shared_ptr<TrainingDriver> driver, DriverDataset data, int batch,
                             float scale, float shift, std::unique_ptr<BusyHold> hold,
                             std::shared_ptr<std::atomic<bool>> running) {
  auto* worker = new EvaluateWorker(env, std::move(driver), std::move(data), batch, scale, shift, std::move(hold),
                                    std::move(running));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace tinynn::binding
