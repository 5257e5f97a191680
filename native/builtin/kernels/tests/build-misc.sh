#!/usr/bin/env bash
# Builds the GPU tests of the non-convolution kernels (test_misc), of the transformer kernels (test_transformer), of the
# vision kernels (test_vision) and of the cuDNN / cuBLASLt tactic sources (test_sources), and with --run runs them. The sources need no cuDNN / cuBLAS
# headers (shim/ declares their API).
#   native/builtin/kernels/tests/build-misc.sh [--run]
# Environment: NODE_TENSORRT_CUDA_ARCHS (default 90), NVCC, OUT_DIR (default build/kernel-tests),
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out=${OUT_DIR:-$root/build/kernel-tests}
arch=${NODE_TENSORRT_CUDA_ARCHS:-90}
arch=${arch%%[;,]*}
cuda=${CUDA_HOME:-/usr/local/cuda}
nvcc=${NVCC:-$(command -v nvcc || echo "$cuda/bin/nvcc")}
mkdir -p "$out/obj-misc"

flags=(-std=c++17 -O3 --expt-relaxed-constexpr "-arch=sm_$arch" "-I$root/native" -Xcompiler=-Wall,-Wno-unused-parameter)
kernels=(elementwise copy pool reduce softmax pad matmul image norm logic gather attention attention_mma resize deconv select nms)

# Python wheels may carry the libraries (used by --run).
py_dir() { python3 -c "import importlib, os; m = importlib.import_module('$1'); print(os.path.dirname(m.__file__))" 2>/dev/null || true; }

# Compile every translation unit, $(nproc) at a time, then link the tests.
jobs_max=$(nproc 2>/dev/null || echo 4)
rm -f "$out/obj-misc/FAILED"
compile() {  # src obj extra-flags...
  local src=$1 obj=$2
  shift 2
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
  ("$nvcc" "${flags[@]}" "$@" -c "$src" -o "$obj" || echo "$src" >>"$out/obj-misc/FAILED") &
}
objs=()
for k in "${kernels[@]}"; do
  compile "$root/native/builtin/kernels/$k.cu" "$out/obj-misc/$k.o"
  objs+=("$out/obj-misc/$k.o")
done
compile "$root/native/cuda/convert.cu" "$out/obj-misc/convert.o"
objs+=("$out/obj-misc/convert.o")
src_objs=()
for s in sources cudnn_source cublaslt_source; do
  compile "$root/native/builtin/sources/$s.cc" "$out/obj-misc/$s.o"
  src_objs+=("$out/obj-misc/$s.o")
done
compile "$root/native/builtin/sources/epilogue.cu" "$out/obj-misc/epilogue.o"
src_objs+=("$out/obj-misc/epilogue.o")
compile "$here/test_misc.cu" "$out/obj-misc/test_misc.o"
compile "$here/test_transformer.cu" "$out/obj-misc/test_transformer.o"
compile "$here/test_vision.cu" "$out/obj-misc/test_vision.o"
compile "$root/native/builtin/sources/tests/test_sources.cu" "$out/obj-misc/test_sources.o"
wait
if [[ -f "$out/obj-misc/FAILED" ]]; then
  echo "build failed: $(tr '\n' ' ' <"$out/obj-misc/FAILED")" >&2
  exit 1
fi
"$nvcc" "-arch=sm_$arch" "$out/obj-misc/test_misc.o" "${objs[@]}" -o "$out/test_misc"
"$nvcc" "-arch=sm_$arch" "$out/obj-misc/test_transformer.o" "${objs[@]}" -o "$out/test_transformer"
"$nvcc" "-arch=sm_$arch" "$out/obj-misc/test_vision.o" "${objs[@]}" -o "$out/test_vision"
"$nvcc" "-arch=sm_$arch" "$out/obj-misc/test_sources.o" "${src_objs[@]}" "${objs[@]}" -ldl -o "$out/test_sources"
echo "built $out/test_misc, $out/test_transformer, $out/test_vision and $out/test_sources"

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
  "$out/test_misc" || rc=1
  echo
  "$out/test_transformer" || rc=1
  echo
  "$out/test_vision" || rc=1
  echo
  "$out/test_sources" || rc=1
  exit $rc
fi
