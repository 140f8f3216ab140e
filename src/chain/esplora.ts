// ChainSource over the Esplora REST API (mempool.space, Blockstream electrs, and the devchain).
// Nothing returned is believed unchecked: transactions are fetched raw and must hash to the txid,
// headers must hash to the block hash, heights must match what was asked, UTXOs are checked
// against the verified outputs of their transaction.
import { z } from 'zod';
import { MetanodeError } from '../util/errors.js';
import { httpRequest } from './http.js';
import { addressToScript } from './network.js';
import type { BlockHeader, ChainSource, Network, OutSpend, Tip, Tx, TxOutput, TxStatus, Utxo } from './types.js';
import { assertTxid, HEX64, txidOf, verifiedHeader, verifiedTx } from './verify.js';

export interface EsploraOptions {
  /** Base URL including any API prefix, e.g. https://mempool.space/api or http://127.0.0.1:18443 */
  baseUrl: string;
  network: Network;
  timeoutMs?: number;
  /** Check each UTXO against its transaction's raw outputs (default true; costs one fetch per new txid). */
  verifyUtxos?: boolean;
}

const hash = z.string().regex(HEX64);
const sats = z.number().int().min(0).max(21e14);
const statusSchema = z.object({
  confirmed: z.boolean(),
  block_height: z.number().int().min(0).optional(),
  block_hash: hash.optional(),
  block_time: z.number().int().min(0).optional(),
});
const blockSchema = z.object({ id: hash, height: z.number().int().min(0), timestamp: z.number().int().min(0), previousblockhash: hash.nullish() });
const outspendSchema = z.object({ spent: z.boolean(), txid: hash.optional(), vin: z.number().int().min(0).optional(), status: statusSchema.optional() });
const utxoSchema = z.array(z.object({ txid: hash, vout: z.number().int().min(0), status: statusSchema, value: sats }));
const feeSchema = z.record(z.string().regex(/^[0-9]+$/), z.number().positive().max(1_000_000));

export class EsploraChainSource implements ChainSource {
  readonly kind = 'esplora' as const;
  readonly network: Network;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly verifyUtxos: boolean;
  private readonly outputsCache = new Map<string, TxOutput[]>();

