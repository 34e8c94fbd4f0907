// The host_callback op (nestor/host_callback.h) against the embedding program's function, and
// Graph::refine_shape (Tensor.set_shape).
#include <gtest/gtest.h>

#include <string>

#include "nestor/graph.h"
#include "nestor/host_callback.h"
#include "nestor/op.h"
#include "nestor/session.h"

using namespace nestor;

namespace {

// Clears the process's callback when a test ends (the callback is global).
struct CallbackScope {
  explicit CallbackScope(HostCallback cb) { set_host_callback(std::move(cb)); }
  ~CallbackScope() { set_host_callback(nullptr); }
};

Output placeholder(Graph& g, const std::string& name, DType dt, Dims dims) {
  return g.add("placeholder", {}, Attrs{{"dtype", dt}, {"shape", PartialShape(dims)}}, name);
}

}  // namespace

TEST(HostCallback, CallsTheFunctionWithTheInputsAndChecksItsOutputs) {
  auto g = std::make_shared<Graph>();
  Output x = placeholder(*g, "x", DType::kFloat32, {-1});
  Output y = g->add("host_callback", {x}, Attrs{{"token", int64_t{7}}, {"Tout", std::vector<std::string>{"float32"}}},
                    "call");
  EXPECT_FALSE(g->shape(y).known_rank());
  EXPECT_EQ(g->dtype(y), DType::kFloat32);
  int calls = 0;
  CallbackScope scope([&](int64_t token, const std::string& node, const std::vector<Tensor>& in) {
    ++calls;
    EXPECT_EQ(token, 7);
    EXPECT_EQ(node, "call");
    Tensor out = Tensor::empty(DType::kFloat32, {in[0].num_elements() + 1});
    float total = 0;
    for (int64_t i = 0; i < in[0].num_elements(); ++i) total += out.data<float>()[i] = 2 * in[0].data<float>()[i];
    out.data<float>()[in[0].num_elements()] = total;
    return std::vector<Tensor>{out};
  });
  Session s(g);
  auto plan = s.compile({x}, {y}, {});
  Tensor out = s.run(*plan, {Tensor::vector<float>({1, 2, 3})})[0];
  ASSERT_EQ(out.dims(), (Dims{4}));
  EXPECT_EQ(out.data<float>()[3], 12.0f);
  EXPECT_EQ(calls, 1);
}

TEST(HostCallback, WrongDtypeCountOrNoCallbackAreErrors) {
  auto g = std::make_shared<Graph>();
  Output y = g->add("host_callback", {}, Attrs{{"token", int64_t{1}}, {"Tout", std::vector<std::string>{"int64"}}},
                    "call");
  Session s(g);
  auto plan = s.compile({}, {y}, {});
  auto message = [&] {
    try {
      s.run(*plan, {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message().find("runs only in the Python process that built the graph"), std::string::npos);
  {
    CallbackScope scope([](int64_t, const std::string&, const std::vector<Tensor>&) {
      return std::vector<Tensor>{Tensor::vector<float>({1})};
    });
    EXPECT_NE(message().find("output 0 of the function is float32, expected int64"), std::string::npos) << message();
  }
  {
    CallbackScope scope([](int64_t, const std::string&, const std::vector<Tensor>&) { return std::vector<Tensor>{}; });
    EXPECT_NE(message().find("returned 0 values, expected 1"), std::string::npos) << message();
  }
}

TEST(Graph, RefineShapeMergesAndRejectsIncompatibleShapes) {
  Graph g;
  Output x = placeholder(g, "x", DType::kFloat32, {-1, -1});
  g.refine_shape(x, PartialShape(Dims{-1, 3}));
  g.refine_shape(x, PartialShape(Dims{5, -1}));
  EXPECT_EQ(g.shape(x).dims(), (Dims{5, 3}));
  EXPECT_THROW(g.refine_shape(x, PartialShape(Dims{5, 4})), Error);
  EXPECT_THROW(g.refine_shape(Output{x.node, 1}, PartialShape()), Error);
  Output r = g.add("relu", {x});
  EXPECT_EQ(g.shape(r).dims(), (Dims{5, 3}));
}
