// The ONNX reader and writer: protobuf decoding, tensor storage variants, external data, and
// coded errors for bad input.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, parseModel } from '../../lib/onnx/reader.js';
import { AttrType, modelProto, type ModelProtoMsg, type NodeProtoMsg, type TensorProtoMsg, type ValueInfoProtoMsg } from '../../lib/onnx/schema.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { toHalfBits } from '../../lib/util/half.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { thrownError } from '../helpers/errors.js';

const vi = (name: string, dims: (number | string | null)[], elem = 1): ValueInfoProtoMsg => ({
  name,
  type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});

function encode(graph: { node?: NodeProtoMsg[]; input?: ValueInfoProtoMsg[]; output?: ValueInfoProtoMsg[]; initializer?: TensorProtoMsg[] }, opset = 17, extra: Partial<ModelProtoMsg> = {}): Uint8Array {
  return modelProto()
    .encode({ ir_version: 8, opset_import: [{ domain: '', version: opset }], producer_name: 'test', graph: { name: 'g', ...graph }, ...extra } as never)
    .finish();
}

/** y = Relu(x) plus whatever initializers/nodes a test adds. */
function reluModel(more: { initializer?: TensorProtoMsg[]; node?: NodeProtoMsg[]; output?: ValueInfoProtoMsg[] } = {}, opset = 17): Uint8Array {
  return encode(
    {
      node: [{ op_type: 'Relu', name: 'relu', input: ['x'], output: ['y'] }, ...(more.node ?? [])],
      input: [vi('x', ['N', 4])],
      output: [vi('y', ['N', 4]), ...(more.output ?? [])],
      initializer: more.initializer,
    },
    opset,
  );
}

function codeOf(fn: () => unknown): { code: string; message: string } {
  const { code, message } = thrownError(fn);
  return { code, message };
}

