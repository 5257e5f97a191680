#!/usr/bin/env bash
# Everything that needs a GPU, in one go: builds the addon for this machine (cuDNN/cuBLASLt tactics always compiled
# in, opened at run time), runs the kernel test programs and the GPU test suite, and prints a short table last.
# Then compute-sanitizer: memcheck of the vision kernel test, and the two-phase scripts/sanitize-gpu.ts (plans built
# without the sanitizer, then loaded and run under memcheck and racecheck, --quick); their ERROR SUMMARY lines are
# in the table. Logs go to $OUT (default build/gpu-check). Run from the repository root on a machine with a CUDA device.
#   bash scripts/gpu-check.sh [--skip-build] [--conv-full] [--only-kernels] [--skip-sanitize] [--vitest-args "..."]
set -uo pipefail
out=${OUT:-build/gpu-check}
mkdir -p "$out"
export NODE_TENSORRT_CUDA_ARCHS=${NODE_TENSORRT_CUDA_ARCHS:-90}
skip_build=0 conv_mode=--quick only_kernels=0 skip_sanitize=0 vitest_args=""
while (($#)); do
  case $1 in
    --skip-build) skip_build=1 ;;
    --conv-full) conv_mode="" ;;
    --only-kernels) only_kernels=1 ;;
    --skip-sanitize) skip_sanitize=1 ;;
    --vitest-args) vitest_args=$2; shift ;;
  esac
  shift
done
# Runs once, and returns that run's status: `a && b || c` would rerun a failed suite through npx and report the rerun.
run() { if command -v "$1" >/dev/null; then "$@"; else npx "$@"; fi; }
declare -A status

if ((!skip_build)); then
  (node scripts/install.mjs --force >"$out/addon-build.log" 2>&1; echo $? >"$out/addon-build.rc") &
fi
# The kernel tests are built once, here; build-misc.sh then only adds test_sources (two builds at once would write
# the same objects).
bash native/builtin/kernels/tests/build.sh >"$out/kernels-build.log" 2>&1
(SKIP_KERNEL_BUILD=1 bash native/builtin/kernels/tests/build-misc.sh --run >"$out/kernels-misc.log" 2>&1; echo $? >"$out/kernels-misc.rc") &
build/kernel-tests/test_conv $conv_mode >"$out/kernels-conv.log" 2>&1
status[kernels-conv]=$?
wait
status[kernels-misc]=$(cat "$out/kernels-misc.rc")
((skip_build)) || status[addon-build]=$(cat "$out/addon-build.rc")
if ((!only_kernels)); then
  run vitest run test/gpu $vitest_args >"$out/gpu-tests.log" 2>&1
  status[gpu-tests]=$?
fi
sanitizer=$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")
if ((!skip_sanitize)) && [[ -x "$sanitizer" ]]; then
  "$sanitizer" --tool memcheck --error-exitcode 1 build/kernel-tests/test_vision --no-timing >"$out/sanitize-kernels.log" 2>&1
  status[memcheck-kernels]=$?
  if ((!only_kernels)); then
    # Plans first, without the sanitizer (the builder's tactic timing under it would take hours).
    run tsc -p tsconfig.json >"$out/sanitize-prepare.log" 2>&1 &&
      node dist/scripts/sanitize-gpu.js --prepare "$out/sanitize" >>"$out/sanitize-prepare.log" 2>&1
    status[sanitize-prepare]=$?
    # Bounded, so a slow sanitizer cannot hold the whole check (rc 124 means it ran out of time).
    timeout 1200 "$sanitizer" --tool memcheck --error-exitcode 1 node dist/scripts/sanitize-gpu.js --run "$out/sanitize" >"$out/sanitize-memcheck.log" 2>&1
    status[memcheck]=$?
    timeout 2400 "$sanitizer" --tool racecheck --error-exitcode 1 node dist/scripts/sanitize-gpu.js --run "$out/sanitize" --quick >"$out/sanitize-racecheck.log" 2>&1
    status[racecheck]=$?
  fi
fi

echo "---- kernels-conv";  grep -E "FAIL|fatal|passed, .* failed|cases, " "$out/kernels-conv.log" | tail -25
echo "---- kernels-misc";  grep -E "FAIL|passed|failed|cuDNN|cuBLASLt|error" "$out/kernels-misc.log" | tail -25
[[ -f "$out/addon-build.log" ]] && { echo "---- addon-build"; grep -E "node-tensorrt:|error|FAILED" "$out/addon-build.log" | tail -10; }
[[ -f "$out/gpu-tests.log" ]] && { echo "---- gpu-tests"; grep -E "FAIL|×|✗|Error:|passed, .* failed" "$out/gpu-tests.log" | head -40; }
for k in kernels memcheck racecheck; do
  f="$out/sanitize-$k.log"
  [[ -f "$f" ]] && { echo "---- sanitize $k"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|^ERROR |sanitize-gpu run:|cases, " "$f" | tail -12; }
done
echo "---- summary"
for k in "${!status[@]}"; do printf '%-14s rc=%s\n' "$k" "${status[$k]}"; done
