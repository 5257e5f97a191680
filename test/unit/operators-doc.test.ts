// docs/operators.md is the support table lib/operators.ts computes: an operator added to the front end, a kernel or
// a rewrite without regenerating the document fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOWERINGS } from '../../lib/builtin/lower-ops.js';
import { ONNX_OPS } from '../../lib/ir/infer.js';
import { operatorSupport, operatorsMarkdown } from '../../lib/operators.js';
import { DECOMPOSED_OPS } from '../../lib/optimize/decompose.js';

describe('the operator support table', () => {
  it('lists every operator the front end reads, once, with builtin kernels and rewrites where they are', () => {
    const rows = operatorSupport();
    expect(rows.map((r) => r.op)).toEqual(Object.keys(ONNX_OPS).sort());
    for (const r of rows) {
      if (Object.hasOwn(LOWERINGS, r.op)) expect(r.builtin).toBe('kernel');
      else if (DECOMPOSED_OPS.includes(r.op)) expect(r.builtin).toBe('rewritten');
    }
    expect(rows.find((r) => r.op === 'LSTM')).toMatchObject({ builtin: 'rewritten' });
    expect(rows.find((r) => r.op === 'GroupNormalization')).toMatchObject({ since: 18 });
    expect(rows.find((r) => r.op === 'GatherND')?.builtin).toBe('reference only');
  });

  it('is what docs/operators.md says (regenerate it with node dist/scripts/operators-doc.js)', () => {
    expect(readFileSync('docs/operators.md', 'utf8')).toBe(operatorsMarkdown());
  });
});
