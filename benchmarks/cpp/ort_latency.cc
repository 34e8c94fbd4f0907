// ort_latency <libonnxruntime.so> <model.onnx> <input> <width> <output> <out_width> <batch> <calls> <threads>
//
// The reference for serving_latency: ONNX Runtime's own C API, timed the way serving_latency
// times nestor's. One float input of shape [batch, width] (values from bench::values, the same
// as serving_latency gives a [batch, width] input) and one float output of [batch, out_width];
// 200 warm-up calls, then `calls` calls of OrtApi::Run (ORT allocates the output) + ReleaseValue
// one by one, with `threads` intra-op threads (0: ORT's default). Prints bench::print_json's line.
//
// ORT's Python wheel carries libonnxruntime.so but not its C headers, and no registry this
// project builds from has them. The C API is a table of function pointers (struct OrtApi) whose
// order is fixed by ORT's ABI promise: entries are only ever appended, and those of API
// versions 1-5 are marked "do not modify". So this program loads the library with dlopen, asks
// OrtGetApiBase()->GetApi(1) for the version-1 table, and calls the few entries it needs by
// their positions, declared below from ORT's published header (onnxruntime_c_api.h). It
// checks the positions before use: a status created through entry 0 must read back through
// entries 1 and 2, and serving.py compares the output with nestor's on the same inputs.
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "latency_util.h"

namespace ort {

// Opaque handles.
struct Status;
struct Env;
struct Session;
struct SessionOptions;
struct RunOptions;
struct MemoryInfo;
struct Value;

// Enumerators used here, as ORT numbers them.
constexpr int kErrorCodeFail = 1;            // OrtErrorCode ORT_FAIL
constexpr int kLoggingLevelError = 3;        // OrtLoggingLevel ORT_LOGGING_LEVEL_ERROR
constexpr int kTensorFloat = 1;              // ONNXTensorElementDataType FLOAT
constexpr int kArenaAllocator = 1;           // OrtAllocatorType OrtArenaAllocator
constexpr int kMemTypeDefault = 0;           // OrtMemType OrtMemTypeDefault
constexpr int kSequential = 0;               // ExecutionMode ORT_SEQUENTIAL
constexpr uint32_t kApiVersion = 1;          // every entry below is in version 1

struct ApiBase {  // struct OrtApiBase
  const void* (*GetApi)(uint32_t version);
  const char* (*GetVersionString)();
};

// Positions in struct OrtApi and the signatures there (Linux: default calling convention).
template <size_t I, typename F>
struct Entry {
  static constexpr size_t index = I;
  using type = F;
};
using CreateStatus = Entry<0, Status* (*)(int code, const char* msg)>;
using GetErrorCode = Entry<1, int (*)(const Status*)>;
using GetErrorMessage = Entry<2, const char* (*)(const Status*)>;
using CreateEnv = Entry<3, Status* (*)(int log_level, const char* logid, Env** out)>;
using CreateSession = Entry<7, Status* (*)(const Env*, const char* model_path, const SessionOptions*, Session** out)>;
using Run = Entry<9, Status* (*)(Session*, const RunOptions*, const char* const* input_names,
                                 const Value* const* inputs, size_t n_inputs, const char* const* output_names,
                                 size_t n_outputs, Value** outputs)>;
using CreateSessionOptions = Entry<10, Status* (*)(SessionOptions** out)>;
using SetSessionExecutionMode = Entry<13, Status* (*)(SessionOptions*, int mode)>;
using SetIntraOpNumThreads = Entry<24, Status* (*)(SessionOptions*, int)>;
using SetInterOpNumThreads = Entry<25, Status* (*)(SessionOptions*, int)>;
using CreateTensorWithDataAsOrtValue = Entry<49, Status* (*)(const MemoryInfo*, void* data, size_t nbytes,
                                                             const int64_t* shape, size_t rank, int dtype,
                                                             Value** out)>;
using GetTensorMutableData = Entry<51, Status* (*)(Value*, void** out)>;
using CreateCpuMemoryInfo = Entry<69, Status* (*)(int allocator_type, int mem_type, MemoryInfo** out)>;
using ReleaseEnv = Entry<92, void (*)(Env*)>;
using ReleaseStatus = Entry<93, void (*)(Status*)>;
using ReleaseMemoryInfo = Entry<94, void (*)(MemoryInfo*)>;
using ReleaseSession = Entry<95, void (*)(Session*)>;
using ReleaseValue = Entry<96, void (*)(Value*)>;
using ReleaseSessionOptions = Entry<100, void (*)(SessionOptions*)>;

class Api {
 public:
  explicit Api(const void* table) : table_(static_cast<const AnyFn*>(table)) {}
  template <typename E>
  typename E::type get() const {
    return reinterpret_cast<typename E::type>(table_[E::index]);
  }

 private:
  using AnyFn = void (*)();
  const AnyFn* table_;
};

}  // namespace ort

