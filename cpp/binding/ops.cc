#include "cpp/binding/ops.h"

#include <string>
#include <vector>

#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/math_ops.h"
#include "cpp/binding/shape_ops.h"
#include "cpp/binding/op_args.h"
#include "cpp/binding/optimizer_options.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/devices.h"
#include "cpp/errors.h"
#include "cpp/permutation.h"

namespace tinynn::binding {
namespace {

// gemm(a, b, c, transA, transB, alpha, beta): c = alpha·op(a)·op(b) + beta·c.
Napi::Value gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    TensorData& a = read_tensor(info[0], "a", DType::F32, 2);
    TensorData& b = read_tensor(info[1], "b", DType::F32, 2);
    TensorData& c = read_tensor(info[2], "c", DType::F32, 2);
    bool ta = read_bool(info[3], "transA");
    bool tb = read_bool(info[4], "transB");
    float alpha = static_cast<float>(read_finite(info[5], "alpha"));
    float beta = static_cast<float>(read_finite(info[6], "beta"));
    require_same_device(a, "a", b, "b");
    require_same_device(a, "a", c, "c");
    int M = ta ? dim(a, 1) : dim(a, 0), K = ta ? dim(a, 0) : dim(a, 1);
    int Kb = tb ? dim(b, 1) : dim(b, 0), N = tb ? dim(b, 0) : dim(b, 1);
    if (K != Kb) {
      throw RangeError("gemm: op(a) is " + std::to_string(M) + "x" + std::to_string(K) + " but op(b) is " +
                       std::to_string(Kb) + "x" + std::to_string(N) + "; inner sizes must match");
    }
    if (dim(c, 0) != M || dim(c, 1) != N) shape_error("gemm: c", shape_string({M, N}), c);
    a.backend().gemm(ta, tb, M, N, K, alpha, a.ptr<float>(), dim(a, 1), b.ptr<float>(), dim(b, 1), beta,
                     c.ptr<float>(), N, GemmEpilogue{});
  });
  return env.Undefined();
}

// linear(x [B,in], w [out,in], b [out] | null, relu) → y [B,out] = act(x·wᵀ + b).
Napi::Value linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input", DType::F32, 2);
    TensorData& w = read_tensor(info[1], "weight", DType::F32, 2);
    bool has_bias = !info[2].IsNull() && !info[2].IsUndefined();
    bool relu = read_bool(info[3], "relu");
    require_same_device(x, "input", w, "weight");
    int B = dim(x, 0), in = dim(w, 1), out = dim(w, 0);
    if (dim(x, 1) != in) {
      throw RangeError("linear: input must have shape [B, " + std::to_string(in) + "] to match weight " +
                       shape_string(w.shape) + ", got " + shape_string(x.shape));
    }
    const float* bias = nullptr;
    if (has_bias) {
      TensorData& b = read_tensor(info[2], "bias", DType::F32, 1);
      require_same_device(x, "input", b, "bias");
      if (dim(b, 0) != out) shape_error("linear: bias", "[" + std::to_string(out) + "]", b);
      bias = b.ptr<float>();
    }
    TensorData y = make_tensor(x.backend(), {B, out}, DType::F32);
    x.backend().gemm(false, true, B, out, in, 1.f, x.ptr<float>(), in, w.ptr<float>(), in, 0.f, y.ptr<float>(), out,
                     GemmEpilogue{bias, relu ? Activation::Relu : Activation::None});
    return TensorWrap::wrap(env, std::move(y));
  });
}

