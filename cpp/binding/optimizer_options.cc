#include "cpp/binding/optimizer_options.h"

#include <string>

#include "cpp/binding/args.h"
#include "cpp/errors.h"

namespace tinynn::binding {

OptimizerConfig read_optimizer_options(const Napi::Value& v) {
  if (!v.IsObject()) throw TypeError("optimizer options must be an object, got " + describe(v));
  Napi::Object o = v.As<Napi::Object>();
  const std::string kind = read_string(o.Get("kind"), "optimizer kind");
  if (kind != "sgd") throw RangeError("optimizer kind must be 'sgd', got '" + kind + "'");
  OptimizerConfig c;
  c.kind = OptimizerKind::Sgd;
  c.sgd.lr = static_cast<float>(read_finite(o.Get("lr"), "lr"));
  c.sgd.momentum = static_cast<float>(read_finite(o.Get("momentum"), "momentum"));
  c.sgd.dampening = static_cast<float>(read_finite(o.Get("dampening"), "dampening"));
  c.sgd.weight_decay = static_cast<float>(read_finite(o.Get("weightDecay"), "weightDecay"));
  c.sgd.nesterov = read_bool(o.Get("nesterov"), "nesterov");
  return c;
}

}  // namespace tinynn::binding
