// The devchain's state machine: blocks, the confirmed UTXO set, the mempool, a clock that can be
// moved forward, and reorgs. In memory, with an optional SQLite write-through so a restart with the
// same data directory resumes at the same height with the same UTXOs and mempool.
//
// Reorg policy (POST /dev/reorg): the last `depth` blocks are disconnected and replaced by
// `depth + 1` new blocks that carry no transactions, so the new chain is strictly longer as in a
// real reorg. The disconnected transactions go back to the mempool if they are still valid (Bitcoin
// Core's behaviour) unless `dropTxs` is set, which models a competing chain that double-spent
// them: then they, and any mempool transaction that depended on them, are forgotten. `drop` names
// only some of them to forget (the rest go back to the mempool).
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { openDb, type Db, type Migration } from '../../store/db.js';
import { addressToScript, classifyScript } from '../network.js';
import type { Network } from '../types.js';
import { blockSubsidy, mineHeader, nullInputTx } from './blocks.js';
import { checkTxContextFree, checkTxInputs, outpointKey, parseTx, TxReject, type Coin, type ParsedTx } from './validate.js';

export type TxKind = 'coinbase' | 'faucet' | 'normal';

export interface DevBlock {
  height: number;
  hash: string;
  prevHash: string;
  time: number;
  header: string; // 80-byte header hex
  txids: string[];
}

export interface DevTx {
  p: ParsedTx;
  kind: TxKind;
}

export interface DevCoin {
  txid: string;
  vout: number;
  value: bigint;
  script: string;
  height?: number;
  coinbase: boolean;
}

export interface DevTxStatus {
  confirmed: boolean;
  blockHeight?: number;
  blockHash?: string;
  blockTime?: number;
}

