#include "nestor/backend.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace nestor {
namespace {

class CpuBackend : public Backend {
 public:
  Device device() const override { return Device{}; }
  Allocator& allocator() override { return cpu_allocator(); }
  Tensor copy_from(const Tensor& src) override {
    if (src.device().type != DeviceType::kCpu) return backend_for(src.device()).copy_to_host(src);
    return src.clone();
  }
};

struct Factory {
  BackendFactory make = nullptr;
  DeviceCountFn count = nullptr;
};

struct Registry {
  // Recursive: a plugin's static registrars call register_backend while load_plugin,
  // called under this lock, is inside dlopen.
  std::recursive_mutex mu;
  std::map<DeviceType, Factory> factories;
  std::map<DeviceType, std::string> load_errors;
  std::map<DeviceType, bool> tried;
  std::map<std::pair<int, int>, std::unique_ptr<Backend>> live;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: backends may outlive static teardown
  return *r;
}

// The directory holding this library (libnestor.so, or the executable linking it statically).
std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) == 0 || info.dli_fname == nullptr) return "";
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// Loads the plugin for `type` once; its static initializers call register_backend.
// Called with the registry lock held.
void load_plugin(Registry& r, DeviceType type) {
  if (type != DeviceType::kCuda || r.tried[type] || r.factories.count(type)) return;
  r.tried[type] = true;
  const char* env = std::getenv("NESTOR_CUDA_PLUGIN");
  std::string path = (env && *env) ? std::string(env) : own_directory() + "/libnestor_cuda.so";
  // The handle is kept for the life of the process (kernels and backends live in it).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    r.load_errors[type] = "cannot load " + path + ": " + (err ? err : "unknown error");
  } else if (!r.factories.count(type)) {
    r.load_errors[type] = path + " loaded but registered no backend";
  }
}

}  // namespace

void register_backend(DeviceType type, BackendFactory factory, DeviceCountFn device_count) {
  std::lock_guard<std::recursive_mutex> l(registry().mu);
  registry().factories[type] = Factory{factory, device_count};
}

int device_count(DeviceType type) {
  if (type == DeviceType::kCpu) return 1;
  auto& r = registry();
  std::lock_guard<std::recursive_mutex> l(r.mu);
  load_plugin(r, type);
  auto f = r.factories.find(type);
  if (f == r.factories.end()) return 0;
  return f->second.count ? f->second.count() : 1;
}

bool backend_available(DeviceType type) { return device_count(type) > 0; }

std::string plugin_load_error(DeviceType type) {
  std::lock_guard<std::recursive_mutex> l(registry().mu);
  auto it = registry().load_errors.find(type);
  return it == registry().load_errors.end() ? std::string() : it->second;
}

namespace {
std::atomic<bool>& tf32_flag() {
  static std::atomic<bool> flag{[] {
    const char* e = std::getenv("NESTOR_ALLOW_TF32");
    return e != nullptr && std::strcmp(e, "1") == 0;
  }()};
  return flag;
}
}  // namespace

void set_allow_tf32(bool allow) { tf32_flag().store(allow); }
bool allow_tf32() { return tf32_flag().load(std::memory_order_relaxed); }

void set_device_unavailable_reason(DeviceType type, const std::string& why) {
  std::lock_guard<std::recursive_mutex> l(registry().mu);
  registry().load_errors[type] = why;
}

Backend& backend_for(Device d) {
  auto& r = registry();
  std::lock_guard<std::recursive_mutex> l(r.mu);
  auto key = std::make_pair(static_cast<int>(d.type), d.index);
  auto it = r.live.find(key);
  if (it != r.live.end()) return *it->second;
  std::unique_ptr<Backend> b;
  if (d.type == DeviceType::kCpu) {
    b = std::make_unique<CpuBackend>();
  } else {
    load_plugin(r, d.type);
    auto f = r.factories.find(d.type);
    if (f == r.factories.end()) {
      std::string why = r.load_errors.count(d.type) ? r.load_errors[d.type] : "no backend registered";
      fail(Code::kNotFound, "device ", d.str(), " is not available: ", why);
    }
    int n = f->second.count ? f->second.count() : 1;
    if (d.index < 0 || d.index >= n) {
      std::string why = n == 0 && r.load_errors.count(d.type) ? " (" + r.load_errors[d.type] + ")" : "";
      fail(n == 0 ? Code::kNotFound : Code::kInvalidArgument, "device ", d.str(), " is not available: ", n,
           " device(s) of this type visible", why);
    }
    b = f->second.make(d.index);
  }
  Backend& ref = *b;
  r.live.emplace(key, std::move(b));
  return ref;
}

}  // namespace nestor
