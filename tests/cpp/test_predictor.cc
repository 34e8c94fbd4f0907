// nestor::Predictor and the C API over a small export written here by hand (graph.nstg,
// signatures.json, variables.safetensors): results, input errors, many threads at once,
// and damaged files failing with DataLoss naming the problem.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "io/export.h"
#include "nestor/c_api.h"
#include "nestor/graph.h"
#include "nestor/predictor.h"
#include "nestor/predictor.hpp"

using namespace nestor;

namespace {

const char* kSignatures =
    R"({"format": "nestor-export-1", "signature_defs": {"serving_default": {"method_name": "tensorflow/serving/predict",)"
    R"( "inputs": {"x": {"name": "x:0", "dtype": "float32", "shape": [null, 2]},)"
    R"( "s": {"name": "s:0", "dtype": "string", "shape": [null]}},)"
    R"( "outputs": {"y": {"name": "y:0", "dtype": "float32", "shape": [null, 1]},)"
    R"( "s_out": {"name": "s_out:0", "dtype": "string", "shape": [null]}}}}})";

std::string safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string weights_data() {
  float w[2] = {0.5f, -1.0f};
  return std::string(reinterpret_cast<const char*>(w), sizeof w);
}
const char* kWeightsHeader =
    R"({"__metadata__": {"format": "nestor-export-1"}, "w": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]}})";

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

class PredictorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nestor_predictor_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Graph g;
    Output x = g.add("placeholder", {}, Attrs{{"dtype", DType::kFloat32}, {"shape", PartialShape({-1, 2})}}, "x");
    Output w = g.add("variable", {}, Attrs{{"dtype", DType::kFloat32}, {"shape", PartialShape({2, 1})}}, "w");
    g.add("matmul", {x, w}, {}, "y");
    Output s = g.add("placeholder", {}, Attrs{{"dtype", DType::kString}, {"shape", PartialShape({-1})}}, "s");
    g.add("identity", {s}, {}, "s_out");
    write(dir_ + "/graph.nstg", g.serialize());
    write(dir_ + "/signatures.json", kSignatures);
    write(dir_ + "/variables.safetensors", safetensors(kWeightsHeader, weights_data()));
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string load_error(Code want = Code::kDataLoss) {
    try {
      Predictor::load(dir_);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), want) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "export loaded";
    return "";
  }

  std::string dir_;
};

