// ChainSource over Bitcoin Core's JSON-RPC. Authentication by user/password or by the cookie file
// (re-read on every call, since bitcoind writes a new cookie each start). RPC error objects
// ({code, message}) become MetanodeError with bitcoind's message: -5 on a transaction lookup is
// "not found" (null), -25/-26/-27 on sendrawtransaction are TX_REJECTED, -28 (warming up) is
// CHAIN_UNAVAILABLE, anything else CHAIN_RPC_ERROR with detail.rpcCode.
//
// Limits that come from Bitcoin Core itself:
// - getTx of a confirmed transaction needs -txindex (or the tx in the wallet); without it
//   bitcoind answers -5 and getTx returns null.
// - getOutSpend uses gettxout: a missing output is reported spent, without the spender's txid
//   (Core keeps no spender index). Callers check the transaction exists first (verifyStake does).
// - getAddressUtxos uses scantxoutset: confirmed outputs only, and one scan at a time.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MetanodeError } from '../util/errors.js';
import { httpRequest } from './http.js';
import { addressToScript } from './network.js';
import type { BlockHeader, ChainSource, Network, OutSpend, Tip, Tx, Utxo } from './types.js';
import { assertTxid, HEX64, txidOf, verifiedHeader, verifiedTx } from './verify.js';

export interface BitcoindOptions {
  url: string; // http://127.0.0.1:8332
  network: Network;
  user?: string;
  password?: string;
  cookieFile?: string;
  timeoutMs?: number;
  /** sat/vB used when estimatesmartfee has no data (fresh regtest/signet). Default: 1 on regtest, else none (error). */
  fallbackFeeRate?: number;
}

const hash = z.string().regex(HEX64);
const rpcReply = z.object({
  result: z.unknown().optional(),
  error: z.object({ code: z.number().int(), message: z.string() }).nullable().optional(),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
});
const chainInfo = z.object({ chain: z.string(), blocks: z.number().int().min(0), bestblockhash: hash });
const headerVerbose = z.object({ hash, height: z.number().int().min(0), time: z.number().int().min(0), confirmations: z.number().int(), previousblockhash: hash.optional() });
const rawTxVerbose = z.object({
  txid: hash,
  hex: z.string(),
  blockhash: hash.optional(),
  confirmations: z.number().int().optional(),
  blocktime: z.number().int().optional(),
});
const btcAmount = z.number().min(0).max(21e6);
const txOut = z.object({ bestblock: hash, confirmations: z.number().int().min(0), value: btcAmount }).nullable();
const scanResult = z.object({
  success: z.boolean(),
  unspents: z.array(z.object({ txid: hash, vout: z.number().int().min(0), scriptPubKey: z.string(), amount: btcAmount, height: z.number().int().min(0) })),
});
const feeResult = z.object({ feerate: z.number().positive().max(10).optional(), errors: z.array(z.string()).optional(), blocks: z.number().int().optional() });

const CORE_CHAIN: Record<Network, string> = { mainnet: 'main', testnet: 'test', signet: 'signet', regtest: 'regtest' };

function btcToSats(v: number): bigint {
  return BigInt(Math.round(v * 1e8));
}

export class BitcoindChainSource implements ChainSource {
  readonly kind = 'bitcoind' as const;
  readonly network: Network;
  private readonly opts: BitcoindOptions;
  private id = 0;
  private chainChecked = false;

  constructor(opts: BitcoindOptions) {
    try {
      new URL(opts.url);
    } catch {
      throw new MetanodeError('INVALID_CONFIG', `bitcoind RPC URL is not a URL: ${JSON.stringify(opts.url)}`);
    }
    if (!opts.cookieFile && (opts.user === undefined || opts.password === undefined)) {
      throw new MetanodeError('INVALID_CONFIG', 'bitcoind RPC needs user and password, or cookieFile');
    }
    this.opts = opts;
    this.network = opts.network;
  }

