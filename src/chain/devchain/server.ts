// The devchain over HTTP: the Esplora REST API (as served by mempool.space / Blockstream electrs)
// for the subset ChainSource uses, plus /dev/* endpoints that drive the simulation. Every request
// body is validated; a rejected transaction is HTTP 400 with Bitcoin Core's reason string.
// With a CoreRpc, POST / and POST /wallet/<name> are Bitcoin Core's JSON-RPC (core-rpc.ts), behind
// HTTP basic auth with the cookie credentials, as bitcoind serves it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { addressToScript, scriptToAddress, type ScriptKind } from '../network.js';
import { isMetanodeError } from '../../util/errors.js';
import type { DevChain, DevTx } from './chain.js';
import { TxReject } from './validate.js';
import type { CoreRpc } from './core-rpc.js';

const MAX_BODY = 2_000_000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const ESPLORA_TYPE: Record<ScriptKind, string> = {
  p2tr: 'v1_p2tr',
  p2wpkh: 'v0_p2wpkh',
  p2wsh: 'v0_p2wsh',
  p2pkh: 'p2pkh',
  p2sh: 'p2sh',
  nulldata: 'op_return',
  nonstandard: 'unknown',
};

const mineBody = z.object({ blocks: z.number().int().min(1).max(1000).default(1), address: z.string().min(1).optional() }).strict();
const faucetBody = z.object({ address: z.string().min(1), sats: z.union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]*$/)]) }).strict();
const clockBody = z.object({ advanceSeconds: z.number().int().min(0).max(100 * 365 * 86400) }).strict();
const reorgBody = z.object({ depth: z.number().int().min(1), dropTxs: z.boolean().optional(), drop: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(10_000).optional() }).strict();

export interface CoreRpcEndpoint {
  rpc: CoreRpc;
  /** "user:password" the JSON-RPC requires (the cookie's content). */
  credentials: string;
}

