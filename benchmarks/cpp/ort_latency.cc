// ort_latency <libonnxruntime.so> <model.onnx> <input> <width> <output> <out_width> <batch> <calls> <threads>
//
// The reference for serving_latency: ONNX Runtime's own C API (bench::OrtModel, loaded from the
// onnxruntime wheel's libonnxruntime.so), timed the way serving_latency times nestor's. One
// float input of shape [batch, width] (the values serving_latency gives a [batch, width] input)
// and one float output of [batch, out_width]; warm-up, then `calls` calls of OrtApi::Run (ORT
// allocates the output) + ReleaseValue one by one, with `threads` intra-op threads (0: ORT's
// default). Prints bench::print_json's line.
#include <cstdio>
#include <cstdlib>

#include "latency_util.h"
#include "ort_model.h"

int main(int argc, char** argv) {
  if (argc != 10) {
    std::fprintf(stderr,
                 "usage: %s <libonnxruntime.so> <model.onnx> <input> <width> <output> <out_width> <batch> <calls> "
                 "<intra_op_threads>\n",
                 argv[0]);
    return 2;
  }
  uint32_t state = bench::kSeed;
  bench::OrtModel model(argv[1], argv[2], argv[3], std::atoll(argv[4]), argv[5], std::atoll(argv[6]),
                        std::atoll(argv[7]), std::atoi(argv[9]), state);
  const std::vector<float> first = model.output();
  bench::print_json(bench::time_calls([&] { model.call(); }, std::atoi(argv[8])), first);
  return 0;
}
