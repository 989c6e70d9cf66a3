// Native tensor storage: a device buffer owned by RAII, shared by the tensors that view it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpp/backend.h"

namespace tinynn {

enum class DType { F32, U8, I32 };
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

// One allocation on one backend. Freed when the last owner lets go.
class Storage {
 public:
  Storage(Backend& backend, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Backend& backend() const { return *backend_; }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

  // Held by a running training driver: eager ops and a second driver must not touch it.
  std::atomic<int> busy{0};

 private:
  Backend* backend_;
  void* data_;
  size_t bytes_;
};

struct TensorData {
  std::shared_ptr<Storage> storage;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;

  size_t numel() const;
  Device device() const { return storage->backend().device(); }
  Backend& backend() const { return storage->backend(); }
  template <typename T>
  T* ptr() const { return static_cast<T*>(storage->data()); }
};

std::string shape_string(const std::vector<int64_t>& shape);
// A new tensor of `shape` and `dtype` on `backend` (contents unset).
TensorData make_tensor(Backend& backend, std::vector<int64_t> shape, DType dtype);

}  // namespace tinynn
