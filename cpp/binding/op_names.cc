#include "cpp/binding/op_names.h"

#include <string>
#include <utility>

#include "cpp/binding/args.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

template <typename Enum, size_t N>
Enum lookup(const Napi::Value& v, const char* what, const std::pair<const char*, Enum> (&names)[N]) {
  const std::string name = read_string(v, what);
  std::string known;
  for (const auto& [n, e] : names) {
    if (name == n) return e;
    known += (known.empty() ? "'" : ", '") + std::string(n) + "'";
  }
  throw RangeError(std::string(what) + " must be one of " + known + "; got '" + name + "'");
}

}  // namespace

UnaryOp read_unary_op(const Napi::Value& v) {
  static const std::pair<const char*, UnaryOp> names[] = {
      {"neg", UnaryOp::Neg},         {"exp", UnaryOp::Exp},     {"log", UnaryOp::Log},
      {"sqrt", UnaryOp::Sqrt},       {"abs", UnaryOp::Abs},     {"relu", UnaryOp::Relu},
      {"leakyRelu", UnaryOp::LeakyRelu}, {"sigmoid", UnaryOp::Sigmoid}, {"tanh", UnaryOp::Tanh},
      {"gelu", UnaryOp::Gelu},       {"pow", UnaryOp::Pow},     {"clamp", UnaryOp::Clamp},
      {"affine", UnaryOp::Affine}};
  return lookup(v, "unary op", names);
}

BinaryOp read_binary_op(const Napi::Value& v) {
  static const std::pair<const char*, BinaryOp> names[] = {
      {"add", BinaryOp::Add},
      {"sub", BinaryOp::Sub},
      {"mul", BinaryOp::Mul},
      {"div", BinaryOp::Div},
      {"pow", BinaryOp::Pow},
      {"maximum", BinaryOp::Maximum},
      {"minimum", BinaryOp::Minimum},
      {"eq", BinaryOp::Eq},
      {"gt", BinaryOp::Gt},
      {"lt", BinaryOp::Lt},
      {"reluGrad", BinaryOp::ReluGrad},
      {"leakyReluGrad", BinaryOp::LeakyReluGrad},
      {"sigmoidGrad", BinaryOp::SigmoidGrad},
      {"tanhGrad", BinaryOp::TanhGrad},
      {"geluGrad", BinaryOp::GeluGrad}};
  return lookup(v, "binary op", names);
}

ReduceOp read_reduce_op(const Napi::Value& v) {
  static const std::pair<const char*, ReduceOp> names[] = {
      {"sum", ReduceOp::Sum}, {"mean", ReduceOp::Mean}, {"max", ReduceOp::Max}, {"min", ReduceOp::Min}};
  return lookup(v, "reduce op", names);
}

Activation read_activation(const Napi::Value& v) {
  static const std::pair<const char*, Activation> names[] = {
      {"none", Activation::None},       {"relu", Activation::Relu}, {"leakyRelu", Activation::LeakyRelu},
      {"sigmoid", Activation::Sigmoid}, {"tanh", Activation::Tanh}, {"gelu", Activation::Gelu}};
  return lookup(v, "activation", names);
}

}  // namespace tinynn::binding
