// Reads { lr, momentum, dampening, weightDecay, nesterov } into an SgdConfig, with range checks.
#pragma once
#include <napi.h>

#include "cpp/backend.h"

namespace tinynn::binding {

SgdConfig read_sgd_options(const Napi::Value& v);

}  // namespace tinynn::binding
