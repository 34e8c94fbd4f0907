// ONNX Runtime's C API, loaded at run time from the onnxruntime wheel's libonnxruntime.so, and
// one session of a model with one float input [batch, width] and one float output
// [batch, out_width]: the reference that ort_latency and paired_latency time.
//
// ORT's Python wheel carries libonnxruntime.so but not its C headers, and no registry this
// project builds from has them. The C API is a table of function pointers (struct OrtApi) whose
// order is fixed by ORT's ABI promise: entries are only ever appended, and those of API
// versions 1-5 are marked "do not modify". So the library is loaded with dlopen,
// OrtGetApiBase()->GetApi(1) gives the version-1 table, and the few entries needed are called
// by their positions, declared below from ORT's published header (onnxruntime_c_api.h). The
// positions are checked before use: a status created through entry 0 must read back through
// entries 1 and 2, and serving.py compares the output with nestor's on the same inputs.
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

namespace bench {

// One ORT session and its input, set up as serving.py sets up ORT's Python session: intra-op
// threads as given (0: ORT's default), one inter-op thread, sequential execution; everything
// else (graph optimisation level ORT_ENABLE_ALL, spinning) ORT's default. Exits with a message
// on any failure (these are benchmark programs).
class OrtModel {
 public:
  OrtModel(const char* library, const char* model, const char* input_name, int64_t width, const char* output_name,
           int64_t out_width, int64_t batch, int threads, uint32_t& state)
      : input_name_(input_name), output_name_(output_name), out_size_(batch * out_width) {
    void* lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);  // kept loaded until the process ends
    if (!lib) fail("dlopen", dlerror());
    auto get_base = reinterpret_cast<const ort::ApiBase* (*)()>(dlsym(lib, "OrtGetApiBase"));
    if (!get_base) fail(library, "no OrtGetApiBase");
    const ort::ApiBase* base = get_base();
    const void* table = base->GetApi(ort::kApiVersion);
    if (!table) fail(base->GetVersionString(), "C API version 1 refused");
    api_ = ort::Api(table);
    {  // the positions of entries 0, 1, 2 and 93 agree with this library
      ort::Status* s = api_.get<ort::CreateStatus>()(ort::kErrorCodeFail, "position check");
      const bool ok = s && api_.get<ort::GetErrorCode>()(s) == ort::kErrorCodeFail &&
                      std::strcmp(api_.get<ort::GetErrorMessage>()(s), "position check") == 0;
      if (s) api_.get<ort::ReleaseStatus>()(s);
      if (!ok) fail(base->GetVersionString(), "its C API table is not laid out as expected");
    }
    check(api_.get<ort::CreateEnv>()(ort::kLoggingLevelError, "nestor-bench", &env_), "CreateEnv");
    check(api_.get<ort::CreateSessionOptions>()(&options_), "CreateSessionOptions");
    check(api_.get<ort::SetIntraOpNumThreads>()(options_, threads), "SetIntraOpNumThreads");
    check(api_.get<ort::SetInterOpNumThreads>()(options_, 1), "SetInterOpNumThreads");
    check(api_.get<ort::SetSessionExecutionMode>()(options_, ort::kSequential), "SetSessionExecutionMode");
    check(api_.get<ort::CreateSession>()(env_, model, options_, &session_), "CreateSession");
    check(api_.get<ort::CreateCpuMemoryInfo>()(ort::kArenaAllocator, ort::kMemTypeDefault, &memory_),
          "CreateCpuMemoryInfo");
    x_ = values<float>(batch * width, state);
    const int64_t shape[2] = {batch, width};
    check(api_.get<ort::CreateTensorWithDataAsOrtValue>()(memory_, x_.data(), x_.size() * sizeof(float), shape, 2,
                                                          ort::kTensorFloat, &input_),
          "CreateTensorWithDataAsOrtValue");
    run_ = api_.get<ort::Run>();
    release_value_ = api_.get<ort::ReleaseValue>();
  }
  OrtModel(const OrtModel&) = delete;
  OrtModel& operator=(const OrtModel&) = delete;
  ~OrtModel() {
    release_value_(input_);
    api_.get<ort::ReleaseMemoryInfo>()(memory_);
    api_.get<ort::ReleaseSession>()(session_);
    api_.get<ort::ReleaseSessionOptions>()(options_);
    api_.get<ort::ReleaseEnv>()(env_);
  }

  // One call as a service makes it: Run (ORT allocates the output), then ReleaseValue.
  void call() {
    ort::Value* out = run_once();
    release_value_(out);
  }

  // The output of one call, flattened.
  std::vector<float> output() {
    ort::Value* out = run_once();
    void* data = nullptr;
    check(api_.get<ort::GetTensorMutableData>()(out, &data), "GetTensorMutableData");
    std::vector<float> y(static_cast<const float*>(data), static_cast<const float*>(data) + out_size_);
    release_value_(out);
    return y;
  }

 private:
  [[noreturn]] static void fail(const char* what, const char* why) {
    std::fprintf(stderr, "ONNX Runtime: %s: %s\n", what, why);
    std::exit(1);
  }
  void check(ort::Status* s, const char* what) {
    if (!s) return;
    std::fprintf(stderr, "ONNX Runtime: %s: %s\n", what, api_.get<ort::GetErrorMessage>()(s));
    api_.get<ort::ReleaseStatus>()(s);
    std::exit(1);
  }
  ort::Value* run_once() {
    const ort::Value* inputs[1] = {input_};
    ort::Value* out = nullptr;
    check(run_(session_, nullptr, &input_name_, inputs, 1, &output_name_, 1, &out), "Run");
    return out;
  }

  ort::Api api_{nullptr};
  ort::Env* env_ = nullptr;
  ort::SessionOptions* options_ = nullptr;
  ort::Session* session_ = nullptr;
  ort::MemoryInfo* memory_ = nullptr;
  ort::Value* input_ = nullptr;
  std::vector<float> x_;
  const char* input_name_;
  const char* output_name_;
  int64_t out_size_;
  ort::Run::type run_ = nullptr;
  ort::ReleaseValue::type release_value_ = nullptr;
};

}  // namespace bench