// linearBackward(x, w, dy, dw, db | null, accumulate, wantDx) → dx | null.
Napi::Value linear_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input", DType::F32, 2);
    TensorData& w = read_tensor(info[1], "weight", DType::F32, 2);
    TensorData& dy = read_tensor(info[2], "grad_output", DType::F32, 2);
    TensorData& dw = read_tensor(info[3], "weight.grad", DType::F32, 2);
    bool has_db = !info[4].IsNull() && !info[4].IsUndefined();
    bool accumulate = read_bool(info[5], "accumulate");
    bool want_dx = read_bool(info[6], "wantDx");
    int B = dim(x, 0), in = dim(w, 1), out = dim(w, 0);
    for (const TensorData* t : {&w, &dy, &dw}) require_same_device(x, "input", *t, "its gradients");
    if (dim(x, 1) != in) shape_error("linearBackward: input", "[B, " + std::to_string(in) + "]", x);
    if (dim(dy, 0) != B || dim(dy, 1) != out) shape_error("linearBackward: grad_output", shape_string({B, out}), dy);
    if (dw.shape != w.shape) shape_error("linearBackward: weight.grad", shape_string(w.shape), dw);
    Backend& be = x.backend();
    // dW [out,in] = dyᵀ [out,B] · x [B,in]
    be.gemm(true, false, out, in, B, 1.f, dy.ptr<float>(), out, x.ptr<float>(), in, accumulate ? 1.f : 0.f,
            dw.ptr<float>(), in, GemmEpilogue{});
    if (has_db) {
      TensorData& db = read_tensor(info[4], "bias.grad", DType::F32, 1);
      require_same_device(x, "input", db, "bias.grad");
      if (dim(db, 0) != out) shape_error("linearBackward: bias.grad", "[" + std::to_string(out) + "]", db);
      be.reduce(ReduceOp::Sum, dy.ptr<float>(), db.ptr<float>(), 1, B, out, accumulate);
    }
    if (!want_dx) return env.Null();
    // dx [B,in] = dy [B,out] · W [out,in]
    TensorData dx = make_tensor(be, {B, in}, DType::F32);
    be.gemm(false, false, B, in, out, 1.f, dy.ptr<float>(), out, w.ptr<float>(), in, 0.f, dx.ptr<float>(), in,
            GemmEpilogue{});
    return TensorWrap::wrap(env, std::move(dx));
  });
}

// addInPlace(y, x): y += x (same shape, float32, one device): gradient accumulation.
Napi::Value add_in_place(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    TensorData& y = read_tensor(info[0], "y");
    TensorData& x = read_tensor(info[1], "x");
    if (y.dtype != DType::F32 || x.dtype != DType::F32) throw TypeError("addInPlace expects float32 tensors");
    require_same_device(y, "y", x, "x");
    if (y.shape != x.shape) shape_error("addInPlace: x", shape_string(y.shape), x);
    y.backend().binary(BinaryOp::Add, y.ptr<float>(), x.ptr<float>(), y.ptr<float>(),
                       elementwise_shape(static_cast<int64_t>(y.numel())), 0.f);
  });
  return env.Undefined();
}

Napi::Value relu_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& dy = read_tensor(info[0], "grad_output");
    TensorData& y = read_tensor(info[1], "output");
    if (dy.dtype != DType::F32 || y.dtype != DType::F32) throw TypeError("reluBackward expects float32 tensors");
    require_same_device(dy, "grad_output", y, "output");
    if (dy.shape != y.shape) shape_error("reluBackward: grad_output", shape_string(y.shape), dy);
    TensorData dx = make_tensor(y.backend(), y.shape, DType::F32);
    y.backend().binary(BinaryOp::ReluGrad, dy.ptr<float>(), y.ptr<float>(), dx.ptr<float>(),
                       elementwise_shape(static_cast<int64_t>(y.numel())), 0.f);
    return TensorWrap::wrap(env, std::move(dx));
  });
}

Napi::Value bias_grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    TensorData& dy = read_tensor(info[0], "grad_output", DType::F32, 2);
    TensorData& db = read_tensor(info[1], "bias.grad", DType::F32, 1);
    bool accumulate = read_bool(info[2], "accumulate");
    require_same_device(dy, "grad_output", db, "bias.grad");
    if (dim(db, 0) != dim(dy, 1)) shape_error("biasGrad: bias.grad", "[" + std::to_string(dim(dy, 1)) + "]", db);
    dy.backend().reduce(ReduceOp::Sum, dy.ptr<float>(), db.ptr<float>(), 1, dim(dy, 0), dim(dy, 1), accumulate);
  });
  return env.Undefined();
}

