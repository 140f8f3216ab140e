// ChainSource over Bitcoin Core's JSON-RPC, built for a mainnet node without -txindex.
//
// - Addresses (deposits, vaults) are followed in a watch-only descriptor wallet of the node's own
//   (bitcoind-start.ts creates it): each address is imported once as an addr() descriptor when it
//   is first watched (importdescriptors, rescanning from when it was watched; Core also scans its
//   mempool), and read with listunspent (confirmed and mempool outputs), gettransaction (the
//   transaction and its block), and listsinceblock (who spent a wallet output). No scantxoutset.
// - getTx asks the wallet first, then getrawtransaction (the mempool; confirmed transactions only
//   with -txindex). A stake is found without -txindex through its unspent output (hint
//   `unspentVout`): gettxout gives its confirmation depth, hence the height; the block there is
//   read with getblock, its transaction list must hash to the merkle root of the header (which
//   must hash to the block hash) and contain the txid, and the transaction is read with
//   getrawtransaction <txid> <blockhash> and must hash to the txid.
// - getOutSpend: gettxout; when the output is not unspent, gettxspendingprevout names a mempool
//   spender and the wallet a confirmed one; an output whose transaction neither the wallet, the
//   mempool nor the chain knows is not spent: its transaction is gone (a reorg, an eviction), which
//   the deposit watcher then reports as such.
// Everything returned is checked: raw transactions hash to their txid, headers to their hash,
// listed outputs pay the address and amount the wallet says.
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { MetanodeError } from '../util/errors.js';
import { BitcoindRpc, rpcCode, type BitcoindRpcOptions } from './bitcoind-rpc.js';
import { checkCore, CORE_CHAIN, importedAddresses } from './bitcoind-start.js';
import { addrDescriptor } from './descriptor.js';
import { hashToDisplay, merkleRoot } from './devchain/blocks.js';
import { addressToScript } from './network.js';
import type { BlockHeader, ChainSource, Network, OutSpend, Tip, Tx, TxOutput, Utxo, WatchRequest } from './types.js';
import { assertTxid, decodeTx, HEX64, txidOf, verifiedHeader, verifiedTx } from './verify.js';

export interface BitcoindOptions extends BitcoindRpcOptions {
  network: Network;
  /** sat/vB used when estimatesmartfee has no data (fresh regtest/signet). Default: 1 on regtest, else none (error). */
  fallbackFeeRate?: number;
  /** Bound on one importdescriptors call, which rescans blocks since the addresses were watched (default 10 min). */
  importTimeoutMs?: number;
}

const hash = z.string().regex(HEX64);
const int = z.number().int();
const btcAmount = z.number().min(0).max(21e6);
const chainInfo = z.object({ chain: z.string(), blocks: int.min(0), bestblockhash: hash });
const headerVerbose = z.object({ hash, height: int.min(0), time: int.min(0), confirmations: int, previousblockhash: hash.optional() });
const rawTxVerbose = z.object({ txid: hash, hex: z.string(), blockhash: hash.optional(), confirmations: int.optional(), blocktime: int.optional() });
const txOut = z.object({ bestblock: hash, confirmations: int.min(0), value: btcAmount, scriptPubKey: z.object({ hex: z.string() }).optional() }).nullable();
const feeResult = z.object({ feerate: z.number().positive().max(10).optional(), errors: z.array(z.string()).optional(), blocks: int.optional() });
const walletTx = z.object({ txid: hash, hex: z.string(), confirmations: int, blockhash: hash.optional(), blockheight: int.min(0).optional(), blocktime: int.min(0).optional() });
const unspentList = z.array(z.object({ txid: hash, vout: int.min(0), address: z.string().optional(), scriptPubKey: z.string(), amount: btcAmount, confirmations: int.min(0) }));
const sinceBlock = z.object({ transactions: z.array(z.object({ txid: hash })), lastblock: hash });
const spending = z.array(z.object({ txid: hash, vout: int.min(0), spendingtxid: hash.optional() }));
const importResults = z.array(z.object({ success: z.boolean(), error: z.object({ code: int, message: z.string() }).optional() }));
const blockTxids = z.object({ hash, height: int.min(0), merkleroot: hash, tx: z.array(hash).min(1) });
const mempoolEntry = z.object({ vsize: int.optional() }).passthrough();

