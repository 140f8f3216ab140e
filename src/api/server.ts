// The node's HTTP API on loopback: health, Prometheus metrics, and read-only JSON views of the
// node, plus one write (POST /v1/transfers, also at /v1/requests). No framework: a route table
// over node:http. A bad request gets a 4xx with the reason; nothing a client sends stops the node.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { errorMessage, isMetanodeError, MetanodeError, type ErrorCode } from '../util/errors.js';
import type { Metrics } from '../metrics.js';
import type { Counter } from 'prom-client';
import { evaluateHealth } from './health.js';
import { ApiGuard } from './auth.js';
import type { NodeApi } from './types.js';
import { listQuerySchema, parsePeerId, parseWith, roundIdSchema, roundsQuerySchema, submissionSchema, toListQuery, toRoundsQuery } from './validate.js';

export interface ApiServerOptions {
  api: NodeApi;
  /** Served at /metrics; without it /metrics answers 404. */
  metrics?: Metrics;
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Clock skew above which /health reports unhealthy (config clock.maxSkewMs). */
  maxSkewMs?: number;
  bodyLimitBytes?: number;
  /** A NodeApi call slower than this answers 503. */
  handlerTimeoutMs?: number;
  defaultLimit?: number;
  logger?: Logger;
  /** Bearer token for writes, Host check, POST rate (src/api/auth.ts); without a token every POST is refused. */
  auth?: { token?: string; postRatePerSec?: number; postBurst?: number };
}

