import { describe, expect, it } from 'vitest';
import { parseChoice, parseIntegerArg, parseShapes, parseTrtexecShapes } from '../../lib/cli/args.js';
import { resolveBuildFlags } from '../../lib/cli/build-flags.js';
import { cacheRoot, engineCacheKey, type CacheTarget } from '../../lib/cli/cache.js';
import { formatBytes, formatMs, formatShape, table } from '../../lib/cli/format.js';

describe('CLI argument parsing', () => {
  it('parses --shapes as min,opt,max or one fixed shape', () => {
    expect(parseShapes(['input:1x3x224x224,8x3x224x224,32x3x224x224'])).toEqual({
      input: { min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [32, 3, 224, 224] },
    });
    expect(parseShapes(['input:0:4x10', 'mask:4x10'])).toEqual({
      'input:0': { min: [4, 10], opt: [4, 10], max: [4, 10] },
      mask: { min: [4, 10], opt: [4, 10], max: [4, 10] },
    });
  });

  it('explains a bad --shapes', () => {
    const expected = 'Expected name:min,opt,max shapes (e.g. input:1x3x224x224,8x3x224x224,32x3x224x224) or name:shape for --shapes but received';
    expect(() => parseShapes(['input:1x3,8x3'])).toThrow(`${expected} 'input:1x3,8x3' of type string`);
    expect(() => parseShapes(['1x3x224x224'])).toThrow(expected);
    expect(() => parseShapes(['input:1x0x4'])).toThrow(expected);
    expect(() => parseShapes(['input:1x3x224x224,8x3x224,32x3x224x224'])).toThrow("--shapes: the min, opt and max shapes of 'input' have different ranks (4, 3, 4)");
    expect(() => parseShapes(['input:8x3,1x3,32x3'])).toThrow("--shapes: dimension 0 of 'input' must satisfy min <= opt <= max but is 8, 1, 32");
    expect(() => parseShapes(['x:1x2', 'x:1x2'])).toThrow("--shapes: 'x' is given more than once");
  });

  it("accepts trtexec's --minShapes/--optShapes/--maxShapes", () => {
    expect(parseTrtexecShapes('a:1x3,b:1x5', 'a:4x3,b:4x5', 'a:8x3,b:8x5')).toEqual({
      a: { min: [1, 3], opt: [4, 3], max: [8, 3] },
      b: { min: [1, 5], opt: [4, 5], max: [8, 5] },
    });
    expect(parseTrtexecShapes()).toEqual({});
    expect(() => parseTrtexecShapes('a:1x3', 'a:4x3')).toThrow('--minShapes, --optShapes and --maxShapes go together; pass all three');
    expect(() => parseTrtexecShapes('a:1x3', 'a:4x3', 'b:8x3')).toThrow("'a' has no shape in --maxShapes");
    expect(() => parseTrtexecShapes('a=1x3', 'a:4x3', 'a:8x3')).toThrow(
      "Expected a comma-separated list of name:shape (e.g. input:1x3x224x224) for --minShapes but received 'a=1x3' of type string",
    );
  });

  it('parses integers and choices strictly', () => {
    expect(parseIntegerArg('12', '--top')).toBe(12);
    expect(parseIntegerArg('0', '--device', 0)).toBe(0);
    expect(() => parseIntegerArg('0', '--top')).toThrow("Expected a positive integer for --top but received '0' of type string");
    expect(() => parseIntegerArg('1e3', '--workspace')).toThrow("Expected a positive integer for --workspace but received '1e3' of type string");
    expect(() => parseIntegerArg('-1', '--device', 0)).toThrow("Expected a non-negative integer for --device but received '-1' of type string");
    expect(() => parseChoice('cuda', '--backend', ['auto', 'builtin'])).toThrow("Expected one of 'auto', 'builtin' for --backend but received 'cuda' of type string");
  });

  it('turns build flags into BuildOptions', () => {
    expect(resolveBuildFlags({})).toEqual({ precision: 'fp16', backend: 'auto', device: 0 });
    expect(
      resolveBuildFlags({ fp32: true, backend: 'builtin', device: '1', shapes: ['x:1x3,4x3,8x3'], tacticCache: '/tmp/tc', workspace: '64', optLevel: '3' }),
    ).toEqual({
      precision: 'fp32',
      backend: 'builtin',
      device: 1,
      shapes: { x: { min: [1, 3], opt: [4, 3], max: [8, 3] } },
      tacticCache: '/tmp/tc',
      workspace: 64 * 1024 * 1024,
      optimizationLevel: 3,
    });
    expect(resolveBuildFlags({ minShapes: 'x:1x3', optShapes: 'x:2x3', maxShapes: 'x:4x3' }).shapes).toEqual({ x: { min: [1, 3], opt: [2, 3], max: [4, 3] } });
    expect(() => resolveBuildFlags({ shapes: ['x:1x3'], minShapes: 'x:1x3', optShapes: 'x:1x3', maxShapes: 'x:1x3' })).toThrow(
      '--shapes and --minShapes/--optShapes/--maxShapes are two spellings of one thing',
    );
    expect(() => resolveBuildFlags({ optLevel: '6' })).toThrow("Expected an integer in 0..5 for --opt-level but received '6' of type string");
    expect(resolveBuildFlags({ tacticBatches: '8, 32' }).tacticBatches).toEqual([8, 32]);
    expect(() => resolveBuildFlags({ tacticBatches: '8,x' })).toThrow("Expected a positive integer for --tactic-batches but received 'x' of type string");
  });
});

