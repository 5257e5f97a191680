// The HTTP front end: fastify speaking the KServe v2 protocol (Triton's flavour, binary-data extension included)
// in front of one dynamic batcher. HTTP body → checked tensors → batcher queue → one batch run → rows back.
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { InferenceContext } from '../context.js';
import type { Engine } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Pool } from '../pool.js';
import { describe, knownKeys, nonEmptyString, nonNegativeInteger, plainObject, positiveInteger } from '../validate.js';
import { libraryVersion } from '../version.js';
import { createBatcher, type Batcher, type BatcherOptions } from './batcher.js';
import { DecodePool } from './decode-pool.js';
import { encodeInferResponse, modelConfig, modelMetadata, type ModelSpec } from './kserve.js';
import { PROMETHEUS_CONTENT_TYPE, ServeMetrics } from './metrics.js';

export interface ServerOptions extends Pick<BatcherOptions, 'maxBatch' | 'maxDelayMs' | 'maxQueue' | 'timeoutMs' | 'contexts'> {
  /** The model's name in URLs (default 'model'). */
  name?: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 8000; 0 picks a free one). */
  port?: number;
  /** Largest request body in bytes (default 64 MiB); larger ones get 413 before they are read. */
  bodyLimit?: number;
  /**
   * Threads that parse large JSON bodies off the event loop (default: the cores less one, at most 8; 0 parses
   * them on the loop). Binary-data requests are read on the loop either way.
   */
  decodeThreads?: number;
}

/** A running server. */
export interface InferenceServer {
  /** e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly port: number;
  readonly batcher: Batcher;
  readonly metrics: ServeMetrics;
  readonly spec: ModelSpec;
  /** True once close() has begun: not ready, new inference requests get 503. */
  readonly closing: boolean;
  /** Stops taking requests, finishes the queued ones, then closes the listener and the batcher. Idempotent. */
  close(): Promise<void>;
}

/** HTTP status and metrics reason of an error from decoding or inference. */
function classify(e: unknown): { status: number; reason: string; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof TensorRTError) {
    switch (e.code) {
      case ErrorCode.INVALID_INPUT:
      case ErrorCode.INVALID_ARGUMENT:
      case ErrorCode.BATCH_OUT_OF_RANGE:
      case ErrorCode.SHAPE_MISMATCH:
        return { status: 400, reason: 'bad_request', message };
      case ErrorCode.QUEUE_FULL:
        return { status: 503, reason: 'queue_full', message };
      case ErrorCode.TIMEOUT:
        return { status: 503, reason: 'timeout', message };
      case ErrorCode.DISPOSED:
        return { status: 503, reason: 'shutting_down', message: 'The server is shutting down' };
      case ErrorCode.ABORTED:
        return { status: 499, reason: 'cancelled', message: 'The client closed the connection' };
    }
  }
  const status = (e as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, reason: status === 413 ? 'too_large' : 'bad_request', message };
  return { status: 500, reason: 'internal', message };
}

/**
 * Serves an engine, a pool or contexts over HTTP through a dynamic batcher (KServe v2, as Triton does).
 * @example
 * const server = await startServer(engine, { name: 'mobilenet', port: 8000, maxBatch: 32, maxDelayMs: 2 });
 * process.once('SIGTERM', () => server.close());
 */
