#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly ("stage_$s")
# One-shot check of the CUDA backend on a lent GPU machine (cuda/README.md, "Running on a GPU
# machine"). Made for the device tool: each call at most 10 minutes, results under $OUT (at
# most 8 files come back), no network there, so nothing is installed from a registry.
#
#   bash cuda/tools/gpu_check.sh [--dry-run] STAGE...      STAGE: env build tests examples bench all
#
#   env       what the machine has (GPU, nvcc, cmake, ninja, pybind11, Python.h, cuBLAS, BLAS, pytest)
#   build     configure with -DNESTOR_CUDA=ON and build (libnestor, libnestor_cuda, _native) in
#             $GPU_CHECK_BUILD_DIR (build/cuda); nestor_cuda_info; nestor lists the GPU
#   tests     tests/ops/test_device_parity*.py, then the rest of the suite, with NESTOR_DEVICE=cuda
#   examples  examples/premade_estimator.py and examples/wide_deep.py on cpu and on cuda; the
#             cuda accuracy must be within 0.01 of the cpu one
#   bench     benchmarks/gpu_mlp.py and benchmarks/gpu_wide_deep.py
#   all       all of the above (longer than one 10-minute call: use two calls, see the README)
#
# tests, examples and bench build first when the build directory is missing (a fresh machine).
# Files in $OUT: summary.txt, build.log, tests.log, junit-parity.xml, junit-suite.xml,
# examples.log, bench.log. summary.txt is also printed last (the call's reply shows the tail).
#
# Environment (all optional):
#   GPU_CHECK_DEVICE=cpu    rehearsal without a GPU: NESTOR_CUDA=OFF unless the build dir is
#                           already configured, every "cuda" run done on the cpu instead
#   GPU_CHECK_BUILD_DIR     build directory (default build/cuda)
#   GPU_CHECK_TARGETS       ninja targets (default: all)
#   GPU_CHECK_ARCHS         CMAKE_CUDA_ARCHITECTURES (default 90: H100 and H200)
#   GPU_CHECK_SUITE         what the suite run covers (default: tests; a rehearsal may name one file)
#   GPU_CHECK_JOBS          pytest-xdist workers for the suite (default 4; 0 = serial)
#   GPU_CHECK_LIMIT         seconds this call may take in all (default 570, under the tool's 600)
#   PYTHON                  interpreter (default python3, the one holding PyTorch on the image)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
PY=${PYTHON:-python3}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
BUILD=${GPU_CHECK_BUILD_DIR:-build/cuda}
ARCHS=${GPU_CHECK_ARCHS:-90}
JOBS=${GPU_CHECK_JOBS:-4}
LIMIT=${GPU_CHECK_LIMIT:-570}
OUT=${OUT:-$ROOT/build/gpu_check_out}
DRY=0
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
CMAKE_EXTRA=()
STATUS=0

say() { echo "$*" | tee -a "$SUMMARY"; }
fail() { say "FAIL: $*"; STATUS=1; }
left() { echo $((LIMIT - SECONDS)); }
budget() { local b=$(( $(left) - $1 )); echo $((b > 10 ? b : 10)); }  # seconds for a step, keeping $1 in reserve
run() {  # run CMD... (printed; skipped under --dry-run)
  echo "+ $*"
  [ "$DRY" = 1 ] && return 0
  "$@"
}

# ------------------------------------------------------------------ environment
find_nvcc() {
  command -v nvcc >/dev/null 2>&1 && return 0
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
    if [ -x "$d/nvcc" ]; then export PATH="$d:$PATH"; return 0; fi
  done
  return 1
}

