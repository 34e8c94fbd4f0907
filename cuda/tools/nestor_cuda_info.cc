// nestor_cuda_info: loads the CUDA plugin the way an application does (libnestor.so
// dlopen()s libnestor_cuda.so from its own directory) and prints how many GPUs it sees,
// or why it sees none. Exit status 0 when the plugin loaded (with or without GPUs), 1 when
// it could not be loaded; `--require-gpu` also fails when no GPU is visible.
#include <cstdio>
#include <cstring>

#include "nestor/backend.h"

int main(int argc, char** argv) {
  bool require_gpu = argc > 1 && std::strcmp(argv[1], "--require-gpu") == 0;
  int n = nestor::device_count(nestor::DeviceType::kCuda);
  std::string why = nestor::plugin_load_error(nestor::DeviceType::kCuda);
  std::printf("cuda devices: %d\n", n);
  if (!why.empty()) std::printf("reason: %s\n", why.c_str());
  bool loaded = why.rfind("cannot load", 0) != 0 && why.find("registered no backend") == std::string::npos;
  if (!loaded) return 1;
  if (n > 0) {
    nestor::Backend& b = nestor::backend_for(nestor::Device{nestor::DeviceType::kCuda, 0});
    std::printf("cuda:0 backend ready (%s)\n", b.device().str().c_str());
  }
  return require_gpu && n == 0 ? 1 : 0;
}
