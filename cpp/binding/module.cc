// The addon's entry point: NativeTensor, NativeDriver, ops and backends().
#include <napi.h>

#include "cpp/binding/addon_data.h"
#include "cpp/binding/bench.h"
#include "cpp/binding/driver_wrap.h"
#include "cpp/binding/js_errors.h"
#include "cpp/binding/ops.h"
#include "cpp/binding/tensor_wrap.h"
#include "cpp/devices.h"

namespace tinynn::binding {
// backends() → { cpu: true, cuda, cudaDevices, reason }
Napi::Value backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const CudaStatus& cuda = cuda_status();
    Napi::Object o = Napi::Object::New(env);
    o.Set("cpu", true);
    o.Set("cuda", cuda.available);
    o.Set("cudaDevices", cuda.device_count);
    o.Set("reason", cuda.reason);
    return o;
  });
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function tensor = TensorWrap::define(env);
  data->tensor_constructor = Napi::Persistent(tensor);
  exports.Set("Tensor", tensor);
  exports.Set("Driver", DriverWrap::define(env));
  exports.Set("ops", define_ops(env));
  exports.Set("bench", define_bench(env));
  exports.Set("backends", Napi::Function::New(env, backends, "backends"));
  // Whether dropped tensors are freed inside the garbage collection (Node-API basic finalizers,
  // built with Node's experimental headers; CMakeLists.txt) or at the next turn of the event loop.
#ifdef NODE_API_EXPERIMENTAL_HAS_POST_FINALIZER
  exports.Set("basicFinalizers", true);
#else
  exports.Set("basicFinalizers", false);
#endif
  // Test support: how often the host has waited for a device queue (cpp/backend.h).
  exports.Set("hostSyncs", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(host_sync_count().load()));
  }, "hostSyncs"));
  return exports;
}

}  // namespace tinynn::binding

static Napi::Object InitTinynn(Napi::Env env, Napi::Object exports) { return tinynn::binding::init(env, exports); }

NODE_API_MODULE(tinynn, InitTinynn)
