#include "cpp/binding/math_ops.h"

#include <climits>
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

// mse(pred, target, wantGrad) → { loss: 0-d tensor on pred's device, dpred | null }.
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
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", TensorWrap::wrap(env, std::move(loss)));
    out.Set("dpred", want_grad ? Napi::Value(TensorWrap::wrap(env, std::move(dpred))) : env.Null());
    return out;
  });
}

// gatherRows(src [N, C] or [N], float32 or int32, indices Int32Array) → src[indices] ([B, C] or
// [B]), rows copied bit for bit. Nothing waits for the device: the uploaded indices are freed in
// the queue's order.
Napi::Value gather_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& src = read_tensor(info[0], "input");
    if (src.dtype == DType::U8) throw TypeError("gatherRows: input must be float32 or int32, got uint8");
    if (src.shape.size() != 1 && src.shape.size() != 2) {
      throw RangeError("gatherRows: input must be [N] or [N, C], got " + shape_string(src.shape));
    }
    Backend& be = src.backend();
    TensorData idx = upload_indices(info[1], dim(src, 0), be);
    const int cols = src.shape.size() == 2 ? dim(src, 1) : 1;
    std::vector<int64_t> shape = src.shape;
    shape[0] = idx.shape[0];
    TensorData out = make_tensor(be, shape, src.dtype);
    // Both dtypes are 4-byte values, moved without arithmetic.
    be.gather_rows(static_cast<const float*>(src.storage->data()), cols, idx.ptr<int32_t>(), dim(idx, 0),
                   static_cast<float*>(out.storage->data()));
    return TensorWrap::wrap(env, std::move(out));
  });
}

// oneHot(labels int32 [B], classes) → float32 [B, classes] on the labels' device; labels held on
// the CPU must be classes (RangeError), a GPU's out-of-range label gives a NaN row.
Napi::Value one_hot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& labels = read_tensor(info[0], "labels", DType::I32, 1);
    const int classes = static_cast<int>(read_int(info[1], "classes", 1, INT32_MAX));
    check_host_labels(labels, classes);
    Backend& be = labels.backend();
    TensorData out = make_tensor(be, {labels.shape[0], classes}, DType::F32);
    be.one_hot(labels.ptr<int32_t>(), dim(labels, 0), classes, out.ptr<float>());
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
  ops.Set("oneHot", Napi::Function::New(env, one_hot, "oneHot"));
}

}  // namespace tinynn::binding