export interface ApiServer {
  readonly server: Server;
  /** Start listening; resolves with the base URL, e.g. http://127.0.0.1:9180. */
  listen(): Promise<{ url: string; host: string; port: number }>;
  /** Stop accepting, drop open connections, resolve when closed. */
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Ctx {
  req: IncomingMessage;
  query: Record<string, string | string[]>;
  params: string[];
  body(): Promise<unknown>;
}

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  name: string;
  handler(ctx: Ctx): Promise<Reply>;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  TRANSFER_CONFLICT: 409,
  QUOTA_EXCEEDED: 429,
  CHAIN_UNAVAILABLE: 503,
  TIMEOUT: 503,
};

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const api = opts.api;
  const log = opts.logger ?? silentLogger;
  const bodyLimit = opts.bodyLimitBytes ?? 64 * 1024;
  const handlerTimeoutMs = opts.handlerTimeoutMs ?? 10_000;
  const defaultLimit = opts.defaultLimit ?? 50;
  const maxSkewMs = opts.maxSkewMs ?? 5_000;
  const requests: Counter<'route' | 'status'> | undefined = opts.metrics?.counter('http_requests_total', 'HTTP API requests, by route and status', [
    'route',
    'status',
  ]);

  const call = async <T>(what: string, fn: () => T | Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new MetanodeError('TIMEOUT', `${what} did not answer within ${handlerTimeoutMs} ms`)), handlerTimeoutMs);
          timer.unref();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const query = <T>(schema: Parameters<typeof parseWith<T>>[0], ctx: Ctx): T => {
    const r = parseWith(schema, ctx.query, 'query ');
    if (!r.ok) throw new HttpError(400, 'INVALID_INPUT', r.message);
    return r.value;
  };

  const ok = (body: unknown): Reply => ({ status: 200, body });

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/health$/,
      name: 'health',
      handler: async () => {
        let report;
        try {
          report = evaluateHealth(await call('health', () => api.health()), { maxSkewMs });
        } catch (e) {
          return { status: 503, body: { status: 'unhealthy', reasons: [`health check failed: ${errorMessage(e)}`] } };
        }
        return { status: report.httpStatus, body: report };
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      name: 'metrics',
      handler: async () => {
        if (!opts.metrics) throw new HttpError(404, 'NOT_FOUND', 'metrics are not enabled');
        return { status: 200, body: await opts.metrics.text(), contentType: opts.metrics.contentType };
      },
    },
    { method: 'GET', pattern: /^\/v1\/status$/, name: 'status', handler: async () => ok(await call('status', () => api.status())) },
    { method: 'GET', pattern: /^\/v1\/peers$/, name: 'peers', handler: async () => ok(await call('peers', () => api.peers())) },
    { method: 'GET', pattern: /^\/v1\/rewards$/, name: 'rewards', handler: async () => ok(await call('rewards', () => api.rewards())) },
    {
      method: 'GET',
      pattern: /^\/v1\/rounds$/,
      name: 'rounds',
      handler: async (ctx) => {
        const q = toRoundsQuery(query(roundsQuerySchema, ctx), defaultLimit);
        return ok(await call('rounds', () => api.rounds(q)));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/rounds\/([^/]+)$/,
      name: 'round',
      handler: async (ctx) => {
        const r = parseWith(roundIdSchema, decodeURIComponent(ctx.params[0]!), '');
        if (!r.ok) throw new HttpError(400, 'INVALID_INPUT', r.message.replace(/^\(top level\): /, ''));
        const t = await call('round', () => api.round(r.value));
        if (t === null) throw new HttpError(404, 'NOT_FOUND', `no round ${r.value}`);
        return ok(t);
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/transfers$/,
      name: 'transfers',
      handler: async (ctx) => {
        const q = toListQuery(query(listQuerySchema, ctx), defaultLimit);
        return ok(await call('transfers', () => api.transfers(q)));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/deposits$/,
      name: 'deposits',
      handler: async (ctx) => {
        const q = toListQuery(query(listQuerySchema, ctx), defaultLimit);
        return ok(await call('deposits', () => api.deposits(q)));
      },
    },
    { method: 'GET', pattern: /^\/v1\/epochs$/, name: 'epochs', handler: async () => ok(await call('epochs', () => api.epochs())) },
    {
      method: 'POST',
      pattern: /^\/v1\/peers\/([^/]+)\/unblock$/,
      name: 'unblock',
      handler: async (ctx) => {
        let peer: string;
        try {
          peer = parsePeerId(decodeURIComponent(ctx.params[0]!));
        } catch (e) {
          throw new HttpError(400, 'INVALID_INPUT', errorMessage(e));
        }
        return ok(await call('unblockPeer', () => api.unblockPeer(peer)));
      },
    },
    // POST /v1/transfers submits a transfer request; /v1/requests is the same route's older name.
    ...(['transfers', 'requests'] as const).map(
      (name): Route => ({
        method: 'POST',
        pattern: new RegExp(`^/v1/${name}$`),
        name: name === 'transfers' ? 'submit' : 'requests',
        handler: async (ctx) => {
          const r = parseWith(submissionSchema, await ctx.body(), 'body.');
          if (!r.ok) throw new HttpError(400, 'INVALID_INPUT', r.message);
          const rec = await call('submitRequest', () => api.submitRequest(r.value));
          return { status: 201, body: rec };
        },
      }),
    ),
  ];

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as Content-Type: application/json');
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > bodyLimit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `body larger than ${bodyLimit} bytes`, { connection: 'close' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > bodyLimit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `body larger than ${bodyLimit} bytes`, { connection: 'close' });
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') throw new HttpError(400, 'INVALID_INPUT', 'empty body; expected a JSON object');
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new HttpError(400, 'INVALID_INPUT', `body is not valid JSON: ${errorMessage(e)}`);
    }
  }

  const guard = new ApiGuard({ token: opts.auth?.token, postRatePerSec: opts.auth?.postRatePerSec ?? 10, postBurst: opts.auth?.postBurst ?? 100 });

  async function dispatch(req: IncomingMessage): Promise<{ route: string; reply: Reply }> {
    const admitted = guard.check(req);
    if (!admitted.ok) throw Object.assign(new HttpError(admitted.status, admitted.code, admitted.message, admitted.headers), { route: 'guard' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const matching = routes.filter((r) => r.pattern.test(url.pathname));
    if (matching.length === 0) throw Object.assign(new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}`), { route: 'unknown' });
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      const allow = [...new Set(matching.map((r) => r.method))].join(', ');
      throw Object.assign(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed on ${url.pathname}; use ${allow}`, { allow }), {
        route: matching[0]!.name,
      });
    }
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const params = route.pattern.exec(url.pathname)!.slice(1);
    try {
      return { route: route.name, reply: await route.handler({ req, query, params, body: () => readBody(req) }) };
    } catch (e) {
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { route: route.name });
    }
  }

  function errorReply(e: unknown): Reply {
    if (e instanceof HttpError) return { status: e.status, body: { error: { code: e.code, message: e.message } }, headers: e.headers };
    if (isMetanodeError(e)) {
      const status = STATUS_BY_CODE[e.code] ?? 500;
      // MetanodeError messages are written for operators; other errors could carry internals.
      return { status, body: { error: { code: e.code, message: e.reason, ...(e.culprits.length ? { culprits: e.culprits } : {}) } } };
    }
    return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error (see the node log)' } } };
  }

  function send(res: ServerResponse, reply: Reply): void {
    const text = typeof reply.body === 'string' && reply.contentType ? reply.body : toJson(reply.body) + '\n';
    res.writeHead(reply.status, {
      'content-type': reply.contentType ?? 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    dispatch(req)
      .then(({ route, reply }) => {
        send(res, reply);
        requests?.inc({ route, status: String(reply.status) });
      })
      .catch((e: unknown) => {
        const reply = errorReply(e);
        if (reply.status >= 500) log.warn({ err: errorMessage(e), url: req.url, method: req.method }, 'api request failed');
        send(res, reply);
        requests?.inc({ route: (e as { route?: string }).route ?? 'unknown', status: String(reply.status) });
      })
      .catch((e: unknown) => {
        log.error({ err: errorMessage(e) }, 'api reply failed');
        res.destroy();
      });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (e: Error) => reject(new MetanodeError('INVALID_CONFIG', `cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}: ${e.message}`));
        server.once('error', onError);
        server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
          server.off('error', onError);
          const a = server.address() as AddressInfo;
          const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          resolve({ url: `http://${host}:${a.port}`, host: a.address, port: a.port });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
