#include "cpp/binding/fused_ops.h"

#include <string>

#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/op_args.h"
#include "cpp/binding/sgd_options.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

// A momentum buffer argument for the fused SGD ops: null when momentum is 0, else a float32
// tensor shaped like its parameter on the parameter's device.
float* read_momentum(const Napi::Value& v, const SgdConfig& config, const TensorData& param, const std::string& what) {
  if (config.momentum == 0.f) return nullptr;
  TensorData& m = read_tensor(v, what.c_str());
  if (m.shape != param.shape || m.dtype != DType::F32) shape_error(what, shape_string(param.shape), m);
  require_same_device(param, "the parameter", m, what.c_str());
  return m.ptr<float>();
}

// The operands shared by the two head ops: (h [B,in], hBias [in] | null, reluInput, w [out,in],
// b [out], labels int32 [B], wantDh), checked, and their outputs allocated on h's device.
struct HeadCall {
  TensorData& h;
  TensorData* h_bias;
  bool relu_input;
  TensorData& w;
  TensorData& b;
  TensorData& labels;
  bool want_dh;
  int B, in, out;
  LossAndHits scalars;
  TensorData logits, dlogits, dw, db, dh, dh_bias;

  HeadCall(const Napi::CallbackInfo& info, const std::string& op)
      : h(read_tensor(info[0], "h", DType::F32, 2)),
        h_bias(present(info[1]) ? &read_tensor(info[1], "hBias", DType::F32, 1) : nullptr),
        relu_input(read_bool(info[2], "reluInput")),
        w(read_tensor(info[3], "weight", DType::F32, 2)),
        b(read_tensor(info[4], "bias", DType::F32, 1)),
        labels(read_tensor(info[5], "labels", DType::I32, 1)),
        want_dh(read_bool(info[6], "wantDh")),
        B(dim(h, 0)),
        in(dim(h, 1)),
        out(dim(w, 0)),
        scalars(check(op)) {
    logits = make_tensor(h.backend(), {B, out}, DType::F32);
    dlogits = make_tensor(h.backend(), {B, out}, DType::F32);
    dw = make_tensor(h.backend(), w.shape, DType::F32);
    db = make_tensor(h.backend(), b.shape, DType::F32);
    if (want_dh) dh = make_tensor(h.backend(), h.shape, DType::F32);
    if (want_dh && h_bias) dh_bias = make_tensor(h.backend(), {in}, DType::F32);
  }

  float* h_bias_ptr() const { return h_bias ? h_bias->ptr<float>() : nullptr; }
  float* dh_ptr() { return dh.storage ? dh.ptr<float>() : nullptr; }
  float* dh_bias_ptr() { return dh_bias.storage ? dh_bias.ptr<float>() : nullptr; }

  // { loss, correct, logits, dlogits, dw, db, dh | null, dhBias | null }
  Napi::Value to_js(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    scalars.to_js(o);
    o.Set("logits", TensorWrap::wrap(env, std::move(logits)));
    o.Set("dlogits", TensorWrap::wrap(env, std::move(dlogits)));
    o.Set("dw", TensorWrap::wrap(env, std::move(dw)));
    o.Set("db", TensorWrap::wrap(env, std::move(db)));
    o.Set("dh", dh.storage ? Napi::Value(TensorWrap::wrap(env, std::move(dh))) : env.Null());
    o.Set("dhBias", dh_bias.storage ? Napi::Value(TensorWrap::wrap(env, std::move(dh_bias))) : env.Null());
    return o;
  }

 private:
  // Validates the operands, then gives the backend for the scalars.
  Backend& check(const std::string& op) {
    for (const TensorData* t : {&w, &b, &labels}) require_same_device(h, "h", *t, "the other operands");
    if (dim(w, 1) != in) shape_error(op + ": weight", "[out, " + std::to_string(in) + "]", w);
    if (dim(b, 0) != out) shape_error(op + ": bias", "[" + std::to_string(out) + "]", b);
    if (dim(labels, 0) != B) shape_error(op + ": labels", "[" + std::to_string(B) + "]", labels);
    if (h_bias) {
      require_same_device(h, "h", *h_bias, "hBias");
      if (dim(*h_bias, 0) != in) shape_error(op + ": hBias", "[" + std::to_string(in) + "]", *h_bias);
    }
    check_labels(labels, out);
    return h.backend();
  }
};

// linearXentStep(h, hBias | null, reluInput, w, b, labels, wantDh) → { loss, correct, logits,
//   dlogits, dw, db, dh | null, dhBias | null }; h becomes act(h + hBias) in place when hBias is
//   given. The fused tail of a training step (Backend::linear_xent_step).
Napi::Value linear_xent_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    HeadCall c(info, "linearXentStep");
    c.h.backend().linear_xent_step(c.h.ptr<float>(), c.h_bias_ptr(), c.relu_input, c.w.ptr<float>(), c.b.ptr<float>(),
                                   c.labels.ptr<int32_t>(), c.B, c.in, c.out, c.logits.ptr<float>(),
                                   c.dlogits.ptr<float>(), c.scalars.loss(), c.scalars.correct(), c.dw.ptr<float>(),
                                   c.db.ptr<float>(), c.dh_ptr(), c.dh_bias_ptr());
    return c.to_js(env);
  });
}

