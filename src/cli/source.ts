// Where the CLI's read commands get their data: the running node's HTTP API, or the node's data
// directory read directly (a stopped node). Both are an ApiClient: the data-directory client
// answers the same GET paths with the same JSON (bigint as decimal strings), so every command
// handler and printer works unchanged on either.
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { dbPathOf, openDataDir, type DataDirApi } from '../node/datadir.js';
import { listQuerySchema, parseWith, roundIdSchema, roundsQuerySchema, toListQuery, toRoundsQuery } from '../api/validate.js';
import { MetanodeError, isMetanodeError } from '../util/errors.js';
import type { ApiClient } from './client.js';

type Query = Record<string, string | number | undefined>;

function jsonCopy<T>(v: unknown): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) as T;
}

function stringQuery(q: Query | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(q ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
}

/** Answers GET paths from a DataDirApi, exactly as the HTTP API would (validation included). */
export function routeRead(api: DataDirApi, path: string, query?: Query): unknown {
  const q = stringQuery(query);
  const parsed = <T>(schema: Parameters<typeof parseWith<T>>[0]): T => {
    const r = parseWith(schema, q, 'query ');
    if (!r.ok) throw new MetanodeError('INVALID_INPUT', r.message);
    return r.value;
  };
  if (path === '/v1/status') return api.status();
  if (path === '/v1/peers') return api.peers();
  if (path === '/v1/rounds') return api.rounds(toRoundsQuery(parsed(roundsQuerySchema), 50));
  const m = /^\/v1\/rounds\/([^/]+)$/.exec(path);
  if (m) {
    const id = parseWith(roundIdSchema, decodeURIComponent(m[1]!), '');
    if (!id.ok) throw new MetanodeError('INVALID_INPUT', 'round id must be a whole number');
    const t = api.round(id.value);
    if (t === null) throw new MetanodeError('NODE_ERROR', `no round ${id.value} in this node's data`, [], { status: 404, apiCode: 'NOT_FOUND' });
    return t;
  }
  if (path === '/v1/transfers') return api.transfers(toListQuery(parsed(listQuerySchema), 50));
  if (path === '/v1/deposits') return api.deposits(toListQuery(parsed(listQuerySchema), 50));
  if (path === '/v1/epochs') return api.epochs();
  throw new MetanodeError('NODE_ERROR', `${path} is not readable from a data directory`);
}

/** An ApiClient over the data directory of a (stopped) node; opens the database on first use. */
export function dataDirClient(config: Config, opts: { now?: () => number } = {}): ApiClient & { close(): void } {
  let reader: ReturnType<typeof openDataDir> | undefined;
  const open = () => (reader ??= openDataDir(config, { now: opts.now }));
  return {
    baseUrl: `file://${dbPathOf(config)}`,
    get: async <T>(path: string, query?: Query) => jsonCopy<T>(await routeRead(open(), path, query)),
    post: async () => {
      throw new MetanodeError('NODE_UNREACHABLE', `this needs the running node; ${config.dataDir} belongs to a stopped node (start it with \`metanode start\`)`);
    },
    close: () => reader?.close(),
  };
}

/**
 * The node API, falling back to the data directory when the API cannot be reached and the data
 * directory holds a node database. `onFallback` is told once, so the CLI can say so on stderr.
 * With `ownPeerId` (the data directory's identity), the answering node must be that one: another
 * node on the configured port (another devnet, another operator's node) is never read as ours.
 */
export function fallbackClient(api: ApiClient, config: Config, onFallback: (why: string) => void, ownPeerId?: string | null): ApiClient & { close(): void } {
  let local: (ApiClient & { close(): void }) | undefined;
  let checked = !ownPeerId;
  const toDataDir = (why: string, err: string): ApiClient & { close(): void } => {
    if (!existsSync(dbPathOf(config))) throw new MetanodeError('NODE_UNREACHABLE', `${err} Nor is there a node database in ${config.dataDir} to read (has the node run there?).`);
    onFallback(`${why}; reading the data directory ${config.dataDir}`);
    return dataDirClient(config);
  };
  const use = async <T>(call: (c: ApiClient) => Promise<T>): Promise<T> => {
    if (local) return call(local);
    try {
      if (!checked) {
        const answering = (await api.get<{ peerId?: string }>('/v1/status')).peerId;
        if (answering !== ownPeerId) {
          const why = `the node answering at ${api.baseUrl} is ${answering ?? 'unidentified'}, not this data directory's node ${ownPeerId}`;
          local = toDataDir(why, `${why}: its answers would not be this node's.`);
          return call(local);
        }
        checked = true;
      }
      return await call(api);
    } catch (e) {
      if (!isMetanodeError(e, 'NODE_UNREACHABLE') || local) throw e;
      local = toDataDir(`node API at ${api.baseUrl} not reachable`, e.message.replace(/^NODE_UNREACHABLE: /, ''));
      return call(local);
    }
  };
  return {
    baseUrl: api.baseUrl,
    get: (path, query) => use((c) => c.get(path, query)),
    // Writes never fall back: a stopped node cannot accept a transfer request.
    post: (path, body) => api.post(path, body),
    close: () => local?.close(),
  };
}
