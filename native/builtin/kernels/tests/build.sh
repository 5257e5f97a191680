#!/usr/bin/env bash
# Builds the kernel test programs into build/kernel-tests/<name>, one per tests/test_*.cu. Every kernel source
# (native/builtin/kernels/*.cu and native/cuda/convert.cu) goes into one static library, so each test links only
# the objects it uses: a test never depends on another test's kernels, and a kernel source that fails to compile
# only breaks the tests that need it.
#   bash native/builtin/kernels/tests/build.sh            # sm_90, or $NODE_TENSORRT_CUDA_ARCHS ("80;90")
#   build/kernel-tests/test_conv [--quick|--host|--perf]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
kdir="$root/native/builtin/kernels"
out="$root/build/kernel-tests"
obj="$out/obj"
mkdir -p "$obj"

archs="${NODE_TENSORRT_CUDA_ARCHS:-90}"
gencode=()
for a in ${archs//[;,]/ }; do gencode+=("-gencode=arch=compute_$a,code=sm_$a"); done
# NTRT_NVCC_EXTRA adds flags (e.g. -lineinfo for the source view of ncu); delete build/kernel-tests/obj to apply it.
# conv_wgmma.cu is Hopper's sm_90a alone (as in builtin.cmake): built when 90 is among the archs, skipped otherwise.
wgmma=0
for a in ${archs//[;,]/ }; do [[ "$a" == 90 ]] && wgmma=1; done
export NVCC_FLAGS="-std=c++17 -O3 --expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter ${gencode[*]} ${NTRT_NVCC_EXTRA:-}"
[[ $wgmma == 1 ]] && NVCC_FLAGS="$NVCC_FLAGS -DNTRT_HAVE_WGMMA"
export OBJ_DIR="$obj"
nvcc=${NVCC:-nvcc}
command -v "$nvcc" >/dev/null || nvcc=/usr/local/cuda/bin/nvcc
export NVCC_BIN="$nvcc"

# Newest header: a source is rebuilt when it or any shared header is newer than its object.
headers=$(ls -t "$kdir"/*.h "$kdir"/*.cuh "$root"/native/cuda/*.h 2>/dev/null | head -1)
export NEWEST_HEADER="$headers"

compile_one() {
  src=$1
  name=$(basename "$src" .cu)
  o="$OBJ_DIR/$name.o"
  if [[ -f "$o" && "$o" -nt "$src" && ( -z "$NEWEST_HEADER" || "$o" -nt "$NEWEST_HEADER" ) ]]; then return 0; fi
  rm -f "$o" "$OBJ_DIR/$name.failed"
  flags="$NVCC_FLAGS"
  [[ $name == conv_wgmma ]] && flags="${NVCC_FLAGS//-gencode=arch=compute_90,code=sm_90/} -gencode=arch=compute_90a,code=sm_90a"
  if "$NVCC_BIN" $flags -c "$src" -o "$o.tmp" >"$OBJ_DIR/$name.log" 2>&1; then
    mv "$o.tmp" "$o"
  else
    rm -f "$o.tmp"
    touch "$OBJ_DIR/$name.failed"
  fi
}
export -f compile_one

sources=("$root/native/cuda/convert.cu")
for src in "$kdir"/*.cu; do
  [[ $wgmma == 0 && $(basename "$src") == conv_wgmma.cu ]] || sources+=("$src")
done
jobs=$(nproc 2>/dev/null || echo 2)
echo "kernel tests: compiling ${#sources[@]} kernel sources for sm_${archs} with $jobs jobs"
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c 'compile_one "$@"' _ {}

failed_src=0
objs=()
for src in "${sources[@]}"; do
  name=$(basename "$src" .cu)
  if [[ -f "$obj/$name.o" ]]; then
    objs+=("$obj/$name.o")
  else
    failed_src=1
    echo "kernel tests: $src failed to compile:"
    sed 's/^/  /' "$obj/$name.log" | head -40
  fi
done
rm -f "$out/libkernels.a"
ar rcs "$out/libkernels.a" "${objs[@]}"

failed=0
for t in "$kdir"/tests/test_*.cu; do
  [[ -e "$t" ]] || continue
  name=$(basename "$t" .cu)
  if "$nvcc" $NVCC_FLAGS -I"$kdir/tests" "$t" "$out/libkernels.a" -o "$out/$name" >"$obj/$name.log" 2>&1; then
    echo "kernel tests: built build/kernel-tests/$name"
  else
    failed=1
    echo "kernel tests: $name failed to build:"
    sed 's/^/  /' "$obj/$name.log" | head -60
  fi
done
[[ $failed_src -eq 0 ]] || echo "kernel tests: some kernel sources failed to compile (tests that need them fail to link)"
exit $failed