describe('parseModel', () => {
  const bytes = smallCnn({ seed: 3 });

  it('reads a generated model with a symbolic batch', () => {
    const g = parseModel(bytes);
    expect(g.opset).toBe(17);
    expect(g.inputs).toEqual([{ name: 'input', type: { dtype: 'float32', shape: ['batch', 3, 32, 32] } }]);
    expect(g.outputs.map((o) => [o.name, o.type.shape])).toEqual([
      ['logits', ['batch', 10]],
      ['probs', ['batch', 10]],
    ]);
    expect(g.producerName).toBe('node-tensorrt gen-models');
    expect(g.initializers.get('conv1.weight')?.dims).toEqual([16, 3, 3, 3]);
    // Every activation keeps the batch as dim 0.
    for (const n of g.nodes) {
      for (const o of n.outputs) {
        const t = g.typeOf(o);
        if (t.dtype === 'float32') expect(t.shape[0]).toBe('batch');
      }
    }
  });

  it('round-trips through writeModel', () => {
    const g = parseModel(bytes);
    const g2 = parseModel(writeModel(g));
    expect(g2.nodes.map((n) => [n.op, n.inputs, n.outputs, n.attrs])).toEqual(g.nodes.map((n) => [n.op, n.inputs, n.outputs, n.attrs]));
    expect([...g2.initializers.keys()].sort()).toEqual([...g.initializers.keys()].sort());
    for (const [k, c] of g.initializers) expect(g2.initializers.get(k)).toEqual(c);
    expect([...g2.types]).toEqual([...g.types]);
  });

  it('writes a fractional attribute as a FLOAT even where the op is not in the float table (an INT would truncate it)', () => {
    const g = parseModel(bytes);
    g.nodes[0].attrs.custom_scale = 0.0625;
    g.nodes[0].attrs.custom_scales = [1, 0.5];
    g.nodes[0].attrs.custom_count = 3;
    const m = modelProto().decode(writeModel(g)) as unknown as ModelProtoMsg;
    const attrs = Object.fromEntries((m.graph!.node![0].attribute ?? []).map((a) => [a.name, a]));
    expect(attrs.custom_scale).toMatchObject({ type: AttrType.FLOAT, f: 0.0625 });
    expect(attrs.custom_scales).toMatchObject({ type: AttrType.FLOATS, floats: [1, 0.5] });
    expect(attrs.custom_count.type).toBe(AttrType.INT);
  });

  it('reads every typed data field, fp16 bits in int32_data included', () => {
    const m = reluModel({
      initializer: [
        { name: 'f', dims: [2], data_type: 1, float_data: [1.5, -2] },
        { name: 'h', dims: [2], data_type: 10, int32_data: [toHalfBits(0.5), toHalfBits(-3)] },
        { name: 'd', dims: [1], data_type: 11, double_data: [0.1] },
        { name: 'l', dims: [3], data_type: 7, int64_data: [-1, 0, 2 ** 40] },
        { name: 'i', dims: [2], data_type: 6, int32_data: [-7, 9] },
        { name: 'b', dims: [3], data_type: 9, int32_data: [1, 0, 5] },
        { name: 'u', dims: [2], data_type: 2, int32_data: [200, 3] },
        { name: 's', dims: [2], data_type: 3, int32_data: [-100, 3] },
        { name: 'r', dims: [2, 2], data_type: 1, raw_data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) },
        { name: 'e', dims: [0, 3], data_type: 1 },
      ],
    });
    const g = parseModel(m);
    const data = (n: string) => Array.from(g.initializers.get(n)!.data as ArrayLike<number | bigint>);
    expect(data('f')).toEqual([1.5, -2]);
    expect(g.initializers.get('h')!.dtype).toBe('float16');
    expect(data('h')).toEqual([0x3800, 0xc200]);
    expect(data('d')).toEqual([0.1]);
    expect(data('l')).toEqual([-1n, 0n, 2n ** 40n]);
    expect(data('i')).toEqual([-7, 9]);
    expect(data('b')).toEqual([1, 0, 1]);
    expect(data('u')).toEqual([200, 3]);
    expect(data('s')).toEqual([-100, 3]);
    expect(data('r')).toEqual([1, 2, 3, 4]);
    expect(g.initializers.get('e')!.dims).toEqual([0, 3]);
  });

  it('names dynamic dims from dim_param, or makes one up', () => {
    const m = encode({ node: [{ op_type: 'Relu', input: ['x'], output: ['y'] }], input: [vi('x', ['N', null, 4])], output: [vi('y', [])] });
    const g = parseModel(m);
    expect(g.inputs[0].type.shape).toEqual(['N', 'x_d1', 4]);
    expect(g.outputs[0].type.shape).toEqual(['N', 'x_d1', 4]);
    expect(g.nodes[0].name).toBe('Relu_0');
  });

  it('skips initializers listed as inputs (IR < 4) and reads untyped attributes', () => {
    const m = encode({
      node: [{ op_type: 'LeakyRelu', name: 'lr', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', f: 0.25 }] }],
      input: [vi('x', [2]), vi('w', [2])],
      output: [vi('y', [2])],
      initializer: [{ name: 'w', dims: [2], data_type: 1, float_data: [1, 2] }],
    });
    const g = parseModel(m);
    expect(g.inputs.map((i) => i.name)).toEqual(['x']);
    expect(g.nodes[0].attrs.alpha).toBeCloseTo(0.25);
  });

  describe('external data', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-ext-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const payload = new Float32Array([0, 0, 3, 4, 5, 6]); // the tensor starts 8 bytes in
    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(payload.buffer));
    const ext = (loc: string, offset: string, length: string): TensorProtoMsg => ({
      name: 'w',
      dims: [4],
      data_type: 1,
      data_location: 1,
      external_data: [
        { key: 'location', value: loc },
        { key: 'offset', value: offset },
        { key: 'length', value: length },
      ],
    });
    const withExt = (t: TensorProtoMsg) =>
      encode({
        node: [{ op_type: 'Add', name: 'add', input: ['x', 'w'], output: ['y'] }],
        input: [vi('x', [4])],
        output: [vi('y', [4])],
        initializer: [t],
      });

    it('reads tensors from a file next to the model', async () => {
      const file = path.join(dir, 'model.onnx');
      writeFileSync(file, withExt(ext('weights.bin', '8', '16')));
      const g = await loadModel(file);
      expect(Array.from(g.initializers.get('w')!.data as Float32Array)).toEqual([3, 4, 5, 6]);
      expect(Array.from(parseModel(withExt(ext('weights.bin', '8', '16')), { baseDir: dir }).initializers.get('w')!.data as Float32Array)).toEqual([3, 4, 5, 6]);
    });

    it('refuses bad external references with ERR_INVALID_MODEL', () => {
      expect(codeOf(() => parseModel(withExt(ext('weights.bin', '8', '16')))).message).toMatch(/baseDir/);
      expect(codeOf(() => parseModel(withExt(ext('../weights.bin', '0', '16')), { baseDir: dir })).message).toMatch(/inside the model's directory/);
      expect(codeOf(() => parseModel(withExt(ext('weights.bin', '16', '16')), { baseDir: dir })).message).toMatch(/beyond the end/);
      expect(codeOf(() => parseModel(withExt(ext('weights.bin', '0', '12')), { baseDir: dir })).message).toMatch(/length 12/);
      expect(codeOf(() => parseModel(withExt(ext('missing.bin', '0', '16')), { baseDir: dir })).message).toMatch(/cannot open/);
      for (const loc of ['weights.bin', '../weights.bin', 'missing.bin']) {
        expect(codeOf(() => parseModel(withExt(ext(loc, '16', '16')), { baseDir: dir })).code).toBe('ERR_INVALID_MODEL');
      }
    });

    it('resolves links: a symlink inside the folder pointing outside it is refused, and so is anything but a regular file', () => {
      const outside = mkdtempSync(path.join(os.tmpdir(), 'ntrt-secret-'));
      try {
        writeFileSync(path.join(outside, 'id_rsa'), new Uint8Array(64).fill(7));
        symlinkSync(path.join(outside, 'id_rsa'), path.join(dir, 'leak.bin'));
        symlinkSync(outside, path.join(dir, 'sub'));
        for (const loc of ['leak.bin', 'sub/id_rsa']) {
          const e = codeOf(() => parseModel(withExt(ext(loc, '0', '16')), { baseDir: dir }));
          expect(e).toMatchObject({ code: 'ERR_INVALID_MODEL', message: expect.stringMatching(/resolves outside the model's directory/) });
        }
        // A link that stays inside is fine; a directory or a FIFO is not data (a FIFO would block the read).
        symlinkSync(path.join(dir, 'weights.bin'), path.join(dir, 'alias.bin'));
        expect(Array.from(parseModel(withExt(ext('alias.bin', '8', '16')), { baseDir: dir }).initializers.get('w')!.data as Float32Array)).toEqual([3, 4, 5, 6]);
        mkdirSync(path.join(dir, 'folder.bin'));
        expect(codeOf(() => parseModel(withExt(ext('folder.bin', '0', '16')), { baseDir: dir })).message).toMatch(/not a regular file/);
        execFileSync('mkfifo', [path.join(dir, 'pipe.bin')]);
        expect(codeOf(() => parseModel(withExt(ext('pipe.bin', '0', '16')), { baseDir: dir })).message).toMatch(/not a regular file/);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });
  });
});

describe('bad models give coded errors', () => {
  const good = smallCnn({ seed: 3 });

  it('truncated files', () => {
    for (const len of [1, 10, 100, good.length >> 1, good.length - 1]) {
      expect(codeOf(() => parseModel(good.subarray(0, len))).code).toBe('ERR_INVALID_MODEL');
    }
  });

  it('bytes that are no ONNX model', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    for (const b of [new Uint8Array(0), new TextEncoder().encode('hello, this is a text file\n'), png]) {
      expect(codeOf(() => parseModel(b)).code).toBe('ERR_INVALID_MODEL');
    }
  });

  it('a missing initializer, named', () => {
    const m = encode({ node: [{ op_type: 'Add', name: 'add', input: ['x', 'bias'], output: ['y'] }], input: [vi('x', [1, 3])], output: [vi('y', [1, 3])] });
    const e = codeOf(() => parseModel(m));
    expect(e.code).toBe('ERR_INVALID_MODEL');
    expect(e.message).toContain("'bias'");
    expect(e.message).toContain("'add'");
  });

  it('a graph output nothing produces', () => {
    const e = codeOf(() => parseModel(reluModel({ output: [vi('z', [1])] })));
    expect(e).toEqual({ code: 'ERR_INVALID_MODEL', message: "Graph output 'z' is produced by no node" });
  });

  it('a shape conflict in an Add, naming the node', () => {
    const m = encode({ node: [{ op_type: 'Add', name: 'bad_add', input: ['a', 'b'], output: ['y'] }], input: [vi('a', [1, 3]), vi('b', [1, 4])], output: [vi('y', [])] });
    const e = codeOf(() => parseModel(m));
    expect(e.code).toBe('ERR_SHAPE_MISMATCH');
    expect(e.message).toBe("Shape mismatch at node 'bad_add' (Add): cannot broadcast [1, 3] with [1, 4]");
  });

  it("a Conv whose weight channels don't match", () => {
    const m = encode({
      node: [{ op_type: 'Conv', name: 'conv_7', input: ['x', 'w'], output: ['y'] }],
      input: [vi('x', ['N', 3, 8, 8])],
      output: [vi('y', [])],
      initializer: [{ name: 'w', dims: [4, 5, 3, 3], data_type: 1, raw_data: new Uint8Array(4 * 5 * 9 * 4) }],
    });
    const e = codeOf(() => parseModel(m));
    expect(e.code).toBe('ERR_SHAPE_MISMATCH');
    expect(e.message).toContain("node 'conv_7' (Conv)");
    expect(e.message).toContain('input has 3 channels');
  });

  it('an unknown op names the op, the node and the opset', () => {
    const m = reluModel({ node: [{ op_type: 'TfIdfVectorizer', name: 'nz_1', input: ['y'], output: ['z'] }] });
    const e = codeOf(() => parseModel(m));
    expect(e.code).toBe('ERR_UNSUPPORTED_OP');
    expect(e.message).toBe("Unsupported operator 'TfIdfVectorizer' (node 'nz_1') at opset 17");
    const custom = reluModel({ node: [{ op_type: 'Gelu', domain: 'com.microsoft', name: 'g', input: ['y'], output: ['z'] }] });
    expect(codeOf(() => parseModel(custom)).message).toBe("Unsupported operator 'com.microsoft::Gelu' (node 'g') at opset 17");
    // HardSwish exists from opset 14 only.
    const hs = encode({ node: [{ op_type: 'HardSwish', name: 'hs', input: ['x'], output: ['y'] }], input: [vi('x', [2])], output: [vi('y', [2])] }, 13);
    expect(codeOf(() => parseModel(hs)).message).toBe("Unsupported operator 'HardSwish' (node 'hs') at opset 13");
    // Swish from opset 24 only.
    const sw = encode({ node: [{ op_type: 'Swish', name: 'sw', input: ['x'], output: ['y'] }], input: [vi('x', [2])], output: [vi('y', [2])] }, 23);
    expect(codeOf(() => parseModel(sw)).message).toBe("Unsupported operator 'Swish' (node 'sw') at opset 23");
  });

  it('opsets outside 9..24', () => {
    for (const opset of [25, 8, 7]) {
      const e = codeOf(() => parseModel(reluModel({}, opset)));
      expect(e.code).toBe('ERR_UNSUPPORTED_OPSET');
      expect(e.message).toContain(`opset ${opset}`);
    }
    for (const opset of [9, 10, 11, 21, 22, 24]) expect(parseModel(reluModel({}, opset)).opset).toBe(opset);
    const none = encode({ node: [], input: [vi('x', [1])], output: [vi('x', [1])] }, 17, { opset_import: [{ domain: 'com.microsoft', version: 1 }] });
    expect(codeOf(() => parseModel(none)).code).toBe('ERR_INVALID_MODEL');
  });

  it('tensor sizes that disagree with their dims', () => {
    const t = (over: Partial<TensorProtoMsg>): TensorProtoMsg => ({ name: 'w', dims: [2, 2], data_type: 1, ...over });
    const cases: [Partial<TensorProtoMsg>, RegExp][] = [
      [{ raw_data: new Uint8Array(12) }, /12 bytes of raw_data/],
      [{ float_data: [1, 2, 3] }, /holds 3 values for 4 elements/],
      [{ dims: [-2, 2], float_data: [1, 2, 3, 4] }, /negative dimension/],
      [{ dims: [2 ** 20, 2 ** 20], raw_data: new Uint8Array(4) }, /too large/],
      [{ dims: [2 ** 62] }, /out of range/],
      [{ data_type: 8 }, /unsupported element type string/],
      [{ data_type: 1, raw_data: new Uint8Array(16), segment: { begin: 0, end: 1 } } as Partial<TensorProtoMsg>, /segmented/],
    ];
    for (const [over, msg] of cases) {
      const e = codeOf(() => parseModel(reluModel({ initializer: [t(over)] })));
      expect(e.code).toBe('ERR_INVALID_MODEL');
      expect(e.message).toMatch(msg);
    }
  });

  it('values produced twice and cycles', () => {
    const twice = encode({
      node: [
        { op_type: 'Relu', name: 'a', input: ['x'], output: ['y'] },
        { op_type: 'Relu', name: 'b', input: ['x'], output: ['y'] },
      ],
      input: [vi('x', [2])],
      output: [vi('y', [2])],
    });
    expect(codeOf(() => parseModel(twice)).message).toMatch(/produced twice/);
    const cycle = encode({
      node: [
        { op_type: 'Add', name: 'a', input: ['x', 'q'], output: ['p'] },
        { op_type: 'Relu', name: 'b', input: ['p'], output: ['q'] },
      ],
      input: [vi('x', [2])],
      output: [vi('q', [2])],
    });
    expect(codeOf(() => parseModel(cycle))).toEqual({ code: 'ERR_INVALID_MODEL', message: "The graph has a cycle through node 'a' (Add)" });
  });

  it('a declared output that contradicts inference', () => {
    const m = encode({ node: [{ op_type: 'Relu', name: 'r', input: ['x'], output: ['y'] }], input: [vi('x', [2, 3])], output: [vi('y', [2, 4])] });
    expect(codeOf(() => parseModel(m)).code).toBe('ERR_SHAPE_MISMATCH');
  });

  it('loadModel of a missing file', async () => {
    await expect(loadModel('/nonexistent/model.onnx')).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});
