// The published declarations as a strict TypeScript app sees them: the packed tarball installed into a blank app with
// @types/node 20, compiled by `tsc --strict` without skipLibCheck, once with target es2022's default lib and once with
// target esnext and `using` declarations.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBlankApp, packAllShared, type BlankApp } from '../helpers/blank-app.js';

let app: BlankApp;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

beforeAll(() => {
  const { dir, packed } = packAllShared();
  app = installBlankApp(packed, dir, ['@types/node']);
}, 120_000);

afterAll(() => {
  if (app) rmSync(app.dir, { recursive: true, force: true });
});

// Uses the public surface broadly: every import must type-check, and so must what it returns.
const common = `
import {
  buildEngine, capabilities, createPool, decodeImage, ErrorCode, hasCode, imageInputSpec, loadEngine, preprocess, topK,
  TensorRTError,
  type Capabilities, type Engine, type InferenceContext, type Prediction, type RgbaImage,
} from 'node-tensorrt';

export function describeMachine(): string {
  const c: Capabilities = capabilities();
  return \`\${c.addon.loaded} \${c.addon.source ?? ''} \${c.tacticSources.cudnn.compiled} \${c.cuda.devices.length}\`;
}

export async function classify(file: string, plan: string): Promise<Prediction[]> {
  const engine: Engine = await loadEngine(plan);
  const ctx: InferenceContext = await engine.createContext({ maxBatch: 1 });
  const image: RgbaImage = await decodeImage(file);
  const input = await preprocess(image, { ...imageInputSpec(engine.inputs[0]), preset: 'imagenet' });
  const out = await ctx.infer({ [engine.inputs[0].name]: input });
  ctx.dispose();
  engine.dispose();
  return topK(out[engine.outputs[0].name] as Float32Array, 5, { softmax: true });
}

export async function pooled(onnx: string): Promise<void> {
  const engine = await buildEngine(onnx, { backend: 'reference' });
  const pool = await createPool(engine);
  pool.dispose();
  engine.dispose();
}

export function isMissingGpu(e: unknown): boolean {
  return (e instanceof TensorRTError && e.code === ErrorCode.NO_CUDA_DEVICE) || hasCode(e, 'ERR_ADDON_LOAD');
}
`;

const usingCode = `
import { loadEngine } from 'node-tensorrt';

export async function once(plan: string): Promise<number> {
  using engine = await loadEngine(plan);
  using ctx = await engine.createContext();
  await ctx.run({ batch: 1 });
  return engine.inputs.length;
}
`;

function project(name: string, target: string, files: Record<string, string>): string {
  const dir = path.join(app.dir, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  const compilerOptions = {
    strict: true,
    target,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    skipLibCheck: false,
    noEmit: true,
  };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2));
  return dir;
}

/** tsc's diagnostics for the project ('' when it compiles). */
async function typecheck(dir: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: app.dir, encoding: 'utf8' });
    return '';
  } catch (e) {
    return String((e as { stdout?: string }).stdout || e);
  }
}

// The check is live: each project also holds misuses that must fail to compile. An unused @ts-expect-error is itself
// an error, so declarations that had decayed to `any` would fail the run.
const misuse = `
import { capabilities, loadEngine } from 'node-tensorrt';
// @ts-expect-error loaded is a boolean
export const n: number = capabilities().addon.loaded;
export async function f(): Promise<void> {
  // @ts-expect-error the plan is a path or bytes
  await loadEngine(42);
}
`;

describe.concurrent('published declarations under a strict consumer (no skipLibCheck)', () => {
  it('compile with target es2022 and its default lib', async () => {
    expect(await typecheck(project('es2022', 'es2022', { 'index.ts': common, 'misuse.ts': misuse }))).toBe('');
  }, 120_000);

  it('compile with target esnext, using `using`', async () => {
    const files = { 'index.ts': common, 'dispose.ts': usingCode, 'misuse.ts': misuse };
    expect(await typecheck(project('esnext', 'esnext', files))).toBe('');
  }, 120_000);
});

describe('the public declaration graph', () => {
  it('imports no third-party declarations (only node: built-ins), from index.d.ts down', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const specs = [...text.matchAll(/(?:from\s+|import\(\s*|<reference\s+types=)['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of specs) {
        if (!spec.startsWith('.')) {
          if (!spec.startsWith('node:')) bare.add(spec);
          continue;
        }
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.d.ts'));
        visit(existsSync(target) ? target : path.join(target.replace(/\.d\.ts$/, ''), 'index.d.ts'));
      }
    };
    visit(path.join(app.dir, 'node_modules', 'node-tensorrt', 'dist', 'lib', 'index.d.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...bare]).toEqual([]);
  });
});
