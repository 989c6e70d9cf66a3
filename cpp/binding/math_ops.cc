#include "cpp/binding/math_ops.h"

#include <string>
#include <vector>

#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/op_args.h"
#include "cpp/binding/op_names.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/devices.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

// An op parameter: any number but NaN (a clamp bound may be infinite).
float read_param(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw TypeError(std::string(what) + " must be a number, got " + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != d) throw RangeError(std::string(what) + " must not be NaN");
  return static_cast<float>(d);
}

// unary(x, op, a, b) → op(x).
Napi::Value unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_float_tensor(info[0], "input");
    const UnaryOp op = read_unary_op(info[1]);
    const float a = read_param(info[2], "a"), b = read_param(info[3], "b");
    TensorData y = make_tensor(x.backend(), x.shape, DType::F32);
    x.backend().unary(op, x.ptr<float>(), y.ptr<float>(), x.numel(), a, b);
    return TensorWrap::wrap(env, std::move(y));
  });
}

// binary(a, b, op, param) → op(a, b), shapes broadcast.
Napi::Value binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& a = read_float_tensor(info[0], "a");
    TensorData& b = read_float_tensor(info[1], "b");
    require_same_device(a, "a", b, "b");
    const BinaryOp op = read_binary_op(info[2]);
    const float param = static_cast<float>(read_finite(info[3], "param"));
    const Broadcast bc = broadcast_shapes(a.shape.data(), static_cast<int>(a.shape.size()), b.shape.data(),
                                          static_cast<int>(b.shape.size()));
    TensorData out = make_tensor(a.backend(), std::vector<int64_t>(bc.shape, bc.shape + bc.rank), DType::F32);
    a.backend().binary(op, a.ptr<float>(), b.ptr<float>(), out.ptr<float>(), bc, param);
    return TensorWrap::wrap(env, std::move(out));
  });
}

// reduce(x, op, dim | null, keepdim) → the reduction along dim (every element when null).
Napi::Value reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_float_tensor(info[0], "input");
    const ReduceOp op = read_reduce_op(info[1]);
    const bool keepdim = read_bool(info[3], "keepdim");
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    int64_t outer = 1, len = static_cast<int64_t>(x.numel()), inner = 1;
    std::vector<int64_t> shape;
    if (present(info[2])) {
      int64_t d = read_int(info[2], "dim", -rank, rank - 1);
      if (d < 0) d += rank;
      len = x.shape[d];
      for (int64_t i = 0; i < d; ++i) outer *= x.shape[i];
      for (int64_t i = d + 1; i < rank; ++i) inner *= x.shape[i];
      shape = x.shape;
      if (keepdim) shape[d] = 1;
      else shape.erase(shape.begin() + d);
    } else if (keepdim) {
      shape.assign(x.shape.size(), 1);
    }
    if (len == 0 && (op == ReduceOp::Max || op == ReduceOp::Min)) {
      throw RangeError("max/min of an empty dimension is undefined");
    }
    TensorData out = make_tensor(x.backend(), shape, DType::F32);
    x.backend().reduce(op, x.ptr<float>(), out.ptr<float>(), outer, len, inner, false);
    return TensorWrap::wrap(env, std::move(out));
  });
}

// logSoftmax(x [B, C]) → log_softmax over each row.
Napi::Value log_softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input", DType::F32, 2);
    TensorData out = make_tensor(x.backend(), x.shape, DType::F32);
    x.backend().softmax(x.ptr<float>(), dim(x, 0), dim(x, 1), out.ptr<float>(), true);
    return TensorWrap::wrap(env, std::move(out));
  });
}

// mse(pred, target, wantGrad) → { loss, dpred | null }.
Napi::Value mse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& pred = read_float_tensor(info[0], "input");
    TensorData& target = read_float_tensor(info[1], "target");
    require_same_device(pred, "input", target, "target");
    if (pred.shape != target.shape) shape_error("mse: target", shape_string(pred.shape), target);
    const bool want_grad = read_bool(info[2], "wantGrad");
    Backend& be = pred.backend();
    TensorData loss = make_tensor(be, {}, DType::F32);
    TensorData dpred;
    if (want_grad) dpred = make_tensor(be, pred.shape, DType::F32);
    be.mse(pred.ptr<float>(), target.ptr<float>(), pred.numel(), loss.ptr<float>(),
           want_grad ? dpred.ptr<float>() : nullptr);
    float host = 0.f;
    be.download(&host, loss.ptr<float>(), sizeof(host));
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", host);
    out.Set("dpred", want_grad ? Napi::Value(TensorWrap::wrap(env, std::move(dpred))) : env.Null());
    return out;
  });
}

// gatherRows(src [N, C], indices Int32Array) → src[indices] [B, C].
Napi::Value gather_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& src = read_tensor(info[0], "input", DType::F32, 2);
    Backend& be = src.backend();
    TensorData idx = upload_indices(info[1], dim(src, 0), be);
    TensorData out = make_tensor(be, {idx.shape[0], src.shape[1]}, DType::F32);
    be.gather_rows(src.ptr<float>(), dim(src, 1), idx.ptr<int32_t>(), dim(idx, 0), out.ptr<float>());
    be.synchronize();  // idx is freed when this call returns
    return TensorWrap::wrap(env, std::move(out));
  });
}

// bernoulliMask(shape, device, keep, scale, key0, key1) → scale with probability keep, else 0, drawn
// under the two 32-bit keys (the same keys give the same mask on every backend).
Napi::Value bernoulli_mask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    std::vector<int64_t> shape = read_shape(info[0], "shape");
    Backend& be = backend_for(parse_device(read_string(info[1], "device")));
    const double keep = read_finite(info[2], "keep");
    if (keep < 0 || keep > 1) throw RangeError("keep must be in [0, 1], got " + std::to_string(keep));
    const float scale = static_cast<float>(read_finite(info[3], "scale"));
    const auto key0 = static_cast<uint32_t>(read_int(info[4], "key0", 0, UINT32_MAX));
    const auto key1 = static_cast<uint32_t>(read_int(info[5], "key1", 0, UINT32_MAX));
    TensorData out = make_tensor(be, std::move(shape), DType::F32);
    be.bernoulli_mask(out.ptr<float>(), out.numel(), static_cast<float>(keep), scale, key0, key1);
    return TensorWrap::wrap(env, std::move(out));
  });
}

}  // namespace

void define_math_ops(Napi::Env env, Napi::Object ops) {
  ops.Set("unary", Napi::Function::New(env, unary, "unary"));
  ops.Set("binary", Napi::Function::New(env, binary, "binary"));
  ops.Set("reduce", Napi::Function::New(env, reduce, "reduce"));
  ops.Set("logSoftmax", Napi::Function::New(env, log_softmax, "logSoftmax"));
  ops.Set("mse", Napi::Function::New(env, mse, "mse"));
  ops.Set("gatherRows", Napi::Function::New(env, gather_rows, "gatherRows"));
  ops.Set("bernoulliMask", Napi::Function::New(env, bernoulli_mask, "bernoulliMask"));
}

}  // namespace tinynn::binding
