#include "cpp/binding/driver_wrap.h"

#include <string>

#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/sgd_options.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

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

// An exception from the worker thread, rebuilt as the matching JS error on the JS thread.
struct WorkerError {
  enum Kind { None, Type, Range, Runtime, Abort } kind = None;
  std::string message;

  void capture() {
    try {
      throw;
    } catch (const Aborted& e) {
      set(Abort, e.what());
    } catch (const TypeError& e) {
      set(Type, e.what());
    } catch (const RangeError& e) {
      set(Range, e.what());
    } catch (const std::exception& e) {
      set(Runtime, e.what());
    } catch (...) {
      set(Runtime, "unknown native error");
    }
  }
  void set(Kind k, std::string m) {
    kind = k;
    message = std::move(m);
  }
  Napi::Value to_js(Napi::Env env) const {
    switch (kind) {
      case Type: return Napi::TypeError::New(env, message).Value();
      case Range: return Napi::RangeError::New(env, message).Value();
      case Abort: {
        Napi::Error e = Napi::Error::New(env, message);
        e.Set("name", Napi::String::New(env, "AbortError"));
        e.Set("code", Napi::String::New(env, "ABORT_ERR"));
        return e.Value();
      }
      default: return Napi::Error::New(env, message).Value();
    }
  }
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
      error_.capture();
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
      } else if (error_.kind != WorkerError::None) {
        d.Reject(error_.to_js(env));
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
  WorkerError error_;

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
      error_.capture();
    }
  }

  void OnOK() override {
    settlement_.settle([&](Napi::Promise::Deferred& d) {
      Napi::Env env = Env();
      if (error_.kind != WorkerError::None) {
        d.Reject(error_.to_js(env));
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
  WorkerError error_;
};

// Reads { images: uint8 [N, F], labels: uint8 [N] } on `device`, labels checked against `classes`.
DriverDataset read_dataset(const Napi::Value& images_v, const Napi::Value& labels_v, const char* what,
                           const Device& device, int classes) {
  TensorData& images = read_tensor(images_v, (std::string(what) + " images").c_str(), DType::U8, 2);
  TensorData& labels = read_tensor(labels_v, (std::string(what) + " labels").c_str(), DType::U8, 1);
  if (images.device() != device || labels.device() != device) {
    throw TypeError(std::string(what) + " data is on " + images.device().name() + " but the model is on " + device.name());
  }
  if (labels.shape[0] != images.shape[0]) {
    throw RangeError(std::string(what) + " has " + std::to_string(images.shape[0]) + " images but " +
                     std::to_string(labels.shape[0]) + " labels");
  }
  std::vector<uint8_t> host(labels.numel());
  labels.backend().download(host.data(), labels.storage->data(), host.size());
  for (size_t i = 0; i < host.size(); ++i) {
    if (host[i] >= classes) {
      throw RangeError(std::string(what) + " label " + std::to_string(i) + " is " + std::to_string(host[i]) +
                       " but the model has " + std::to_string(classes) + " classes");
    }
  }
  return {images.storage, labels.storage, static_cast<int>(images.shape[0]), static_cast<int>(images.shape[1])};
}

void claim(std::atomic<bool>& running) {
  bool expected = false;
  if (!running.compare_exchange_strong(expected, true)) {
    throw RuntimeError("this model is already training or evaluating; wait for that to finish");
  }
}

}  // namespace

Napi::Function DriverWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeDriver",
                     {InstanceMethod<&DriverWrap::fit>("fit"), InstanceMethod<&DriverWrap::evaluate>("evaluate"),
                      InstanceMethod<&DriverWrap::abort>("abort"),
                      InstanceAccessor<&DriverWrap::momentum_initialized>("momentumInitialized")});
}

