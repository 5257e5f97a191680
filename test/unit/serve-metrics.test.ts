import { describe, expect, it } from 'vitest';
import { Histogram, ServeMetrics } from '../../lib/serve/metrics.js';

describe('Prometheus exposition', () => {
  it('writes cumulative histogram buckets with +Inf, _sum and _count', () => {
    const h = new Histogram([1, 5, 2]);
    for (const v of [0.5, 1, 1.5, 3, 9, 9]) h.observe(v);
    expect(h.lines('x', { m: 'a' })).toEqual([
      'x_bucket{m="a",le="1"} 2',
      'x_bucket{m="a",le="2"} 3',
      'x_bucket{m="a",le="5"} 4',
      'x_bucket{m="a",le="+Inf"} 6',
      'x_sum{m="a"} 24',
      'x_count{m="a"} 6',
    ]);
  });

  it('renders every family once with HELP and TYPE, escaped labels and sorted failure reasons', () => {
    const m = new ServeMetrics('a"b\\c');
    m.request();
    m.request();
    m.request();
    m.success(0.002);
    m.failure('timeout', 0.5);
    m.failure('bad_request', 0.001);
    m.onBatch({ rows: 3, requests: 2, context: 0, runMs: 4, queueMs: [1, 2] });
    const text = m.render(7);
    const lines = text.trimEnd().split('\n');
    expect(text.endsWith('\n')).toBe(true);
    const families = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ').slice(2).join(' '));
    expect(families).toEqual([
      'node_tensorrt_inference_requests_total counter',
      'node_tensorrt_inference_success_total counter',
      'node_tensorrt_inference_failures_total counter',
      'node_tensorrt_queue_depth gauge',
      'node_tensorrt_batch_size histogram',
      'node_tensorrt_request_duration_seconds histogram',
      'node_tensorrt_queue_duration_seconds histogram',
      'node_tensorrt_compute_duration_seconds histogram',
    ]);
    expect(lines.filter((l) => l.startsWith('# HELP ')).length).toBe(families.length);
    // Every sample line: name{labels} value
    for (const l of lines.filter((x) => !x.startsWith('#'))) expect(l).toMatch(/^[a-z_]+\{model="a\\"b\\\\c"(,[a-z]+="[^"]*")?\} [-+0-9.eInf]+$/);
    expect(lines).toContain('node_tensorrt_inference_requests_total{model="a\\"b\\\\c"} 3');
    const failures = lines.filter((l) => l.startsWith('node_tensorrt_inference_failures_total{'));
    expect(failures).toEqual(['node_tensorrt_inference_failures_total{model="a\\"b\\\\c",reason="bad_request"} 1', 'node_tensorrt_inference_failures_total{model="a\\"b\\\\c",reason="timeout"} 1']);
    expect(lines).toContain('node_tensorrt_queue_depth{model="a\\"b\\\\c"} 7');
    expect(lines).toContain('node_tensorrt_batch_size_sum{model="a\\"b\\\\c"} 3');
    expect(lines).toContain('node_tensorrt_queue_duration_seconds_count{model="a\\"b\\\\c"} 2');
    expect(lines).toContain('node_tensorrt_request_duration_seconds_count{model="a\\"b\\\\c"} 3');
  });
});
