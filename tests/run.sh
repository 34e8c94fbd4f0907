#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): installs nestor and its test
# requirements, runs the Python suite, the C++ unit tests and their ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if ! [ -f /usr/include/gtest/gtest.h ] && command -v apt-get >/dev/null; then
  echo "== installing GoogleTest (libgtest-dev)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgtest-dev >/dev/null
fi

echo "== pip install .[test]"
"$PY" -m pip install -q ".[test]"
# PyTorch (CPU build) is a reference in some tests and benchmarks; a local wheel exists on our machines.
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q "torch==2.13.0" || echo "torch unavailable: PyTorch reference tests will be skipped"

echo "== C++ unit tests"
cmake -S . -B build/ctest -G Ninja -DNESTOR_BUILD_PYTHON=OFF -DNESTOR_BUILD_TESTS=ON -DNESTOR_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/ctest
(cd build/ctest && ctest --output-on-failure)

echo "== C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -G Ninja -DNESTOR_BUILD_PYTHON=OFF -DNESTOR_BUILD_TESTS=ON -DNESTOR_SANITIZE=ON \
  -DNESTOR_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/asan
(cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure)

if command -v nvcc >/dev/null; then
  # CI has nvcc but no GPU: compile and link the CUDA backend, load it, and check that it
  # reports why no GPU is usable (nestor_cuda_info exits 1 only if the plugin cannot load).
  echo "== CUDA backend (compile, link, load)"
  cuda_major=$(nvcc --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
  "$PY" -m pip install -q "nvidia-cublas==${cuda_major}.*"
  cmake -S . -B build/cuda -G Ninja -DNESTOR_CUDA=ON -DNESTOR_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release \
    -DPython_EXECUTABLE="$(command -v "$PY")" >/dev/null
  cmake --build build/cuda
  build/cuda/nestor_cuda_info
fi

echo "== file size limits"
"$PY" tests/check_file_sizes.py

echo "== Python tests"
# The C++ service example is built against the installed wheel's runtime (nestor.sysconfig).
cd tests && "$PY" -m pytest -q -p no:cacheprovider .