  private auth(): string {
    let cred: string;
    if (this.opts.cookieFile) {
      try {
        cred = readFileSync(this.opts.cookieFile, 'utf8').trim();
      } catch (e) {
        throw new MetanodeError('CHAIN_UNAVAILABLE', `cannot read bitcoind cookie file ${this.opts.cookieFile}: ${(e as Error).message}`);
      }
      if (!cred.includes(':')) throw new MetanodeError('INVALID_CONFIG', `bitcoind cookie file ${this.opts.cookieFile} is not user:password`);
    } else cred = `${this.opts.user}:${this.opts.password}`;
    return 'Basic ' + Buffer.from(cred).toString('base64');
  }

  /** One JSON-RPC call; the result is validated by `schema`. */
  async call<T>(method: string, params: unknown[], schema: z.ZodType<T>): Promise<T> {
    const id = ++this.id;
    const what = `bitcoind ${method}`;
    const r = await httpRequest(this.opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: this.auth() },
      body: JSON.stringify({ jsonrpc: '1.0', id, method, params }),
      timeoutMs: this.opts.timeoutMs ?? 15_000,
      what,
    });
    if (r.status === 401 || r.status === 403) throw new MetanodeError('INVALID_CONFIG', `${what}: bitcoind refused the RPC credentials (HTTP ${r.status})`);
    let body: unknown;
    try {
      body = JSON.parse(r.text);
    } catch {
      if (r.status >= 500 || r.status === 503) throw new MetanodeError('CHAIN_UNAVAILABLE', `${what}: HTTP ${r.status}`);
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: HTTP ${r.status}, body is not JSON`);
    }
    const reply = rpcReply.safeParse(body);
    if (!reply.success) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: not a JSON-RPC reply`);
    if (reply.data.error) {
      const { code, message } = reply.data.error;
      if (code === -28) throw new MetanodeError('CHAIN_UNAVAILABLE', `${what}: ${message}`, [], { rpcCode: code });
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

  private async checkChain(info: z.infer<typeof chainInfo>): Promise<void> {
    if (this.chainChecked) return;
    if (info.chain !== CORE_CHAIN[this.network]) {
      throw new MetanodeError('INVALID_CONFIG', `bitcoind runs chain '${info.chain}', configured network is ${this.network}`);
    }
    this.chainChecked = true;
  }

  async getTip(): Promise<Tip> {
    const info = await this.call('getblockchaininfo', [], chainInfo);
    await this.checkChain(info);
    const h = await this.getBlockHeader(info.bestblockhash);
    return { height: h.height, hash: h.hash, time: h.time };
  }

  async getBlockHeaderByHeight(height: number): Promise<BlockHeader> {
    if (!Number.isSafeInteger(height) || height < 0) throw new MetanodeError('INVALID_INPUT', `block height must be a non-negative integer, got ${height}`);
    let blockHash: string;
    try {
      blockHash = await this.call('getblockhash', [height], hash);
    } catch (e) {
      if (e instanceof MetanodeError && e.detail?.rpcCode === -8) throw new MetanodeError('INVALID_INPUT', `no block at height ${height}`);
      throw e;
    }
    const h = await this.getBlockHeader(blockHash);
    if (h.height !== height) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind says block ${blockHash} is at height ${h.height}, asked for ${height}`);
    return h;
  }

  async getBlockHeader(blockHash: string): Promise<BlockHeader> {
    assertTxid(blockHash, 'block hash');
    const v = await this.call('getblockheader', [blockHash, true], headerVerbose);
    const raw = await this.call('getblockheader', [blockHash, false], z.string());
    const hdr = verifiedHeader(raw, blockHash, 'bitcoind');
    if (v.hash !== blockHash || v.time !== hdr.time || (v.height > 0 && v.previousblockhash !== hdr.prevHash)) {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind block ${blockHash}: verbose header disagrees with raw header`);
    }
    return { hash: blockHash, height: v.height, time: hdr.time, prevHash: hdr.prevHash };
  }

  async getTx(txid: string): Promise<Tx | null> {
    assertTxid(txid);
    let r: z.infer<typeof rawTxVerbose>;
    try {
      r = await this.call('getrawtransaction', [txid, true], rawTxVerbose);
    } catch (e) {
      if (e instanceof MetanodeError && e.detail?.rpcCode === -5) return null;
      throw e;
    }
    const v = verifiedTx(r.hex, txid, this.network, 'bitcoind');
    if (r.txid !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind returned txid ${r.txid} for ${txid}`);
    if (!r.blockhash || !r.confirmations || r.confirmations < 1) return { txid, hex: v.hex, vout: v.vout, status: { confirmed: false } };
    const h = await this.getBlockHeader(r.blockhash);
    return { txid, hex: v.hex, vout: v.vout, status: { confirmed: true, blockHeight: h.height, blockHash: h.hash, blockTime: h.time } };
  }

  async getOutSpend(txid: string, vout: number): Promise<OutSpend> {
    assertTxid(txid);
    if (!Number.isInteger(vout) || vout < 0) throw new MetanodeError('INVALID_INPUT', `vout must be a non-negative integer, got ${vout}`);
    const out = await this.call('gettxout', [txid, vout, true], txOut);
    return out === null ? { spent: true } : { spent: false };
  }

  async getAddressUtxos(address: string): Promise<Utxo[]> {
    const script = addressToScript(address, this.network);
    const r = await this.call('scantxoutset', ['start', [{ desc: `addr(${address})` }]], scanResult);
    if (!r.success) throw new MetanodeError('CHAIN_UNAVAILABLE', 'bitcoind scantxoutset did not complete');
    const hashes = new Map<number, BlockHeader>();
    const out: Utxo[] = [];
    for (const u of r.unspents) {
      if (u.scriptPubKey.toLowerCase() !== script) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind scantxoutset returned ${u.txid}:${u.vout} with another script`);
      if (!hashes.has(u.height)) hashes.set(u.height, await this.getBlockHeaderByHeight(u.height));
      const h = hashes.get(u.height)!;
      out.push({
        txid: u.txid,
        vout: u.vout,
        value: btcToSats(u.amount),
        scriptPubKey: script,
        status: { confirmed: true, blockHeight: h.height, blockHash: h.hash, blockTime: h.time },
      });
    }
    return out;
  }

  async broadcast(txHex: string): Promise<string> {
    const hex = txHex.trim();
    const txid = txidOf(hex);
    let got: string;
    try {
      got = await this.call('sendrawtransaction', [hex], hash);
    } catch (e) {
      if (e instanceof MetanodeError && e.code === 'CHAIN_RPC_ERROR' && [-22, -25, -26, -27].includes(e.detail?.rpcCode as number)) {
        throw new MetanodeError('TX_REJECTED', String(e.detail?.rpcMessage), [], { txid, rpcCode: e.detail?.rpcCode });
      }
      throw e;
    }
    if (got !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind answered txid ${got} for transaction ${txid}`);
    return txid;
  }

  async getFeeRate(targetBlocks = 6): Promise<number> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1 || targetBlocks > 1008) throw new MetanodeError('INVALID_INPUT', 'targetBlocks must be in 1..1008');
    const r = await this.call('estimatesmartfee', [targetBlocks], feeResult);
    if (r.feerate !== undefined) return (r.feerate * 1e8) / 1000;
    const fallback = this.opts.fallbackFeeRate ?? (this.network === 'regtest' ? 1 : undefined);
    if (fallback !== undefined) return fallback;
    throw new MetanodeError('CHAIN_UNAVAILABLE', `bitcoind has no fee estimate: ${(r.errors ?? []).join('; ') || 'no data'}`);
  }
}
