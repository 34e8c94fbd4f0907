// C++ unit tests of the runtime without Python: tensors, graph building and shape
// errors, autodiff against finite differences, the executor and serialization.
#include <gtest/gtest.h>

#include <cmath>
#include <atomic>
#include <random>

#include "nestor/graph.h"
#include "nestor/op.h"
#include "nestor/session.h"
#include "nestor/threadpool.h"

using namespace nestor;

namespace {

Output placeholder(Graph& g, const std::string& name, DType dt, Dims dims) {
  return g.add("placeholder", {}, Attrs{{"dtype", dt}, {"shape", PartialShape(dims)}}, name);
}

Tensor random_tensor(Dims dims, unsigned seed) {
  Tensor t = Tensor::empty(DType::kFloat64, dims);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<double>()[i] = u(rng);
  return t;
}

double run_scalar_sum(Session& s, const std::shared_ptr<Plan>& p, const std::vector<Tensor>& feeds) {
  Tensor out = s.run(*p, feeds)[0];
  double acc = 0;
  for (int64_t i = 0; i < out.num_elements(); ++i) acc += out.data<double>()[i];
  return acc;
}

}  // namespace

TEST(Tensor, ReshapeSharesBufferAndChecksCount) {
  Tensor t = Tensor::zeros(DType::kFloat32, {2, 3});
  Tensor r = t.reshaped({3, 2});
  EXPECT_EQ(r.raw(), t.raw());
  EXPECT_THROW(t.reshaped({4, 2}), Error);
}

TEST(Tensor, SliceRowsIsAView) {
  Tensor t = Tensor::vector<float>({1, 2, 3, 4, 5, 6}).reshaped({3, 2});
  Tensor s = t.slice_rows(1, 3);
  EXPECT_EQ(s.dims(), (Dims{2, 2}));
  EXPECT_EQ(s.data<float>()[0], 3.0f);
}

TEST(PartialShape, CompatibilityAndString) {
  PartialShape s(Dims{-1, 3});
  EXPECT_TRUE(s.is_compatible_with(Dims{7, 3}));
  EXPECT_FALSE(s.is_compatible_with(Dims{7, 4}));
  EXPECT_EQ(s.str(), "(?, 3)");
  EXPECT_EQ(PartialShape().str(), "<unknown>");
}

TEST(Graph, ShapeMismatchFailsAtBuildTimeNamingTheOp) {
  Graph g;
  Output a = placeholder(g, "a", DType::kFloat32, {-1, 3});
  Output b = placeholder(g, "b", DType::kFloat32, {4, 2});
  try {
    g.add("matmul", {a, b}, {}, "mm");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    std::string m = e.what();
    EXPECT_NE(m.find("mm"), std::string::npos) << m;
    EXPECT_NE(m.find("(?, 3)"), std::string::npos) << m;
    EXPECT_NE(m.find("(4, 2)"), std::string::npos) << m;
  }
}

TEST(Graph, UnknownOpAndUniqueNames) {
  Graph g;
  EXPECT_THROW(g.add_node("no_such_op", {}), Error);
  Output a = placeholder(g, "x", DType::kFloat32, {2});
  Output b = placeholder(g, "x", DType::kFloat32, {2});
  EXPECT_EQ(g.node(a.node).name, "x");
  EXPECT_EQ(g.node(b.node).name, "x_1");
}

TEST(Registry, EveryDeclaredOpHasCpuKernelAndShape) {
  auto problems = OpRegistry::global().self_test();
  for (auto& p : problems) ADD_FAILURE() << p;
}

