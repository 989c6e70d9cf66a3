#include "cpp/binding/op_args.h"

#include <vector>

#include "cpp/binding/args.h"
#include "cpp/errors.h"

namespace tinynn::binding {

void shape_error(const std::string& what, const std::string& expected, const TensorData& got) {
  throw RangeError(what + " must have shape " + expected + ", got " + shape_string(got.shape));
}

void check_host_labels(const TensorData& labels, int classes) {
  if (labels.device().kind != DeviceKind::Cpu) return;
  const int32_t* host = labels.ptr<int32_t>();
  for (size_t i = 0; i < labels.numel(); ++i) {
    if (host[i] < 0 || host[i] >= classes) {
      throw RangeError("labels[" + std::to_string(i) + "] is " + std::to_string(host[i]) + ", expected a class in [0, " +
                       std::to_string(classes) + ")");
    }
  }
}

TensorData upload_indices(const Napi::Value& v, int n, Backend& backend) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw TypeError("indices must be an Int32Array, got " + describe(v));
  }
  Napi::Int32Array indices = v.As<Napi::Int32Array>();
  const int B = static_cast<int>(indices.ElementLength());
  if (B < 1) throw RangeError("indices must not be empty");
  for (int i = 0; i < B; ++i) {
    if (indices[i] < 0 || indices[i] >= n) {
      throw RangeError("indices[" + std::to_string(i) + "] is " + std::to_string(indices[i]) + ", expected [0, " +
                       std::to_string(n) + ")");
    }
  }
  TensorData idx = make_tensor(backend, {B}, DType::I32);
  backend.upload(idx.storage->data(), indices.Data(), B * sizeof(int32_t));
  return idx;
}

GatherSource read_gather_source(const Napi::Value& images_v, const Napi::Value& labels_v) {
  TensorData& images = read_tensor(images_v, "images", DType::U8, 2);
  TensorData& labels = read_tensor(labels_v, "labels", DType::U8, 1);
  require_same_device(images, "images", labels, "labels");
  if (dim(labels, 0) != dim(images, 0)) shape_error("labels", "[" + std::to_string(dim(images, 0)) + "]", labels);
  return {images, labels};
}

}  // namespace tinynn::binding