  constructor(opts: EsploraOptions) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new MetanodeError('INVALID_CONFIG', `esplora base URL is not a URL: ${JSON.stringify(opts.baseUrl)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MetanodeError('INVALID_CONFIG', 'esplora base URL must be http(s)');
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.network = opts.network;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.verifyUtxos = opts.verifyUtxos ?? true;
  }

  private async get(path: string): Promise<{ status: number; text: string }> {
    const r = await httpRequest(this.base + path, { method: 'GET', timeoutMs: this.timeoutMs, what: `esplora GET ${path}` });
    if (r.status >= 500 || r.status === 429) throw new MetanodeError('CHAIN_UNAVAILABLE', `esplora GET ${path}: HTTP ${r.status}`);
    return r;
  }

  /** Body of a 200 answer; 404 gives null; any other status is a bad response. */
  private async getText(path: string): Promise<string | null> {
    const r = await this.get(path);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora GET ${path}: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    return r.text;
  }

  private async getJson<T>(path: string, schema: z.ZodType<T>): Promise<T | null> {
    const text = await this.getText(path);
    if (text === null) return null;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora GET ${path}: not JSON`);
    }
    const r = schema.safeParse(v);
    if (!r.success) {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora GET ${path}: unexpected shape (${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
    }
    return r.data;
  }

  private required<T>(v: T | null, path: string): T {
    if (v === null) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora GET ${path}: not found`);
    return v;
  }

  async getTip(): Promise<Tip> {
    const text = this.required(await this.getText('/blocks/tip/hash'), '/blocks/tip/hash').trim();
    if (!HEX64.test(text)) throw new MetanodeError('CHAIN_BAD_RESPONSE', 'esplora /blocks/tip/hash: not a block hash');
    const h = await this.getBlockHeader(text);
    return { height: h.height, hash: h.hash, time: h.time };
  }

  async getBlockHeaderByHeight(height: number): Promise<BlockHeader> {
    if (!Number.isSafeInteger(height) || height < 0) throw new MetanodeError('INVALID_INPUT', `block height must be a non-negative integer, got ${height}`);
    const text = await this.getText(`/block-height/${height}`);
    if (text === null) throw new MetanodeError('INVALID_INPUT', `no block at height ${height}`);
    const hashHex = text.trim();
    if (!HEX64.test(hashHex)) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora /block-height/${height}: not a block hash`);
    const h = await this.getBlockHeader(hashHex);
    if (h.height !== height) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora says block ${hashHex} is at height ${h.height}, asked for ${height}`);
    return h;
  }

  async getBlockHeader(blockHash: string): Promise<BlockHeader> {
    assertTxid(blockHash, 'block hash');
    const meta = this.required(await this.getJson(`/block/${blockHash}`, blockSchema), `/block/${blockHash}`);
    const headerHex = this.required(await this.getText(`/block/${blockHash}/header`), `/block/${blockHash}/header`);
    const hdr = verifiedHeader(headerHex, blockHash, 'esplora');
    if (meta.id !== blockHash || meta.timestamp !== hdr.time || (meta.height > 0 && meta.previousblockhash !== hdr.prevHash)) {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora block ${blockHash}: JSON disagrees with its header`);
    }
    return { hash: blockHash, height: meta.height, time: hdr.time, prevHash: hdr.prevHash };
  }

  async getTx(txid: string): Promise<Tx | null> {
    assertTxid(txid);
    const hex = await this.getText(`/tx/${txid}/hex`);
    if (hex === null) return null;
    const v = verifiedTx(hex, txid, this.network, 'esplora');
    this.outputsCache.set(txid, v.vout);
    const st = await this.getJson(`/tx/${txid}/status`, statusSchema);
    // The transaction vanished between the two requests (evicted, reorged out): not known now.
    if (st === null) return null;
    return { txid, hex: v.hex, vout: v.vout, status: toStatus(st, `/tx/${txid}/status`) };
  }

  async getOutSpend(txid: string, vout: number): Promise<OutSpend> {
    assertTxid(txid);
    if (!Number.isInteger(vout) || vout < 0) throw new MetanodeError('INVALID_INPUT', `vout must be a non-negative integer, got ${vout}`);
    const path = `/tx/${txid}/outspend/${vout}`;
    const r = await this.getJson(path, outspendSchema);
    if (r === null || !r.spent) return { spent: false };
    if (!r.txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora ${path}: spent without a spending txid`);
    return { spent: true, txid: r.txid, ...(r.status ? { status: toStatus(r.status, path) } : {}) };
  }

  async getAddressUtxos(address: string): Promise<Utxo[]> {
    const script = addressToScript(address, this.network);
    const path = `/address/${address}/utxo`;
    const list = this.required(await this.getJson(path, utxoSchema), path);
    const out: Utxo[] = [];
    for (const u of list) {
      if (this.verifyUtxos) {
        const outs = await this.outputsOf(u.txid);
        const o = outs[u.vout];
        if (!o || o.value !== BigInt(u.value) || o.scriptPubKey !== script) {
          throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora ${path}: ${u.txid}:${u.vout} does not pay ${u.value} sats to ${address}`);
        }
      }
      out.push({ txid: u.txid, vout: u.vout, value: BigInt(u.value), scriptPubKey: script, status: toStatus(u.status, path) });
    }
    return out;
  }

  private async outputsOf(txid: string): Promise<TxOutput[]> {
    const cached = this.outputsCache.get(txid);
    if (cached) return cached;
    const hex = await this.getText(`/tx/${txid}/hex`);
    if (hex === null) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora lists a UTXO of ${txid} but does not know that transaction`);
    const v = verifiedTx(hex, txid, this.network, 'esplora');
    if (this.outputsCache.size > 10_000) this.outputsCache.clear();
    this.outputsCache.set(txid, v.vout);
    return v.vout;
  }

  async broadcast(txHex: string): Promise<string> {
    const txid = txidOf(txHex.trim());
    const r = await httpRequest(this.base + '/tx', {
      method: 'POST',
      body: txHex.trim(),
      headers: { 'content-type': 'text/plain' },
      timeoutMs: this.timeoutMs,
      what: 'esplora POST /tx',
    });
    if (r.status >= 500 || r.status === 429) {
      // electrs answers some node rejections with a 5xx too; it quotes bitcoind's RPC error.
      const reason = rejectReason(r.text);
      if (reason) throw new MetanodeError('TX_REJECTED', reason, [], { txid });
      throw new MetanodeError('CHAIN_UNAVAILABLE', `esplora POST /tx: HTTP ${r.status}`);
    }
    if (r.status !== 200) throw new MetanodeError('TX_REJECTED', rejectReason(r.text) ?? r.text.slice(0, 500), [], { txid, httpStatus: r.status });
    const got = r.text.trim();
    if (got !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora POST /tx answered ${got.slice(0, 80)} for transaction ${txid}`);
    return txid;
  }

  async getFeeRate(targetBlocks = 6): Promise<number> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1) throw new MetanodeError('INVALID_INPUT', `targetBlocks must be a positive integer`);
    const est = this.required(await this.getJson('/fee-estimates', feeSchema), '/fee-estimates');
    // The estimate for the largest target not beyond the one asked (a faster target pays more).
    const keys = Object.keys(est).map(Number).filter((k) => k >= 1 && k <= targetBlocks).sort((a, b) => b - a);
    if (keys.length === 0) {
      if (this.network === 'regtest') return 1;
      throw new MetanodeError('CHAIN_UNAVAILABLE', `esplora has no fee estimate for ${targetBlocks} blocks or fewer`);
    }
    return est[String(keys[0])];
  }
}

function toStatus(s: z.infer<typeof statusSchema>, what: string): TxStatus {
  if (!s.confirmed) return { confirmed: false };
  if (s.block_height === undefined || s.block_hash === undefined || s.block_time === undefined) {
    throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora ${what}: confirmed without block height, hash and time`);
  }
  return { confirmed: true, blockHeight: s.block_height, blockHash: s.block_hash, blockTime: s.block_time };
}

/** bitcoind's reason out of an electrs/mempool error body ("sendrawtransaction RPC error: {...}"). */
function rejectReason(text: string): string | undefined {
  const i = text.indexOf('{');
  if (i >= 0) {
    try {
      const j = JSON.parse(text.slice(i)) as { message?: unknown };
      if (typeof j.message === 'string') return j.message;
    } catch {
      /* plain text below */
    }
  }
  const t = text.trim();
  return t.length > 0 && t.length < 500 && !t.startsWith('<') ? t : undefined;
}