describe('engine cache', () => {
  const target: CacheTarget = { libraryVersion: '0.1.0', device: 'NVIDIA H100 80GB HBM3 (9.0)', tensorrt: null };
  const model = new Uint8Array([1, 2, 3]);

  it('keys on model bytes, plan-shaping options and the target, not on option order', () => {
    const k = engineCacheKey(model, { precision: 'fp16', backend: 'auto' }, target);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(engineCacheKey(model, { backend: 'auto', precision: 'fp16' }, { ...target })).toBe(k);
    expect(engineCacheKey(model, {}, target)).toBe(k);
    expect(engineCacheKey(new Uint8Array([1, 2, 4]), { precision: 'fp16' }, target)).not.toBe(k);
    // Tactics chosen at other batches make another plan; the order they are named in does not.
    expect(engineCacheKey(model, { tacticBatches: [32, 8] }, target)).not.toBe(k);
    expect(engineCacheKey(model, { tacticBatches: [32, 8] }, target)).toBe(engineCacheKey(model, { tacticBatches: [8, 32, 8] }, target));
    expect(engineCacheKey(model, { precision: 'fp32' }, target)).not.toBe(k);
    expect(engineCacheKey(model, { precision: 'fp16' }, { ...target, device: 'NVIDIA L4 (8.9)' })).not.toBe(k);
    expect(engineCacheKey(model, { precision: 'fp16' }, { ...target, libraryVersion: '0.2.0' })).not.toBe(k);
    const a = { x: { min: [1], opt: [2], max: [4] }, y: { min: [1], opt: [1], max: [1] } };
    const b = { y: a.y, x: a.x };
    expect(engineCacheKey(model, { shapes: a }, target)).toBe(engineCacheKey(model, { shapes: b }, target));
    expect(engineCacheKey(model, { shapes: a }, target)).not.toBe(k);
  });

  it('finds its root in --cache-dir, NODE_TENSORRT_CACHE, XDG_CACHE_HOME, then ~/.cache', () => {
    expect(cacheRoot('/tmp/c', { NODE_TENSORRT_CACHE: '/x' })).toBe('/tmp/c');
    expect(cacheRoot(undefined, { NODE_TENSORRT_CACHE: '/x', XDG_CACHE_HOME: '/y' })).toBe('/x');
    expect(cacheRoot(undefined, { XDG_CACHE_HOME: '/y' })).toBe('/y/node-tensorrt');
    expect(cacheRoot(undefined, {})).toMatch(/\.cache\/node-tensorrt$/);
  });
});

describe('formatting', () => {
  it('formats sizes, durations, shapes and columns', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(14_000_000)).toBe('13.4 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.00 GiB');
    expect(formatMs(0.42131)).toBe('0.421 ms');
    expect(formatMs(12.345)).toBe('12.35 ms');
    expect(formatMs(41_200)).toBe('41.2 s');
    expect(formatShape(['batch', 3, 224, 224])).toBe('[batch, 3, 224, 224]');
    expect(table([['a', 1], ['bcd', 22]], '  ')).toEqual(['  a     1', '  bcd  22']);
  });
});
