// Serving entry points for the public API. The HTTP server is loaded on first use, so that importing the
// library does not pay for fastify.
import type { InferenceContext } from '../context.js';
import type { Engine } from '../engine.js';
import type { Pool } from '../pool.js';
import type { InferenceServer, ServerOptions } from './http.js';

export { createBatcher, Batcher, type BatcherOptions, type BatcherStats, type BatchInfo, type InferOptions, type TimingSummary } from './batcher.js';
export type { InferenceServer, ServerOptions } from './http.js';

/**
 * Serves an engine, a pool or contexts over HTTP with the KServe v2 protocol, through a dynamic batcher.
 * @example
 * const server = await startServer(engine, { name: 'mobilenet', port: 8000, maxBatch: 32 });
 * process.once('SIGTERM', () => server.close());
 */
export async function startServer(source: Engine | Pool | InferenceContext | readonly InferenceContext[], options: ServerOptions = {}): Promise<InferenceServer> {
  const http = await import('./http.js');
  return http.startServer(source, options);
}
