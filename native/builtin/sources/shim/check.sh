#!/usr/bin/env bash
# Compiles and runs check_shim.cc: the project's cuDNN / cuBLASLt declarations against the real cudnn.h and
# cublasLt.h (a mismatch is a compile error naming the enumerator, field or function). Needs both headers.
#   bash native/builtin/sources/shim/check.sh
# Environment: CUDNN_INCLUDE_DIR (default /usr/include/x86_64-linux-gnu), CUDA_HOME (default /usr/local/cuda),
#              CUBLASLT_INCLUDE_DIR (default $CUDA_HOME/include), CXX (default g++), OUT_DIR (default build/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
cuda=${CUDA_HOME:-/usr/local/cuda}
cudnn_inc=${CUDNN_INCLUDE_DIR:-/usr/include/x86_64-linux-gnu}
cublaslt_inc=${CUBLASLT_INCLUDE_DIR:-$cuda/include}
out=${OUT_DIR:-$root/build}
for f in "$cudnn_inc/cudnn.h" "$cublaslt_inc/cublasLt.h"; do
  [[ -f "$f" ]] || { echo "check-shim: $f not found (set CUDNN_INCLUDE_DIR / CUBLASLT_INCLUDE_DIR)" >&2; exit 2; }
done
mkdir -p "$out"
# The real headers come first so they, not a copy elsewhere on the path, are what is checked; -isystem keeps their
# own warnings out of -Werror.
"${CXX:-g++}" -std=c++17 -Wall -Wextra -Werror -Wno-deprecated-declarations \
  -isystem "$cudnn_inc" -isystem "$cublaslt_inc" -isystem "$cuda/include" -I"$here" "$here/check_shim.cc" -o "$out/check-shim"
"$out/check-shim"
