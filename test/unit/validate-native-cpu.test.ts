// The plan validator is plain C++: it compiles and links without CUDA headers, the CUDA runtime or any kernel, so
// it runs on machines without a GPU (CI runs it through the addon; this proves the translation units stand alone).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const cxx = (() => {
  try {
    execFileSync('c++', ['--version'], { stdio: 'ignore' });
    return 'c++';
  } catch {
    return undefined;
  }
})();

const DRIVER = `
#include <cstdio>
#include "builtin/validate.h"
#include "cuda/error.h"
using namespace ntrt::builtin;
int main() {
  ProgramDesc p;
  p.tensors.push_back({DType::F32, Loc::Arena, true, 0, 64});
  p.batchedArenaBytes = 256;
  p.maxBatch = 4;
  LayerDesc l;
  l.name = "fill";
  l.op = Op::Fill;
  l.outputs = {0};
  l.params["n"] = {16};
  l.tactics = {{4, "default"}};
  p.layers.push_back(l);
  ValidationReport r = validateProgram(p, Stage::Load);
  std::printf("ok %lld\\n", static_cast<long long>(r.arenaBytes));
  p.layers[0].params["n"] = {17};
  try {
    validateProgram(p, Stage::Load);
  } catch (const ntrt::Error& e) {
    std::printf("%s\\n", e.code().c_str());
  }
  p.layers[0].op = static_cast<Op>(99);
  try {
    validateProgram(p, Stage::Load);
  } catch (const ntrt::Error& e) {
    std::printf("%s\\n", e.what());
  }
}
`;

describe.skipIf(!cxx)('plan validator as plain C++', () => {
  it('compiles, links and runs with no CUDA include path or library', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-validate-cc-'));
    writeFileSync(path.join(dir, 'main.cc'), DRIVER);
    const sources = ['validate.cc', 'validate_ops.cc', 'validate_conv.cc', 'validate_transformer.cc', 'validate_mbconv.cc', 'validate_vision.cc', 'program.cc'].map((f) => path.join('native/builtin', f));
    const exe = path.join(dir, 'validate');
    execFileSync(cxx!, ['-std=c++17', '-O0', '-Inative', '-o', exe, path.join(dir, 'main.cc'), ...sources], { stdio: 'pipe' });
    const out = execFileSync(exe, { encoding: 'utf8' }).trim().split('\n');
    expect(out[0]).toBe('ok 1024');
    expect(out[1]).toBe('ERR_PLAN_CORRUPT');
    expect(out[2]).toMatch(/has op 99, which has no validation rule/);
  }, 120_000);
});