// new NativeDriver({ layers: [{ weight, bias, relu }], momentumBuffers, sgd, momentumInitialized })
DriverWrap::DriverWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DriverWrap>(info) {
  guard(info.Env(), [&] {
    if (!info[0].IsObject()) throw TypeError("driver options must be an object, got " + describe(info[0]));
    Napi::Object o = info[0].As<Napi::Object>();
    if (!o.Get("layers").IsArray()) throw TypeError("layers must be an array");
    Napi::Array layers = o.Get("layers").As<Napi::Array>();
    DriverModel model;
    model.sgd = read_sgd_options(o.Get("sgd"));
    model.momentum_initialized = read_bool(o.Get("momentumInitialized"), "momentumInitialized");
    const TensorData* first = nullptr;
    for (uint32_t i = 0; i < layers.Length(); ++i) {
      Napi::Object l = layers.Get(i).As<Napi::Object>();
      std::string n = "layers[" + std::to_string(i) + "]";
      TensorData& w = read_tensor(l.Get("weight"), (n + ".weight").c_str(), DType::F32, 2);
      TensorData& b = read_tensor(l.Get("bias"), (n + ".bias").c_str(), DType::F32, 1);
      if (b.shape[0] != w.shape[0]) throw RangeError(n + ".bias must have shape [" + std::to_string(w.shape[0]) + "]");
      if (!first) first = &w;
      require_same_device(*first, "layers[0].weight", w, (n + ".weight").c_str());
      require_same_device(*first, "layers[0].weight", b, (n + ".bias").c_str());
      model.layers.push_back({w.storage, b.storage, static_cast<int>(w.shape[1]), static_cast<int>(w.shape[0]),
                              read_bool(l.Get("relu"), (n + ".relu").c_str())});
      params_.push_back(w.storage);
      params_.push_back(b.storage);
    }
    if (!first) throw RangeError("the model has no Linear layers");
    output_classes_ = model.layers.back().out;
    if (!o.Get("momentumBuffers").IsArray()) throw TypeError("momentumBuffers must be an array");
    Napi::Array bufs = o.Get("momentumBuffers").As<Napi::Array>();
    if (bufs.Length() != params_.size()) throw RangeError("momentumBuffers must have one entry per parameter");
    for (uint32_t i = 0; i < bufs.Length(); ++i) {
      if (model.sgd.momentum == 0.f) {
        model.momentum.push_back(nullptr);
        continue;
      }
      TensorData& m = read_tensor(bufs.Get(i), "momentum buffer", DType::F32, 2 - (i % 2));
      if (m.storage->bytes() != params_[i]->bytes()) throw RangeError("momentum buffer " + std::to_string(i) + " has the wrong size");
      require_same_device(*first, "layers[0].weight", m, "momentum buffer");
      model.momentum.push_back(m.storage);
    }
    for (auto& m : model.momentum) if (m) params_.push_back(m);
    driver_ = std::make_shared<TrainingDriver>(first->backend(), std::move(model));
  });
}

// fit(options, onProgress) → Promise<EpochRecord[]>
Napi::Value DriverWrap::fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw TypeError("fit options must be an object, got " + describe(info[0]));
    Napi::Object o = info[0].As<Napi::Object>();
    for (auto& p : params_) {
      if (p->busy.load() > 0) throw RuntimeError("this model is already training; wait for its fit() to finish");
    }
    const Device device = params_[0]->backend().device();
    FitSpec spec;
    spec.train = read_dataset(o.Get("images"), o.Get("labels"), "training", device, output_classes_);
    spec.epochs = static_cast<int>(read_int(o.Get("epochs"), "epochs", 1, 1000000));
    spec.batch_size = static_cast<int>(read_int(o.Get("batchSize"), "batchSize", 1, 1 << 20));
    spec.shuffle = read_bool(o.Get("shuffle"), "shuffle");
    spec.seed = static_cast<uint64_t>(read_int(o.Get("seed"), "seed", 0, int64_t{1} << 53));
    spec.drop_last = read_bool(o.Get("dropLast"), "dropLast");
    spec.scale = static_cast<float>(read_finite(o.Get("scale"), "scale"));
    spec.shift = static_cast<float>(read_finite(o.Get("shift"), "shift"));
    spec.progress_every = static_cast<int>(read_int(o.Get("progressEvery"), "progressEvery", 1, 1 << 20));
    std::vector<std::shared_ptr<Storage>> held = params_;
    held.push_back(spec.train.images);
    held.push_back(spec.train.labels);
    Napi::Value val = o.Get("validation");
    if (!val.IsNull() && !val.IsUndefined()) {
      Napi::Object v = val.As<Napi::Object>();
      spec.validation = read_dataset(v.Get("images"), v.Get("labels"), "validation", device, output_classes_);
      held.push_back(spec.validation->images);
      held.push_back(spec.validation->labels);
    }
    Napi::Function on_progress = info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function();
    claim(*running_);
    auto* worker = new FitWorker(env, driver_, std::move(spec), on_progress, std::make_unique<BusyHold>(held), running_);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

// evaluate(images, labels, batchSize, scale, shift) → Promise<{ loss, accuracy }>
Napi::Value DriverWrap::evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    for (auto& p : params_) {
      if (p->busy.load() > 0) throw RuntimeError("this model is training; wait for its fit() to finish");
    }
    const Device device = params_[0]->backend().device();
    DriverDataset data = read_dataset(info[0], info[1], "evaluation", device, output_classes_);
    int batch = static_cast<int>(read_int(info[2], "batchSize", 1, 1 << 20));
    float scale = static_cast<float>(read_finite(info[3], "scale"));
    float shift = static_cast<float>(read_finite(info[4], "shift"));
    std::vector<std::shared_ptr<Storage>> held = params_;
    held.push_back(data.images);
    held.push_back(data.labels);
    claim(*running_);
    auto* worker = new EvaluateWorker(env, driver_, std::move(data), batch, scale, shift,
                                      std::make_unique<BusyHold>(held), running_);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

Napi::Value DriverWrap::abort(const Napi::CallbackInfo& info) {
  driver_->abort();
  return info.Env().Undefined();
}

Napi::Value DriverWrap::momentum_initialized(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), driver_->momentum_initialized());
}

}  // namespace tinynn::binding
