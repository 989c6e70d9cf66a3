#include "cpp/binding/shape_ops.h"

#include <algorithm>
#include <string>
#include <vector>

#include "cpp/binding/args.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/op_args.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/errors.h"

namespace tinynn::binding {
namespace {

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t step = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

// out [shape] = x read at Σ index[d]·strides[d], through the broadcasting binary kernel as
// maximum(x, x): exactly x for every float (NaN and -0 included), with no second operand to make.
TensorData strided_copy(const TensorData& x, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  Broadcast bc;
  bc.rank = static_cast<int>(shape.size());
  for (int d = 0; d < bc.rank; ++d) {
    bc.shape[d] = shape[d];
    bc.a_stride[d] = strides[d];
    bc.b_stride[d] = strides[d];
  }
  TensorData out = make_tensor(x.backend(), shape, DType::F32);
  x.backend().binary(BinaryOp::Maximum, x.ptr<float>(), x.ptr<float>(), out.ptr<float>(), bc, 0.f);
  return out;
}

// reshape(x, shape) → a tensor of `shape` viewing x's storage (same number of elements).
Napi::Value reshape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input");
    std::vector<int64_t> shape = read_shape(info[1], "shape");
    TensorData view{x.storage, shape, x.dtype};
    if (view.numel() != x.numel()) {
      throw RangeError("cannot reshape " + shape_string(x.shape) + " (" + std::to_string(x.numel()) + " elements) to " +
                       shape_string(shape) + " (" + std::to_string(view.numel()) + ")");
    }
    return TensorWrap::wrap(env, std::move(view));
  });
}

// permute(x, dims) → x with its dimensions reordered (out dim i is x's dims[i]), contiguous.
Napi::Value permute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_float_tensor(info[0], "input");
    if (!info[1].IsArray()) throw TypeError("permute dims must be an array, got " + describe(info[1]));
    Napi::Array dims = info[1].As<Napi::Array>();
    const size_t rank = x.shape.size();
    if (dims.Length() != rank) {
      throw RangeError("permute needs " + std::to_string(rank) + " dims for a tensor of shape " + shape_string(x.shape) +
                       ", got " + std::to_string(dims.Length()));
    }
    const std::vector<int64_t> in_strides = contiguous_strides(x.shape);
    std::vector<int64_t> shape(rank), strides(rank);
    std::vector<bool> used(rank, false);
    for (uint32_t i = 0; i < rank; ++i) {
      const int64_t d = read_int(dims.Get(i), "permute dim", 0, static_cast<int64_t>(rank) - 1);
      if (used[d]) throw RangeError("permute dims repeat dimension " + std::to_string(d));
      used[d] = true;
      shape[i] = x.shape[d];
      strides[i] = in_strides[d];
    }
    return TensorWrap::wrap(env, strided_copy(x, shape, strides));
  });
}

// expand(x, shape) → x broadcast to `shape` (numpy rules; x's rank at most shape's), contiguous.
Napi::Value expand(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_float_tensor(info[0], "input");
    const std::vector<int64_t> shape = read_shape(info[1], "shape");
    if (x.shape.size() > shape.size()) {
      throw RangeError("cannot expand " + shape_string(x.shape) + " to fewer dimensions, " + shape_string(shape));
    }
    const std::vector<int64_t> in_strides = contiguous_strides(x.shape);
    const size_t lead = shape.size() - x.shape.size();
    std::vector<int64_t> strides(shape.size(), 0);
    for (size_t d = 0; d < x.shape.size(); ++d) {
      const int64_t n = x.shape[d], want = shape[lead + d];
      if (n != want && n != 1) {
        throw RangeError("cannot expand " + shape_string(x.shape) + " to " + shape_string(shape) + ": size " +
                         std::to_string(n) + " against " + std::to_string(want) + " in dimension " + std::to_string(lead + d));
      }
      strides[lead + d] = n == 1 ? 0 : in_strides[d];
    }
    return TensorWrap::wrap(env, strided_copy(x, shape, strides));
  });
}