const IMPORT_BATCH = 1000;
/** How long one listunspent of the whole wallet answers getAddressUtxos while the tip stays (ms). */
const UNSPENT_SNAPSHOT_MS = 2_000;

function btcToSats(v: number): bigint {
  return BigInt(Math.round(v * 1e8));
}

export class BitcoindChainSource implements ChainSource {
  readonly kind = 'bitcoind' as const;
  readonly network: Network;
  readonly rpc: BitcoindRpc;
  private readonly opts: BitcoindOptions;
  private chainChecked = false;
  /** Addresses the wallet watches; null until the wallet was checked (ready()). */
  private imported: Set<string> | null = null;
  /** An import failed half way (e.g. timed out during Core's rescan): ask the wallet before importing again. */
  private importedStale = false;
  private readying: Promise<void> | null = null;
  /** Verified outputs by txid, and the wallet outputs each wallet transaction spends. */
  private readonly outputs = new Map<string, TxOutput[]>();
  private readonly spends = new Map<string, string[]>();
  /**
   * Core's listunspent walks every wallet transaction whatever addresses it is asked about, so
   * the wallet's whole unspent set is read once and shared by the address reads of one deposit
   * watcher pass: until the next watchAddresses (the watcher calls it at the start of each pass),
   * a new tip, or UNSPENT_SNAPSHOT_MS.
   */
  private unspentSnapshot: { at: number; tip: string; list: Promise<z.infer<typeof unspentList>> } | null = null;

  constructor(opts: BitcoindOptions) {
    this.rpc = new BitcoindRpc(opts);
    this.opts = opts;
    this.network = opts.network;
  }

  /** The start checks (bitcoind-start.ts); loads or creates the wallet. Again after a failure. */
  ready(): Promise<void> {
    this.readying ??= (async () => {
      this.imported = await checkCore(this.rpc, this.network);
      this.chainChecked = true;
    })().catch((e) => {
      this.readying = null;
      throw e;
    });
    return this.readying;
  }

