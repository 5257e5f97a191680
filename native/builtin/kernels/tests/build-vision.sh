#!/usr/bin/env bash
# Builds the GPU tests of the vision kernels (resize, deconv, argReduce, nms) and with --run runs them.
#   native/builtin/kernels/tests/build-vision.sh [--run]
# Environment: NODE_TENSORRT_CUDA_ARCHS (default 90), NVCC, OUT_DIR (default build/kernel-tests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out=${OUT_DIR:-$root/build/kernel-tests}
arch=${NODE_TENSORRT_CUDA_ARCHS:-90}
arch=${arch%%[;,]*}
cuda=${CUDA_HOME:-/usr/local/cuda}
nvcc=${NVCC:-$(command -v nvcc || echo "$cuda/bin/nvcc")}
mkdir -p "$out/obj-vision"
flags=(-std=c++17 -O3 --expt-relaxed-constexpr "-arch=sm_$arch" "-I$root/native" -Xcompiler=-Wall,-Wno-unused-parameter)
objs=()
for src in "$root"/native/builtin/kernels/{resize,deconv,select,nms,elementwise}.cu "$root/native/cuda/convert.cu" "$here/test_vision.cu"; do
  [[ -f "$src" ]] || continue
  obj="$out/obj-vision/$(basename "${src%.cu}").o"
  "$nvcc" "${flags[@]}" -c "$src" -o "$obj" &
  objs+=("$obj")
done
wait
"$nvcc" "-arch=sm_$arch" "${objs[@]}" -o "$out/test_vision"
echo "built $out/test_vision"
if [[ "${1:-}" == "--run" ]]; then "$out/test_vision"; fi
