#include "cpp/tensor.h"

#include "cpp/errors.h"

namespace tinynn {

size_t dtype_size(DType dtype) { return dtype == DType::U8 ? 1 : 4; }

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::U8: return "uint8";
    case DType::I32: return "int32";
  }
  return "?";
}

Storage::Storage(Backend& backend, size_t bytes)
    : backend_(&backend), data_(backend.alloc(bytes == 0 ? 1 : bytes)), bytes_(bytes) {}

Storage::~Storage() { backend_->free(data_); }

size_t TensorData::numel() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

TensorData make_tensor(Backend& backend, std::vector<int64_t> shape, DType dtype) {
  TensorData t;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.storage = std::make_shared<Storage>(backend, t.numel() * dtype_size(dtype));
  return t;
}

}  // namespace tinynn