export async function startServer(source: Engine | Pool | InferenceContext | readonly InferenceContext[], options: ServerOptions = {}): Promise<InferenceServer> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'startServer options', ['name', 'host', 'port', 'bodyLimit', 'maxBatch', 'maxDelayMs', 'maxQueue', 'timeoutMs', 'contexts', 'decodeThreads']);
  const name = nonEmptyString(o.name ?? 'model', 'name');
  if (/[/?#\s]/.test(name)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a model name without '/', '?', '#' or spaces for name but received ${describe(name)}`);
  const host = nonEmptyString(o.host ?? '127.0.0.1', 'host');
  const port = nonNegativeInteger(o.port ?? 8000, 'port');
  const bodyLimit = positiveInteger(o.bodyLimit ?? 64 * 1024 * 1024, 'bodyLimit');
  const metrics = new ServeMetrics(name);
  const batcher = await createBatcher(source, {
    maxBatch: o.maxBatch as number | undefined,
    maxDelayMs: o.maxDelayMs as number | undefined,
    maxQueue: o.maxQueue as number | undefined,
    timeoutMs: o.timeoutMs as number | undefined,
    contexts: o.contexts as number | undefined,
    onBatch: metrics.onBatch,
  });
  const engine = batcher.contexts[0].engine;
  const spec: ModelSpec = { name, version: '1', platform: `node-tensorrt_${engine.backend}`, inputs: batcher.inputs, outputs: batcher.outputs, maxBatch: batcher.maxBatch };

  const decoder = new DecodePool(spec, { threads: o.decodeThreads === undefined ? undefined : nonNegativeInteger(o.decodeThreads, 'decodeThreads') });
  let closing = false;
  let closed: Promise<void> | undefined;
  // While closing, requests still reach the routes, which answer 503 in the protocol's error format.
  const app = Fastify({ bodyLimit, logger: false, forceCloseConnections: 'idle', return503OnClosing: false });
  app.removeAllContentTypeParsers();
  // Every body is read as bytes: JSON, or a JSON header followed by binary tensors.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req: FastifyRequest, body: Buffer, done: (e: Error | null, b?: Buffer) => void) => done(null, body));
  app.setErrorHandler((err, request, reply) => {
    const c = classify(err);
    const message = c.status === 413 ? `The request body is larger than the limit of ${bodyLimit} bytes` : c.message;
    if (request.url.endsWith('/infer')) metrics.failure(c.reason, reply.elapsedTime / 1000);
    void reply.code(c.status).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `Not found: ${request.method} ${request.url}` });
  });

  /** The model a URL names, or a 404 reply. */
  const known = (params: { model: string; version?: string }, reply: FastifyReply): boolean => {
    if (params.model !== name) {
      void reply.code(404).send({ error: `Unknown model '${params.model}'; this server serves '${name}'` });
      return false;
    }
    if (params.version !== undefined && params.version !== spec.version) {
      void reply.code(404).send({ error: `Unknown version '${params.version}' of model '${name}'; it has version '${spec.version}'` });
      return false;
    }
    return true;
  };
  const empty = (reply: FastifyReply, ok: boolean) => reply.code(ok ? 200 : 400).send();
  type ModelParams = { Params: { model: string; version?: string } };

  app.get('/v2/health/live', async (_req, reply) => empty(reply, true));
  app.get('/v2/health/ready', async (_req, reply) => empty(reply, !closing));
  app.get('/v2', async () => ({ name: 'node-tensorrt', version: libraryVersion(), extensions: ['binary_tensor_data'] }));
  app.get('/metrics', async (_req, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(metrics.render(batcher.stats().queued)));
  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get<ModelParams>(`${base}/ready`, async (req, reply) => (known(req.params, reply) ? empty(reply, !closing) : reply));
    app.get<ModelParams>(base, async (req, reply) => (known(req.params, reply) ? modelMetadata(spec) : reply));
    app.get<ModelParams>(`${base}/config`, async (req, reply) => (known(req.params, reply) ? modelConfig(spec, batcher.maxDelayMs) : reply));
    app.post<ModelParams>(`${base}/infer`, {
      // Counted and refused before the body is read.
      onRequest: async (req, reply) => {
        metrics.request();
        if (closing) {
          metrics.failure('shutting_down', 0);
          return reply.code(503).header('connection', 'close').send({ error: 'The server is shutting down' });
        }
        if (req.params.model !== name || (req.params.version !== undefined && req.params.version !== spec.version)) {
          metrics.failure('unknown_model', 0);
          known(req.params, reply);
          return reply;
        }
      },
      handler: async (req, reply) => infer(req, reply),
    });
  }

  async function infer(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const ac = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort();
    });
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const h = req.headers['inference-header-content-length'];
      let headerLength: number | undefined;
      if (h !== undefined) {
        headerLength = typeof h === 'string' && /^\d+$/.test(h) ? Number(h) : NaN;
        if (Number.isNaN(headerLength)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Inference-Header-Content-Length must be a byte count but is ${describe(h)}`);
      }
      const request = await decoder.decode(body, headerLength);
      const outputs = await batcher.infer(request.feeds, { signal: ac.signal, priority: request.priority, timeoutMs: request.timeoutMs });
      const { header, binary } = encodeInferResponse(spec, request, outputs);
      metrics.success(reply.elapsedTime / 1000);
      if (binary.length === 0) return reply.type('application/json').send(header);
      return reply.type('application/octet-stream').header('inference-header-content-length', header.length).send(Buffer.concat([header, ...binary]));
    } catch (e) {
      const c = classify(e);
      metrics.failure(c.reason, reply.elapsedTime / 1000);
      return reply.code(c.status).send({ error: c.message });
    }
  }

  try {
    await app.listen({ host, port });
  } catch (e) {
    await batcher.dispose();
    await decoder.close();
    throw new TensorRTError(ErrorCode.IO, `Could not listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;

  return {
    url,
    port: boundPort,
    batcher,
    metrics,
    spec,
    get closing() {
      return closing;
    },
    close(): Promise<void> {
      closing = true;
      closed ??= (async () => {
        await batcher.drain();
        await app.close();
        await batcher.dispose();
        await decoder.close();
      })();
      return closed;
    },
  };
}
