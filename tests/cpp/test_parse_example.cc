// parse_example without Python: a hand-encoded tf.Example parses to its values, and every
// truncation and single-byte change of it either parses or fails with InvalidArgument (run
// under ASan+UBSan by tests/run.sh, this checks the decoder never reads out of bounds).
#include <gtest/gtest.h>

#include <cstring>

#include "nestor/graph.h"
#include "nestor/op.h"
#include "nestor/session.h"

using namespace nestor;

namespace {

std::string varint(uint64_t v) {
  std::string s;
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    s.push_back(static_cast<char>(b | (v ? 0x80 : 0)));
  } while (v);
  return s;
}

std::string ld(int field, const std::string& payload) {
  return varint(static_cast<uint64_t>(field) << 3 | 2) + varint(payload.size()) + payload;
}

std::string entry(const std::string& key, const std::string& feature) { return ld(1, ld(1, key) + ld(2, feature)); }

// Example{x: float_list [1.5, -2] (packed), s: int64_list [-1, 300] (unpacked), t: bytes_list ["ab", ""]}
std::string example() {
  std::string floats(8, '\0');
  float f[2] = {1.5f, -2.0f};
  std::memcpy(&floats[0], f, 8);
  std::string ints = varint(1 << 3) + varint(static_cast<uint64_t>(-1)) + varint(1 << 3) + varint(300);
  return ld(1, entry("x", ld(2, ld(1, floats))) + entry("s", ld(3, ints)) + entry("t", ld(1, ld(1, "ab") + ld(1, ""))));
}

struct Parser {
  std::shared_ptr<Graph> g = std::make_shared<Graph>();
  Output ser;
  int node = -1;
  std::unique_ptr<Session> sess;
  std::shared_ptr<Plan> plan;

  Parser() {
    ser = g->add("placeholder", {}, Attrs{{"dtype", DType::kString}, {"shape", PartialShape(Dims{-1})}}, "ser");
    Output dflt = g->add("const", {}, Attrs{{"value", Tensor::vector<float>({7.0f, 8.0f})}, {"dtype", DType::kFloat32}});
    node = g->add_node("parse_example", {ser, dflt},
                       Attrs{{"dense_keys", std::vector<std::string>{"x"}}, {"dense_ranks", std::vector<int64_t>{1}},
                             {"dense_dims", std::vector<int64_t>{2}},
                             {"sparse_keys", std::vector<std::string>{"s", "t"}},
                             {"sparse_types", std::vector<std::string>{"int64", "string"}}});
    sess = std::make_unique<Session>(g);
    std::vector<Output> outs;
    for (int i = 0; i < 7; ++i) outs.push_back(Output{node, i});
    plan = sess->compile({ser}, outs, {});
  }
  std::vector<Tensor> run(const std::vector<std::string>& batch) {
    Tensor t = Tensor::empty(DType::kString, {static_cast<int64_t>(batch.size())});
    for (size_t i = 0; i < batch.size(); ++i) t.data<std::string>()[i] = batch[i];
    return sess->run(*plan, {t});
  }
};

}  // namespace

TEST(ParseExample, DecodesPackedUnpackedAndBytes) {
  Parser p;
  // outputs: indices s, t; values s, t; shapes s, t; dense x
  auto out = p.run({example(), ld(1, "")});
  ASSERT_EQ(out[6].dims(), (Dims{2, 2}));
  const float* x = out[6].data<float>();
  EXPECT_EQ(x[0], 1.5f);
  EXPECT_EQ(x[1], -2.0f);
  EXPECT_EQ(x[2], 7.0f);  // the second example has no x: the default
  EXPECT_EQ(x[3], 8.0f);
  ASSERT_EQ(out[2].dims(), (Dims{2}));
  EXPECT_EQ(out[2].data<int64_t>()[0], -1);
  EXPECT_EQ(out[2].data<int64_t>()[1], 300);
  ASSERT_EQ(out[3].dims(), (Dims{2}));
  EXPECT_EQ(out[3].data<std::string>()[0], "ab");
  EXPECT_EQ(out[3].data<std::string>()[1], "");
  EXPECT_EQ(out[4].data<int64_t>()[0], 2);  // dense_shape [batch, max count]
  EXPECT_EQ(out[4].data<int64_t>()[1], 2);
  const int64_t* ind = out[0].data<int64_t>();
  EXPECT_EQ(ind[0], 0);
  EXPECT_EQ(ind[1], 0);
  EXPECT_EQ(ind[2], 0);
  EXPECT_EQ(ind[3], 1);
}

TEST(ParseExample, EveryTruncationAndByteChangeParsesOrFailsCleanly) {
  Parser p;
  const std::string good = example();
  int failed = 0, parsed = 0;
  auto attempt = [&](const std::string& bad) {
    try {
      p.run({good, bad});
      ++parsed;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find("example 1: "), std::string::npos) << e.what();
      ++failed;
    }
  };
  for (size_t n = 0; n < good.size(); ++n) attempt(good.substr(0, n));
  for (size_t i = 0; i < good.size(); ++i)
    for (int b : {0x00, 0x01, 0x02, 0x05, 0x07, 0x0A, 0x12, 0x1A, 0x7F, 0x80, 0xFF}) {
      std::string bad = good;
      bad[i] = static_cast<char>(b);
      attempt(bad);
    }
  EXPECT_GT(failed, 100);
  EXPECT_GT(parsed, 10);
}
