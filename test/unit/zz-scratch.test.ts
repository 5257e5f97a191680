import { readFileSync, writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
it('scratch', () => {
  for (const m of ['vit_tiny', 'swin_tiny', 'convnext_tiny', 'bert_tiny']) {
      const g = parseModel(new Uint8Array(readFileSync(`test/fixtures/models/${m}.onnx`)));
      const o = optimize(g, { fuse: true, precision: 'fp32' });
      const sh = (n: string) => { const t = o.types.get(n); const c = o.initializers.get(n); return c ? `C${JSON.stringify(c.dims)}${c.dims.length<=1 && c.data.length<8 ? '=' + Array.from(c.data as any).join(',') : ''}` : t ? `${t.dtype[0]}${JSON.stringify(t.shape)}` : '?'; };
      const lines = o.nodes.map((n) => `${n.op} ${n.name.replace(/.*\//,'')} (${n.inputs.map(sh).join(' ; ')}) -> ${n.outputs.map(sh).join(' ; ')} ${JSON.stringify(n.attrs)}`);
      writeFileSync(`/tmp/tb/${m}.opt.txt`, lines.join('\n'));
  }
});