# The CPU BLAS: scipy-openblas32 (pyproject's dependency) if importable; else its wheel carried in
# .whl/; else the same library (scipy_-prefixed LP64 OpenBLAS) that SciPy's wheel vendors.
resolve_blas() {
  [ -n "${BLAS:-}" ] && return 0
  if "$PY" -c "import scipy_openblas32" 2>/dev/null; then BLAS="scipy_openblas32 (installed)"; return 0; fi
  local whl
  whl=$(find .whl -maxdepth 1 -name "scipy_openblas32-*.whl" 2>/dev/null | head -1)
  if [ -n "$whl" ]; then
    if ! [ -d /tmp/nestor-site/scipy_openblas32 ]; then
      "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/nestor-site "$whl" || return 1
    fi
    export PYTHONPATH="$PYTHONPATH:/tmp/nestor-site"
    BLAS="scipy_openblas32 from $whl (in /tmp/nestor-site)"; return 0
  fi
  local lib dir
  dir=$("$PY" -c "import scipy, os; print(os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), 'scipy.libs'))" 2>/dev/null)
  for lib in "$dir"/libscipy_openblas-*.so; do
    [ -f "$lib" ] || continue
    if "$PY" - "$lib" <<'EOF' 2>/dev/null; then
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
# the symbols libnestor links (scipy_-prefixed LP64 names; some SciPy builds leave the callback unprefixed)
lib.scipy_cblas_sgemm, lib.scipy_cblas_dgemv, lib.scipy_openblas_set_num_threads
lib.scipy_openblas_set_threads_callback_function
EOF
      CMAKE_EXTRA+=("-DNESTOR_BLAS_LIB_DIR=$dir" "-DNESTOR_BLAS_LIBRARY=$lib")
      BLAS="SciPy's vendored $lib"; return 0
    fi
  done
  return 1
}

