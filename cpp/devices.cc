#include "cpp/devices.h"

#include <cstdlib>

#include "cpp/errors.h"

namespace tinynn {

Device parse_device(const std::string& name) {
  if (name == "cpu") return {DeviceKind::Cpu, 0};
  if (name == "cuda") return {DeviceKind::Cuda, 0};
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() < 9) {
    int index = 0;
    for (size_t i = 5; i < name.size(); ++i) {
      if (name[i] < '0' || name[i] > '9') throw TypeError("device must be 'cpu', 'cuda' or 'cuda:N', got '" + name + "'");
      index = index * 10 + (name[i] - '0');
    }
    return {DeviceKind::Cuda, index};
  }
  throw TypeError("device must be 'cpu', 'cuda' or 'cuda:N', got '" + name + "'");
}

Backend& backend_for(const Device& device) {
  if (device.kind == DeviceKind::Cpu) return cpu_backend();
  return cuda_backend(device.index);
}

}  // namespace tinynn
