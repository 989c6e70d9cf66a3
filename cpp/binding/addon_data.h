// Per-environment state (one per main thread or worker_thread that loads the addon).
#pragma once
#include <napi.h>

namespace tinynn::binding {

struct AddonData {
  Napi::FunctionReference tensor_constructor;
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace tinynn::binding