TEST(Session, RunsMatmulAgainstReference) {
  auto g = std::make_shared<Graph>();
  Output a = placeholder(*g, "a", DType::kFloat64, {-1, 3});
  Output b = placeholder(*g, "b", DType::kFloat64, {3, 2});
  Output c = g->add("matmul", {a, b});
  Session s(g);
  auto plan = s.compile({a, b}, {c}, {});
  Tensor ta = random_tensor({4, 3}, 1), tb = random_tensor({3, 2}, 2);
  Tensor out = s.run(*plan, {ta, tb})[0];
  ASSERT_EQ(out.dims(), (Dims{4, 2}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      double want = 0;
      for (int k = 0; k < 3; ++k) want += ta.data<double>()[i * 3 + k] * tb.data<double>()[k * 2 + j];
      EXPECT_NEAR(out.data<double>()[i * 2 + j], want, 1e-12);
    }
}

TEST(Session, MissingFeedNamesThePlaceholder) {
  auto g = std::make_shared<Graph>();
  Output a = placeholder(*g, "inputs", DType::kFloat32, {-1, 3});
  Output r = g->add("relu", {a});
  Session s(g);
  auto plan = s.compile({}, {r}, {});
  try {
    s.run(*plan, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("placeholder tensor 'inputs'"), std::string::npos) << e.what();
  }
}

TEST(Session, VariablesInitializeAndUpdateInPlace) {
  auto g = std::make_shared<Graph>();
  Output v = g->add("variable", {}, Attrs{{"dtype", DType::kFloat32}, {"shape", PartialShape(Dims{2})}}, "v");
  Tensor init = Tensor::vector<float>({1.f, 2.f});
  Output c = g->add("const", {}, Attrs{{"value", init}, {"dtype", DType::kFloat32}});
  int assign = g->add_node("assign", {v, c});
  int add = g->add_node("assign_add", {v, c});
  Session s(g);
  auto read = s.compile({}, {v}, {});
  EXPECT_THROW(s.run(*read, {}), Error);  // uninitialized
  s.run(*s.compile({}, {}, {assign}), {});
  auto step = s.compile({}, {}, {add});
  for (int i = 0; i < 3; ++i) s.run(*step, {});
  Tensor out = s.run(*read, {})[0];
  EXPECT_FLOAT_EQ(out.data<float>()[0], 4.f);
  EXPECT_FLOAT_EQ(out.data<float>()[1], 8.f);
}

TEST(Autodiff, MatmulReluGradientMatchesFiniteDifferences) {
  auto g = std::make_shared<Graph>();
  Output x = placeholder(*g, "x", DType::kFloat64, {3, 4});
  Output w = placeholder(*g, "w", DType::kFloat64, {4, 2});
  Output b = placeholder(*g, "b", DType::kFloat64, {2});
  Output y = g->add("relu", {g->add("add", {g->add("matmul", {x, w}), b})});
  auto grads = gradients(*g, {y}, {w, b});
  ASSERT_TRUE(grads[0].valid() && grads[1].valid());
  Session s(g);
  Tensor tx = random_tensor({3, 4}, 3), tw = random_tensor({4, 2}, 4), tb = random_tensor({2}, 5);
  auto gplan = s.compile({x, w, b}, {grads[0].dense, grads[1].dense}, {});
  auto sym = s.run(*gplan, {tx, tw, tb});
  auto fplan = s.compile({x, w, b}, {y}, {});
  const double eps = 1e-6;
  for (int which = 0; which < 2; ++which) {
    Tensor& p = which == 0 ? tw : tb;
    for (int64_t i = 0; i < p.num_elements(); ++i) {
      double keep = p.data<double>()[i];
      p.data<double>()[i] = keep + eps;
      double fp = run_scalar_sum(s, fplan, {tx, tw, tb});
      p.data<double>()[i] = keep - eps;
      double fm = run_scalar_sum(s, fplan, {tx, tw, tb});
      p.data<double>()[i] = keep;
      EXPECT_NEAR(sym[which].data<double>()[i], (fp - fm) / (2 * eps), 1e-6) << "param " << which << " elem " << i;
    }
  }
}

TEST(Serialize, RoundTripPreservesGraphAndResults) {
  auto g = std::make_shared<Graph>();
  Output a = placeholder(*g, "a", DType::kFloat64, {2, 2});
  Tensor k = Tensor::vector<double>({1.0, -2.0, 3.0, 0.5}).reshaped({2, 2});
  Output c = g->add("const", {}, Attrs{{"value", k}, {"dtype", DType::kFloat64}}, "k");
  Output y = g->add("multiply", {g->add("matmul", {a, c}, Attrs{{"transpose_b", true}}), c}, {}, "y");
  std::string bytes = g->serialize();
  auto g2 = Graph::deserialize(bytes);
  ASSERT_EQ(g2->num_nodes(), g->num_nodes());
  EXPECT_EQ(g2->serialize(), bytes);
  Session s1(g), s2(g2);
  Tensor ta = random_tensor({2, 2}, 7);
  Tensor r1 = s1.run(*s1.compile({a}, {y}, {}), {ta})[0];
  int y2 = g2->find("y");
  Tensor r2 = s2.run(*s2.compile({Output{g2->find("a"), 0}}, {Output{y2, 0}}, {}), {ta})[0];
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(r1.data<double>()[i], r2.data<double>()[i]);
}

TEST(Serialize, TruncatedOrCorruptInputFailsCleanly) {
  Graph g;
  placeholder(g, "a", DType::kFloat32, {2});
  std::string bytes = g.serialize();
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_THROW(Graph::deserialize(bytes.substr(0, cut)), Error) << "cut at " << cut;
  std::string bad = bytes;
  bad[12] = '\x7f';  // absurd name length
  EXPECT_THROW(Graph::deserialize(bad), Error);
}

TEST(Session, RunStepsMatchesRepeatedRuns) {
  auto g = std::make_shared<Graph>();
  Output x = placeholder(*g, "x", DType::kFloat32, {2});
  Output v = g->add("variable", {}, Attrs{{"dtype", DType::kFloat32}, {"shape", PartialShape(Dims{2})}}, "acc");
  int add = g->add_node("assign_add", {v, x});
  Session s(g);
  s.set_variable("acc", Tensor::vector<float>({0.f, 0.f}));
  auto plan = s.compile({x}, {Output{add, 0}}, {});
  Tensor stacked = Tensor::vector<float>({1, 2, 3, 4, 5, 6}).reshaped({3, 2});
  Tensor last = s.run_steps(*plan, {stacked}, 3)[0];
  EXPECT_FLOAT_EQ(last.data<float>()[0], 9.f);
  EXPECT_FLOAT_EQ(last.data<float>()[1], 12.f);
}

TEST(ThreadPool, ExceptionsInChunksReachTheCaller) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 20; ++rep) {
    EXPECT_THROW(pool.parallel_for(1000, 10,
                                   [](int64_t b, int64_t e) {
                                     if (b <= 900 && 900 < e) fail(Code::kInvalidArgument, "boom");
                                   }),
                 Error);
  }
  std::atomic<int64_t> sum{0};
  pool.parallel_for(1000, 10, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 1000);
}

