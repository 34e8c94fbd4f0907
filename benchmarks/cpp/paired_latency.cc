// paired_latency <export_dir> <signature> <libonnxruntime.so> <model.onnx> <input> <width> <output> <out_width>
//                <batch> <calls> <threads>
//
// nestor's C API and ONNX Runtime's in one process, on the same inputs (bench::values from the
// same seed for each), each call timed as serving_latency and ort_latency time them, but the
// two engines' calls alternated one by one (bench::time_paired): on a shared machine whose
// speed drifts by tens of percent over seconds, this is what lets a few percent between two
// engines be told from the drift. `threads` intra-op threads for both (0: each one's default).
// Prints one JSON line, {"nestor": {...}, "ort": {...}} with bench::print_json_object's objects.
#include <cstdio>
#include <cstdlib>

#include "latency_util.h"
#include "nestor_model.h"
#include "ort_model.h"

int main(int argc, char** argv) {
  if (argc != 12) {
    std::fprintf(stderr,
                 "usage: %s <export_dir> <signature> <libonnxruntime.so> <model.onnx> <input> <width> <output> "
                 "<out_width> <batch> <calls> <threads>\n",
                 argv[0]);
    return 2;
  }
  const int64_t batch = std::atoll(argv[9]);
  const int calls = std::atoi(argv[10]), threads = std::atoi(argv[11]);
  uint32_t nestor_state = bench::kSeed, ort_state = bench::kSeed;
  bench::NestorModel nestor(argv[1], argv[2], batch, threads, nestor_state);
  bench::OrtModel ort(argv[3], argv[4], argv[5], std::atoll(argv[6]), argv[7], std::atoll(argv[8]), batch, threads,
                      ort_state);
  const std::vector<float> nestor_out = nestor.output(), ort_out = ort.output();
  auto [nestor_us, ort_us] = bench::time_paired([&] { nestor.call(); }, [&] { ort.call(); }, calls);
  std::printf("{\"nestor\": ");
  bench::print_json_object(nestor_us, nestor_out);
  std::printf(", \"ort\": ");
  bench::print_json_object(ort_us, ort_out);
  std::printf("}\n");
  return 0;
}
