// serving_latency <export_dir> <signature> <batch> <calls> <intra_op_threads>
//
// Loads an export through the pure C API (bench::NestorModel), runs the warm-up, then times
// `calls` calls of nestor_predictor_run + nestor_outputs_release one by one. Prints
// bench::print_json's line, whose "output" is the signature's first output (float32) of one call.
#include <cstdio>
#include <cstdlib>

#include "latency_util.h"
#include "nestor_model.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s <export_dir> <signature> <batch> <calls> <intra_op_threads>\n", argv[0]);
    return 2;
  }
  uint32_t state = bench::kSeed;
  bench::NestorModel model(argv[1], argv[2], std::atoll(argv[3]), std::atoi(argv[5]), state);
  const std::vector<float> first = model.output();
  bench::print_json(bench::time_calls([&] { model.call(); }, std::atoi(argv[4])), first);
  return 0;
}
