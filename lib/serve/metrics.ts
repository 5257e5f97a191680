// Prometheus text exposition (format 0.0.4) of the server's counters and histograms. Written here because the
// few metric kinds needed (counters, one gauge, fixed-bucket histograms) do not justify a dependency.
import type { BatchInfo } from './batcher.js';

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};
const num = (v: number) => (v === Infinity ? '+Inf' : Number.isInteger(v) ? String(v) : String(+v.toPrecision(12)));

/** A fixed-bucket histogram with Prometheus semantics (cumulative `le` buckets, _sum and _count). */
export class Histogram {
  readonly #bounds: number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = [...bounds].sort((a, b) => a - b);
    this.#counts = new Array(this.#bounds.length).fill(0);
  }

  /** Records one sample. @example h.observe(0.004) */
  observe(v: number): void {
    this.#sum += v;
    this.#count++;
    for (let i = 0; i < this.#bounds.length; i++) {
      if (v <= this.#bounds[i]) {
        this.#counts[i]++;
        break;
      }
    }
  }

  get count(): number {
    return this.#count;
  }

  /** The exposition lines of this histogram. @example h.lines('latency_seconds', { model: 'm' }) */
  lines(name: string, labels: Labels): string[] {
    const out: string[] = [];
    let cumulative = 0;
    this.#bounds.forEach((b, i) => {
      cumulative += this.#counts[i];
      out.push(`${name}_bucket${labelText({ ...labels, le: num(b) })} ${cumulative}`);
    });
    out.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${this.#count}`);
    out.push(`${name}_sum${labelText(labels)} ${num(this.#sum)}`);
    out.push(`${name}_count${labelText(labels)} ${this.#count}`);
    return out;
  }
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * The serving metrics of one model: requests, successes and failures by reason, batch sizes, and request, queue
 * and batch-run latencies.
 * @example const m = new ServeMetrics('mnist'); m.request(); m.success(0.003); res.send(m.render(queueDepth));
 */
export class ServeMetrics {
  readonly model: string;
  #requests = 0;
  #success = 0;
  readonly #failures = new Map<string, number>();
  readonly #latency = new Histogram(LATENCY_BUCKETS);
  readonly #queue = new Histogram(LATENCY_BUCKETS);
  readonly #compute = new Histogram(LATENCY_BUCKETS);
  readonly #batch = new Histogram(BATCH_BUCKETS);

  constructor(model: string) {
    this.model = model;
  }

  /** Counts one inference request as it arrives. @example metrics.request() */
  request(): void {
    this.#requests++;
  }

  /** Counts a request answered with outputs, and its latency in seconds. @example metrics.success(reply.elapsedTime / 1000) */
  success(seconds: number): void {
    this.#success++;
    this.#latency.observe(seconds);
  }

  /** Counts a failed request by reason (e.g. 'bad_request', 'queue_full'), and its latency in seconds. @example metrics.failure('timeout', 0.05) */
  failure(reason: string, seconds: number): void {
    this.#failures.set(reason, (this.#failures.get(reason) ?? 0) + 1);
    this.#latency.observe(seconds);
  }

  /** The batcher's onBatch hook. @example createBatcher(engine, { onBatch: metrics.onBatch }) */
  readonly onBatch = (b: BatchInfo): void => {
    this.#batch.observe(b.rows);
    this.#compute.observe(b.runMs / 1000);
    for (const q of b.queueMs) this.#queue.observe(q / 1000);
  };

  /** Failures so far, by reason. */
  get failures(): Record<string, number> {
    return Object.fromEntries(this.#failures);
  }

  /** The Prometheus text of every metric. @example reply.type(PROMETHEUS_CONTENT_TYPE).send(metrics.render(0)) */
  render(queueDepth: number): string {
    const m = { model: this.model };
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, body: string[]) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...body);
    metric('node_tensorrt_inference_requests_total', 'counter', 'Inference requests received.', [`node_tensorrt_inference_requests_total${labelText(m)} ${this.#requests}`]);
    metric('node_tensorrt_inference_success_total', 'counter', 'Inference requests answered with outputs.', [`node_tensorrt_inference_success_total${labelText(m)} ${this.#success}`]);
    const failures = [...this.#failures.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    metric(
      'node_tensorrt_inference_failures_total',
      'counter',
      'Inference requests that failed, by reason.',
      failures.map(([reason, n]) => `node_tensorrt_inference_failures_total${labelText({ ...m, reason })} ${n}`),
    );
    metric('node_tensorrt_queue_depth', 'gauge', 'Requests waiting in the batcher queue.', [`node_tensorrt_queue_depth${labelText(m)} ${queueDepth}`]);
    metric('node_tensorrt_batch_size', 'histogram', 'Rows per batch run.', this.#batch.lines('node_tensorrt_batch_size', m));
    metric('node_tensorrt_request_duration_seconds', 'histogram', 'Time from a request arriving to its answer.', this.#latency.lines('node_tensorrt_request_duration_seconds', m));
    metric('node_tensorrt_queue_duration_seconds', 'histogram', 'Time a request waited in the batcher queue.', this.#queue.lines('node_tensorrt_queue_duration_seconds', m));
    metric('node_tensorrt_compute_duration_seconds', 'histogram', 'Wall time of one batch run (copies in, compute, copies out).', this.#compute.lines('node_tensorrt_compute_duration_seconds', m));
    return lines.join('\n') + '\n';
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