export function createDevchainServer(chain: DevChain, core?: CoreRpcEndpoint): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://devchain').pathname;
    const served = core && req.method === 'POST' && (path === '/' || path.startsWith('/wallet/')) ? handleRpc(core, path, req, res) : handle(chain, req, res);
    served.catch((e) => {
      if (e instanceof HttpError) return send(res, e.status, e.message);
      if (e instanceof TxReject) return send(res, 400, e.reason);
      if (isMetanodeError(e, 'INVALID_INPUT')) return send(res, 400, e.message);
      send(res, 500, 'internal error');
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const isText = typeof body === 'string';
  const text = isText ? body : JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
  res.writeHead(status, { 'content-type': isText ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const rpcRequest = z.object({ method: z.string(), params: z.array(z.unknown()).optional(), id: z.unknown().optional() });

/** Bitcoin Core's JSON-RPC: 401 without the credentials, one request per POST. */
async function handleRpc(core: CoreRpcEndpoint, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const expected = 'Basic ' + Buffer.from(core.credentials).toString('base64');
  if (req.headers.authorization !== expected) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"', 'content-length': 0 });
    return void res.end();
  }
  let wallet: string | null = null;
  if (path.startsWith('/wallet/')) {
    try {
      wallet = decodeURIComponent(path.slice('/wallet/'.length));
    } catch {
      throw new HttpError(400, 'bad wallet name');
    }
  }
  const text = await readBody(req);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return send(res, 500, { result: null, error: { code: -32700, message: 'Parse error' }, id: null });
  }
  const r = rpcRequest.safeParse(parsed);
  if (!r.success) return send(res, 400, { result: null, error: { code: -32600, message: 'Invalid Request object' }, id: null });
  const out = core.rpc.handle(wallet, { method: r.data.method, params: r.data.params ?? [], id: r.data.id ?? null });
  send(res, out.status, out.body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const text = await readBody(req);
  let v: unknown;
  try {
    v = text.length ? JSON.parse(text) : {};
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const r = schema.safeParse(v);
  if (!r.success) throw new HttpError(400, `invalid body: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

function statusJson(chain: DevChain, txid: string) {
  const s = chain.txStatus(txid);
  return s.confirmed ? { confirmed: true, block_height: s.blockHeight, block_hash: s.blockHash, block_time: s.blockTime } : { confirmed: false };
}

function txJson(chain: DevChain, t: DevTx) {
  const p = t.p;
  let inSum = 0n;
  const vin = p.inputs.map((inp) => {
    const isNull = t.kind !== 'normal';
    const parent = isNull ? undefined : chain.tx(inp.txid);
    const po = parent?.p.outputs[inp.vout];
    if (po) inSum += po.value;
    return {
      txid: inp.txid,
      vout: inp.vout,
      prevout: po ? outJson(chain, po.script, po.kind, po.value) : null,
      scriptsig: bytesToHex(inp.scriptSig),
      witness: inp.witness.map(bytesToHex),
      is_coinbase: isNull,
      sequence: inp.sequence,
    };
  });
  const outSum = p.outputs.reduce((a, o) => a + o.value, 0n);
  return {
    txid: p.txid,
    version: p.version,
    locktime: p.lockTime,
    vin,
    vout: p.outputs.map((o) => outJson(chain, o.script, o.kind, o.value)),
    size: p.size,
    weight: p.weight,
    fee: t.kind === 'normal' ? Number(inSum - outSum) : 0,
    status: statusJson(chain, p.txid),
  };
}

function outJson(chain: DevChain, script: Uint8Array, kind: ScriptKind, value: bigint) {
  const hex = bytesToHex(script);
  const address = scriptToAddress(hex, chain.network);
  return { scriptpubkey: hex, scriptpubkey_type: ESPLORA_TYPE[kind], ...(address ? { scriptpubkey_address: address } : {}), value: Number(value) };
}

function blockJson(chain: DevChain, height: number) {
  const b = chain.blockAt(height)!;
  const times = [];
  for (let h = Math.max(0, height - 10); h <= height; h++) times.push(chain.blockAt(h)!.time);
  times.sort((a, c) => a - c);
  return {
    id: b.hash,
    height: b.height,
    version: 0x20000000,
    timestamp: b.time,
    tx_count: b.txids.length,
    size: 80 + b.txids.reduce((a, id) => a + (chain.tx(id)?.p.size ?? 0), 0),
    weight: b.txids.reduce((a, id) => a + (chain.tx(id)?.p.weight ?? 0), 320),
    merkle_root: b.header.length === 160 ? bytesToHex(Uint8Array.from(Buffer.from(b.header.slice(72, 136), 'hex')).reverse()) : '',
    ...(b.height > 0 ? { previousblockhash: b.prevHash } : {}),
    mediantime: times[Math.floor(times.length / 2)],
    nonce: Buffer.from(b.header.slice(152, 160), 'hex').readUInt32LE(0),
    bits: 0x207fffff,
    difficulty: 4.656542373906925e-10,
  };
}

async function handle(chain: DevChain, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://devchain');
  const path = url.pathname.replace(/^\/api(?=\/)/, '');
  const method = req.method ?? 'GET';
  let m: RegExpMatchArray | null;

  if (method === 'GET') {
    if (path === '/blocks/tip/height') return send(res, 200, String(chain.height()));
    if (path === '/blocks/tip/hash') return send(res, 200, chain.tip().hash);
    if ((m = path.match(/^\/block-height\/(\d{1,10})$/))) {
      const b = chain.blockAt(Number(m[1]));
      return b ? send(res, 200, b.hash) : send(res, 404, 'Block not found');
    }
    if ((m = path.match(/^\/block\/([0-9a-f]{64})(\/header|\/txids|\/status)?$/))) {
      const b = chain.block(m[1]);
      if (!b || chain.blockAt(b.height)?.hash !== b.hash) return send(res, 404, 'Block not found');
      if (m[2] === '/header') return send(res, 200, b.header);
      if (m[2] === '/txids') return send(res, 200, b.txids);
      if (m[2] === '/status') {
        const next = chain.blockAt(b.height + 1);
        return send(res, 200, { in_best_chain: true, height: b.height, ...(next ? { next_best: next.hash } : {}) });
      }
      return send(res, 200, blockJson(chain, b.height));
    }
    if ((m = path.match(/^\/tx\/([0-9a-f]{64})(\/hex|\/status|\/outspends|\/outspend\/(\d{1,6}))?$/))) {
      const t = chain.tx(m[1]);
      if (!t) return send(res, 404, 'Transaction not found');
      if (m[2] === '/hex') return send(res, 200, t.p.hex);
      if (m[2] === '/status') return send(res, 200, statusJson(chain, t.p.txid));
      const outspend = (vout: number) => {
        const s = chain.outspend(t.p.txid, vout);
        if (!s.spent) return { spent: false };
        return { spent: true, txid: s.txid, vin: s.vin, status: statusJson(chain, s.txid) };
      };
      if (m[2] === '/outspends') return send(res, 200, t.p.outputs.map((_o, i) => outspend(i)));
      if (m[3] !== undefined) {
        const vout = Number(m[3]);
        if (vout >= t.p.outputs.length) return send(res, 404, 'Output not found');
        return send(res, 200, outspend(vout));
      }
      return send(res, 200, txJson(chain, t));
    }
    if ((m = path.match(/^\/address\/([A-Za-z0-9]{14,90})\/utxo$/))) {
      const script = addressToScript(m[1], chain.network);
      const coins = chain.unspent(script);
      return send(
        res,
        200,
        coins.map((c) => ({ txid: c.txid, vout: c.vout, status: statusJson(chain, c.txid), value: Number(c.value) })),
      );
    }
    if (path === '/fee-estimates') {
      const est: Record<string, number> = {};
      for (const n of [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 144, 504, 1008]) est[String(n)] = 2;
      return send(res, 200, est);
    }
    if (path === '/mempool/txids') return send(res, 200, chain.mempoolTxids());
    if (path === '/dev/utxos') {
      return send(res, 200, {
        height: chain.height(),
        utxos: chain.unspent().map((c) => ({
          txid: c.txid,
          vout: c.vout,
          value: String(c.value),
          scriptPubKey: c.script,
          address: scriptToAddress(c.script, chain.network) ?? null,
          confirmed: chain.txStatus(c.txid).confirmed,
          height: c.height ?? null,
          coinbase: c.coinbase,
        })),
      });
    }
    if (path === '/dev/clock') return send(res, 200, { now: chain.now() });
  }

  if (method === 'POST') {
    if (path === '/tx') {
      const hex = (await readBody(req)).trim();
      const txid = chain.submit(hex);
      return send(res, 200, txid);
    }
    if (path === '/dev/mine') {
      const b = await jsonBody(req, mineBody);
      const hashes = chain.mine(b.blocks, b.address);
      return send(res, 200, { hashes, height: chain.height() });
    }
    if (path === '/dev/faucet') {
      const b = await jsonBody(req, faucetBody);
      const r = chain.faucet(b.address, BigInt(b.sats));
      return send(res, 200, { txid: r.txid, vout: r.vout, hex: r.hex });
    }
    if (path === '/dev/clock') {
      const b = await jsonBody(req, clockBody);
      return send(res, 200, { now: chain.advanceClock(b.advanceSeconds) });
    }
    if (path === '/dev/reorg') {
      const b = await jsonBody(req, reorgBody);
      const r = chain.reorg(b.depth, { dropTxs: b.dropTxs, drop: b.drop });
      return send(res, 200, { ...r, height: chain.height() });
    }
  }
  send(res, 404, 'not found');
}
