// DLPack import/export (nestor/dlpack.h) against hand-built DLPack structs: zero copy,
// deleters called exactly once (also when an import fails), every dtype both ways, layout
// and device checks with their messages, and exported tensors outliving their source.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/dlpack_abi.h"
#include "nestor/dlpack.h"

using namespace nestor;

namespace {

// A producer's tensor: owns its data, shape and strides, counts deleter calls.
struct Producer {
  std::vector<float> data;
  std::vector<int64_t> shape, strides;
  int deletes = 0;
  DLManagedTensor managed{};
  DLManagedTensorVersioned versioned{};

  Producer(std::vector<int64_t> s, std::vector<int64_t> st = {}) : shape(std::move(s)), strides(std::move(st)) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    data.resize(static_cast<size_t>(n) + 4);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
    fill(managed.dl_tensor);
    managed.manager_ctx = this;
    managed.deleter = [](DLManagedTensor* self) { static_cast<Producer*>(self->manager_ctx)->deletes++; };
    fill(versioned.dl_tensor);
    versioned.version = DLPackVersion{1, 0};
    versioned.manager_ctx = this;
    versioned.deleter = [](DLManagedTensorVersioned* self) { static_cast<Producer*>(self->manager_ctx)->deletes++; };
  }
  void fill(DLTensor& t) {
    t.data = data.data();
    t.device = DLDevice{kDLCPU, 0};
    t.ndim = static_cast<int32_t>(shape.size());
    t.dtype = DLDataType{kDLFloat, 32, 1};
    t.shape = shape.data();
    t.strides = strides.empty() ? nullptr : strides.data();
    t.byte_offset = 0;
  }
};

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(DLPack, ImportSharesMemoryAndCallsTheDeleterOnceWhenTheLastViewGoes) {
  Producer p({2, 3});
  {
    Tensor t = from_dlpack(&p.managed);
    EXPECT_EQ(t.dtype(), DType::kFloat32);
    EXPECT_EQ(t.dims(), (Dims{2, 3}));
    EXPECT_EQ(t.device(), Device{});
    EXPECT_EQ(t.raw(), static_cast<void*>(p.data.data()));
    Tensor view = t.reshaped({3, 2});
    t = Tensor();
    EXPECT_EQ(p.deletes, 0);  // `view` still holds the buffer
    p.data[4] = 42.0f;        // the producer writes: nestor sees it
    EXPECT_EQ(view.data<float>()[4], 42.0f);
  }
  EXPECT_EQ(p.deletes, 1);
}

TEST(DLPack, ByteOffsetStridesOfSizeOneDimsAndPinnedHostMemory) {
  Producer p({3, 1, 2}, {2, 7, 1});  // the size-1 dimension's stride is never used
  p.managed.dl_tensor.byte_offset = 2 * sizeof(float);
  p.managed.dl_tensor.device = DLDevice{kDLCUDAHost, 0};
  Tensor t = from_dlpack(&p.managed);
  EXPECT_EQ(t.device(), Device{});
  EXPECT_EQ(t.data<float>()[0], 2.0f);
  EXPECT_EQ(t.data<float>()[5], 7.0f);
  t = Tensor();
  EXPECT_EQ(p.deletes, 1);
}