# Python.h for the _native module; a carried .pydev/ (python3.X-dev debs) is the fallback.
resolve_python_headers() {
  [ -n "${PYH:-}" ] && return 0
  local inc
  inc=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  if [ -f "$inc/Python.h" ]; then PYH="$inc/Python.h"; return 0; fi
  if ls .pydev/*.deb >/dev/null 2>&1; then
    mkdir -p /tmp/pydev && for f in .pydev/*.deb; do dpkg -x "$f" /tmp/pydev; done
    local ver; ver=$("$PY" -c "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")
    if [ -f "/tmp/pydev/usr/include/python$ver/Python.h" ]; then
      CMAKE_EXTRA+=("-DPython_INCLUDE_DIR=/tmp/pydev/usr/include/python$ver" "-DCMAKE_CXX_FLAGS=-I/tmp/pydev/usr/include")
      PYH="/tmp/pydev/usr/include/python$ver/Python.h (from .pydev)"; return 0
    fi
  fi
  return 1
}

stage_env() {
  ENV_DONE=1
  say "== env ($(date -u +%FT%TZ), $(nproc) cores, device $DEVICE)"
  local missing=()
  if command -v nvidia-smi >/dev/null; then
    say "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
  else
    say "GPU: no nvidia-smi"
  fi
  if find_nvcc; then say "nvcc: $(command -v nvcc), $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  else missing+=("nvcc (CUDA toolkit)"); fi
  say "python: $(command -v "$PY") $("$PY" -c 'import sys; print(sys.version.split()[0])')"
  for tool in cmake ninja; do
    if command -v "$tool" >/dev/null; then say "$tool: $("$tool" --version | head -1)"; else missing+=("$tool"); fi
  done
  local mod
  for mod in pybind11 numpy safetensors pytest xdist pytest_timeout torch tensorboard pandas pyarrow aiohttp; do
    if v=$("$PY" -c "import $mod as m; print(getattr(m, '__version__', 'present'))" 2>/dev/null); then
      say "py $mod: $v"
    else
      case $mod in pybind11|numpy|safetensors|pytest) missing+=("python package $mod");; esac
      say "py $mod: absent"
    fi
  done
  if resolve_python_headers; then say "Python.h: $PYH"; else missing+=("Python.h (python3.X-dev headers; carry them as .pydev/, see cuda/README.md)"); fi
  local cu
  cu=$("$PY" -c "import nvidia.cu13 as m, os; p = list(m.__path__)[0]; print(p if os.path.exists(p + '/include/cublas_v2.h') else '')" 2>/dev/null)
  if [ -n "$cu" ]; then say "cuBLAS: nvidia-cublas wheel at $cu"
  elif ls /usr/local/cuda/lib64/libcublas.so* >/dev/null 2>&1; then say "cuBLAS: CUDA toolkit /usr/local/cuda/lib64"
  elif [ "$DEVICE" = cuda ]; then missing+=("cuBLAS (nvidia-cublas wheel or toolkit)")
  else say "cuBLAS: not found (not needed for GPU_CHECK_DEVICE=cpu)"; fi
  if resolve_blas; then say "CPU BLAS: $BLAS"
  else missing+=("CPU BLAS: no scipy_openblas32, no carried .whl/scipy_openblas32-*.whl, no usable scipy.libs/libscipy_openblas-*.so (see cuda/README.md)"); fi
  if [ "$DEVICE" = cpu ]; then
    local m; for m in "${missing[@]}"; do case $m in nvcc*|cuBLAS*) ;; *) fail "missing: $m";; esac; done
  elif [ ${#missing[@]} -gt 0 ]; then
    local m; for m in "${missing[@]}"; do fail "missing: $m"; done
  fi
  ENV_OK=0
  if [ ${#missing[@]} -eq 0 ] || [ "$DEVICE" = cpu ]; then ENV_OK=1; fi
  [ "$ENV_OK" = 1 ]
}

# ------------------------------------------------------------------ build
stage_build() {
  [ -n "${ENV_DONE:-}" ] || stage_env
  [ "${ENV_OK:-0}" = 1 ] || { fail "build not started: the machine lacks a build dependency (env above)"; return 1; }
  say "== build ($BUILD, CUDA archs $ARCHS)"
  local cuda_flag=ON t0=$SECONDS
  [ "$DEVICE" = cpu ] && cuda_flag=OFF
  (
    if ! [ -f "$BUILD/build.ninja" ]; then
      run cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DNESTOR_CUDA=$cuda_flag" \
        "-DCMAKE_CUDA_ARCHITECTURES=$ARCHS" "-DPython_EXECUTABLE=$("$PY" -c "import sys; print(sys.executable)")" "${CMAKE_EXTRA[@]}" || exit 1
    fi
    # shellcheck disable=SC2086  # GPU_CHECK_TARGETS is a list of target names
    run ninja -C "$BUILD" ${GPU_CHECK_TARGETS:-} || exit 1
    if [ "$DEVICE" = cuda ]; then run "$BUILD/nestor_cuda_info"; fi
    run "$PY" -c "import nestor as tf; print('nestor GPUs:', tf.config.list_physical_devices('GPU'), tf.config.device_unavailable_reason('cuda'))"
  ) > >(tee -a "$OUT/build.log") 2>&1
  local rc=$?
  wait
  if [ "$rc" -ne 0 ]; then fail "build failed after $((SECONDS - t0)) s: see build.log"; tail -30 "$OUT/build.log"; return 1; fi
  [ "$DRY" = 1 ] && return 0
  say "build: ok in $((SECONDS - t0)) s; $(grep -h 'nestor GPUs' "$OUT/build.log" | tail -1)"
  if [ "$DEVICE" = cuda ] && ! "$PY" -c "import nestor as tf, sys; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)"; then
    fail "the build loads but nestor lists no GPU"; return 1
  fi
}

ensure_built() {
  if [ -f "$BUILD/build.ninja" ] && ls python/nestor/_native*.so >/dev/null 2>&1; then
    resolve_blas >/dev/null; resolve_python_headers >/dev/null
    [ "$DRY" = 1 ] && return 0
    # shellcheck disable=SC2086
    ninja -C "$BUILD" ${GPU_CHECK_TARGETS:-} >>"$OUT/build.log" 2>&1 || { fail "incremental build failed: see build.log"; return 1; }
    return 0
  fi
  say "(no build in $BUILD on this machine: building first)"
  stage_build
}

# ------------------------------------------------------------------ tests
junit_summary() {  # junit_summary FILE LABEL
  "$PY" - "$1" "$2" <<'EOF' | tee -a "$SUMMARY"
import sys, xml.etree.ElementTree as ET
path, label = sys.argv[1], sys.argv[2]
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError) as e:
    print(f"{label}: no junit report ({e})"); sys.exit(0)
suites = [root] if root.tag == "testsuite" else list(root)
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
t = sum(float(s.get("time", 0)) for s in suites)
print(f"{label}: {n['tests']} tests, {n['failures']} failed, {n['errors']} errors, {n['skipped']} skipped, {t:.0f} s")
bad, skips = [], {}
for case in root.iter("testcase"):
    name = f"{case.get('classname')}::{case.get('name')}"
    for tag in ("failure", "error"):
        el = case.find(tag)
        if el is not None:
            bad.append(f"  {tag.upper()} {name}: {(el.get('message') or '').splitlines()[0][:200] if el.get('message') else ''}")
    el = case.find("skipped")
    if el is not None:
        reason = (el.get("message") or "")[:120]
        skips[reason] = skips.get(reason, 0) + 1
print("\n".join(bad[:40]) + (f"\n  ... {len(bad) - 40} more" if len(bad) > 40 else "") if bad else "  no failures")
for reason, k in sorted(skips.items(), key=lambda kv: -kv[1])[:8]:
    print(f"  skipped {k}x: {reason}")
EOF
}

stage_tests() {
  say "== tests (NESTOR_DEVICE=$DEVICE)"
  ensure_built || return 1
  local t0=$SECONDS xdist=() timeout_opt=() budget
  "$PY" -c "import pytest_timeout" 2>/dev/null && timeout_opt=(--timeout=300)
  if [ "$JOBS" -gt 0 ] && "$PY" -c "import xdist" 2>/dev/null; then xdist=(-n "$JOBS" --dist loadfile); fi
  export NESTOR_DEVICE=$DEVICE NESTOR_RUNTIME_BUILD_DIR=$ROOT/$BUILD
  # The parity tests first: they are what this machine is for, and stay within the call's limit.
  budget=$(budget 30)
  run timeout -s INT -k 20 "$budget" "$PY" -m pytest -q -rs -p no:cacheprovider "${timeout_opt[@]}" \
    --junitxml="$OUT/junit-parity.xml" tests/ops/test_device_parity*.py > >(tee -a "$OUT/tests.log") 2>&1
  local rc_p=$?
  wait
  budget=$(( $(left) - 30 ))
  if [ "$budget" -lt 60 ]; then fail "no time left for the rest of the suite ($budget s)"; return 1; fi
  # shellcheck disable=SC2086  # GPU_CHECK_SUITE is a list of paths
  run timeout -s INT -k 20 "$budget" "$PY" -m pytest -q -p no:cacheprovider "${timeout_opt[@]}" "${xdist[@]}" \
    --junitxml="$OUT/junit-suite.xml" ${GPU_CHECK_SUITE:-tests} --ignore-glob='tests/ops/test_device_parity*.py' \
    > >(tee -a "$OUT/tests.log") 2>&1
  local rc_s=$?
  wait
  unset NESTOR_DEVICE
  [ "$DRY" = 1 ] && return 0
  junit_summary "$OUT/junit-parity.xml" "parity tests"
  junit_summary "$OUT/junit-suite.xml" "rest of the suite (NESTOR_DEVICE=$DEVICE, ${#xdist[@]} xdist args: ${xdist[*]:-serial})"
  [ "$rc_p" -eq 0 ] || fail "parity tests exit $rc_p$([ "$rc_p" -eq 124 ] || [ "$rc_p" -eq 130 ] && echo ' (stopped at the time budget)')"
  [ "$rc_s" -eq 0 ] || fail "suite exit $rc_s$([ "$rc_s" -eq 124 ] || [ "$rc_s" -eq 130 ] && echo ' (stopped at the time budget)')"
  say "tests: $((SECONDS - t0)) s"
}

# ------------------------------------------------------------------ examples
stage_examples() {
  say "== examples (cpu vs $DEVICE)"
  ensure_built || return 1
  local t0=$SECONDS ex side dev
  for ex in premade_estimator wide_deep; do
    for side in ref dev; do  # ref: the CPU run; dev: the same program on $DEVICE
      dev=cpu; [ "$side" = dev ] && dev=$DEVICE
      echo "+ NESTOR_DEVICE=$dev $PY examples/$ex.py --json" >>"$OUT/examples.log"
      [ "$DRY" = 1 ] && { echo "+ NESTOR_DEVICE=$dev $PY examples/$ex.py --json"; continue; }
      NESTOR_DEVICE=$dev timeout -k 10 "$(budget 20)" "$PY" "examples/$ex.py" --json \
        >"$OUT/.ex_$ex.$side" 2>&1
      local rc=$?
      cat "$OUT/.ex_$ex.$side" >>"$OUT/examples.log"
      [ "$rc" -eq 0 ] || fail "examples/$ex.py on $dev exit $rc (see examples.log)"
    done
  done
  [ "$DRY" = 1 ] && return 0
  "$PY" - "$OUT" "$DEVICE" <<'EOF' | tee -a "$SUMMARY"
import json, os, sys
out, dev = sys.argv[1], sys.argv[2]
bad = False
for ex in ("premade_estimator", "wide_deep"):
    res = {}
    for run in ("ref", "dev"):
        try:
            lines = [l for l in open(os.path.join(out, f".ex_{ex}.{run}")).read().splitlines() if l.startswith("{")]
        except OSError:
            lines = []
        res[run] = json.loads(lines[-1]) if lines else None
    if not res["ref"] or not res["dev"]:
        print(f"FAIL: {ex}: no JSON result (see examples.log)"); bad = True; continue
    a, b = res["ref"]["accuracy"], res["dev"]["accuracy"]
    ok = abs(a - b) <= 0.01
    bad |= not ok
    extra = ", ".join(f"{k} cpu {res['ref'][k]:.4g} / {dev} {res['dev'][k]:.4g}" for k in ("auc", "average_loss", "train_secs")
                      if k in res["ref"] and k in res["dev"])
    print(f"{'ok' if ok else 'FAIL'}: {ex}: accuracy cpu {a:.4f}, {dev} {b:.4f} (|diff| {abs(a - b):.4f} <= 0.01: {ok}); {extra}")
sys.exit(1 if bad else 0)
EOF
  [ "${PIPESTATUS[0]}" -eq 0 ] || STATUS=1
  rm -f "$OUT"/.ex_*
  say "examples: $((SECONDS - t0)) s"
}

# ------------------------------------------------------------------ bench
stage_bench() {
  say "== bench ($DEVICE)"
  ensure_built || return 1
  local t0=$SECONDS b
  for b in gpu_mlp gpu_wide_deep; do
    run timeout -k 10 "$(budget 20)" "$PY" "benchmarks/$b.py" --device "$DEVICE" > >(tee -a "$OUT/bench.log") 2>&1 \
      || fail "benchmarks/$b.py exit $? (see bench.log)"
    wait
  done
  [ "$DRY" = 1 ] && return 0
  # The tables into the summary: everything from each benchmark's header line on.
  awk '/^(MLP|wide & deep)/{p=1} p' "$OUT/bench.log" >>"$SUMMARY"
  say "bench: $((SECONDS - t0)) s"
}

# ------------------------------------------------------------------ main
[ $# -gt 0 ] || { awk 'NR > 2 && !/^#/ {exit} NR > 2' "$0"; exit 2; }
STAGES=()
for a in "$@"; do
  case $a in
    --dry-run) DRY=1 ;;
    all) STAGES+=(env build tests examples bench) ;;
    env|build|tests|examples|bench) STAGES+=("$a") ;;
    *) echo "unknown stage $a (env build tests examples bench all)"; exit 2 ;;
  esac
done
for s in "${STAGES[@]}"; do
  if [ "$(left)" -lt 60 ]; then fail "stage $s not started: $(left) s left of GPU_CHECK_LIMIT=$LIMIT"; continue; fi
  "stage_$s" || STATUS=1
done
echo
echo "================ summary ($OUT/summary.txt, $SECONDS s)"
cat "$SUMMARY"
exit $STATUS
