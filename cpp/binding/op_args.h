// Argument checks shared by the eager ops (ops.cc) and the fused step ops (fused_ops.cc).
#pragma once
#include <napi.h>

#include <string>

#include "cpp/backend.h"
#include "cpp/tensor.h"

namespace tinynn::binding {

inline int dim(const TensorData& t, size_t i) { return static_cast<int>(t.shape[i]); }

[[noreturn]] void shape_error(const std::string& what, const std::string& expected, const TensorData& got);

// Labels held on the host must index a class (RangeError naming the first that does not). Labels
// on a GPU are not read back (that would wait for the device): the kernels stay in bounds and an
// out-of-range label makes the loss NaN.
void check_host_labels(const TensorData& labels, int classes);

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

}  // namespace tinynn::binding
