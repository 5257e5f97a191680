// Build progress on stderr: a cli-progress bar on a terminal, one line per phase (and per quarter of the
// tactic timing) otherwise, so logs stay readable.
import cliProgress from 'cli-progress';
import type { BuildProgress } from '../types.js';
import { println, type TextSink } from './io.js';

export interface ProgressReporter {
  /** Pass as BuildOptions.onProgress. */
  onProgress(p: BuildProgress): void;
  /** Ends the bar (idempotent). */
  stop(): void;
}

/**
 * A reporter that draws on `sink` (normally process.stderr); `quiet` reports nothing.
 * @example
 * const progress = buildProgressReporter(process.stderr);
 * try { await buildEngine('m.onnx', { onProgress: progress.onProgress }); } finally { progress.stop(); }
 */
export function buildProgressReporter(sink: TextSink, options: { quiet?: boolean } = {}): ProgressReporter {
  if (options.quiet) return { onProgress: () => undefined, stop: () => undefined };
  return sink.isTTY ? barReporter(sink) : lineReporter(sink);
}

function barReporter(sink: TextSink): ProgressReporter {
  const bar = new cliProgress.SingleBar(
    {
      stream: sink as NodeJS.WritableStream,
      format: '{phase} [{bar}] {value}/{total} {layer}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      // Every event is drawn: a build has a few hundred of them at most.
      fps: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let total = -1;
  return {
    onProgress(p) {
      const payload = { phase: p.phase.padEnd(9), layer: p.layer ?? '' };
      const t = Math.max(p.total, 1);
      if (!started) {
        bar.start(t, p.done, payload);
        started = true;
      } else {
        if (t !== total) bar.setTotal(t);
        bar.update(p.done, payload);
      }
      total = t;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

function lineReporter(sink: TextSink): ProgressReporter {
  let phase = '';
  let quarter = -1;
  return {
    onProgress(p) {
      if (p.phase !== phase) {
        phase = p.phase;
        quarter = -1;
        println(sink, `build: ${p.phase}${p.total > 1 ? ` (${p.total})` : ''}`);
      }
      if (p.total > 1) {
        const q = Math.floor((4 * p.done) / p.total);
        if (q > quarter && p.done > 0) {
          quarter = q;
          println(sink, `build: ${p.phase} ${p.done}/${p.total}`);
        }
      }
    },
    stop: () => undefined,
  };
}
