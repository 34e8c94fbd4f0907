#include "nestor/backend.h"

#include <cstring>
#include <map>
#include <mutex>

namespace nestor {
namespace {

class CpuBackend : public Backend {
 public:
  Device device() const override { return Device{}; }
  Allocator& allocator() override { return cpu_allocator(); }
  Tensor copy_from(const Tensor& src) override {
    NESTOR_CHECK(src.device().type == DeviceType::kCpu, kUnimplemented,
                 "CPU backend cannot copy from ", src.device().str(), "; use that device's backend");
    return src.clone();
  }
};

struct Registry {
  std::mutex mu;
  std::map<DeviceType, BackendFactory> factories;
  std::map<std::pair<int, int>, std::unique_ptr<Backend>> live;
};

Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void register_backend(DeviceType type, BackendFactory factory) {
  std::lock_guard<std::mutex> l(registry().mu);
  registry().factories[type] = factory;
}

bool backend_available(DeviceType type) {
  if (type == DeviceType::kCpu) return true;
  std::lock_guard<std::mutex> l(registry().mu);
  return registry().factories.count(type) > 0;
}

Backend& backend_for(Device d) {
  auto& r = registry();
  std::lock_guard<std::mutex> l(r.mu);
  auto key = std::make_pair(static_cast<int>(d.type), d.index);
  auto it = r.live.find(key);
  if (it != r.live.end()) return *it->second;
  std::unique_ptr<Backend> b;
  if (d.type == DeviceType::kCpu) {
    b = std::make_unique<CpuBackend>();
  } else {
    auto f = r.factories.find(d.type);
    if (f == r.factories.end())
      fail(Code::kNotFound, "device ", d.str(), " is not available: nestor was built without its backend");
    b = f->second(d.index);
  }
  Backend& ref = *b;
  r.live.emplace(key, std::move(b));
  return ref;
}

}  // namespace nestor
