// `node-tensorrt embed model --tokenizer tokenizer.json text…`: tokenize, run a text encoder, mean-pool,
// print the vectors and the cosine similarity between the texts.
import { Command } from 'commander';
import { ErrorCode, TensorRTError } from '../../errors.js';
import { isPlan } from '../../plan.js';
import type { BuildOptions, ShapeProfile } from '../../types.js';
import { readInputFile } from '../../util/fs.js';
import { parseIntegerArg } from '../args.js';
import { addBuildFlags, resolveBuildFlags, type RawBuildFlags } from '../build-flags.js';
import { addCacheFlags, openEngine } from '../cache.js';
import { formatMs, table } from '../format.js';
import { println, type CliIO } from '../io.js';

interface EmbedFlags extends RawBuildFlags {
  tokenizer: string;
  maxLength?: string;
  show?: string;
  cacheDir?: string;
  cache?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Shapes for a text encoder whose inputs are [batch, sequence]: batch 1..32 (opt 8), sequence 1..maxLength
 * (opt maxLength); independent of the texts, so one cached engine serves every call. Undefined when the model
 * fixes both.
 * @example
 * textShapes([{ name: 'input_ids', shape: ['batch', 'sequence'] }], 128); // { input_ids: { min: [1, 1], opt: [8, 128], max: [32, 128] } }
 */
export function textShapes(inputs: readonly { name: string; shape: (number | string)[] }[], maxLength: number): Record<string, ShapeProfile> | undefined {
  if (!inputs.some((i) => i.shape.some((d) => typeof d === 'string'))) return undefined;
  const out: Record<string, ShapeProfile> = {};
  for (const i of inputs) {
    const pick = (k: number, batch: number, seq: number) => i.shape.map((d, a) => (typeof d === 'number' ? d : a === 0 ? batch : a === 1 ? seq : k));
    if (i.shape.slice(2).some((d) => typeof d !== 'number')) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Input '${i.name}' [${i.shape.join(', ')}] has dynamic dims besides batch and sequence; pass --shapes`);
    }
    out[i.name] = { min: pick(1, 1, 1), opt: pick(1, 8, maxLength), max: pick(1, 32, maxLength) };
  }
  return out;
}

/**
 * The `embed` command.
 * @example program.addCommand(embedCommand(processIO()));
 */
export function embedCommand(io: CliIO): Command {
  const cmd = new Command('embed')
    .description('embed texts with a text-encoder model (mean-pooled, L2-normalised last hidden state) and compare them')
    .argument('<model>', 'ONNX model or plan file')
    .argument('<texts...>', 'texts to embed')
    .requiredOption('--tokenizer <file>', "the model's tokenizer.json")
    .option('--max-length <n>', 'longest token sequence; longer texts are truncated (default: 128, or what the engine allows)')
    .option('--show <n>', 'vector values to print per text', '8')
    .option('--json', 'print JSON (full vectors and the similarity matrix)');
  addBuildFlags(cmd);
  addCacheFlags(cmd);
  return cmd.action(async (model: string, texts: string[], flags: EmbedFlags) => {
    const maxLength = flags.maxLength === undefined ? undefined : parseIntegerArg(flags.maxLength, '--max-length');
    const show = parseIntegerArg(flags.show ?? '8', '--show', 0);
    const buildOptions: BuildOptions = resolveBuildFlags(flags);
    const modelBytes = await readInputFile(model, 'model');
    // Loaded here so that other commands and --help do not pay for them.
    const { loadTokenizer, embedTexts, cosineMatrix } = await import('../../text/index.js');
    const tok = await loadTokenizer(flags.tokenizer);
    const t0 = performance.now();
    if (!buildOptions.shapes && !isPlan(modelBytes)) {
      const { parseModel } = await import('../../onnx/reader.js');
      const shapes = textShapes(parseModel(modelBytes).inputs.map((i) => ({ name: i.name, shape: i.type.shape })), maxLength ?? 128);
      if (shapes) buildOptions.shapes = shapes;
    }
    const { engine, source } = await openEngine(model, modelBytes, buildOptions, { ...flags, quiet: flags.quiet || flags.json }, io);
    const engineMs = performance.now() - t0;
    try {
      const ctx = await engine.createContext();
      const t1 = performance.now();
      const { vectors, lengths, truncated } = await embedTexts(ctx, tok, texts, { maxLength });
      const embedMs = performance.now() - t1;
      const sim = cosineMatrix(vectors);
      if (flags.json) {
        const items = texts.map((text, i) => ({ text, tokens: lengths[i], truncated: truncated[i], vector: Array.from(vectors[i]) }));
        println(io.out, JSON.stringify({ model, engine: { backend: engine.backend, precision: engine.precision, device: engine.device, source, ms: engineMs }, embeddings: items, similarity: sim, ms: embedMs }, null, 2));
        return;
      }
      println(io.out, `engine: ${engine.backend} ${engine.precision.toUpperCase()}${engine.device >= 0 ? ` on GPU ${engine.device}` : ' on CPU'}, ${source} (${formatMs(engineMs)})`);
      texts.forEach((text, i) => {
        const v = Array.from(vectors[i].subarray(0, show), (x) => x.toFixed(4));
        const more = vectors[i].length > show ? `, … (${vectors[i].length} values)` : '';
        println(io.out, `[${i + 1}] ${JSON.stringify(text)} (${lengths[i]} tokens${truncated[i] ? ', truncated' : ''})`);
        println(io.out, `    [${v.join(', ')}${more}]`);
      });
      println(io.out, 'cosine similarity:');
      const header = ['', ...texts.map((_, j) => `[${j + 1}]`)];
      const rows = sim.map((r, i) => [`[${i + 1}]`, ...r.map((x) => x.toFixed(4))]);
      for (const l of table([header, ...rows], '  ')) println(io.out, l);
      println(io.out, `${texts.length} text${texts.length === 1 ? '' : 's'} in ${formatMs(embedMs)}`);
    } finally {
      engine.dispose({ contexts: true });
    }
  });
}
