import { readFileSync, writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
it('scratch', () => {
  for (const m of ['vit_tiny', 'swin_tiny', 'convnext_tiny']) {
    for (const precision of ['fp32', 'fp16'] as const) {
      const g = parseModel(new Uint8Array(readFileSync(`test/fixtures/models/${m}.onnx`)));
      const o = optimize(g, { fuse: true, precision });
      const ops: Record<string, number> = {};
      for (const n of o.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
      console.log(m, precision, JSON.stringify(ops));
      try {
        const t0 = Date.now();
        const { program } = lowerGraph(o, { min: 1, opt: 2, max: 8 });
        const lo: Record<string, number> = {};
        for (const l of program.layers) lo[OP_NAMES[l.op]] = (lo[OP_NAMES[l.op]] ?? 0) + 1;
        console.log('  lowered', Date.now() - t0, 'ms', JSON.stringify(lo));
      } catch (e) { console.log('  ERR', (e as Error).message); }
    }
  }
});
