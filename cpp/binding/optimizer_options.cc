#include "cpp/binding/optimizer_options.h"

#include <string>

#include "cpp/binding/args.h"
#include "cpp/errors.h"

namespace tinynn::binding {

namespace {

double read_nonnegative(const Napi::Object& o, const char* name) {
  const double v = read_finite(o.Get(name), name);
  if (v < 0) throw RangeError(std::string(name) + " must be >= 0, got " + std::to_string(v));
  return v;
}

// A coefficient in [0, 1): beta1, beta2, alpha.
double read_coefficient(const Napi::Object& o, const char* name) {
  const double v = read_finite(o.Get(name), name);
  if (v < 0 || v >= 1) throw RangeError(std::string(name) + " must be in [0, 1), got " + std::to_string(v));
  return v;
}

}  // namespace

// { kind: 'sgd', lr, momentum, dampening, weightDecay, nesterov }
// { kind: 'adam', lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, amsgrad }
// { kind: 'rmsprop', lr, alpha, eps, weightDecay, momentum, centered }
OptimizerConfig read_optimizer_options(const Napi::Value& v) {
  if (!v.IsObject()) throw TypeError("optimizer options must be an object, got " + describe(v));
  Napi::Object o = v.As<Napi::Object>();
  const std::string kind = read_string(o.Get("kind"), "optimizer kind");
  OptimizerConfig c;
  if (kind == "sgd") {
    c.kind = OptimizerKind::Sgd;
    c.sgd.lr = static_cast<float>(read_finite(o.Get("lr"), "lr"));
    c.sgd.momentum = static_cast<float>(read_finite(o.Get("momentum"), "momentum"));
    c.sgd.dampening = static_cast<float>(read_finite(o.Get("dampening"), "dampening"));
    c.sgd.weight_decay = static_cast<float>(read_finite(o.Get("weightDecay"), "weightDecay"));
    c.sgd.nesterov = read_bool(o.Get("nesterov"), "nesterov");
  } else if (kind == "adam") {
    c.kind = OptimizerKind::Adam;
    c.adam.lr = read_nonnegative(o, "lr");
    c.adam.beta1 = read_coefficient(o, "beta1");
    c.adam.beta2 = read_coefficient(o, "beta2");
    c.adam.eps = read_nonnegative(o, "eps");
    c.adam.weight_decay = read_nonnegative(o, "weightDecay");
    c.adam.decoupled_weight_decay = read_bool(o.Get("decoupledWeightDecay"), "decoupledWeightDecay");
    c.adam.amsgrad = read_bool(o.Get("amsgrad"), "amsgrad");
  } else if (kind == "rmsprop") {
    c.kind = OptimizerKind::RmsProp;
    c.rmsprop.lr = read_nonnegative(o, "lr");
    c.rmsprop.alpha = read_coefficient(o, "alpha");
    c.rmsprop.eps = read_nonnegative(o, "eps");
    c.rmsprop.weight_decay = read_nonnegative(o, "weightDecay");
    c.rmsprop.momentum = read_nonnegative(o, "momentum");
    c.rmsprop.centered = read_bool(o.Get("centered"), "centered");
  } else {
    throw RangeError("optimizer kind must be 'sgd', 'adam' or 'rmsprop', got '" + kind + "'");
  }
  return c;
}

}  // namespace tinynn::binding
