#include "cpp/binding/sgd_options.h"

#include <string>

#include "cpp/binding/args.h"
#include "cpp/errors.h"

namespace tinynn::binding {

SgdConfig read_sgd_options(const Napi::Value& v) {
  if (!v.IsObject()) throw TypeError("SGD options must be an object, got " + describe(v));
  Napi::Object o = v.As<Napi::Object>();
  SgdConfig c;
  c.lr = static_cast<float>(read_finite(o.Get("lr"), "lr"));
  c.momentum = static_cast<float>(read_finite(o.Get("momentum"), "momentum"));
  c.dampening = static_cast<float>(read_finite(o.Get("dampening"), "dampening"));
  c.weight_decay = static_cast<float>(read_finite(o.Get("weightDecay"), "weightDecay"));
  c.nesterov = read_bool(o.Get("nesterov"), "nesterov");
  if (c.lr < 0) throw RangeError("lr must be >= 0, got " + std::to_string(c.lr));
  if (c.momentum < 0) throw RangeError("momentum must be >= 0, got " + std::to_string(c.momentum));
  if (c.weight_decay < 0) throw RangeError("weightDecay must be >= 0, got " + std::to_string(c.weight_decay));
  if (c.nesterov && (c.momentum <= 0 || c.dampening != 0)) {
    throw RangeError("nesterov momentum requires momentum > 0 and dampening 0");
  }
  return c;
}

}  // namespace tinynn::binding
