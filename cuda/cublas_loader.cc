#include "cuda/cublas_loader.h"

#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cpp/errors.h"

namespace tinynn::gpu {
namespace {

// cuBLAS 13 is what cuda/ is compiled against. cuBLAS 12 exports the same v2 entry points with
// the same ABI (the enums and signatures used here did not change), and a driver new enough for
// CUDA 13 runs it, so it is accepted when no cuBLAS 13 is installed (common on machines set up
// for CUDA 12 frameworks).
const char* const kSonames[] = {"libcublas.so.13", "libcublas.so.12"};

struct Loaded {
  CublasApi api{};
  bool ok = false;
  std::string error;
};

struct Search {
  std::vector<std::string> tried;
  void* handle = nullptr;
  std::string path;

  bool try_open(const std::string& file, const std::string& label) {
    void* h = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      handle = h;
      path = file;
      return true;
    }
    // A missing file is the common case and goes in as its bare name; any other failure (wrong
    // ELF class, a missing dependency such as libcublasLt) with dlerror's words.
    const char* why = dlerror();
    std::string reason = why ? why : "not loadable";
    size_t colon = reason.rfind(": ");  // dlerror repeats the file name before a colon
    if (colon != std::string::npos) reason = reason.substr(colon + 2);
    tried.push_back(reason.find("No such file") != std::string::npos ? label : label + " (" + reason + ")");
    return false;
  }

  // Every file matching `pattern` (a glob), in sorted order; the pattern itself goes into
  // `tried` when nothing matches.
  bool try_glob(const std::string& pattern) {
    glob_t g{};
    bool found = false;
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc && !found; ++i) found = try_open(g.gl_pathv[i], g.gl_pathv[i]);
    } else {
      tried.push_back(pattern);
    }
    globfree(&g);
    return found;
  }
};

bool is_directory_path(const std::string& p) {
  // A path naming a directory gets the library name appended; a trailing slash or no ".so" in
  // the last component marks one.
  if (!p.empty() && p.back() == '/') return true;
  size_t slash = p.rfind('/');
  std::string last = slash == std::string::npos ? p : p.substr(slash + 1);
  return last.find(".so") == std::string::npos;
}

// Directories where pip puts NVIDIA wheels: nvidia/cu13/lib (CUDA 13 wheels) and
// nvidia/cublas/lib (CUDA 12 wheels), under each site-packages/dist-packages we know of.
std::vector<std::string> python_package_dirs() {
  std::vector<std::string> dirs;
  if (const char* pp = std::getenv("PYTHONPATH")) {
    std::string s = pp;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) dirs.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  if (const char* venv = std::getenv("VIRTUAL_ENV")) dirs.push_back(std::string(venv) + "/lib/python3*/site-packages");
  if (const char* home = std::getenv("HOME")) dirs.push_back(std::string(home) + "/.local/lib/python3*/site-packages");
  dirs.push_back("/usr/local/lib/python3*/dist-packages");
  dirs.push_back("/usr/local/lib/python3*/site-packages");
  dirs.push_back("/usr/lib/python3/dist-packages");
  return dirs;
}

Search find_library() {
  Search s;
  if (const char* env = std::getenv("TINYNN_CUBLAS_PATH"); env && *env) {
    // An explicit choice overrides the search: a wrong path is reported, never silently replaced.
    std::string p = env;
    if (is_directory_path(p)) {
      if (p.back() != '/') p += '/';
      for (const char* name : kSonames) if (s.try_open(p + name, "TINYNN_CUBLAS_PATH: " + p + name)) return s;
    } else {
      s.try_open(p, "TINYNN_CUBLAS_PATH: " + p);
    }
    return s;
  }
  const char* cuda_home = std::getenv("CUDA_HOME");
  for (const char* name : kSonames) {
    if (s.try_open(name, std::string(name) + " via the loader path")) return s;
    if (cuda_home && *cuda_home && s.try_open(std::string(cuda_home) + "/lib64/" + name,
                                              std::string(cuda_home) + "/lib64/" + name)) return s;
    if (s.try_open(std::string("/usr/local/cuda/lib64/") + name, std::string("/usr/local/cuda/lib64/") + name)) return s;
    const std::string wheel_dir = std::string(name) == "libcublas.so.13" ? "/nvidia/cu13/lib/" : "/nvidia/cublas/lib/";
    for (const std::string& dir : python_package_dirs()) if (s.try_glob(dir + wheel_dir + name)) return s;
  }
  return s;
}

template <typename Fn>
bool resolve(void* handle, const char* symbol, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (!out) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
  return out != nullptr;
}

Loaded load() {
  Loaded l;
  Search s = find_library();
  if (!s.handle) {
    std::string list;
    for (const std::string& t : s.tried) list += (list.empty() ? "" : "; ") + t;
    l.error = "libcublas.so.13 not found (tried: " + list +
              "); install cuBLAS (e.g. pip install nvidia-cublas) or set TINYNN_CUBLAS_PATH to the "
              "file or its directory";
    return l;
  }
  std::string missing;
  resolve(s.handle, "cublasCreate_v2", l.api.create, missing);
  resolve(s.handle, "cublasDestroy_v2", l.api.destroy, missing);
  resolve(s.handle, "cublasSetStream_v2", l.api.set_stream, missing);
  resolve(s.handle, "cublasSetWorkspace_v2", l.api.set_workspace, missing);
  resolve(s.handle, "cublasSetMathMode", l.api.set_math_mode, missing);
  resolve(s.handle, "cublasSgemm_v2", l.api.sgemm, missing);
  if (!missing.empty()) {
    // The handle stays open: unloading cuBLAS is never safe once its static initialisers ran.
    l.error = s.path + " lacks " + missing + " (not a usable cuBLAS)";
    return l;
  }
  l.api.path = s.path;
  l.ok = true;
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

const char* status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

}  // namespace

const CublasApi* cublas_api() { return loaded().ok ? &loaded().api : nullptr; }
const std::string& cublas_error() { return loaded().error; }

void check_cublas(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string name = status_name(status);
  if (name == "CUBLAS_STATUS_UNKNOWN") name += " (" + std::to_string(static_cast<int>(status)) + ")";
  throw RuntimeError(std::string(call) + " failed: " + name);
}

}  // namespace tinynn::gpu
