// The CUDA runtime's current device is per host thread; every backend call makes its own device
// current first. Cheap: a thread-local cache skips cudaSetDevice when nothing changed (this
// addon's statically linked runtime is private to it, so no other code moves the device).
#pragma once

namespace tinynn::gpu {

void make_current(int device);

}  // namespace tinynn::gpu