TEST(DLPack, NonContiguousStridesFailNamingShapeAndStridesAndStillDelete) {
  Producer p({3, 2}, {1, 3});  // a transposed (column-major) view
  std::string msg = error_of([&] { from_dlpack(&p.managed); });
  EXPECT_NE(msg.find("shape (3, 2) with strides (1, 3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("contiguous copy"), std::string::npos) << msg;
  EXPECT_EQ(p.deletes, 1);
}

TEST(DLPack, UnsupportedDtypesDevicesAndVersionsFailAndStillDelete) {
  struct Case {
    DLDataType dtype;
    DLDevice device;
    const char* expect;
  };
  const Case cases[] = {
      {{kDLComplex, 64, 1}, {kDLCPU, 0}, "DLPack dtype complex64 is not supported"},
      {{kDLFloat, 16, 1}, {kDLCPU, 0}, "DLPack dtype float16 is not supported"},
      {{kDLUInt, 8, 1}, {kDLCPU, 0}, "DLPack dtype uint8 is not supported"},
      {{kDLFloat, 32, 4}, {kDLCPU, 0}, "DLPack dtype float32x4 is not supported"},
      {{kDLFloat, 32, 1}, {kDLROCM, 0}, "DLPack device type 10 (device 0) is not supported"},
  };
  for (const Case& c : cases) {
    Producer p({2});
    p.managed.dl_tensor.dtype = c.dtype;
    p.managed.dl_tensor.device = c.device;
    std::string msg = error_of([&] { from_dlpack(&p.managed); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    EXPECT_EQ(p.deletes, 1) << c.expect;
  }
  Producer p({2});
  p.versioned.version = DLPackVersion{2, 0};
  std::string msg = error_of([&] { from_dlpack(&p.versioned); });
  EXPECT_NE(msg.find("DLPack version 2.0 is not supported"), std::string::npos) << msg;
  EXPECT_EQ(p.deletes, 1);
}

TEST(DLPack, VersionedImport) {
  Producer p({4});
  p.versioned.flags = kDLPackFlagReadOnly;
  Tensor t = from_dlpack(&p.versioned);
  EXPECT_EQ(t.raw(), static_cast<void*>(p.data.data()));
  EXPECT_EQ(t.data<float>()[3], 3.0f);
  t = Tensor();
  EXPECT_EQ(p.deletes, 1);
}

TEST(DLPack, EveryDtypeExportsAndImportsBack) {
  struct Case {
    DType dtype;
    uint8_t code, bits;
  };
  const Case cases[] = {{DType::kFloat32, kDLFloat, 32}, {DType::kFloat64, kDLFloat, 64},
                        {DType::kInt32, kDLInt, 32},     {DType::kInt64, kDLInt, 64},
                        {DType::kBool, kDLBool, 8}};
  for (const Case& c : cases) {
    Tensor t = Tensor::zeros(c.dtype, {2, 3});
    std::memset(t.raw(), 1, t.nbytes());
    DLManagedTensor* m = to_dlpack(t);
    EXPECT_EQ(m->dl_tensor.dtype.code, c.code);
    EXPECT_EQ(m->dl_tensor.dtype.bits, c.bits);
    EXPECT_EQ(m->dl_tensor.dtype.lanes, 1);
    EXPECT_EQ(m->dl_tensor.device.device_type, kDLCPU);
    EXPECT_EQ(m->dl_tensor.data, t.raw());
    Tensor back = from_dlpack(m);  // takes the export: its deleter runs when `back` goes
    EXPECT_EQ(back.dtype(), c.dtype);
    EXPECT_EQ(back.dims(), t.dims());
    EXPECT_EQ(back.raw(), t.raw());
  }
}

TEST(DLPack, ExportOutlivesTheTensorAndGivesCompactStrides) {
  Tensor t = Tensor::empty(DType::kFloat64, {2, 1, 3});
  for (int i = 0; i < 6; ++i) t.data<double>()[i] = i * 0.5;
  std::weak_ptr<Buffer> watch = t.buffer();
  DLManagedTensorVersioned* m = to_dlpack_versioned(t.slice_rows(1, 2));
  t = Tensor();
  ASSERT_FALSE(watch.expired());  // the export's manager context holds the buffer
  EXPECT_EQ(m->version.major, 1u);
  EXPECT_EQ(m->flags, 0u);
  ASSERT_EQ(m->dl_tensor.ndim, 3);
  EXPECT_EQ(std::vector<int64_t>(m->dl_tensor.shape, m->dl_tensor.shape + 3), (std::vector<int64_t>{1, 1, 3}));
  EXPECT_EQ(std::vector<int64_t>(m->dl_tensor.strides, m->dl_tensor.strides + 3), (std::vector<int64_t>{3, 3, 1}));
  EXPECT_EQ(static_cast<double*>(m->dl_tensor.data)[0], 1.5);  // the slice's first element
  dlpack_delete(m);
  EXPECT_TRUE(watch.expired());
}

TEST(DLPack, ScalarsExportWithRankZeroAndStringsCannotBeExported) {
  DLManagedTensor* m = to_dlpack(Tensor::scalar<int64_t>(7));
  EXPECT_EQ(m->dl_tensor.ndim, 0);
  EXPECT_EQ(*static_cast<int64_t*>(m->dl_tensor.data), 7);
  dlpack_delete(m);
  Tensor s = Tensor::empty(DType::kString, {2});
  std::string msg = error_of([&] { to_dlpack(s); });
  EXPECT_NE(msg.find("a string tensor cannot be exported through DLPack"), std::string::npos) << msg;
  EXPECT_EQ(dlpack_device(Device{DeviceType::kCuda, 3}), (std::pair<int32_t, int32_t>{kDLCUDA, 3}));
  EXPECT_EQ(device_from_dlpack(kDLCUDA, 1), (Device{DeviceType::kCuda, 1}));
}

}  // namespace
