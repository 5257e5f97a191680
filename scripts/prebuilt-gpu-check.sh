#!/usr/bin/env bash
# Checks the prebuilt addon of a release on a GPU machine, with nothing compiled there: installs the platform
# package's tarball into node_modules (as npm would), checks that the loader takes it, then runs the GPU test suite,
# lists which tactic sources the builtin builder chose for MobileNetV2 and ResNet-style layers, and runs the bench.
# Needs dist/ (npm run build:ts) and the tarball from `npm run pack:all`. Logs go to $OUT (default build/prebuilt-check).
#   bash scripts/prebuilt-gpu-check.sh [dist-packages/node-tensorrt-linux-x64-<version>.tgz]
set -uo pipefail
out=${OUT:-build/prebuilt-check}
mkdir -p "$out"
version=$(node -p "require('./package.json').version")
tgz=${1:-dist-packages/node-tensorrt-linux-x64-$version.tgz}
pkg=node_modules/@node-tensorrt/linux-x64
# It writes into node_modules: refuse one that is shared with other trees.
[[ -L node_modules ]] && { echo "prebuilt-check: node_modules is a symlink; run this where node_modules is the tree's own" >&2; exit 2; }
[[ -f "$tgz" ]] || { echo "prebuilt-check: $tgz not found (run npm run pack:all)" >&2; exit 2; }
rm -rf "$pkg" && mkdir -p "$pkg" && tar -xzf "$tgz" --strip-components=1 -C "$pkg"
# A local build would be the loader's second choice: move it aside so nothing but the prebuilt addon can load.
[[ -d build/Release ]] && mv build/Release build/Release.away
restore() { [[ -d build/Release.away ]] && mv build/Release.away build/Release; }
trap restore EXIT
run() { command -v vitest >/dev/null && "$@" || npx "$@"; }

node --input-type=module -e '
  const m = await import("./dist/lib/index.js");
  const c = m.capabilities();
  console.log(JSON.stringify({ addon: c.addon, cuda: { driver: c.cuda.driverVersion, runtime: c.cuda.runtimeVersion,
    devices: c.cuda.devices.map((d) => `${d.name} sm_${d.computeCapability}`) }, tacticSources: c.tacticSources }, null, 1));
  if (c.addon.source !== "platform-package") { console.error("prebuilt-check: the addon did not come from the platform package"); process.exit(3); }
' | tee "$out/capabilities.json" || exit 3

run vitest run test/gpu >"$out/gpu-tests.log" 2>&1
tests=$?

# Which source each convolution's chosen tactic comes from (cudnn_*, cublaslt_*, or the project's own kernels).
node --input-type=module -e '
  const m = await import("./dist/lib/index.js");
  for (const model of ["test/fixtures/torchvision_mobilenet_v2.onnx", "test/fixtures/models/convnext_tiny.onnx"]) {
    const engine = await m.buildEngine(model, { backend: "builtin" });
    const ctx = await engine.createContext({ maxBatch: 1 });
    const layers = await ctx.profileLayers({ batch: 1, iterations: 20 });
    const by = {};
    for (const l of layers) {
      const src = l.tactic.startsWith("cudnn_") ? "cudnn" : l.tactic.startsWith("cublaslt_") ? "cublaslt" : "own";
      by[src] = (by[src] ?? 0) + 1;
    }
    console.log(`${model}: ${layers.length} layers, tactics by source ${JSON.stringify(by)}`);
    ctx.dispose();
    engine.dispose();
  }
' 2>&1 | tee "$out/tactics.log"

node dist/scripts/bench.js --backend builtin --peers none --noReport --batch 1,32 --duration 2 >"$out/bench.log" 2>&1
bench=$?
echo
tail -n 5 "$out/gpu-tests.log"
tail -n 25 "$out/bench.log"
echo "prebuilt-check: vitest test/gpu rc=$tests, bench rc=$bench (logs in $out)"
exit $((tests || bench))
