#include "cpp/binding/driver_wrap.h"

#include <string>

#include "cpp/binding/args.h"
#include "cpp/binding/driver_workers.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/op_names.h"
#include "cpp/binding/optimizer_options.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

// Reads { images: uint8 [N, F], labels: uint8 [N] } on `device`. The labels were checked against
// the model's classes by the public API (lib/trainer.ts).
// A dataset for the driver: u8 images [n, F] with u8 labels [n]; or float32 features [n, F] with
// int32 labels [n], or float32 targets [n] / [n, K].
DriverDataset read_dataset(const Napi::Value& images_v, const Napi::Value& labels_v, const char* what,
                           const Device& device) {
  const std::string name(what);
  TensorData& images = read_tensor(images_v, (name + " images").c_str());
  TensorData& labels = read_tensor(labels_v, (name + " labels").c_str());
  if (images.device() != device || labels.device() != device) {
    throw TypeError(name + " data is on " + images.device().name() + " but the model is on " + device.name());
  }
  if (images.shape.size() != 2 || images.dtype == DType::I32) {
    throw TypeError(name + " images must be u8 or float32 [n, features], got " + dtype_name(images.dtype) + " " +
                    shape_string(images.shape));
  }
  DriverDataset d{images.storage, labels.storage, static_cast<int>(images.shape[0]), static_cast<int>(images.shape[1])};
  if (images.dtype == DType::U8) {
    if (labels.dtype != DType::U8 || labels.shape.size() != 1) {
      throw TypeError(name + " labels of u8 images must be u8 [n], got " + dtype_name(labels.dtype) + " " + shape_string(labels.shape));
    }
  } else {
    d.input = InputKind::Floats;
    if (labels.dtype == DType::F32 && (labels.shape.size() == 1 || labels.shape.size() == 2)) {
      d.target_width = labels.shape.size() == 2 ? static_cast<int>(labels.shape[1]) : 1;
    } else if (labels.dtype != DType::I32 || labels.shape.size() != 1) {
      throw TypeError(name + " labels of float features must be int32 [n] or float32 targets [n] / [n, K], got " +
                      dtype_name(labels.dtype) + " " + shape_string(labels.shape));
    }
  }
  if (labels.shape[0] != images.shape[0]) {
    throw RangeError(name + " has " + std::to_string(images.shape[0]) + " images but " + std::to_string(labels.shape[0]) +
                     " labels");
  }
  return d;
}

void claim(std::atomic<bool>& running) {
  bool expected = false;
  if (!running.compare_exchange_strong(expected, true)) {
    throw RuntimeError("this model is already training or evaluating; wait for that to finish");
  }
}

// An optimizer state tensor of `param`'s size and device.
std::shared_ptr<Storage> read_state(const Napi::Value& v, const std::string& what, const TensorData& param) {
  TensorData& s = read_tensor(v, what.c_str());
  if (s.dtype != DType::F32 || s.shape != param.shape) {
    throw RangeError(what + " must be float32 " + shape_string(param.shape) + ", got " + dtype_name(s.dtype) + " " +
                     shape_string(s.shape));
  }
  require_same_device(param, "its parameter", s, what.c_str());
  return s.storage;
}

}  // namespace

Napi::Function DriverWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeDriver",
                     {InstanceMethod<&DriverWrap::fit>("fit"), InstanceMethod<&DriverWrap::evaluate>("evaluate"),
                      InstanceMethod<&DriverWrap::abort>("abort"),
                      InstanceMethod<&DriverWrap::stop_after_epoch>("stopAfterEpoch"),
                      InstanceAccessor<&DriverWrap::executor>("executor")});
}

