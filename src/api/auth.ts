// Who may talk to the node's HTTP API. The API listens on loopback only; on top of that:
// - every state-changing call (POST) carries `Authorization: Bearer <token>`, the token being the
//   contents of <dataDir>/api.token (32 random bytes, hex; mode 0600, created by `metanode init`,
//   by the devnet for its nodes, or by the node at start when missing). Whoever can read the
//   node's data directory can submit transfer requests; other local users and web pages cannot
//   (as Lighthouse's validator API does with its api-token.txt);
// - the Host header must name a loopback host, so a web page that rebinds its DNS name to
//   127.0.0.1 cannot read the API from a browser either;
// - POSTs are rate-limited (a token bucket: `http.postRatePerSec`, `http.postBurst`).
// GETs (health, metrics, read views) stay open to local processes: monitoring needs them without
// a secret, and they change nothing.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { checkPrivateFile, writeFileAtomic } from '../keystore/index.js';
import { MetanodeError } from '../util/errors.js';

export const API_TOKEN_FILE = 'api.token';

export function apiTokenPath(dataDir: string): string {
  return join(dataDir, API_TOKEN_FILE);
}

/** Reads the token (the file must be ours and 0600); undefined when there is none. */
export function readApiToken(dataDir: string): string | undefined {
  const file = apiTokenPath(dataDir);
  if (!existsSync(file)) return undefined;
  checkPrivateFile(file);
  const token = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(token)) throw new MetanodeError('INVALID_CONFIG', `${file} does not hold an API token (64 hex characters); delete it and run \`metanode init\` again`);
  return token;
}

/** The token, created (0600, atomically) when missing. */
export function ensureApiToken(dataDir: string): { token: string; created: boolean; file: string } {
  const file = apiTokenPath(dataDir);
  const existing = readApiToken(dataDir);
  if (existing) return { token: existing, created: false, file };
  const token = randomBytes(32).toString('hex');
  writeFileAtomic(file, token + '\n');
  return { token, created: true, file };
}

export interface ApiGuardOptions {
  /** The bearer token POSTs must carry; without one every POST is refused. */
  token?: string;
  postRatePerSec: number;
  postBurst: number;
  now?: () => number;
}

export type GuardVerdict = { ok: true } | { ok: false; status: 400 | 401 | 429; code: string; message: string; headers?: Record<string, string> };

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1).toLowerCase();
  const colon = host.lastIndexOf(':');
  return (colon >= 0 ? host.slice(0, colon) : host).toLowerCase();
}

export class ApiGuard {
  private readonly expected?: Buffer;
  private tokens: number;
  private at: number;
  private readonly now: () => number;

  constructor(private readonly o: ApiGuardOptions) {
    this.expected = o.token ? Buffer.from(o.token, 'utf8') : undefined;
    this.now = o.now ?? Date.now;
    this.tokens = o.postBurst;
    this.at = this.now();
  }

  check(req: IncomingMessage): GuardVerdict {
    const host = req.headers.host;
    if (host !== undefined && !LOOPBACK_NAMES.has(hostName(host)) && !/^127\.\d+\.\d+\.\d+$/.test(hostName(host))) {
      return { ok: false, status: 400, code: 'BAD_HOST', message: `Host ${JSON.stringify(host)} is not a loopback name; the API answers only to 127.0.0.1, localhost and [::1]` };
    }
    if (req.method === 'GET' || req.method === 'HEAD') return { ok: true };
    if (!this.authorized(req.headers.authorization)) {
      return {
        ok: false,
        status: 401,
        code: 'UNAUTHORIZED',
        message: this.expected ? `send Authorization: Bearer <the token in the node's data directory, ${API_TOKEN_FILE}>` : 'this node has no API token: every write is refused',
        headers: { 'www-authenticate': 'Bearer' },
      };
    }
    if (!this.take()) return { ok: false, status: 429, code: 'RATE_LIMITED', message: `more than ${this.o.postRatePerSec} writes per second (http.postRatePerSec)`, headers: { 'retry-after': '1' } };
    return { ok: true };
  }

  private authorized(header: string | undefined): boolean {
    if (!this.expected || header === undefined) return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    const given = Buffer.from(m[1]!, 'utf8');
    return given.length === this.expected.length && timingSafeEqual(given, this.expected);
  }

  private take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.o.postBurst, this.tokens + ((now - this.at) / 1000) * this.o.postRatePerSec);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
