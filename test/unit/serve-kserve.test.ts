// The KServe v2 codec on its own: every datatype both ways, JSON and binary, and the request parameters.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { decodeInferRequest, encodeInferResponse, modelConfig, modelMetadata, protocolShape, type ModelSpec } from '../../lib/serve/kserve.js';
import type { TensorDType } from '../../lib/types.js';
import { fromHalfBits, toHalfBits } from '../../lib/util/half.js';
import { thrownError } from '../helpers/errors.js';

const DTYPES: TensorDType[] = ['float32', 'float16', 'int32', 'int64', 'uint8', 'int8', 'bool'];
const spec: ModelSpec = {
  name: 'all',
  version: '1',
  platform: 'node-tensorrt_reference',
  inputs: DTYPES.map((dtype) => ({ name: `in_${dtype}`, shape: ['batch', 2], dtype })),
  outputs: DTYPES.map((dtype) => ({ name: `out_${dtype}`, shape: ['batch', 2], dtype })),
  maxBatch: 4,
};
const DT: Record<TensorDType, string> = { float32: 'FP32', float16: 'FP16', int32: 'INT32', int64: 'INT64', uint8: 'UINT8', int8: 'INT8', bool: 'BOOL' };
const VALUES: Record<TensorDType, unknown[]> = {
  float32: [1.5, -2.25, 3, 0.1],
  float16: [1.5, -2.25, 65504, 0.1],
  int32: [-2147483648, 2147483647, 0, 7],
  int64: [-9007199254740991, 9007199254740991, -1, 2],
  uint8: [0, 255, 1, 2],
  int8: [-128, 127, 0, -1],
  bool: [true, false, false, true],
};
const json = (body: object) => Buffer.from(JSON.stringify(body));
const input = (dtype: TensorDType, data: unknown = VALUES[dtype], shape = [2, 2]) => ({ name: `in_${dtype}`, shape, datatype: DT[dtype], data });
const allInputs = () => DTYPES.map((d) => input(d));

