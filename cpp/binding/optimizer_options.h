// Reads an optimizer's options from JS: { kind: 'sgd', lr, momentum, dampening, weightDecay,
// nesterov }. The public API (lib/optim) validates them; this parses.
#pragma once
#include <napi.h>

#include "cpp/backend.h"

namespace tinynn::binding {

OptimizerConfig read_optimizer_options(const Napi::Value& v);

}  // namespace tinynn::binding