// matmul(a, b, transA, transB): [M,K]·[K,N] → [M,N]; with 3-D operands [B,M,K]·[B,K,N] → [B,M,N],
// a 2-D operand being shared by every batch. trans*: the operand's last two dims are swapped.
Napi::Value matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& a = read_float_tensor(info[0], "a");
    TensorData& b = read_float_tensor(info[1], "b");
    const bool ta = read_bool(info[2], "transA"), tb = read_bool(info[3], "transB");
    require_same_device(a, "a", b, "b");
    const size_t ra = a.shape.size(), rb = b.shape.size();
    if (ra < 2 || ra > 3 || rb < 2 || rb > 3) {
      throw RangeError("matmul takes 2-D or 3-D tensors, got " + shape_string(a.shape) + " and " + shape_string(b.shape));
    }
    const int64_t ba = ra == 3 ? a.shape[0] : 1, bb = rb == 3 ? b.shape[0] : 1;
    if (ra == 3 && rb == 3 && ba != bb) {
      throw RangeError("matmul batch sizes differ: " + shape_string(a.shape) + " and " + shape_string(b.shape));
    }
    const int64_t a0 = a.shape[ra - 2], a1 = a.shape[ra - 1], b0 = b.shape[rb - 2], b1 = b.shape[rb - 1];
    const int64_t M = ta ? a1 : a0, K = ta ? a0 : a1, Kb = tb ? b1 : b0, N = tb ? b0 : b1;
    if (K != Kb) {
      throw RangeError("matmul: " + shape_string(a.shape) + (ta ? "ᵀ" : "") + " · " + shape_string(b.shape) +
                       (tb ? "ᵀ" : "") + ": inner sizes " + std::to_string(K) + " and " + std::to_string(Kb) + " differ");
    }
    if (M >= INT32_MAX || N >= INT32_MAX || K >= INT32_MAX) throw RangeError("matmul sizes must be below 2^31");
    const int64_t batch = std::max(ba, bb);
    std::vector<int64_t> shape = {M, N};
    if (ra == 3 || rb == 3) shape.insert(shape.begin(), batch);
    Backend& be = a.backend();
    TensorData c = make_tensor(be, shape, DType::F32);
    for (int64_t i = 0; i < batch; ++i) {
      const float* ap = a.ptr<float>() + (ra == 3 ? i * a0 * a1 : 0);
      const float* bp = b.ptr<float>() + (rb == 3 ? i * b0 * b1 : 0);
      be.gemm(ta, tb, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.f, ap, static_cast<int>(a1), bp,
              static_cast<int>(b1), 0.f, c.ptr<float>() + i * M * N, static_cast<int>(N), GemmEpilogue{});
    }
    return TensorWrap::wrap(env, std::move(c));
  });
}

// catRows(tensors) → the tensors joined along dimension 0 (the other dimensions equal; one dtype
// and device).
Napi::Value cat_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsArray()) throw TypeError("catRows expects an array of tensors, got " + describe(info[0]));
    Napi::Array list = info[0].As<Napi::Array>();
    if (list.Length() == 0) throw RangeError("cat needs at least one tensor");
    std::vector<TensorData*> parts;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      TensorData& t = read_tensor(list.Get(i), ("tensors[" + std::to_string(i) + "]").c_str());
      if (t.shape.empty()) throw RangeError("cat: tensors[" + std::to_string(i) + "] is a scalar; it has no dimension to join");
      if (!parts.empty()) {
        const TensorData& first = *parts[0];
        require_same_device(first, "tensors[0]", t, ("tensors[" + std::to_string(i) + "]").c_str());
        if (t.dtype != first.dtype) throw TypeError("cat: tensors[0] is " + std::string(dtype_name(first.dtype)) +
                                                    " but tensors[" + std::to_string(i) + "] is " + dtype_name(t.dtype));
        const bool same_rest = t.shape.size() == first.shape.size() &&
                               std::equal(t.shape.begin() + 1, t.shape.end(), first.shape.begin() + 1);
        if (!same_rest) {
          throw RangeError("cat: tensors[0] has shape " + shape_string(first.shape) + " but tensors[" + std::to_string(i) +
                           "] has " + shape_string(t.shape) + "; all but the joined dimension must match");
        }
      }
      parts.push_back(&t);
    }
    std::vector<int64_t> shape = parts[0]->shape;
    shape[0] = 0;
    for (const TensorData* t : parts) shape[0] += t->shape[0];
    Backend& be = parts[0]->backend();
    TensorData out = make_tensor(be, shape, parts[0]->dtype);
    size_t offset = 0;
    for (const TensorData* t : parts) {
      const size_t bytes = t->numel() * dtype_size(t->dtype);
      be.copy(static_cast<uint8_t*>(out.storage->data()) + offset, t->storage->data(), bytes);
      offset += bytes;
    }
    return TensorWrap::wrap(env, std::move(out));
  });
}

// sliceRows(x, start, count) → rows [start, start + count) of dimension 0, as a copy.
Napi::Value slice_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    TensorData& x = read_tensor(info[0], "input");
    if (x.shape.empty()) throw RangeError("sliceRows: a scalar has no rows");
    const int64_t rows = x.shape[0];
    const int64_t start = read_int(info[1], "start", 0, rows);
    const int64_t count = read_int(info[2], "count", 1, rows - start);
    std::vector<int64_t> shape = x.shape;
    shape[0] = count;
    TensorData out = make_tensor(x.backend(), shape, x.dtype);
    const size_t row_bytes = x.numel() / rows * dtype_size(x.dtype);
    x.backend().copy(out.storage->data(), static_cast<const uint8_t*>(x.storage->data()) + start * row_bytes,
                     count * row_bytes);
    return TensorWrap::wrap(env, std::move(out));
  });
}

}  // namespace

void define_shape_ops(Napi::Env env, Napi::Object ops) {
  ops.Set("reshape", Napi::Function::New(env, reshape, "reshape"));
  ops.Set("permute", Napi::Function::New(env, permute, "permute"));
  ops.Set("expand", Napi::Function::New(env, expand, "expand"));
  ops.Set("matmul", Napi::Function::New(env, matmul, "matmul"));
  ops.Set("catRows", Napi::Function::New(env, cat_rows, "catRows"));
  ops.Set("sliceRows", Napi::Function::New(env, slice_rows, "sliceRows"));
}

}  // namespace tinynn::binding
