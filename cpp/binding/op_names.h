// The names JS uses for the op enums of cpp/backend.h ('relu', 'add', 'sum', ...).
#pragma once
#include <napi.h>

#include "cpp/backend.h"

namespace tinynn::binding {

UnaryOp read_unary_op(const Napi::Value& v);
BinaryOp read_binary_op(const Napi::Value& v);
ReduceOp read_reduce_op(const Napi::Value& v);
Activation read_activation(const Napi::Value& v);

}  // namespace tinynn::binding
