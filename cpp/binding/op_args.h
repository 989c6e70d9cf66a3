// Argument checks shared by the eager ops (ops.cc) and the fused step ops (fused_ops.cc).
#pragma once
#include <napi.h>

#include <string>

#include "cpp/backend.h"
#include "cpp/tensor.h"

namespace tinynn::binding {

inline int dim(const TensorData& t, size_t i) { return static_cast<int>(t.shape[i]); }

[[noreturn]] void shape_error(const std::string& what, const std::string& expected, const TensorData& got);

// Labels must index a class: checked on the host before any kernel reads them.
void check_labels(const TensorData& labels, int classes);

// A batch's sample indices (an Int32Array, each in [0, n)) copied to `backend` as int32 [B].
TensorData upload_indices(const Napi::Value& v, int n, Backend& backend);

// The uint8 images [N, F] and labels [N] of a batch gather, on one device.
struct GatherSource {
  TensorData& images;
  TensorData& labels;
};
GatherSource read_gather_source(const Napi::Value& images, const Napi::Value& labels);

// An optional argument: absent when null or undefined.
inline bool present(const Napi::Value& v) { return !v.IsNull() && !v.IsUndefined(); }

// A device-side [loss, correct] pair for the ops that report both; read back by to_js.
class LossAndHits {
 public:
  explicit LossAndHits(Backend& backend);
  float* loss() { return scalars_.ptr<float>(); }
  int32_t* correct() { return reinterpret_cast<int32_t*>(scalars_.ptr<float>() + 1); }
  // Sets { loss, correct } on `out` (waits for the device).
  void to_js(Napi::Object out);

 private:
  TensorData scalars_;
};

}  // namespace tinynn::binding