describe('KServe v2 codec', () => {
  it('describes every datatype, with -1 for the dynamic batch', () => {
    expect(protocolShape(['batch', 3, 224, 224])).toEqual([-1, 3, 224, 224]);
    const meta = modelMetadata(spec) as { inputs: { datatype: string }[] };
    expect(meta.inputs.map((t) => t.datatype)).toEqual(['FP32', 'FP16', 'INT32', 'INT64', 'UINT8', 'INT8', 'BOOL']);
  });

  it("gives Triton's model configuration: dims without the batch when the model batches, whole shapes when not", () => {
    const dynamic = modelConfig(spec, 0.5) as { max_batch_size: number; input: { dims: number[]; data_type: string }[]; dynamic_batching?: object };
    expect(dynamic.max_batch_size).toBe(4);
    expect(dynamic.input[1]).toEqual({ name: 'in_float16', data_type: 'TYPE_FP16', dims: [2] });
    expect(dynamic.dynamic_batching).toEqual({ max_queue_delay_microseconds: 500 });
    const fixed = modelConfig({ ...spec, inputs: [{ name: 'a', shape: [1, 3], dtype: 'bool' }], outputs: [] }, 0);
    expect(fixed).toEqual({ name: 'all', platform: 'node-tensorrt_reference', max_batch_size: 0, input: [{ name: 'a', data_type: 'TYPE_BOOL', dims: [1, 3] }], output: [] });
  });

  it('decodes JSON data of every datatype into the engine arrays', () => {
    const req = decodeInferRequest(json({ inputs: allInputs() }), undefined, spec);
    expect(req.rows).toBe(2);
    expect(Array.from(req.feeds.in_float32 as Float32Array)).toEqual([1.5, -2.25, 3, Math.fround(0.1)]);
    expect(Array.from(req.feeds.in_float16 as Uint16Array)).toEqual([1.5, -2.25, 65504, 0.1].map(toHalfBits));
    expect(Array.from(req.feeds.in_int32 as Int32Array)).toEqual(VALUES.int32);
    expect(Array.from(req.feeds.in_int64 as BigInt64Array)).toEqual(VALUES.int64.map((v) => BigInt(v as number)));
    expect(Array.from(req.feeds.in_uint8 as Uint8Array)).toEqual(VALUES.uint8);
    expect(Array.from(req.feeds.in_int8 as Int8Array)).toEqual(VALUES.int8);
    expect(Array.from(req.feeds.in_bool as Uint8Array)).toEqual([1, 0, 0, 1]);
    expect(req.outputs.map((o) => [o.name, o.binary])).toEqual(DTYPES.map((d) => [`out_${d}`, false]));
  });

  it('decodes binary data of every datatype, as views when aligned', () => {
    const arrays = [
      Float32Array.from([1, 2, 3, 4]),
      Uint16Array.from([1, 2, 3, 4].map(toHalfBits)),
      Int32Array.from([-1, 2, -3, 4]),
      BigInt64Array.from([-1n, 2n ** 40n, 3n, 4n]),
      Uint8Array.from([1, 2, 3, 250]),
      Int8Array.from([-1, 2, -3, 4]),
      Uint8Array.from([1, 0, 1, 1]),
    ];
    const header = json({ inputs: DTYPES.map((d, i) => ({ name: `in_${d}`, shape: [2, 2], datatype: DT[d], parameters: { binary_data_size: arrays[i].byteLength } })) });
    const seen = new Set<boolean>();
    for (const pad of [0, 1, 2, 3]) {
      const head = Buffer.concat([header, Buffer.alloc(pad, 32)]);
      const body = Buffer.concat([head, ...arrays.map((a) => Buffer.from(a.buffer))]);
      const req = decodeInferRequest(body, head.length, spec);
      DTYPES.forEach((d, i) => expect([d, Array.from(req.feeds[`in_${d}`] as ArrayLike<unknown>)]).toEqual([d, Array.from(arrays[i] as ArrayLike<unknown>)]));
      const aligned = (body.byteOffset + head.length) % 4 === 0;
      expect(req.feeds.in_float32.buffer === body.buffer).toBe(aligned);
      seen.add(aligned);
    }
    expect(seen).toEqual(new Set([true, false]));
  });

  it('takes nested data of any depth, row-major', () => {
    const req = decodeInferRequest(json({ inputs: [input('float32', [[1, 2], [[3], [4]]]), ...allInputs().slice(1)] }), undefined, spec);
    expect(Array.from(req.feeds.in_float32 as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('reads the id, the outputs asked for and their form, and Triton priority and timeout', () => {
    const req = decodeInferRequest(
      json({ id: 'r', inputs: allInputs(), outputs: [{ name: 'out_int8' }, { name: 'out_bool', parameters: { binary_data: true } }], parameters: { priority: 3, timeout: 2500 } }),
      undefined,
      spec,
    );
    expect(req).toMatchObject({ id: 'r', priority: 3, timeoutMs: 2.5, outputs: [{ name: 'out_int8', binary: false }, { name: 'out_bool', binary: true }] });
    const all = decodeInferRequest(json({ inputs: allInputs(), parameters: { binary_data_output: true }, outputs: [{ name: 'out_int8', parameters: { binary_data: false } }, { name: 'out_uint8' }] }), undefined, spec);
    expect(all.outputs).toEqual([{ name: 'out_int8', binary: false }, { name: 'out_uint8', binary: true }]);
  });

  it('encodes every datatype as JSON and as binary', () => {
    const results = {
      out_float32: Float32Array.from([0.5, 1, 2, 3]),
      out_float16: Uint16Array.from([0.5, 1, 2, 65504].map(toHalfBits)),
      out_int32: Int32Array.from([1, -2, 3, -4]),
      out_int64: BigInt64Array.from([1n, -2n, 3n, 2n ** 50n]),
      out_uint8: Uint8Array.from([0, 1, 2, 255]),
      out_int8: Int8Array.from([-128, 0, 1, 127]),
      out_bool: Uint8Array.from([0, 1, 1, 0]),
    };
    const req = { id: 'z', feeds: {}, rows: 2, outputs: DTYPES.map((d) => ({ name: `out_${d}`, binary: false })) };
    const { header, binary } = encodeInferResponse(spec, req, results);
    expect(binary).toEqual([]);
    const body = JSON.parse(header.toString());
    expect(body.id).toBe('z');
    expect(body.outputs.map((o: { data: unknown[] }) => o.data)).toEqual([
      [0.5, 1, 2, 3],
      [0.5, 1, 2, 65504],
      [1, -2, 3, -4],
      [1, -2, 3, 2 ** 50],
      [0, 1, 2, 255],
      [-128, 0, 1, 127],
      [false, true, true, false],
    ]);
    expect(body.outputs[0].shape).toEqual([2, 2]);
    const bin = encodeInferResponse(spec, { ...req, outputs: req.outputs.map((o) => ({ ...o, binary: true })) }, results);
    const parsed = JSON.parse(bin.header.toString());
    expect(parsed.outputs.map((o: { parameters: { binary_data_size: number } }) => o.parameters.binary_data_size)).toEqual([16, 8, 16, 32, 4, 4, 4]);
    expect(Buffer.concat(bin.binary).equals(Buffer.concat(Object.values(results).map((a) => Buffer.from(a.buffer))))).toBe(true);
    expect(fromHalfBits(new Uint16Array(bin.binary[1].slice().buffer)[3])).toBe(65504);
  });

  it('refuses values outside a datatype with a message naming the input and the value', () => {
    const cases: [TensorDType, unknown, string][] = [
      ['uint8', [0, 256, 1, 2], "Input 'in_uint8' value 1 is 256 of type number; UINT8 needs integers in 0..255"],
      ['int8', [0, -129, 1, 2], "Input 'in_int8' value 1 is -129 of type number; INT8 needs integers in -128..127"],
      ['int32', [0, 2 ** 31, 1, 2], "Input 'in_int32' value 1 is 2147483648 of type number; INT32 needs integers in -2147483648..2147483647"],
      ['bool', [true, 'yes', false, true], "Input 'in_bool' value 1 is 'yes' of type string; BOOL needs true or false"],
      ['float16', [1, null, 2, 3], "Input 'in_float16' value 1 is null; FP16 needs numbers"],
      ['float32', 'abc', "'data' of input 'in_float32' must be an array but is 'abc' of type string"],
    ];
    for (const [dtype, data, message] of cases) {
      const inputs = allInputs().map((i) => (i.name === `in_${dtype}` ? input(dtype, data) : i));
      const e = thrownError(() => decodeInferRequest(json({ inputs }), undefined, spec));
      expect([e.code, e.message]).toEqual([ErrorCode.INVALID_INPUT, message]);
    }
    const neither = thrownError(() => decodeInferRequest(json({ inputs: [{ name: 'in_float32', shape: [1, 2], datatype: 'FP32' }] }), undefined, spec));
    expect(neither.message).toBe("Input 'in_float32' has neither 'data' nor a binary_data_size parameter");
    const extra = thrownError(() => decodeInferRequest(Buffer.concat([json({ inputs: allInputs() }), Buffer.alloc(4)]), JSON.stringify({ inputs: allInputs() }).length, spec));
    expect(extra.message).toBe('The body has 4 bytes of binary data past the inputs that announce them');
    const dup = thrownError(() => decodeInferRequest(json({ inputs: [...allInputs(), input('int8')] }), undefined, spec));
    expect(dup.message).toBe("Input 'in_int8' is given twice");
    const prio = thrownError(() => decodeInferRequest(json({ inputs: allInputs(), parameters: { priority: 'high' } }), undefined, spec));
    expect(prio.message).toBe("The priority parameter must be an integer but is 'high' of type string");
    const zero = thrownError(() => decodeInferRequest(json({ inputs: allInputs().map((i) => ({ ...i, shape: [0, 2], data: [] })) }), undefined, spec));
    expect(zero.message).toBe("Input 'in_float32' has a batch of 0; this server takes 1 to 4 rows per request");
  });
});