namespace {

const ort::Api* g_api = nullptr;

void check(ort::Status* s, const char* what) {
  if (!s) return;
  std::fprintf(stderr, "ort_latency: %s: %s\n", what, g_api->get<ort::GetErrorMessage>()(s));
  g_api->get<ort::ReleaseStatus>()(s);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 10) {
    std::fprintf(stderr,
                 "usage: %s <libonnxruntime.so> <model.onnx> <input> <width> <output> <out_width> <batch> <calls> "
                 "<intra_op_threads>\n",
                 argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "ort_latency: dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  auto get_base = reinterpret_cast<const ort::ApiBase* (*)()>(dlsym(lib, "OrtGetApiBase"));
  if (!get_base) {
    std::fprintf(stderr, "ort_latency: %s has no OrtGetApiBase\n", argv[1]);
    return 1;
  }
  const ort::ApiBase* base = get_base();
  const void* table = base->GetApi(ort::kApiVersion);
  if (!table) {
    std::fprintf(stderr, "ort_latency: ONNX Runtime %s refuses C API version %u\n", base->GetVersionString(),
                 ort::kApiVersion);
    return 1;
  }
  const ort::Api api(table);
  g_api = &api;

  {  // the positions of entries 0, 1, 2 and 93 agree with this library
    ort::Status* s = api.get<ort::CreateStatus>()(ort::kErrorCodeFail, "position check");
    const bool ok = s && api.get<ort::GetErrorCode>()(s) == ort::kErrorCodeFail &&
                    std::strcmp(api.get<ort::GetErrorMessage>()(s), "position check") == 0;
    if (s) api.get<ort::ReleaseStatus>()(s);
    if (!ok) {
      std::fprintf(stderr, "ort_latency: ONNX Runtime %s: its C API table is not laid out as expected\n",
                   base->GetVersionString());
      return 1;
    }
  }

  const char* input_name = argv[3];
  const int64_t width = std::atoll(argv[4]);
  const char* output_name = argv[5];
  const int64_t out_width = std::atoll(argv[6]);
  const int64_t batch = std::atoll(argv[7]);
  const int calls = std::atoi(argv[8]);
  const int threads = std::atoi(argv[9]);

  ort::Env* env = nullptr;
  check(api.get<ort::CreateEnv>()(ort::kLoggingLevelError, "ort_latency", &env), "CreateEnv");
  ort::SessionOptions* so = nullptr;
  check(api.get<ort::CreateSessionOptions>()(&so), "CreateSessionOptions");
  // As serving.py sets up ORT's Python session: intra-op threads as given, one inter-op thread,
  // sequential execution; everything else (graph optimisation level ORT_ENABLE_ALL, spinning) ORT's default.
  check(api.get<ort::SetIntraOpNumThreads>()(so, threads), "SetIntraOpNumThreads");
  check(api.get<ort::SetInterOpNumThreads>()(so, 1), "SetInterOpNumThreads");
  check(api.get<ort::SetSessionExecutionMode>()(so, ort::kSequential), "SetSessionExecutionMode");
  ort::Session* session = nullptr;
  check(api.get<ort::CreateSession>()(env, argv[2], so, &session), "CreateSession");

  ort::MemoryInfo* mem = nullptr;
  check(api.get<ort::CreateCpuMemoryInfo>()(ort::kArenaAllocator, ort::kMemTypeDefault, &mem), "CreateCpuMemoryInfo");
  uint32_t state = bench::kSeed;
  std::vector<float> x = bench::values<float>(batch * width, state);
  const int64_t shape[2] = {batch, width};
  ort::Value* input = nullptr;
  check(api.get<ort::CreateTensorWithDataAsOrtValue>()(mem, x.data(), x.size() * sizeof(float), shape, 2,
                                                       ort::kTensorFloat, &input),
        "CreateTensorWithDataAsOrtValue");

  auto run = api.get<ort::Run>();
  auto release_value = api.get<ort::ReleaseValue>();
  const ort::Value* inputs[1] = {input};
  std::vector<float> first;
  {
    ort::Value* out = nullptr;
    check(run(session, nullptr, &input_name, inputs, 1, &output_name, 1, &out), "Run");
    void* data = nullptr;
    check(api.get<ort::GetTensorMutableData>()(out, &data), "GetTensorMutableData");
    first.assign(static_cast<const float*>(data), static_cast<const float*>(data) + batch * out_width);
    release_value(out);
  }
  auto us = bench::time_calls(
      [&] {
        ort::Value* out = nullptr;
        check(run(session, nullptr, &input_name, inputs, 1, &output_name, 1, &out), "Run");
        release_value(out);
      },
      calls);
  bench::print_json(us, first);

  release_value(input);
  api.get<ort::ReleaseMemoryInfo>()(mem);
  api.get<ort::ReleaseSession>()(session);
  api.get<ort::ReleaseSessionOptions>()(so);
  api.get<ort::ReleaseEnv>()(env);
  return 0;
}