// new NativeDriver({ layers: [{ weight, bias, activation, slope, weightState: [], biasState: [] }],
//                    loss: 'crossEntropy', optimizer: { kind, ... }, steps: int32 cpu [2·layers],
//                    fusion: boolean, cudaClusterLayer1: boolean, tf32: boolean })
DriverWrap::DriverWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DriverWrap>(info) {
  guard(info.Env(), [&] {
    if (!info[0].IsObject()) throw TypeError("driver options must be an object, got " + describe(info[0]));
    Napi::Object o = info[0].As<Napi::Object>();
    if (!o.Get("layers").IsArray()) throw TypeError("layers must be an array");
    Napi::Array layers = o.Get("layers").As<Napi::Array>();
    DriverModel model;
    model.plan.optimizer = read_optimizer_options(o.Get("optimizer"));
    const std::string loss = read_string(o.Get("loss"), "loss");
    if (loss != "crossEntropy" && loss != "mse") throw RangeError("loss must be 'crossEntropy' or 'mse', got '" + loss + "'");
    model.plan.loss = loss == "mse" ? LossKind::Mse : LossKind::CrossEntropy;
    const Napi::Value input = o.Get("input");
    const std::string input_kind = input.IsUndefined() ? "bytes" : read_string(input, "input");
    if (input_kind != "bytes" && input_kind != "floats") throw RangeError("input must be 'bytes' or 'floats', got '" + input_kind + "'");
    model.plan.input = input_kind == "floats" ? InputKind::Floats : InputKind::Bytes;
    if (model.plan.loss == LossKind::Mse && model.plan.input != InputKind::Floats) {
      throw RangeError("the MSE loss needs float features and targets (input 'floats')");
    }
    const int states = model.plan.optimizer.state_count();
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
      LayerPlan lp;
      lp.in = static_cast<int>(w.shape[1]);
      lp.out = static_cast<int>(w.shape[0]);
      lp.activation = read_activation(l.Get("activation"));
      lp.slope = static_cast<float>(read_finite(l.Get("slope"), (n + ".slope").c_str()));
      model.plan.layers.push_back(lp);
      DriverLayer dl;
      dl.weight = w.storage;
      dl.bias = b.storage;
      held_.push_back(w.storage);
      held_.push_back(b.storage);
      Napi::Value ws = l.Get("weightState"), bs = l.Get("biasState");
      if (!ws.IsArray() || !bs.IsArray()) throw TypeError(n + ".weightState and .biasState must be arrays");
      Napi::Array wsa = ws.As<Napi::Array>(), bsa = bs.As<Napi::Array>();
      if (static_cast<int>(wsa.Length()) != states || static_cast<int>(bsa.Length()) != states) {
        throw RangeError(n + ": the optimizer needs " + std::to_string(states) + " state tensors per parameter");
      }
      for (int k = 0; k < states; ++k) {
        dl.weight_state[k] = read_state(wsa.Get(k), n + ".weightState[" + std::to_string(k) + "]", w);
        dl.bias_state[k] = read_state(bsa.Get(k), n + ".biasState[" + std::to_string(k) + "]", b);
        held_.push_back(dl.weight_state[k]);
        held_.push_back(dl.bias_state[k]);
      }
      model.layers.push_back(dl);
    }
    if (!first) throw RangeError("the model has no Linear layers");
    TensorData& steps = read_tensor(o.Get("steps"), "steps", DType::I32, 1);
    if (steps.device().kind != DeviceKind::Cpu || steps.numel() != 2 * model.layers.size()) {
      throw RangeError("steps must be an int32 cpu tensor of " + std::to_string(2 * model.layers.size()) + " counts");
    }
    model.steps = steps.storage;
    held_.push_back(steps.storage);
    device_ = first->device();
    FusionOptions fusion;
    fusion.enabled = read_bool(o.Get("fusion"), "fusion");
    fusion.cuda_cluster_layer1 = read_bool(o.Get("cudaClusterLayer1"), "cudaClusterLayer1");
    QueueOptions queue;
    queue.tf32 = read_bool(o.Get("tf32"), "tf32");
    driver_ = std::make_shared<TrainingDriver>(first->backend(), std::move(model), fusion, queue);
  });
}