export const devchainMigrations: Migration[] = [
  {
    id: 'devchain-001-state',
    sql: `
      CREATE TABLE devchain_blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, header TEXT NOT NULL, txids TEXT NOT NULL);
      CREATE TABLE devchain_txs (txid TEXT PRIMARY KEY, hex TEXT NOT NULL, kind TEXT NOT NULL);
      CREATE TABLE devchain_mempool (seq INTEGER PRIMARY KEY AUTOINCREMENT, txid TEXT NOT NULL UNIQUE);
      CREATE TABLE devchain_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
  },
  {
    // The Bitcoin Core wallets the devchain's JSON-RPC serves (core-wallet.ts).
    id: 'devchain-002-core-wallets',
    sql: `
      CREATE TABLE devchain_wallets (name TEXT PRIMARY KEY, private_keys INTEGER NOT NULL, blank INTEGER NOT NULL);
      CREATE TABLE devchain_wallet_descriptors (wallet TEXT NOT NULL, descriptor TEXT NOT NULL, timestamp INTEGER NOT NULL, imported_at_height INTEGER NOT NULL,
        PRIMARY KEY (wallet, descriptor));
      CREATE TABLE devchain_wallet_txs (wallet TEXT NOT NULL, txid TEXT NOT NULL, hex TEXT NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (wallet, txid));
    `,
  },
];

const NULLDATA_BURN = new Uint8Array([0x6a, 0x08, ...new TextEncoder().encode('devchain')]);

export class DevChain {
  readonly network: Network = 'regtest';
  private blocks: DevBlock[] = [];
  private blockByHash = new Map<string, DevBlock>();
  private txs = new Map<string, DevTx>();
  private txHeight = new Map<string, number>();
  private utxos = new Map<string, DevCoin>();
  private spentBy = new Map<string, { txid: string; vin: number }>();
  private mempool: string[] = [];
  private mempoolSpends = new Map<string, { txid: string; vin: number }>();
  private clockOffset = 0;
  private nonce = 0;
  private db: Db | null;

  constructor(opts: { dbPath?: string } = {}) {
    this.db = opts.dbPath ? openDb(opts.dbPath, devchainMigrations) : null;
    if (this.db && this.load()) return;
    this.connectNewBlock([], undefined);
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  // ---- clock ---------------------------------------------------------------------------------

  /** Simulated time, unix seconds: wall clock plus every advance so far. */
  now(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffset;
  }

  advanceClock(seconds: number): number {
    if (!Number.isInteger(seconds) || seconds < 0) throw new TxReject('advanceSeconds must be a non-negative integer');
    this.clockOffset += seconds;
    this.persistMeta();
    return this.now();
  }

  // ---- queries -------------------------------------------------------------------------------

  tip(): DevBlock {
    return this.blocks[this.blocks.length - 1];
  }
  height(): number {
    return this.blocks.length - 1;
  }
  blockAt(height: number): DevBlock | undefined {
    return this.blocks[height];
  }
  block(hash: string): DevBlock | undefined {
    return this.blockByHash.get(hash);
  }
  tx(txid: string): DevTx | undefined {
    return this.txs.get(txid);
  }
  mempoolTxids(): string[] {
    return [...this.mempool];
  }
  inMempool(txid: string): boolean {
    return this.mempool.includes(txid);
  }
  /** The SQLite write-through (null in memory); the Core wallets of the RPC server keep theirs there too. */
  database(): Db | null {
    return this.db;
  }

  txStatus(txid: string): DevTxStatus {
    const h = this.txHeight.get(txid);
    if (h === undefined) return { confirmed: false };
    const b = this.blocks[h];
    return { confirmed: true, blockHeight: h, blockHash: b.hash, blockTime: b.time };
  }

  /** Who spends an output, confirmed first, then the mempool. */
  outspend(txid: string, vout: number): { spent: false } | { spent: true; txid: string; vin: number; status: DevTxStatus } {
    const k = outpointKey(txid, vout);
    const s = this.spentBy.get(k) ?? this.mempoolSpends.get(k);
    if (!s) return { spent: false };
    return { spent: true, txid: s.txid, vin: s.vin, status: this.txStatus(s.txid) };
  }

  /**
   * The UTXO set as Esplora reports it: confirmed coins not spent in the mempool, plus outputs
   * of mempool transactions not spent by another one. Optionally only those paying `scriptHex`.
   */
  unspent(scriptHex?: string): DevCoin[] {
    const out: DevCoin[] = [];
    for (const [k, c] of this.utxos) {
      if (this.mempoolSpends.has(k)) continue;
      if (scriptHex === undefined || c.script === scriptHex) out.push(c);
    }
    for (const txid of this.mempool) {
      const t = this.txs.get(txid)!;
      t.p.outputs.forEach((o, vout) => {
        if (o.kind === 'nulldata' || this.mempoolSpends.has(outpointKey(txid, vout))) return;
        const script = bytesToHex(o.script);
        if (scriptHex === undefined || script === scriptHex) out.push({ txid, vout, value: o.value, script, coinbase: false });
      });
    }
    return out;
  }

  medianTimePast(): number {
    const times = this.blocks.slice(-11).map((b) => b.time).sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }

  // ---- mempool -------------------------------------------------------------------------------

  /** Validates and adds a transaction to the mempool; throws TxReject with Bitcoin Core's reason. */
  submit(hex: string): string {
    const p = parseTx(hex);
    this.acceptToMempool(p);
    this.persistTx(p.txid, p.hex, 'normal', true);
    return p.txid;
  }

  private acceptToMempool(p: ParsedTx): void {
    if (this.mempool.includes(p.txid)) throw new TxReject('txn-already-in-mempool');
    if (this.txHeight.has(p.txid)) throw new TxReject('txn-already-known');
    checkTxContextFree(p);
    const coins: Coin[] = [];
    for (const inp of p.inputs) {
      const k = outpointKey(inp.txid, inp.vout);
      if (this.mempoolSpends.has(k)) throw new TxReject('txn-mempool-conflict');
      const c = this.utxos.get(k);
      if (c) {
        coins.push({ value: c.value, script: hexToBytes(c.script), height: c.height, coinbase: c.coinbase });
        continue;
      }
      const parent = this.mempool.includes(inp.txid) ? this.txs.get(inp.txid) : undefined;
      const o = parent?.p.outputs[inp.vout];
      if (!o || o.kind === 'nulldata') throw new TxReject('bad-txns-inputs-missingorspent');
      coins.push({ value: o.value, script: o.script, coinbase: false });
    }
    checkTxInputs(p, coins, { nextHeight: this.height() + 1, medianTimePast: this.medianTimePast() });
    this.addToMempool(p, 'normal');
  }

  private addToMempool(p: ParsedTx, kind: TxKind): void {
    this.txs.set(p.txid, { p, kind });
    this.mempool.push(p.txid);
    if (kind !== 'faucet') p.inputs.forEach((inp, vin) => this.mempoolSpends.set(outpointKey(inp.txid, inp.vout), { txid: p.txid, vin }));
  }

  /** A funding transaction from nowhere (one null input) paying `sats` to `address`, in the mempool. */
  faucet(address: string, sats: bigint): { txid: string; vout: number; hex: string } {
    const script = hexToBytes(addressToScript(address, this.network));
    const kind = classifyScript(script);
    if (sats <= 0n || sats > 21_000_000n * 100_000_000n) throw new TxReject('sats out of range');
    if (kind === 'nulldata' || kind === 'nonstandard') throw new TxReject('scriptpubkey');
    const hex = nullInputTx({ height: this.height() + 1, nonce: this.nextNonce(), tag: 'faucet', outputs: [{ script, value: sats }] });
    const p = parseTx(hex);
    this.addToMempool(p, 'faucet');
    this.persistTx(p.txid, p.hex, 'faucet', true);
    return { txid: p.txid, vout: 0, hex };
  }

  // ---- blocks --------------------------------------------------------------------------------

  /** Mines `count` blocks with the whole mempool in the first; coinbase to `address` or burnt. */
  mine(count: number, address?: string, opts: { includeMempool?: boolean } = {}): string[] {
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new TxReject('blocks must be an integer in 1..1000');
    const script = address === undefined ? undefined : hexToBytes(addressToScript(address, this.network));
    const hashes: string[] = [];
    for (let i = 0; i < count; i++) {
      const txs = opts.includeMempool === false ? [] : this.mempool.map((id) => this.txs.get(id)!);
      hashes.push(this.connectNewBlock(txs, script).hash);
    }
    return hashes;
  }

  private connectNewBlock(txs: DevTx[], coinbaseScript: Uint8Array | undefined): DevBlock {
    const height = this.blocks.length;
    let fees = 0n;
    for (const t of txs) {
      if (t.kind === 'faucet') continue;
      const inSum = t.p.inputs.reduce((a, inp) => a + this.coinValue(inp.txid, inp.vout), 0n);
      fees += inSum - t.p.outputs.reduce((a, o) => a + o.value, 0n);
    }
    const reward = blockSubsidy(height) + fees;
    const cbHex = nullInputTx({
      height,
      nonce: this.nextNonce(),
      tag: 'cb',
      outputs: coinbaseScript ? [{ script: coinbaseScript, value: reward }] : [{ script: NULLDATA_BURN, value: 0n }],
    });
    const cb: DevTx = { p: parseTx(cbHex), kind: 'coinbase' };
    const all = [cb, ...txs];
    const prev = this.blocks[height - 1];
    const time = Math.max(this.now(), prev ? prev.time + 1 : 0);
    const { header, hash } = mineHeader(prev ? prev.hash : '0'.repeat(64), all.map((t) => t.p.txid), time);
    const block: DevBlock = { height, hash, prevHash: prev ? prev.hash : '0'.repeat(64), time, header: bytesToHex(header), txids: all.map((t) => t.p.txid) };
    this.txs.set(cb.p.txid, cb);
    this.applyBlock(block);
    this.mempool = this.mempool.filter((id) => !this.txHeight.has(id));
    this.rebuildMempoolSpends();
    this.persistBlock(block, cb);
    return block;
  }

  private coinValue(txid: string, vout: number): bigint {
    return this.txs.get(txid)!.p.outputs[vout].value;
  }

  private applyBlock(b: DevBlock): void {
    this.blocks.push(b);
    this.blockByHash.set(b.hash, b);
    for (const txid of b.txids) {
      const t = this.txs.get(txid)!;
      if (t.kind === 'normal') {
        t.p.inputs.forEach((inp, vin) => {
          const k = outpointKey(inp.txid, inp.vout);
          this.utxos.delete(k);
          this.spentBy.set(k, { txid, vin });
        });
      }
      t.p.outputs.forEach((o, vout) => {
        if (o.kind === 'nulldata') return;
        this.utxos.set(outpointKey(txid, vout), { txid, vout, value: o.value, script: bytesToHex(o.script), height: b.height, coinbase: t.kind === 'coinbase' });
      });
      this.txHeight.set(txid, b.height);
    }
  }

  private rebuildMempoolSpends(): void {
    this.mempoolSpends.clear();
    for (const id of this.mempool) {
      const t = this.txs.get(id)!;
      if (t.kind !== 'faucet') t.p.inputs.forEach((inp, vin) => this.mempoolSpends.set(outpointKey(inp.txid, inp.vout), { txid: id, vin }));
    }
  }

  /** Disconnects the last `depth` blocks and mines depth + 1 empty ones; see the policy above. */
  reorg(depth: number, opts: { dropTxs?: boolean; drop?: string[] } = {}): { disconnected: string[]; connected: string[]; returnedToMempool: string[]; dropped: string[] } {
    if (!Number.isInteger(depth) || depth < 1 || depth > this.height()) throw new TxReject(`depth must be an integer in 1..${this.height()}`);
    const keep = this.blocks.length - depth;
    const removed = this.blocks.slice(keep);
    const disconnectedTxs = removed.flatMap((b) => b.txids.map((id) => this.txs.get(id)!));
    const oldMempool = this.mempool.map((id) => this.txs.get(id)!);
    // Rebuild the confirmed state from genesis up to the fork point: simple and obviously right.
    const kept = this.blocks.slice(0, keep);
    this.blocks = [];
    this.blockByHash.clear();
    this.txHeight.clear();
    this.utxos.clear();
    this.spentBy.clear();
    for (const b of kept) this.applyBlock(b);
    this.mempool = [];
    this.mempoolSpends.clear();
    const forget = new Set(opts.drop ?? []);
    const back = opts.dropTxs ? [] : disconnectedTxs.filter((t) => t.kind !== 'coinbase' && !forget.has(t.p.txid));
    const candidates = [...back, ...oldMempool.filter((t) => !forget.has(t.p.txid))];
    const returned: string[] = [];
    for (const t of candidates) {
      try {
        if (t.kind === 'faucet') this.addToMempool(t.p, 'faucet');
        else this.acceptToMempool(t.p);
        returned.push(t.p.txid);
      } catch (e) {
        if (!(e instanceof TxReject)) throw e;
      }
    }
    const live = new Set([...this.txHeight.keys(), ...this.mempool]);
    const dropped: string[] = [];
    for (const [id, t] of [...this.txs]) {
      if (live.has(id)) continue;
      if (t.kind !== 'coinbase') dropped.push(id);
      this.txs.delete(id);
    }
    this.persistReorg(keep);
    const connected: string[] = [];
    for (let i = 0; i <= depth; i++) connected.push(this.connectNewBlock([], undefined).hash);
    return { disconnected: removed.map((b) => b.hash), connected, returnedToMempool: returned.filter((id) => !this.txHeight.has(id)), dropped };
  }

  private nextNonce(): number {
    this.nonce += 1;
    this.persistMeta();
    return this.nonce;
  }

  // ---- persistence ---------------------------------------------------------------------------

  private load(): boolean {
    const db = this.db!;
    const rows = db.prepare('SELECT height, hash, header, txids FROM devchain_blocks ORDER BY height').all() as {
      height: number;
      hash: string;
      header: string;
      txids: string;
    }[];
    if (rows.length === 0) return false;
    for (const m of db.prepare('SELECT key, value FROM devchain_meta').all() as { key: string; value: string }[]) {
      if (m.key === 'clockOffset') this.clockOffset = Number(m.value);
      if (m.key === 'nonce') this.nonce = Number(m.value);
    }
    for (const t of db.prepare('SELECT txid, hex, kind FROM devchain_txs').all() as { txid: string; hex: string; kind: TxKind }[]) {
      this.txs.set(t.txid, { p: parseTx(t.hex), kind: t.kind });
    }
    for (const r of rows) {
      const hdr = hexToBytes(r.header);
      const time = new DataView(hdr.buffer, hdr.byteOffset).getUint32(68, true);
      const prev = this.blocks[r.height - 1];
      this.applyBlock({ height: r.height, hash: r.hash, prevHash: prev ? prev.hash : '0'.repeat(64), time, header: r.header, txids: JSON.parse(r.txids) });
    }
    const mem = db.prepare('SELECT txid FROM devchain_mempool ORDER BY seq').all() as { txid: string }[];
    this.mempool = mem.map((m) => m.txid).filter((id) => this.txs.has(id) && !this.txHeight.has(id));
    this.rebuildMempoolSpends();
    return true;
  }

  private persistMeta(): void {
    if (!this.db) return;
    const up = this.db.prepare('INSERT INTO devchain_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    up.run('clockOffset', String(this.clockOffset));
    up.run('nonce', String(this.nonce));
  }

  private persistTx(txid: string, hex: string, kind: TxKind, mempool: boolean): void {
    if (!this.db) return;
    const db = this.db;
    db.transaction(() => {
      db.prepare('INSERT OR REPLACE INTO devchain_txs (txid, hex, kind) VALUES (?, ?, ?)').run(txid, hex, kind);
      if (mempool) db.prepare('INSERT OR IGNORE INTO devchain_mempool (txid) VALUES (?)').run(txid);
    })();
  }

  private persistBlock(b: DevBlock, cb: DevTx): void {
    if (!this.db) return;
    const db = this.db;
    db.transaction(() => {
      db.prepare('INSERT OR REPLACE INTO devchain_txs (txid, hex, kind) VALUES (?, ?, ?)').run(cb.p.txid, cb.p.hex, 'coinbase');
      db.prepare('INSERT INTO devchain_blocks (height, hash, header, txids) VALUES (?, ?, ?, ?)').run(b.height, b.hash, b.header, JSON.stringify(b.txids));
      const del = db.prepare('DELETE FROM devchain_mempool WHERE txid = ?');
      for (const id of b.txids) del.run(id);
    })();
  }

  private persistReorg(keep: number): void {
    if (!this.db) return;
    const db = this.db;
    db.transaction(() => {
      db.prepare('DELETE FROM devchain_blocks WHERE height >= ?').run(keep);
      db.prepare('DELETE FROM devchain_mempool').run();
      const ins = db.prepare('INSERT INTO devchain_mempool (txid) VALUES (?)');
      for (const id of this.mempool) ins.run(id);
      const known = db.prepare('SELECT txid FROM devchain_txs').all() as { txid: string }[];
      const del = db.prepare('DELETE FROM devchain_txs WHERE txid = ?');
      for (const { txid } of known) if (!this.txs.has(txid)) del.run(txid);
    })();
  }
}