// linearXentSgdStep(h, hBias | null, reluInput, w, b, labels, wantDh, momentumBuffers [w, b, hBias],
//   options, firstStep) → as linearXentStep; then one SGD step of w, b (and of hBias with dhBias when
//   both are there) in place (Backend::linear_xent_sgd_step).
Napi::Value linear_xent_sgd_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    HeadCall c(info, "linearXentSgdStep");
    if (!info[7].IsArray() || info[7].As<Napi::Array>().Length() != 3) {
      throw TypeError("momentumBuffers must be an array [w, b, hBias] (entries null when momentum is 0), got " +
                      describe(info[7]));
    }
    Napi::Array bufs = info[7].As<Napi::Array>();
    SgdConfig config = read_sgd_options(info[8]);
    bool first = read_bool(info[9], "firstStep");
    float* w_m = read_momentum(bufs.Get(0u), config, c.w, "momentumBuffers[0]");
    float* b_m = read_momentum(bufs.Get(1u), config, c.b, "momentumBuffers[1]");
    float* h_bias_m = c.h_bias && c.want_dh ? read_momentum(bufs.Get(2u), config, *c.h_bias, "momentumBuffers[2]") : nullptr;
    c.h.backend().linear_xent_sgd_step(
        c.h.ptr<float>(), c.h_bias_ptr(), c.relu_input, c.w.ptr<float>(), c.b.ptr<float>(), c.labels.ptr<int32_t>(), c.B,
        c.in, c.out, c.logits.ptr<float>(), c.dlogits.ptr<float>(), c.scalars.loss(), c.scalars.correct(),
        c.dw.ptr<float>(), c.db.ptr<float>(), c.dh_ptr(), c.dh_bias_ptr(), w_m, b_m, h_bias_m, config, first);
    return c.to_js(env);
  });
}

// gatherLinear(images u8 [N,F], labels u8 [N], indices Int32Array, scale, shift, w [out,F], b | null, relu)
//   → { x, y, h }: the batch gather and h = act(x·wᵀ + b) in one call (Backend::gather_linear).
Napi::Value gather_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    GatherSource src = read_gather_source(info[0], info[1]);
    float scale = static_cast<float>(read_finite(info[3], "scale"));
    float shift = static_cast<float>(read_finite(info[4], "shift"));
    TensorData& w = read_tensor(info[5], "weight", DType::F32, 2);
    bool relu = read_bool(info[7], "relu");
    require_same_device(src.images, "images", w, "weight");
    const int F = dim(src.images, 1), out = dim(w, 0);
    if (dim(w, 1) != F) shape_error("gatherLinear: weight", "[out, " + std::to_string(F) + "]", w);
    const float* bias = nullptr;
    if (present(info[6])) {
      TensorData& b = read_tensor(info[6], "bias", DType::F32, 1);
      require_same_device(src.images, "images", b, "bias");
      if (dim(b, 0) != out) shape_error("gatherLinear: bias", "[" + std::to_string(out) + "]", b);
      bias = b.ptr<float>();
    }
    Backend& be = src.images.backend();
    TensorData idx = upload_indices(info[2], dim(src.images, 0), be);
    const int B = dim(idx, 0);
    TensorData x = make_tensor(be, {B, F}, DType::F32);
    TensorData y = make_tensor(be, {B}, DType::I32);
    TensorData h = make_tensor(be, {B, out}, DType::F32);
    be.gather_linear(src.images.ptr<uint8_t>(), src.labels.ptr<uint8_t>(), F, idx.ptr<int32_t>(), B, scale, shift,
                     w.ptr<float>(), out, GemmEpilogue{bias, relu}, x.ptr<float>(), y.ptr<int32_t>(), h.ptr<float>());
    be.synchronize();  // idx is freed when this call returns
    Napi::Object o = Napi::Object::New(env);
    o.Set("x", TensorWrap::wrap(env, std::move(x)));
    o.Set("y", TensorWrap::wrap(env, std::move(y)));
    o.Set("h", TensorWrap::wrap(env, std::move(h)));
    return o;
  });
}

// linearGradSgd(dy [B,out], x [B,in], w [out,in], momentumBuffer | null, options, firstStep) → dw:
//   dw = dyᵀ·x, then one SGD step of w in place (Backend::linear_grad_sgd).
Napi::Value linear_grad_sgd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& dy = read_tensor(info[0], "grad_output", DType::F32, 2);
    TensorData& x = read_tensor(info[1], "input", DType::F32, 2);
    TensorData& w = read_tensor(info[2], "weight", DType::F32, 2);
    SgdConfig config = read_sgd_options(info[4]);
    bool first = read_bool(info[5], "firstStep");
    require_same_device(x, "input", dy, "grad_output");
    require_same_device(x, "input", w, "weight");
    int B = dim(x, 0), in = dim(w, 1), out = dim(w, 0);
    if (dim(x, 1) != in) shape_error("linearGradSgd: input", "[B, " + std::to_string(in) + "]", x);
    if (dim(dy, 0) != B || dim(dy, 1) != out) shape_error("linearGradSgd: grad_output", shape_string({B, out}), dy);
    float* w_m = read_momentum(info[3], config, w, "momentumBuffer");
    Backend& be = x.backend();
    TensorData dw = make_tensor(be, w.shape, DType::F32);
    be.linear_grad_sgd(dy.ptr<float>(), x.ptr<float>(), B, in, out, dw.ptr<float>(), w.ptr<float>(), w_m, config,
                       first);
    return TensorWrap::wrap(env, std::move(dw));
  });
}

}  // namespace

void define_fused_ops(Napi::Env env, Napi::Object ops) {
  ops.Set("linearXentStep", Napi::Function::New(env, linear_xent_step, "linearXentStep"));
  ops.Set("linearXentSgdStep", Napi::Function::New(env, linear_xent_sgd_step, "linearXentSgdStep"));
  ops.Set("gatherLinear", Napi::Function::New(env, gather_linear, "gatherLinear"));
  ops.Set("linearGradSgd", Napi::Function::New(env, linear_grad_sgd, "linearGradSgd"));
}

}  // namespace tinynn::binding