// softmaxCrossEntropy(logits [B,C], labels int32 [B], wantGrad) → { loss, correct, dlogits }.
// softmaxCrossEntropy(logits [B, C], labels int32 [B], wantGrad, wantCorrect?) → { loss: 0-d
// tensor on the logits' device, dlogits | null, correct: 0-d int32 tensor (rows whose argmax is the
// label) | null }. Nothing waits for the device.
Napi::Value softmax_cross_entropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& logits = read_tensor(info[0], "logits", DType::F32, 2);
    TensorData& labels = read_tensor(info[1], "labels", DType::I32, 1);
    bool want_grad = read_bool(info[2], "wantGrad");
    require_same_device(logits, "logits", labels, "labels");
    int B = dim(logits, 0), C = dim(logits, 1);
    if (dim(labels, 0) != B) shape_error("softmaxCrossEntropy: labels", "[" + std::to_string(B) + "]", labels);
    check_host_labels(labels, C);
    Backend& be = logits.backend();
    TensorData loss = make_tensor(be, {}, DType::F32);
    const bool want_correct = present(info[3]) && read_bool(info[3], "wantCorrect");
    TensorData dlogits, correct;
    if (want_grad) dlogits = make_tensor(be, logits.shape, DType::F32);
    if (want_correct) {
      correct = make_tensor(be, {}, DType::I32);
      be.zero(correct.storage->data(), sizeof(int32_t));
    }
    be.softmax_xent(logits.ptr<float>(), labels.ptr<int32_t>(), B, C, loss.ptr<float>(),
                    want_grad ? dlogits.ptr<float>() : nullptr, want_correct ? correct.ptr<int32_t>() : nullptr);
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", TensorWrap::wrap(env, std::move(loss)));
    out.Set("dlogits", want_grad ? Napi::Value(TensorWrap::wrap(env, std::move(dlogits))) : env.Null());
    out.Set("correct", want_correct ? Napi::Value(TensorWrap::wrap(env, std::move(correct))) : env.Null());
    return out;
  });
}

Napi::Value softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input", DType::F32, 2);
    TensorData probs = make_tensor(x.backend(), x.shape, DType::F32);
    x.backend().softmax(x.ptr<float>(), dim(x, 0), dim(x, 1), probs.ptr<float>(), false);
    return TensorWrap::wrap(env, std::move(probs));
  });
}

Napi::Value argmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input", DType::F32, 2);
    TensorData out = make_tensor(x.backend(), {x.shape[0]}, DType::I32);
    x.backend().argmax(x.ptr<float>(), dim(x, 0), dim(x, 1), 1, out.ptr<int32_t>());
    return TensorWrap::wrap(env, std::move(out));
  });
}

// optimizerStep(params, grads, states, options, steps, indices): one update of the params that
// have gradients. states[i]: param i's state tensors (OptimizerConfig::state_count()); steps: the
// optimizer's host int32 step counts, params[i] being entry indices[i]. Params are updated in one
// call per step count (PyTorch keeps a count per parameter), and their counts advance.
Napi::Value optimizer_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray() || !info[5].IsArray()) {
      throw TypeError("optimizerStep expects arrays of params, grads, states and indices");
    }
    Napi::Array params = info[0].As<Napi::Array>(), grads = info[1].As<Napi::Array>(),
                states = info[2].As<Napi::Array>(), indices = info[5].As<Napi::Array>();
    if (params.Length() != grads.Length() || params.Length() != states.Length() || params.Length() != indices.Length()) {
      throw RangeError("optimizerStep: params, grads, states and indices must have equal lengths");
    }
    const OptimizerConfig config = read_optimizer_options(info[3]);
    TensorData& steps = read_tensor(info[4], "steps", DType::I32, 1);
    if (steps.device().kind != DeviceKind::Cpu) throw TypeError("optimizerStep: steps must be a cpu tensor");
    int32_t* counts = steps.ptr<int32_t>();
    std::vector<ParamUpdate> updates;
    std::vector<int32_t*> slots;
    Backend* backend = nullptr;
    for (uint32_t i = 0; i < params.Length(); ++i) {
      std::string n = "params[" + std::to_string(i) + "]";
      TensorData& p = read_tensor(params.Get(i), n.c_str());
      TensorData& g = read_tensor(grads.Get(i), (n + ".grad").c_str());
      if (p.dtype != DType::F32 || g.dtype != DType::F32) throw TypeError(n + " and its grad must be float32");
      require_same_device(p, n.c_str(), g, "its grad");
      if (p.shape != g.shape) shape_error(n + ".grad", shape_string(p.shape), g);
      ParamUpdate u{p.ptr<float>(), g.ptr<float>(), {nullptr, nullptr, nullptr}, p.numel()};
      Napi::Value sv = states.Get(i);
      if (!sv.IsArray()) throw TypeError(n + " state must be an array");
      Napi::Array st = sv.As<Napi::Array>();
      if (static_cast<int>(st.Length()) != config.state_count()) {
        throw RangeError(n + " needs " + std::to_string(config.state_count()) + " state tensors, got " +
                         std::to_string(st.Length()));
      }
      for (uint32_t k = 0; k < st.Length(); ++k) {
        TensorData& m = read_tensor(st.Get(k), (n + " state").c_str());
        if (m.shape != p.shape || m.dtype != DType::F32) shape_error(n + " state", shape_string(p.shape), m);
        require_same_device(p, n.c_str(), m, "its optimizer state");
        u.state[k] = m.ptr<float>();
      }
      const int64_t slot = read_int(indices.Get(i), "indices[i]", 0, static_cast<int64_t>(steps.numel()) - 1);
      if (backend && backend != &p.backend()) throw TypeError("optimizerStep: all params must be on one device");
      backend = &p.backend();
      updates.push_back(u);
      slots.push_back(counts + slot);
    }
    if (!backend) return;
    // One call per distinct step count, in increasing order of count.
    std::vector<bool> done(updates.size(), false);
    std::vector<ParamUpdate> group;
    for (size_t i = 0; i < updates.size(); ++i) {
      if (done[i]) continue;
      const int32_t count = *slots[i];
      group.clear();
      for (size_t j = i; j < updates.size(); ++j) {
        if (!done[j] && *slots[j] == count) {
          group.push_back(updates[j]);
          done[j] = true;
        }
      }
      backend->optimizer_update(group.data(), static_cast<int>(group.size()), config, int64_t{count} + 1);
    }
    for (int32_t* slot : slots) *slot = *slot == INT32_MAX ? INT32_MAX : *slot + 1;
  });
  return env.Undefined();
}

