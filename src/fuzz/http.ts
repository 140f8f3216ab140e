// Fuzz target: the HTTP API. The real server (src/api/server.ts) on 127.0.0.1, behind a NodeApi
// whose POST /v1/requests goes to a real RequestStore (so the node's own checks, addresses,
// dust and expiry, judge what the HTTP validator lets through). Each case is one malformed
// request: a body that is not JSON, too large, of the wrong media type, missing or extra fields,
// a bad amount, address or expiry; a bad query string or round id; an unknown route or method.
// It passes when answered 4xx with an error message; 2xx is an acceptance and 5xx or a dropped
// connection a failure.
import { randomBytes } from 'node:crypto';
import { request as httpRequest, Agent } from 'node:http';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { createApiServer, type ApiServer } from '../api/server.js';
import type { NodeApi } from '../api/types.js';
import { openDb, type Db } from '../store/db.js';
import { RequestStore, requestMigrations } from '../custody/requests.js';
import { addressFromScript } from '../crypto/taproot.js';
import { MetanodeError } from '../util/errors.js';
import type { Prng } from '../util/prng.js';
import type { FuzzCase, FuzzOutcome } from './types.js';

const BODY_LIMIT = 2048;
const addr = (n: number) => addressFromScript('5120' + bytesToHex(schnorr.getPublicKey(hexToBytes(n.toString(16).padStart(64, '0')))), 'regtest');
const MAINNET_ADDR = 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr';

export interface HttpTarget {
  url: string;
  host: string;
  port: number;
  agent: Agent;
  /** The API's bearer token; every fuzz request carries it, so the routes behind the guard are exercised. */
  token: string;
  accepted(): number;
  close(): Promise<void>;
}

/** Starts the API server on a free loopback port with a RequestStore-backed NodeApi. */
export async function startHttpTarget(): Promise<HttpTarget> {
  const key = (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
  const peerId = peerIdFromPrivateKey(key as never).toString();
  const db: Db = openDb(':memory:', requestMigrations);
  const deposit = addr(999);
  const store = new RequestStore({ db, network: 'regtest', signer: { peerId, privateKey: key }, currentEpoch: () => 1, depositAddressFor: () => deposit });
  let accepted = 0;
  const refuse = () => {
    throw new MetanodeError('INVALID_INPUT', 'not served by the fuzz target');
  };
  const api: NodeApi = {
    health: () => ({ chain: { reachable: true }, clock: { skewMs: 0 }, peers: { connectedStaked: 3, federationSize: 4 } }),
    status: refuse,
    peers: () => [],
    rounds: () => [],
    round: () => null,
    transfers: () => [],
    deposits: () => [],
    epochs: () => ({ epochs: [] }),
    rewards: refuse,
    submitRequest: async (req) => {
      const r = await store.create({ amountSats: req.amountSats, payoutAddress: req.payoutAddress, refundAddress: req.refundAddress, expiry: req.expiry });
      accepted++;
      return r;
    },
    unblockPeer: refuse,
  };
  const token = randomBytes(32).toString('hex');
  const server: ApiServer = createApiServer({ api, host: '127.0.0.1', port: 0, bodyLimitBytes: BODY_LIMIT, auth: { token, postRatePerSec: 1e6, postBurst: 1e6 } });
  const { url, port } = await server.listen();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    url,
    host: '127.0.0.1',
    port,
    agent,
    token,
    accepted: () => accepted,
    close: async () => {
      agent.destroy();
      await server.close();
      db.close();
    },
  };
}

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in chunks without a content-length. */
  chunked?: boolean;
}

function send(t: HttpTarget, r: Req): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: t.host, port: t.port, method: r.method, path: r.path, headers: { authorization: `Bearer ${t.token}`, ...r.headers }, agent: t.agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    // Writing a too-large body may fail once the server has answered and closed: the answer counts.
    req.on('error', reject);
    if (r.body !== undefined && r.chunked) {
      const b = Buffer.from(r.body);
      for (let i = 0; i < b.length; i += 512) req.write(b.subarray(i, i + 512));
      req.end();
    } else req.end(r.body);
  });
}

