// Bitcoin Core's JSON-RPC transport: one POST per call, HTTP basic auth by user/password or by the
// cookie file (re-read on every call, since bitcoind writes a new cookie each start), wallet calls
// on /wallet/<name>. RPC error objects ({code, message}) become MetanodeError with bitcoind's
// message: -28 (warming up) and -4 "rescanning" are CHAIN_UNAVAILABLE, anything else
// CHAIN_RPC_ERROR with detail.rpcCode; every result is validated by the caller's schema.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MetanodeError } from '../util/errors.js';
import { httpRequest } from './http.js';

export interface BitcoindRpcOptions {
  url: string; // http://127.0.0.1:8332
  user?: string;
  password?: string;
  cookieFile?: string;
  timeoutMs?: number;
  /** The watch-only descriptor wallet the node follows its addresses in (chain.bitcoind.wallet). */
  wallet: string;
}

const rpcReply = z.object({
  result: z.unknown().optional(),
  error: z.object({ code: z.number().int(), message: z.string() }).nullable().optional(),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
});

/** What an operator does when the node cannot read Core's cookie. */
export const COOKIE_HINT =
  'bitcoind writes its cookie 0600 to its own user; start bitcoind with -rpccookieperms=group (Core 28+) and add the metanode user to bitcoind\'s group';

export class BitcoindRpc {
  readonly wallet: string;
  private readonly opts: BitcoindRpcOptions;
  private id = 0;

  constructor(opts: BitcoindRpcOptions) {
    try {
      new URL(opts.url);
    } catch {
      throw new MetanodeError('INVALID_CONFIG', `bitcoind RPC URL is not a URL: ${JSON.stringify(opts.url)}`);
    }
    if (!opts.cookieFile && (opts.user === undefined || opts.password === undefined)) {
      throw new MetanodeError('INVALID_CONFIG', 'bitcoind RPC needs user and password, or cookieFile');
    }
    const wallet = opts.wallet;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(wallet)) throw new MetanodeError('INVALID_CONFIG', `bitcoind wallet name must be 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(wallet)}`);
    this.opts = opts;
    this.wallet = wallet;
  }

  private auth(): string {
    let cred: string;
    if (this.opts.cookieFile) {
      try {
        cred = readFileSync(this.opts.cookieFile, 'utf8').trim();
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const hint = err.code === 'EACCES' ? ` (${COOKIE_HINT})` : err.code === 'ENOENT' ? ' (is bitcoind running, and is this its data directory?)' : '';
        throw new MetanodeError('CHAIN_UNAVAILABLE', `cannot read bitcoind cookie file ${this.opts.cookieFile}: ${err.code ?? err.message}${hint}`, [], { cookie: err.code });
      }
      if (!cred.includes(':')) throw new MetanodeError('INVALID_CONFIG', `bitcoind cookie file ${this.opts.cookieFile} is not user:password`);
    } else cred = `${this.opts.user}:${this.opts.password}`;
    return 'Basic ' + Buffer.from(cred).toString('base64');
  }

  /** One JSON-RPC call (on the wallet's endpoint with `wallet`); the result is validated by `schema`. */
  async call<T>(method: string, params: unknown[], schema: z.ZodType<T>, opts: { wallet?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const id = ++this.id;
    const what = `bitcoind ${method}`;
    const base = this.opts.url.replace(/\/+$/, '');
    const url = opts.wallet ? `${base}/wallet/${encodeURIComponent(this.wallet)}` : this.opts.url;
    const r = await httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: this.auth() },
      body: JSON.stringify({ jsonrpc: '1.0', id, method, params }),
      timeoutMs: opts.timeoutMs ?? this.opts.timeoutMs ?? 15_000,
      what,
    });
    if (r.status === 401 || r.status === 403) throw new MetanodeError('INVALID_CONFIG', `${what}: bitcoind refused the RPC credentials (HTTP ${r.status})`);
    let body: unknown;
    try {
      body = JSON.parse(r.text);
    } catch {
      if (r.status >= 500) throw new MetanodeError('CHAIN_UNAVAILABLE', `${what}: HTTP ${r.status}`);
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: HTTP ${r.status}, body is not JSON`);
    }
    const reply = rpcReply.safeParse(body);
    if (!reply.success) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: not a JSON-RPC reply`);
    if (reply.data.error) {
      const { code, message } = reply.data.error;
      if (code === -28 || (code === -4 && /rescanning/i.test(message))) throw new MetanodeError('CHAIN_UNAVAILABLE', `${what}: ${message}`, [], { rpcCode: code });
      throw new MetanodeError('CHAIN_RPC_ERROR', `${what}: ${message}`, [], { rpcCode: code, rpcMessage: message });
    }
    if (reply.data.id !== id) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: reply id ${String(reply.data.id)} does not match request ${id}`);
    if (r.status !== 200) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: HTTP ${r.status} without an RPC error`);
    const parsed = schema.safeParse(reply.data.result ?? null);
    if (!parsed.success) {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: unexpected result (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
    }
    return parsed.data;
  }
}

/** The RPC error code of a CHAIN_RPC_ERROR, else undefined. */
export function rpcCode(e: unknown): number | undefined {
  return e instanceof MetanodeError && e.code === 'CHAIN_RPC_ERROR' ? (e.detail?.rpcCode as number | undefined) : undefined;
}
