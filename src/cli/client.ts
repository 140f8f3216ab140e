// The CLI's HTTP client for the node API: JSON in and out, a timeout on every call, and errors
// that tell the operator what to do (node not running, wrong --api, node refused the request).
import { MetanodeError } from '../util/errors.js';

export interface ApiClientOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Bearer token sent with every call (writes need it): the node's <dataDir>/api.token. */
  token?: string;
}

export interface ApiClient {
  readonly baseUrl: string;
  get<T = unknown>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
}

/** The API's JSON error body: { error: { code, message } }. */
interface ErrorBody {
  error?: { code?: string; message?: string };
}

export function createApiClient(baseUrl: string, opts: ApiClientOptions = {}): ApiClient {
  let base: URL;
  try {
    base = new URL(baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new MetanodeError('INVALID_INPUT', `--api must be an http(s) URL like http://127.0.0.1:9180, got ${JSON.stringify(baseUrl)}`);
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const doFetch = opts.fetch ?? fetch;
  const root = base.href.replace(/\/+$/, '');

  async function call<T>(method: 'GET' | 'POST', path: string, query?: Record<string, string | number | undefined>, body?: unknown): Promise<T> {
    const url = new URL(root + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw unreachable(root, e, timeoutMs);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new MetanodeError('NODE_UNREACHABLE', `${url.origin} answered ${method} ${path} with status ${res.status} and a non-JSON body; is --api pointing at a metanode?`);
    }
    if (!res.ok) {
      const err = (json as ErrorBody | undefined)?.error;
      const hint = res.status === 401 ? ' (the CLI reads the token from the data directory: pass --data-dir or --config of the node)' : '';
    throw new MetanodeError(res.status === 400 ? 'INVALID_INPUT' : 'NODE_ERROR', `node refused ${method} ${path} (${res.status}${err?.code ? ` ${err.code}` : ''}): ${err?.message ?? (text || res.statusText)}${hint}`, [], {
        status: res.status,
        apiCode: err?.code,
      });
    }
    return json as T;
  }

  return {
    baseUrl: root,
    get: (path, query) => call('GET', path, query),
    post: (path, body) => call('POST', path, undefined, body),
  };
}

function unreachable(root: string, e: unknown, timeoutMs: number): MetanodeError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const name = (e as { name?: string }).name;
  let why: string;
  if (name === 'TimeoutError' || name === 'AbortError') why = `no answer within ${timeoutMs} ms`;
  else if (cause?.code === 'ECONNREFUSED') why = 'connection refused';
  else if (cause?.code) why = cause.code;
  else if (cause?.message) why = cause.message;
  else why = (e as Error).message ?? String(e);
  return new MetanodeError('NODE_UNREACHABLE', `cannot reach the node API at ${root} (${why}). Is the node running (\`metanode start\`)? Otherwise pass --api http://127.0.0.1:<port> or set http.port in the config.`);
}