  private call<T>(method: string, params: unknown[], schema: z.ZodType<T>): Promise<T> {
    return this.rpc.call(method, params, schema);
  }
  private wcall<T>(method: string, params: unknown[], schema: z.ZodType<T>, timeoutMs?: number): Promise<T> {
    return this.rpc.call(method, params, schema, { wallet: true, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  async getTip(): Promise<Tip> {
    const info = await this.call('getblockchaininfo', [], chainInfo);
    if (!this.chainChecked) {
      if (info.chain !== CORE_CHAIN[this.network]) throw new MetanodeError('INVALID_CONFIG', `bitcoind runs chain '${info.chain}', configured network is ${this.network}`);
      this.chainChecked = true;
    }
    const h = await this.getBlockHeader(info.bestblockhash);
    return { height: h.height, hash: h.hash, time: h.time };
  }

  async getBlockHeaderByHeight(height: number): Promise<BlockHeader> {
    const { merkleRoot: _m, ...h } = await this.headerAt(height);
    return h;
  }

  private async headerAt(height: number): Promise<BlockHeader & { merkleRoot: string }> {
    if (!Number.isSafeInteger(height) || height < 0) throw new MetanodeError('INVALID_INPUT', `block height must be a non-negative integer, got ${height}`);
    let blockHash: string;
    try {
      blockHash = await this.call('getblockhash', [height], hash);
    } catch (e) {
      if (rpcCode(e) === -8) throw new MetanodeError('INVALID_INPUT', `no block at height ${height}`);
      throw e;
    }
    const h = await this.header(blockHash);
    if (h.height !== height) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind says block ${blockHash} is at height ${h.height}, asked for ${height}`);
    return h;
  }

  async getBlockHeader(blockHash: string): Promise<BlockHeader> {
    const { merkleRoot: _m, ...h } = await this.header(blockHash);
    return h;
  }

  /** A header whose raw bytes hash to `blockHash`, with its merkle root. */
  private async header(blockHash: string): Promise<BlockHeader & { merkleRoot: string }> {
    assertTxid(blockHash, 'block hash');
    const v = await this.call('getblockheader', [blockHash, true], headerVerbose);
    const raw = await this.call('getblockheader', [blockHash, false], z.string());
    const hdr = verifiedHeader(raw, blockHash, 'bitcoind');
    if (v.hash !== blockHash || v.time !== hdr.time || (v.height > 0 && v.previousblockhash !== hdr.prevHash)) {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind block ${blockHash}: verbose header disagrees with raw header`);
    }
    return { hash: blockHash, height: v.height, time: hdr.time, prevHash: hdr.prevHash, merkleRoot: hdr.merkleRoot };
  }

  async getTx(txid: string, hint: { unspentVout?: number } = {}): Promise<Tx | null> {
    assertTxid(txid);
    if (this.imported !== null) {
      const w = await this.walletTx(txid);
      if (w !== undefined) return w;
    }
    try {
      const r = await this.call('getrawtransaction', [txid, true], rawTxVerbose);
      if (r.txid !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind returned txid ${r.txid} for ${txid}`);
      const v = this.verified(r.hex, txid);
      if (!r.blockhash || !r.confirmations || r.confirmations < 1) return { txid, hex: v.hex, vout: v.vout, status: { confirmed: false } };
      return await this.confirmedTx(txid, v, r.blockhash);
    } catch (e) {
      if (rpcCode(e) !== -5) throw e;
    }
    return hint.unspentVout === undefined ? null : this.txOfUnspent(txid, hint.unspentVout);
  }

  /** The wallet's view of txid: a Tx, null when the wallet knows it but the chain and the mempool do not, undefined when it is not a wallet transaction. */
  private async walletTx(txid: string): Promise<Tx | null | undefined> {
    let r: z.infer<typeof walletTx>;
    try {
      r = await this.wcall('gettransaction', [txid, true, false], walletTx);
    } catch (e) {
      if (rpcCode(e) === -5) return undefined;
      throw e;
    }
    if (r.txid !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind gettransaction returned ${r.txid} for ${txid}`);
    const v = this.verified(r.hex, txid);
    if (r.confirmations > 0) {
      if (!r.blockhash || r.blockheight === undefined) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind gettransaction ${txid}: confirmed without a block`);
      const tx = await this.confirmedTx(txid, v, r.blockhash);
      if (tx.status.blockHeight !== r.blockheight) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind gettransaction ${txid}: block height ${r.blockheight}, its block is at ${tx.status.blockHeight}`);
      return tx;
    }
    // 0: unconfirmed, in the mempool or not any more (evicted, or a reorg took it and it did not
    // come back); < 0: conflicts with a confirmed transaction. Only the mempool keeps it alive.
    if (r.confirmations < 0) return null;
    try {
      await this.call('getmempoolentry', [txid], mempoolEntry);
    } catch (e) {
      if (rpcCode(e) === -5) return null;
      throw e;
    }
    return { txid, hex: v.hex, vout: v.vout, status: { confirmed: false } };
  }

  private async confirmedTx(txid: string, v: { hex: string; vout: TxOutput[] }, blockHash: string): Promise<Tx> {
    const h = await this.getBlockHeader(blockHash);
    return { txid, hex: v.hex, vout: v.vout, status: { confirmed: true, blockHeight: h.height, blockHash: h.hash, blockTime: h.time } };
  }

  /**
   * The confirmed transaction of an unspent output, without -txindex: its depth from gettxout,
   * the block at that height, the transaction list of that block checked against the header's
   * merkle root, the transaction read from that block. null when the output is not unspent in
   * the best chain (spent, never confirmed, or not there at all).
   */
  private async txOfUnspent(txid: string, vout: number): Promise<Tx | null> {
    const out = await this.call('gettxout', [txid, vout, false], txOut);
    if (out === null || out.confirmations < 1) return null;
    const best = await this.getBlockHeader(out.bestblock);
    const height = best.height - out.confirmations + 1;
    if (height < 0) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind gettxout ${txid}:${vout}: ${out.confirmations} confirmations at height ${best.height}`);
    const header = await this.headerAt(height);
    const block = await this.call('getblock', [header.hash, 1], blockTxids);
    if (block.hash !== header.hash || block.height !== height) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind getblock ${header.hash}: another block`);
    // A list with a repeated txid can hash to the same root as the real one (CVE-2012-2459).
    if (new Set(block.tx).size !== block.tx.length) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind getblock ${header.hash}: a transaction is listed twice`);
    if (hashToDisplay(merkleRoot(block.tx)) !== header.merkleRoot) {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind getblock ${header.hash}: its transactions do not hash to the header's merkle root`);
    }
    // The tip moved between gettxout and getblockhash (a reorg at that depth): not found for now.
    if (!block.tx.includes(txid)) return null;
    const hex = await this.call('getrawtransaction', [txid, false, header.hash], z.string());
    const v = this.verified(hex, txid);
    return { txid, hex: v.hex, vout: v.vout, status: { confirmed: true, blockHeight: header.height, blockHash: header.hash, blockTime: header.time } };
  }

  async getOutSpend(txid: string, vout: number): Promise<OutSpend> {
    assertTxid(txid);
    if (!Number.isInteger(vout) || vout < 0) throw new MetanodeError('INVALID_INPUT', `vout must be a non-negative integer, got ${vout}`);
    if ((await this.call('gettxout', [txid, vout, true], txOut)) !== null) return { spent: false };
    const [m] = await this.call('gettxspendingprevout', [[{ txid, vout }]], spending);
    if (m?.spendingtxid) return { spent: true, txid: m.spendingtxid, status: { confirmed: false } };
    const tx = await this.getTx(txid);
    // Nothing spends an output whose transaction is unknown: it is gone (reorg, eviction).
    if (tx === null || !tx.status.confirmed) return { spent: false };
    if (vout >= tx.vout.length) throw new MetanodeError('INVALID_INPUT', `${txid} has no output ${vout}`);
    const by = this.imported !== null ? await this.walletSpender(txid, vout, tx.status.blockHash!) : null;
    return by ? { spent: true, txid: by.txid, status: by.status } : { spent: true };
  }

  /** The wallet transaction that spends txid:vout, looked for in blocks from txid's own on. */
  private async walletSpender(txid: string, vout: number, blockHash: string): Promise<Tx | null> {
    const h = await this.getBlockHeader(blockHash);
    const since = h.height === 0 ? '' : h.prevHash;
    const list = await this.wcall('listsinceblock', [since, 1, true, false], sinceBlock);
    const want = `${txid}:${vout}`;
    for (const id of new Set(list.transactions.map((t) => t.txid))) {
      if (id === txid) continue;
      let spent = this.spends.get(id);
      if (!spent) {
        const r = await this.wcall('gettransaction', [id, true, false], walletTx);
        const tx = decodeTx(this.verified(r.hex, id).hex, 'CHAIN_BAD_RESPONSE', `bitcoind wallet tx ${id}`);
        spent = [];
        for (let i = 0; i < tx.inputsLength; i++) {
          const inp = tx.getInput(i);
          spent.push(`${bytesToHex(inp.txid!)}:${inp.index}`);
        }
        if (this.spends.size > 10_000) this.spends.clear();
        this.spends.set(id, spent);
      }
      if (spent.includes(want)) return this.getTx(id);
    }
    return null;
  }

  async watchAddresses(list: WatchRequest[]): Promise<void> {
    this.unspentSnapshot = null;
    await this.ready();
    if (this.importedStale) {
      this.imported = await importedAddresses(this.rpc);
      this.importedStale = false;
    }
    const imported = this.imported!;
    const fresh = new Map<string, number>();
    for (const { address, since } of list) {
      addressToScript(address, this.network);
      if (!Number.isSafeInteger(since) || since < 0) throw new MetanodeError('INVALID_INPUT', `watch ${address}: since must be unix seconds, got ${since}`);
      if (imported.has(address)) continue;
      fresh.set(address, Math.min(since, fresh.get(address) ?? since));
    }
    const todo = [...fresh];
    for (let i = 0; i < todo.length; i += IMPORT_BATCH) {
      const batch = todo.slice(i, i + IMPORT_BATCH);
      let results: z.infer<typeof importResults>;
      try {
        results = await this.wcall(
          'importdescriptors',
          [batch.map(([address, since]) => ({ desc: addrDescriptor(address), timestamp: since, active: false, internal: false, label: 'metanode' }))],
          importResults,
          this.opts.importTimeoutMs ?? 600_000,
        );
      } catch (e) {
        // Core may have imported them anyway (a timeout during the rescan): ask it before trying again.
        this.importedStale = true;
        throw e;
      }
      if (results.length !== batch.length) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind importdescriptors answered ${results.length} results for ${batch.length} descriptors`);
      const failed: string[] = [];
      results.forEach((r, j) => {
        if (r.success) imported.add(batch[j]![0]);
        else failed.push(`${batch[j]![0]}: ${r.error?.message ?? 'no reason given'}`);
      });
      if (failed.length > 0) throw new MetanodeError('CHAIN_RPC_ERROR', `bitcoind wallet '${this.rpc.wallet}' refused to import ${failed.join('; ')}`);
    }
  }

  async getAddressUtxos(address: string): Promise<Utxo[]> {
    const script = addressToScript(address, this.network);
    await this.ready();
    if (!this.imported!.has(address)) {
      throw new MetanodeError('INVALID_INPUT', `bitcoind wallet '${this.rpc.wallet}' does not watch ${address}: watchAddresses first`);
    }
    const list = (await this.walletUnspent()).filter((u) => u.address === address || u.scriptPubKey.toLowerCase() === script);
    const status = new Map<string, Tx | null>();
    const out: Utxo[] = [];
    for (const u of list) {
      if (u.scriptPubKey.toLowerCase() !== script || (u.address !== undefined && u.address !== address)) {
        throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind listunspent for ${address} returned ${u.txid}:${u.vout} paying another script`);
      }
      if (!status.has(u.txid)) status.set(u.txid, await this.walletTxStatus(u.txid));
      const tx = status.get(u.txid)!;
      // Confirmed, or in the mempool, when listed a moment ago; gone now: not listed.
      if (tx === null) continue;
      const o = tx.vout[u.vout];
      if (!o || o.scriptPubKey !== script || o.value !== btcToSats(u.amount)) {
        throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind listunspent: ${u.txid}:${u.vout} does not pay ${u.amount} BTC to ${address}`);
      }
      out.push({ txid: u.txid, vout: u.vout, value: o.value, scriptPubKey: script, status: tx.status });
    }
    return out;
  }

  private async walletUnspent(): Promise<z.infer<typeof unspentList>> {
    const tip = await this.call('getbestblockhash', [], hash);
    const s = this.unspentSnapshot;
    const now = Date.now();
    if (s && s.tip === tip && now >= s.at && now - s.at < UNSPENT_SNAPSHOT_MS) return s.list;
    const list = this.wcall('listunspent', [0, 9_999_999, [], true], unspentList);
    this.unspentSnapshot = { at: now, tip, list };
    list.catch(() => {
      if (this.unspentSnapshot?.list === list) this.unspentSnapshot = null;
    });
    return list;
  }

  /** gettransaction for a listed output: the verified outputs, and the block the wallet puts it in. */
  private async walletTxStatus(txid: string): Promise<Tx | null> {
    let r: z.infer<typeof walletTx>;
    try {
      r = await this.wcall('gettransaction', [txid, true, false], walletTx);
    } catch (e) {
      if (rpcCode(e) === -5) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind listunspent lists ${txid}, gettransaction does not know it`);
      throw e;
    }
    if (r.txid !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind gettransaction returned ${r.txid} for ${txid}`);
    const v = this.verified(r.hex, txid);
    if (r.confirmations < 0) return null;
    if (r.confirmations === 0) return { txid, hex: v.hex, vout: v.vout, status: { confirmed: false } };
    if (!r.blockhash || r.blockheight === undefined || r.blocktime === undefined) throw new MetanodeError('CHAIN_BAD_RESPONSE', `bitcoind gettransaction ${txid}: confirmed without a block`);
    return { txid, hex: v.hex, vout: v.vout, status: { confirmed: true, blockHeight: r.blockheight, blockHash: r.blockhash, blockTime: r.blocktime } };
  }

  private verified(hex: string, txid: string): { hex: string; vout: TxOutput[] } {
    const cached = this.outputs.get(txid);
    const v = verifiedTx(hex, txid, this.network, 'bitcoind');
    if (!cached) {
      if (this.outputs.size > 10_000) this.outputs.clear();
      this.outputs.set(txid, v.vout);
    }
    return v;
  }

  async broadcast(txHex: string): Promise<string> {
    const hex = txHex.trim();
    const txid = txidOf(hex);
    let got: string;
    try {
      got = await this.call('sendrawtransaction', [hex], hash);
    } catch (e) {
      const code = rpcCode(e);
      if (code !== undefined && [-22, -25, -26, -27].includes(code)) {
        throw new MetanodeError('TX_REJECTED', String((e as MetanodeError).detail?.rpcMessage), [], { txid, rpcCode: code });
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