// The model's tensors and `extra` held for the duration of a fit or evaluate.
std::unique_ptr<BusyHold> DriverWrap::hold(std::vector<std::shared_ptr<Storage>> extra) const {
  for (auto& s : held_) {
    if (s->busy.load() > 0) throw RuntimeError("this model is already training; wait for its fit() to finish");
  }
  extra.insert(extra.end(), held_.begin(), held_.end());
  return std::make_unique<BusyHold>(std::move(extra));
}

// fit({ images, labels, epochs, batchSize, shuffle, seed, dropLast, scale, shift, validation,
//       progressEvery }, onProgress) → Promise<EpochRecord[]>
Napi::Value DriverWrap::fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw TypeError("fit options must be an object, got " + describe(info[0]));
    Napi::Object o = info[0].As<Napi::Object>();
    FitSpec spec;
    spec.train = read_dataset(o.Get("images"), o.Get("labels"), "training", device_);
    spec.epochs = static_cast<int>(read_int(o.Get("epochs"), "epochs", 1, 1000000));
    const Napi::Value first = o.Get("firstEpoch");
    spec.first_epoch = first.IsUndefined() ? 0 : static_cast<int>(read_int(first, "firstEpoch", 0, 1000000));
    spec.batch_size = static_cast<int>(read_int(o.Get("batchSize"), "batchSize", 1, 1 << 20));
    spec.shuffle = read_bool(o.Get("shuffle"), "shuffle");
    spec.seed = static_cast<uint64_t>(read_int(o.Get("seed"), "seed", 0, int64_t{1} << 53));
    spec.drop_last = read_bool(o.Get("dropLast"), "dropLast");
    spec.scale = static_cast<float>(read_finite(o.Get("scale"), "scale"));
    spec.shift = static_cast<float>(read_finite(o.Get("shift"), "shift"));
    spec.progress_every = static_cast<int>(read_int(o.Get("progressEvery"), "progressEvery", 1, 1 << 20));
    std::vector<std::shared_ptr<Storage>> data = {spec.train.images, spec.train.labels};
    Napi::Value val = o.Get("validation");
    if (!val.IsNull() && !val.IsUndefined()) {
      Napi::Object v = val.As<Napi::Object>();
      spec.validation = read_dataset(v.Get("images"), v.Get("labels"), "validation", device_);
      data.push_back(spec.validation->images);
      data.push_back(spec.validation->labels);
    }
    Napi::Function on_progress = info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function();
    std::unique_ptr<BusyHold> held = hold(std::move(data));
    claim(*running_);
    driver_->clear_abort();
    return queue_fit(env, driver_, std::move(spec), on_progress, std::move(held), running_);
  });
}

// evaluate(images, labels, batchSize, scale, shift) → Promise<{ loss, accuracy }>
Napi::Value DriverWrap::evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    DriverDataset data = read_dataset(info[0], info[1], "evaluation", device_);
    int batch = static_cast<int>(read_int(info[2], "batchSize", 1, 1 << 20));
    float scale = static_cast<float>(read_finite(info[3], "scale"));
    float shift = static_cast<float>(read_finite(info[4], "shift"));
    std::unique_ptr<BusyHold> held = hold({data.images, data.labels});
    claim(*running_);
    return queue_evaluate(env, driver_, std::move(data), batch, scale, shift, std::move(held), running_);
  });
}

Napi::Value DriverWrap::abort(const Napi::CallbackInfo& info) {
  driver_->abort();
  return info.Env().Undefined();
}

Napi::Value DriverWrap::stop_after_epoch(const Napi::CallbackInfo& info) {
  driver_->stop_after_epoch();
  return info.Env().Undefined();
}

Napi::Value DriverWrap::executor(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), driver_->executor_name());
}

}  // namespace tinynn::binding