// Parts that wait for each other (as OpenBLAS's threaded GEMM parts do) finish only when the
// pool runs them all at once; a bounded wait turns a sequential run into a failure, not a hang.
TEST(ThreadPool, RunConcurrentlyStartsEveryPartAtOnce) {
  for (int threads : {2, 3, 4}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 50; ++rep) {
      std::atomic<int> arrived{0};
      std::atomic<bool> all_met{true};
      ASSERT_TRUE(pool.try_run_concurrently(threads, [&](int64_t b, int64_t e) {
        ASSERT_EQ(e, b + 1);
        ++arrived;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (arrived.load() < threads)
          if (std::chrono::steady_clock::now() > deadline) {
            all_met = false;
            return;
          }
      }));
      EXPECT_TRUE(all_met.load()) << threads << " threads, repetition " << rep;
    }
  }
}

TEST(ThreadPool, RunConcurrentlyRefusesWhatItCannotPromise) {
  ThreadPool pool(2);
  bool ran = false;
  EXPECT_FALSE(pool.try_run_concurrently(3, [&](int64_t, int64_t) { ran = true; }));  // more parts than threads
  EXPECT_FALSE(ran);
  std::atomic<int> nested_refused{0};
  pool.parallel_for(2, 1, [&](int64_t, int64_t) {  // the pool is busy with this call
    if (!pool.try_run_concurrently(2, [&](int64_t, int64_t) { ran = true; })) ++nested_refused;
  });
  EXPECT_EQ(nested_refused.load(), 2);
  EXPECT_FALSE(ran);
}
