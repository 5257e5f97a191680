#!/usr/bin/env bash
# Builds the kernel test programs (build.sh: test_misc, test_transformer, test_vision, test_conv, test_mbconv, all
# linked against build/kernel-tests/libkernels.a) and the GPU test of the cuDNN / cuBLASLt tactic sources
# (test_sources, linked against the same library), and with --run runs the non-convolution ones. The sources need
# no cuDNN / cuBLAS headers (shim/ declares their API).
#   native/builtin/kernels/tests/build-misc.sh [--run]
# Environment: NODE_TENSORRT_CUDA_ARCHS (default 90), NVCC; SKIP_KERNEL_BUILD=1 when build.sh has just run (two
# builds at once would write the same objects and library).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out=$root/build/kernel-tests
arch=${NODE_TENSORRT_CUDA_ARCHS:-90}
arch=${arch%%[;,]*}
cuda=${CUDA_HOME:-/usr/local/cuda}
nvcc=${NVCC:-$(command -v nvcc || echo "$cuda/bin/nvcc")}
mkdir -p "$out/obj-misc"

# A test program that fails to build (test_conv, say) does not stop the others: the ones needed here are checked.
[[ -n "${SKIP_KERNEL_BUILD:-}" ]] || NODE_TENSORRT_CUDA_ARCHS=$arch NVCC=$nvcc bash "$here/build.sh" || true
for f in libkernels.a test_misc test_transformer test_vision; do
  [[ -e "$out/$f" ]] || { echo "build failed: $out/$f is missing" >&2; exit 1; }
done

flags=(-std=c++17 -O3 --expt-relaxed-constexpr "-arch=sm_$arch" "-I$root/native" -Xcompiler=-Wall,-Wno-unused-parameter)
# Python wheels may carry the libraries (used by --run).
py_dir() { python3 -c "import importlib, os; m = importlib.import_module('$1'); print(os.path.dirname(m.__file__))" 2>/dev/null || true; }

rm -f "$out/obj-misc/FAILED"
src_objs=()
for s in sources/sources.cc sources/cudnn_source.cc sources/cublaslt_source.cc sources/epilogue.cu sources/tests/test_sources.cu; do
  o="$out/obj-misc/$(basename "${s%.*}").o"
  ("$nvcc" "${flags[@]}" -c "$root/native/builtin/$s" -o "$o" || echo "$s" >>"$out/obj-misc/FAILED") &
  src_objs+=("$o")
done
wait $(jobs -p)
if [[ -f "$out/obj-misc/FAILED" ]]; then
  echo "build failed: $(tr '\n' ' ' <"$out/obj-misc/FAILED")" >&2
  exit 1
fi
"$nvcc" "-arch=sm_$arch" "${src_objs[@]}" "$out/libkernels.a" -ldl -o "$out/test_sources"
echo "built $out/test_sources"

if [[ "${1:-}" == "--run" ]]; then
  # Libraries shipped only in Python wheels: let the loader find them (system copies win when present).
  ldconfig -p 2>/dev/null | grep -q 'libcudnn\.so\.9' || {
    d=$(py_dir nvidia.cudnn)
    [[ -n "$d" && -d "$d/lib" ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib"
  }
  ldconfig -p 2>/dev/null | grep -q 'libcublasLt\.so\.1[23]' || [[ -e "$cuda/lib64/libcublasLt.so.13" ]] ||
    [[ -e "$cuda/lib64/libcublasLt.so.12" ]] || {
    d=$(py_dir nvidia.cublas)
    [[ -n "$d" && -d "$d/lib" ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib"
  }
  rc=0
  for t in test_misc test_transformer test_vision test_sources; do
    "$out/$t" || rc=1
    echo
  done
  exit $rc
fi
