// Whether the current device can launch thread block clusters (sm_90+), asked once per device.
#pragma once

namespace tinynn::gpu {

bool device_has_clusters();

}  // namespace tinynn::gpu
