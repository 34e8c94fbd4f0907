// Device feeds and fetches (exec/placement.h) on a stand-in device: a Backend registered as
// cuda:0 whose memory is host memory labelled cuda, with a "multiply" kernel for it, so the
// placement of a device session runs without a GPU. Copies are counted: a feed already on
// the device is used in place, host readers of a device feed get a host copy, fetches stay
// on the device only when the plan asks, and a CPU session copies a device feed to the host.
// (Under ctest every test runs in its own process; the registrations are process-wide.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "nestor/backend.h"
#include "nestor/op.h"
#include "nestor/session.h"

using namespace nestor;

namespace {

const Device kFake{DeviceType::kCuda, 0};

class FakeAllocator : public Allocator {
 public:
  std::shared_ptr<Buffer> allocate(size_t nbytes) override {
    size_t n = (nbytes + 63) / 64 * 64 + 64;
    return std::make_shared<Buffer>(std::aligned_alloc(64, n), nbytes, kFake, [](void* p, size_t) { std::free(p); });
  }
  Device device() const override { return kFake; }
};

struct FakeBackend : Backend {
  static int to_device, to_host;
  FakeAllocator alloc;
  Device device() const override { return kFake; }
  Allocator& allocator() override { return alloc; }
  Tensor copy_from(const Tensor& src) override {
    ++to_device;
    Tensor out = Tensor::empty(src.dtype(), src.dims(), alloc);
    std::memcpy(out.raw(), src.raw(), src.nbytes());
    return out;
  }
  Tensor copy_to_host(const Tensor& src) override {
    ++to_host;
    Tensor out = Tensor::empty(src.dtype(), src.dims());
    std::memcpy(out.raw(), src.raw(), src.nbytes());
    return out;
  }
};
int FakeBackend::to_device = 0;
int FakeBackend::to_host = 0;

void install_fake_device() {
  static bool done = [] {
    register_backend(
        DeviceType::kCuda, [](int) -> std::unique_ptr<Backend> { return std::make_unique<FakeBackend>(); },
        [] { return 1; });
    OpDef& mul = OpRegistry::global().get_or_create("multiply");
    mul.kernels[DeviceType::kCuda] = *mul.kernel(DeviceType::kCpu);  // reads host memory: fine here
    return true;
  }();
  (void)done;
  FakeBackend::to_device = FakeBackend::to_host = 0;
}

struct Model {
  std::shared_ptr<Graph> g = std::make_shared<Graph>();
  Output x, y, z;
  Model() {
    x = g->add("placeholder", {}, Attrs{{"dtype", DType::kFloat32}, {"shape", PartialShape(Dims{2, 2})}}, "x");
    y = g->add("multiply", {x, x}, {}, "y");  // runs on the device
    z = g->add("add", {y, x}, {}, "z");       // no device kernel: runs on the CPU
  }
};

Tensor host_input() {
  Tensor t = Tensor::empty(DType::kFloat32, {2, 2});
  for (int i = 0; i < 4; ++i) t.data<float>()[i] = static_cast<float>(i + 1);
  return t;
}

Tensor on_fake_device(const Tensor& host) { return backend_for(kFake).copy_from(host); }

std::vector<float> values(const Tensor& t) {
  EXPECT_EQ(t.device(), Device{}) << "expected a host tensor";
  return std::vector<float>(t.data<float>(), t.data<float>() + t.num_elements());
}

SessionOptions on_fake() {
  SessionOptions o;
  o.device = "cuda:0";
  return o;
}

TEST(DeviceFeeds, AFeedOnTheDeviceIsUsedInPlaceAndFetchesStayThereWhenAsked) {
  install_fake_device();
  Model m;
  Session s(m.g, on_fake());
  Tensor xd = on_fake_device(host_input());
  FakeBackend::to_device = 0;
  auto plan = s.compile({m.x}, {m.y}, {}, /*fetches_on_device=*/true);
  Tensor y = s.run(*plan, {xd})[0];
  EXPECT_EQ(y.device(), kFake);
  EXPECT_EQ(FakeBackend::to_device, 0);  // no copy of the feed
  EXPECT_EQ(FakeBackend::to_host, 0);    // no copy back
  Tensor yh = backend_for(kFake).copy_to_host(y);
  EXPECT_EQ(values(yh), (std::vector<float>{1, 4, 9, 16}));

  auto to_host = s.compile({m.x}, {m.y}, {});  // the default: fetches come back to the host
  FakeBackend::to_host = 0;
  EXPECT_EQ(values(s.run(*to_host, {xd})[0]), (std::vector<float>{1, 4, 9, 16}));
  EXPECT_EQ(FakeBackend::to_host, 1);
  EXPECT_EQ(FakeBackend::to_device, 0);
}

TEST(DeviceFeeds, HostReadersOfADeviceFeedGetAHostCopyAndHostFeedsAreCopiedIn) {
  install_fake_device();
  Model m;
  Session s(m.g, on_fake());
  auto plan = s.compile({m.x}, {m.z}, {});
  Tensor xd = on_fake_device(host_input());
  FakeBackend::to_device = FakeBackend::to_host = 0;
  EXPECT_EQ(values(s.run(*plan, {xd})[0]), (std::vector<float>{2, 6, 12, 20}));
  EXPECT_EQ(FakeBackend::to_device, 0);
  EXPECT_EQ(FakeBackend::to_host, 2);  // x for `add`, and y
  FakeBackend::to_device = FakeBackend::to_host = 0;
  EXPECT_EQ(values(s.run(*plan, {host_input()})[0]), (std::vector<float>{2, 6, 12, 20}));
  EXPECT_EQ(FakeBackend::to_device, 1);  // x for `multiply`; `add` reads the host feed as it is
  EXPECT_EQ(FakeBackend::to_host, 1);    // y
}

TEST(DeviceFeeds, ACpuSessionCopiesADeviceFeedToTheHost) {
  install_fake_device();
  Model m;
  Session s(m.g);
  auto plan = s.compile({m.x}, {m.z}, {});
  Tensor xd = on_fake_device(host_input());
  FakeBackend::to_host = 0;
  EXPECT_EQ(values(s.run(*plan, {xd})[0]), (std::vector<float>{2, 6, 12, 20}));
  EXPECT_EQ(FakeBackend::to_host, 1);
}

}  // namespace