Tensor floats(Dims d, std::vector<float> v) {
  Tensor t = Tensor::empty(DType::kFloat32, d);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(float));
  return t;
}
Tensor strings(std::vector<std::string> v) {
  Tensor t = Tensor::empty(DType::kString, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<std::string>()[i] = v[i];
  return t;
}

TEST_F(PredictorTest, LoadsAndRuns) {
  auto p = Predictor::load(dir_);
  EXPECT_EQ(p->signature_names(), std::vector<std::string>{"serving_default"});
  const auto& in = p->inputs("serving_default");
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].key, "s");
  EXPECT_EQ(in[1].name, "x:0");
  EXPECT_EQ(in[1].shape, PartialShape({-1, 2}));
  auto out = p->run("serving_default", {{"x", floats({2, 2}, {1, 2, 3, 4})}, {"s", strings({"a", "b"})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out["y"].dims(), (Dims{2, 1}));
  EXPECT_FLOAT_EQ(out["y"].data<float>()[0], -1.5f);
  EXPECT_FLOAT_EQ(out["y"].data<float>()[1], -2.5f);
  EXPECT_EQ(out["s_out"].data<std::string>()[1], "b");
}

TEST_F(PredictorTest, InputErrorsNameTheKey) {
  auto p = Predictor::load(dir_);
  auto err = [&](std::map<std::string, Tensor> in, const std::string& sig = "serving_default") {
    try {
      p->run(sig, in);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(err({{"x", floats({1, 2}, {1, 2})}}).find("missing input 's'"), std::string::npos);
  EXPECT_NE(err({{"x", strings({"a"})}, {"s", strings({"a"})}}).find("input 'x' must be float32, got string"),
            std::string::npos);
  EXPECT_NE(err({{"x", floats({1, 3}, {1, 2, 3})}, {"s", strings({"a"})}}).find("input 'x' must have shape (?, 2)"),
            std::string::npos);
  EXPECT_NE(err({{"x", floats({1, 2}, {1, 2})}, {"s", strings({"a"})}, {"z", strings({"a"})}}).find("no input 'z'"),
            std::string::npos);
  EXPECT_NE(err({}, "nope").find("has no signature 'nope'"), std::string::npos);
}

TEST_F(PredictorTest, ManyThreadsAtOnce) {
  auto p = Predictor::load(dir_);
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int k = 0; k < 8; ++k)
    ts.emplace_back([&, k] {
      for (int i = 0; i < 50; ++i) {
        float a = static_cast<float>(k * 100 + i);
        auto out = p->run("serving_default", {{"x", floats({1, 2}, {a, 1})}, {"s", strings({std::to_string(k)})}});
        if (out["y"].data<float>()[0] != 0.5f * a - 1.0f || out["s_out"].data<std::string>()[0] != std::to_string(k))
          ++bad;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(PredictorTest, DamagedSafetensors) {
  const std::string full = safetensors(kWeightsHeader, weights_data());
  for (size_t n = 0; n < full.size(); ++n) {
    write(dir_ + "/variables.safetensors", full.substr(0, n));
    EXPECT_NE(load_error().find("variables.safetensors"), std::string::npos) << n;
  }
  auto with_header = [&](const std::string& h, const std::string& data) {
    write(dir_ + "/variables.safetensors", safetensors(h, data));
    return load_error();
  };
  EXPECT_NE(with_header(R"({"w": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 12]}})", weights_data())
                .find("data_offsets [0, 12] outside the data of 8 bytes"),
            std::string::npos);
  EXPECT_NE(with_header(R"({"w": {"dtype": "F32", "shape": [2, 1], "data_offsets": [4, 8]}})", weights_data())
                .find("span 4 bytes, its dtype and shape need 8"),
            std::string::npos);
  EXPECT_NE(with_header(R"({"w": {"dtype": "F16", "shape": [2, 1], "data_offsets": [0, 8]}})", weights_data())
                .find("unsupported dtype 'F16'"),
            std::string::npos);
  EXPECT_NE(with_header(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", weights_data())
                .find("variable w: stored float64 (1,), the graph wants float32 (2, 1)"),
            std::string::npos);
  EXPECT_NE(with_header(R"({})", "").find("no value for variable w"), std::string::npos);
  EXPECT_NE(with_header(R"({"w": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]},)"
                        R"( "v": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                        weights_data())
                .find("tensors overlap"),
            std::string::npos);
  EXPECT_NE(with_header(R"({"w": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]},)"
                        R"( "v": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                        weights_data() + weights_data())
                .find("holds 'v', which is not a variable of the graph"),
            std::string::npos);
  // A header length beyond the file.
  std::string bad = full;
  bad[0] = '\x7f';
  bad[5] = '\x01';
  write(dir_ + "/variables.safetensors", bad);
  EXPECT_NE(load_error().find("exceeds the file size"), std::string::npos);
}

TEST_F(PredictorTest, DamagedSignaturesAndGraph) {
  write(dir_ + "/signatures.json", std::string(kSignatures).substr(0, 40));
  EXPECT_NE(load_error().find("signatures.json: offset 40: unterminated string"), std::string::npos);
  write(dir_ + "/signatures.json", R"({"format": "other", "signature_defs": {}})");
  EXPECT_NE(load_error().find("unknown format"), std::string::npos);
  std::string s = kSignatures;
  write(dir_ + "/signatures.json", s.replace(s.find("\"x:0\""), 5, "\"q:0\""));
  EXPECT_NE(load_error().find("tensor 'q:0' is not in the graph"), std::string::npos);
  write(dir_ + "/signatures.json", kSignatures);
  std::string g = io::read_file(dir_ + "/graph.nstg", 1 << 20);
  write(dir_ + "/graph.nstg", g.substr(0, g.size() / 2));
  EXPECT_NE(load_error().find("graph.nstg"), std::string::npos);
  std::remove((dir_ + "/signatures.json").c_str());
  EXPECT_NE(load_error(Code::kNotFound).find("signatures.json cannot be opened"), std::string::npos);
}

TEST_F(PredictorTest, CApi) {
  nestor_predictor* p = nullptr;
  nestor_predictor_options opts{sizeof(nestor_predictor_options), 2};
  ASSERT_EQ(nestor_predictor_load(dir_.c_str(), &opts, &p), nullptr);
  ASSERT_EQ(nestor_predictor_num_signatures(p), 1u);
  EXPECT_STREQ(nestor_predictor_signature_name(p, 0), "serving_default");
  EXPECT_EQ(nestor_predictor_signature_name(p, 1), nullptr);
  size_t n_in = 0;
  ASSERT_EQ(nestor_predictor_num_inputs(p, "serving_default", &n_in), nullptr);
  EXPECT_EQ(n_in, 2u);
  const char* key;
  nestor_dtype dt;
  int rank;
  const int64_t* dims;
  ASSERT_EQ(nestor_predictor_input(p, "serving_default", 1, &key, &dt, &rank, &dims), nullptr);
  EXPECT_STREQ(key, "x");
  EXPECT_EQ(dt, NESTOR_FLOAT32);
  ASSERT_EQ(rank, 2);
  EXPECT_EQ(dims[0], -1);
  EXPECT_EQ(dims[1], 2);

  float xv[4] = {1, 2, 3, 4};
  int64_t xd[2] = {2, 2}, sd[1] = {2};
  const char* strs[2] = {"a\0b", "c"};
  size_t lens[2] = {3, 1};
  nestor_tensor *x = nullptr, *s = nullptr;
  ASSERT_EQ(nestor_tensor_create(NESTOR_FLOAT32, xd, 2, xv, sizeof xv, &x), nullptr);
  ASSERT_EQ(nestor_tensor_create_strings(sd, 1, strs, lens, &s), nullptr);
  const char* keys[2] = {"x", "s"};
  const nestor_tensor* ins[2] = {x, s};
  size_t n_out = 0;
  char** out_keys = nullptr;
  nestor_tensor** outs = nullptr;
  ASSERT_EQ(nestor_predictor_run(p, "serving_default", 2, keys, ins, &n_out, &out_keys, &outs), nullptr);
  ASSERT_EQ(n_out, 2u);
  EXPECT_STREQ(out_keys[0], "s_out");
  EXPECT_STREQ(out_keys[1], "y");
  size_t len = 0;
  const char* s0 = nestor_tensor_string_at(outs[0], 0, &len);
  EXPECT_EQ(std::string(s0, len), std::string("a\0b", 3));
  EXPECT_EQ(nestor_tensor_string_at(outs[0], 2, &len), nullptr);
  EXPECT_EQ(nestor_tensor_data(outs[0]), nullptr);
  EXPECT_EQ(nestor_tensor_rank(outs[1]), 2);
  EXPECT_EQ(nestor_tensor_nbytes(outs[1]), 8u);
  const float* y = static_cast<const float*>(nestor_tensor_data(outs[1]));
  EXPECT_FLOAT_EQ(y[1], -2.5f);
  nestor_tensor* kept = outs[1];  // take one out; release the rest
  outs[1] = nullptr;
  nestor_outputs_release(n_out, out_keys, outs);
  EXPECT_EQ(nestor_tensor_dims(kept)[0], 2);
  nestor_tensor_release(kept);

  // Errors come back as statuses; out-parameters are untouched.
  nestor_status* st = nestor_predictor_run(p, "serving_default", 1, keys, ins, &n_out, nullptr, &outs);
  EXPECT_EQ(nestor_status_code(st), NESTOR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nestor_status_message(st)).find("missing input 's'"), std::string::npos);
  nestor_status_release(st);
  nestor_tensor* t = nullptr;
  st = nestor_tensor_create(NESTOR_FLOAT32, xd, 2, xv, 12, &t);
  EXPECT_NE(std::string(nestor_status_message(st)).find("needs 16 bytes, got 12"), std::string::npos);
  EXPECT_EQ(t, nullptr);
  nestor_status_release(st);
  uint8_t b = 2;
  int64_t one = 1;
  st = nestor_tensor_create(NESTOR_BOOL, &one, 1, &b, 1, &t);
  EXPECT_EQ(nestor_status_code(st), NESTOR_INVALID_ARGUMENT);
  nestor_status_release(st);
  nestor_predictor_options small{4, 1};
  nestor_predictor* q = nullptr;
  st = nestor_predictor_load(dir_.c_str(), &small, &q);
  EXPECT_NE(std::string(nestor_status_message(st)).find("struct_size"), std::string::npos);
  nestor_status_release(st);
  st = nestor_predictor_load("/nonexistent/export", nullptr, &q);
  EXPECT_EQ(nestor_status_code(st), NESTOR_NOT_FOUND);
  EXPECT_EQ(q, nullptr);
  nestor_status_release(st);
  EXPECT_EQ(nestor_status_code(nullptr), NESTOR_OK);
  EXPECT_STREQ(nestor_status_message(nullptr), "");
  nestor_tensor_release(x);
  nestor_tensor_release(s);
  nestor_predictor_release(p);
}

TEST_F(PredictorTest, CppWrapper) {
  nestor::capi::Predictor p(dir_);
  auto out = p.run("serving_default", {{"x", nestor::capi::Tensor::of<float>({1, 2}, {2, 2})},
                                       {"s", nestor::capi::Tensor::strings({1}, {"hi"})}});
  EXPECT_FLOAT_EQ(out.at("y").data<float>()[0], -1.0f);
  EXPECT_EQ(out.at("s_out").string_at(0), "hi");
  EXPECT_EQ(p.outputs("serving_default")[1].key, "y");
  try {
    p.run("serving_default", {});
    FAIL();
  } catch (const nestor::capi::Error& e) {
    EXPECT_EQ(e.code(), NESTOR_INVALID_ARGUMENT);
  }
  EXPECT_THROW(nestor::capi::Predictor("/nonexistent"), nestor::capi::Error);
}

}  // namespace