// gatherBatch(images u8 [N,F], labels u8 [N], indices Int32Array, scale, shift) → { x, y }.
Napi::Value gather_batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    GatherSource src = read_gather_source(info[0], info[1]);
    float scale = static_cast<float>(read_finite(info[3], "scale"));
    float shift = static_cast<float>(read_finite(info[4], "shift"));
    Backend& be = src.images.backend();
    TensorData idx = upload_indices(info[2], dim(src.images, 0), be);
    const int B = dim(idx, 0), F = dim(src.images, 1);
    TensorData x = make_tensor(be, {B, F}, DType::F32);
    TensorData y = make_tensor(be, {B}, DType::I32);
    be.gather_batch(src.images.ptr<uint8_t>(), src.labels.ptr<uint8_t>(), F, idx.ptr<int32_t>(), B, scale, shift,
                    x.ptr<float>(), y.ptr<int32_t>());
    // No wait: the uploaded indices are freed in the queue's order (as in gatherRows).
    Napi::Object out = Napi::Object::New(env);
    out.Set("x", TensorWrap::wrap(env, std::move(x)));
    out.Set("y", TensorWrap::wrap(env, std::move(y)));
    return out;
  });
}

// permutation(n, seed, epoch) → Int32Array.
Napi::Value permutation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    int32_t n = static_cast<int32_t>(read_int(info[0], "n", 0, INT32_MAX));
    uint64_t seed = static_cast<uint64_t>(read_int(info[1], "seed", 0, (int64_t{1} << 53)));
    uint64_t epoch = static_cast<uint64_t>(read_int(info[2], "epoch", 0, INT32_MAX));
    Napi::Int32Array out = Napi::Int32Array::New(env, n);
    epoch_permutation(seed, epoch, out.Data(), n);
    return out;
  });
}

}  // namespace

Napi::Object define_ops(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("gemm", Napi::Function::New(env, gemm, "gemm"));
  ops.Set("linear", Napi::Function::New(env, linear, "linear"));
  ops.Set("linearBackward", Napi::Function::New(env, linear_backward, "linearBackward"));
  ops.Set("addInPlace", Napi::Function::New(env, add_in_place, "addInPlace"));
  ops.Set("reluBackward", Napi::Function::New(env, relu_backward, "reluBackward"));
  ops.Set("biasGrad", Napi::Function::New(env, bias_grad, "biasGrad"));
  ops.Set("softmaxCrossEntropy", Napi::Function::New(env, softmax_cross_entropy, "softmaxCrossEntropy"));
  ops.Set("softmax", Napi::Function::New(env, softmax, "softmax"));
  ops.Set("argmax", Napi::Function::New(env, argmax, "argmax"));
  ops.Set("optimizerStep", Napi::Function::New(env, optimizer_step, "optimizerStep"));
  ops.Set("gatherBatch", Napi::Function::New(env, gather_batch, "gatherBatch"));
  ops.Set("permutation", Napi::Function::New(env, permutation, "permutation"));
  define_math_ops(env, ops);
  define_shape_ops(env, ops);
  return ops;
}

}  // namespace tinynn::binding
