// The size-class cache behind the CUDA plugin's allocators (cuda/backend/block_cache.h),
// checked without a GPU: rounding, reuse of freed blocks, readiness, draining.
#include <gtest/gtest.h>

#include <set>

#include "../../cuda/backend/block_cache.h"

namespace nestor {
namespace cuda {
namespace {

TEST(SizeClass, RoundsUpWithinAnEighth) {
  EXPECT_EQ(size_class(0), 512u);
  EXPECT_EQ(size_class(1), 512u);
  EXPECT_EQ(size_class(512), 512u);
  EXPECT_EQ(size_class(513), 1024u);  // step is max(512/8, 512) = 512
  EXPECT_EQ(size_class(4096), 4096u);
  EXPECT_EQ(size_class(4097), 4608u);  // step 4096/8 = 512
  EXPECT_EQ(size_class((1u << 20) + 1), (1u << 20) + (1u << 17));
  for (size_t n : {700u, 5000u, 123456u, 7654321u}) {
    size_t c = size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(static_cast<double>(c - n), 0.125 * static_cast<double>(n) + 512);
    EXPECT_EQ(size_class(c), c);  // classes are fixed points
  }
}

TEST(BlockCache, ReusesFreedBlocksOfTheSameClassOnly) {
  BlockCache<char> cache;
  int a = 0, b = 0;
  EXPECT_EQ(cache.take(1024).ptr, nullptr);
  cache.put(1024, {&a, 0});
  cache.put(2048, {&b, 0});
  EXPECT_EQ(cache.cached_bytes(), 3072u);
  EXPECT_EQ(cache.take(1536).ptr, nullptr);
  EXPECT_EQ(cache.take(1024).ptr, &a);
  EXPECT_EQ(cache.take(1024).ptr, nullptr);
  EXPECT_EQ(cache.cached_bytes(), 2048u);
}

TEST(BlockCache, SkipsBlocksThatAreNotReady) {
  BlockCache<int> cache;  // tag: 1 = still in use by the device
  int a = 0, b = 0;
  cache.put(512, {&a, 1});
  cache.put(512, {&b, 0});
  auto ready = [](int busy) { return busy == 0; };
  auto got = cache.take(512, ready);
  EXPECT_EQ(got.ptr, &b);
  EXPECT_EQ(cache.take(512, ready).ptr, nullptr);
  EXPECT_EQ(cache.take(512).ptr, &a);  // ready when the caller says so
}

TEST(BlockCache, DrainReleasesEverything) {
  BlockCache<char> cache;
  int a = 0, b = 0, c = 0;
  cache.put(512, {&a, 0});
  cache.put(512, {&b, 0});
  cache.put(4096, {&c, 0});
  std::set<void*> released;
  EXPECT_EQ(cache.drain([&](const BlockCache<char>::Block& blk) { released.insert(blk.ptr); }), 5120u);
  EXPECT_EQ(released, (std::set<void*>{&a, &b, &c}));
  EXPECT_EQ(cache.cached_bytes(), 0u);
  EXPECT_EQ(cache.take(512).ptr, nullptr);
}

}  // namespace
}  // namespace cuda
}  // namespace nestor