function validBody(rng: Prng): Record<string, unknown> {
  return {
    amountSats: String(rng.range(10_000, 900_000)),
    payoutAddress: addr(rng.range(1, 500)),
    refundAddress: addr(rng.range(501, 998)),
    expiry: Math.floor(Date.now() / 1000) + 3600,
  };
}

/** One character of a bech32 address swapped for another valid bech32 character: the checksum fails. */
function breakChecksum(a: string, rng: Prng): string {
  const CH = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  const i = rng.range(a.indexOf('1') + 1, a.length - 1);
  const c = CH.replace(a[i]!, '');
  return a.slice(0, i) + rng.pick(c.split('')) + a.slice(i + 1);
}

export function httpCase(t: HttpTarget, rng: Prng): FuzzCase {
  const json = { 'content-type': 'application/json' };
  const body = validBody(rng);
  const now = Math.floor(Date.now() / 1000);
  const post = (b: unknown, headers: Record<string, string> = json): Req => ({ method: 'POST', path: '/v1/requests', headers, body: typeof b === 'string' ? b : JSON.stringify(b) });
  const kinds: Array<[string, () => { req: Req; detail: string }]> = [
    ['body-not-json', () => {
      const s = JSON.stringify(body);
      const cut = s.slice(0, rng.int(s.length));
      return { req: post(cut.length ? cut : '{'), detail: cut.slice(0, 40) };
    }],
    ['body-control-byte', () => {
      const s = JSON.stringify(body);
      const i = rng.int(s.length + 1);
      return { req: post(s.slice(0, i) + String.fromCharCode(rng.pick([0, 1, 8, 11, 27])) + s.slice(i)), detail: `at ${i}` };
    }],
    ['body-empty', () => ({ req: post(rng.pick(['', '   ', '\n'])), detail: '' })],
    ['media-type', () => {
      const headers = rng.pick<Record<string, string>>([{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}]);
      return { req: post(body, headers), detail: headers['content-type'] ?? '(none)' };
    }],
    ['body-too-large', () => {
      const big = JSON.stringify({ ...body, pad: 'x'.repeat(BODY_LIMIT + rng.int(4096)) });
      return { req: { ...post(big), chunked: rng.chance(0.5) }, detail: `${big.length} bytes` };
    }],
    ['body-not-object', () => ({ req: post(rng.pick<unknown>([42, 'request', [body], null, true])), detail: '' })],
    ['drop-field', () => {
      const k = rng.pick(Object.keys(body));
      const b = { ...body };
      delete b[k];
      return { req: post(b), detail: k };
    }],
    ['extra-field', () => ({ req: post({ ...body, [rng.pick(['id', 'network', 'amount', 'fee'])]: 1 }), detail: '' })],
    ['bad-amount', () => {
      const v = rng.pick<unknown>(['0', '-5', '1.5', '01', 'abc', '', 0, -1, 1.5, 2 ** 60, '99999999999999999', '9999999999999999', '1', '546', true, null, []]);
      return { req: post({ ...body, amountSats: v }), detail: JSON.stringify(v) };
    }],
    ['bad-address', () => {
      const field = rng.pick(['payoutAddress', 'refundAddress']);
      const v = rng.pick<unknown>(['bcrt1q', 'bcrt1' + 'q'.repeat(120), MAINNET_ADDR, breakChecksum(body[field] as string, rng), 42, null, '', 'x'.repeat(40)]);
      return { req: post({ ...body, [field]: v }), detail: `${field}=${JSON.stringify(v).slice(0, 50)}` };
    }],
    ['bad-expiry', () => {
      const v = rng.pick<unknown>([now - 1 - rng.int(100_000), now * 1000, now + 0.5, String(now + 3600), 0, -1, null, now + 31 * 86400 + rng.int(1000)]);
      return { req: post({ ...body, expiry: v }), detail: JSON.stringify(v) };
    }],
    ['bad-query', () => {
      const path = rng.pick(['/v1/rounds', '/v1/transfers', '/v1/deposits']);
      const q = rng.pick([
        'limit=abc', 'limit=0', 'limit=1001', 'limit=-1', 'limit=1e3', 'limit=', 'limit=1.5', 'limit=1&limit=2', 'foo=1', 'limit=10&x=y',
        ...(path === '/v1/rounds' ? ['before=x', 'before=-1', 'before=' + '1'.repeat(16), 'state=pending'] : ['state=UPPER', 'state=', 'state=' + 'a'.repeat(40), 'before=5']),
      ]);
      return { req: { method: 'GET', path: `${path}?${q}`, headers: {} }, detail: q };
    }],
    ['bad-round-id', () => {
      const id = rng.pick(['abc', '-1', '1e5', '1.5', '9'.repeat(16), '%20', '0x10']);
      return { req: { method: 'GET', path: `/v1/rounds/${id}`, headers: {} }, detail: id };
    }],
    ['unknown-route', () => {
      const p = rng.pick(['/v1/nope', '/v2/status', '/', '/v1/rounds/1/extra', '/v1/requests/x', '/metrics/x']);
      return { req: { method: 'GET', path: p, headers: {} }, detail: p };
    }],
    ['wrong-method', () => {
      const [m, p] = rng.pick<[string, string]>([['POST', '/v1/status'], ['GET', '/v1/requests'], ['DELETE', '/v1/rounds'], ['PUT', '/v1/requests'], ['PATCH', '/health']]);
      return { req: { method: m, path: p, headers: m === 'GET' || m === 'DELETE' ? {} : json, ...(m === 'GET' || m === 'DELETE' ? {} : { body: JSON.stringify(body) }) }, detail: `${m} ${p}` };
    }],
  ];
  const [op, make] = rng.pick(kinds);
  const { req, detail } = make();
  return {
    target: 'http',
    subject: `${req.method} ${req.path.split('?')[0]!.replace(/\/v1\/rounds\/.+$/, '/v1/rounds/:id')}`,
    op,
    detail,
    run: async (): Promise<FuzzOutcome> => {
      const before = t.accepted();
      let res: { status: number; text: string };
      try {
        res = await send(t, req);
      } catch (e) {
        return { ok: false, failure: `no answer: ${e instanceof Error ? e.message : String(e)}` };
      }
      if (t.accepted() !== before || (res.status >= 200 && res.status < 300)) return { ok: false, failure: `accepted: HTTP ${res.status} ${res.text.slice(0, 200)}` };
      if (res.status >= 500) return { ok: false, failure: `server error: HTTP ${res.status} ${res.text.slice(0, 200)}` };
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(res.text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        err = undefined;
      }
      if (!err?.message) return { ok: false, failure: `HTTP ${res.status} without an error message: ${res.text.slice(0, 200)}` };
      return { ok: true, reason: `${res.status} ${err.code}: ${httpReason(err.message)}` };
    },
  };
}

/** The gist of an error message, for counting: no ids, positions or echoed input. */
export function httpReason(message: string): string {
  const m = message.replace(/^([A-Z_]+: )+/, '');
  if (m.startsWith('body is not valid JSON')) return 'body is not valid JSON';
  const tr = /^invalid transfer request [0-9a-f]+: (.+)$/.exec(m);
  if (tr) return `invalid transfer request: ${tr[1]}`;
  return m.replace(/got .*$/, 'got …').replace(/\d{4,}/g, 'N').slice(0, 100);
}

/** Sanity: a valid request is accepted (201) by the target, else refusals prove nothing. */
export async function httpTargetProblems(t: HttpTarget, rng: Prng): Promise<string[]> {
  const r = await send(t, { method: 'POST', path: '/v1/requests', headers: { 'content-type': 'application/json' }, body: JSON.stringify(validBody(rng)) });
  return r.status === 201 ? [] : [`valid request answered HTTP ${r.status}: ${r.text.slice(0, 200)}`];
}
