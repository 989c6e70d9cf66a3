#include "cuda/capture_lock.h"

namespace tinynn::gpu {

std::mutex& capture_lock() {
  static std::mutex lock;
  return lock;
}

}  // namespace tinynn::gpu
