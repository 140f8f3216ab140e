// Bitcoin Core descriptor wallets as the devchain's JSON-RPC serves them: created, loaded, told
// which `addr()` descriptors to watch, and asked what they saw. What a wallet "saw" follows
// Core: a transaction is the wallet's when it pays one of its scripts or spends one of its
// outputs, and it is found when its block's time is at least the descriptor's timestamp minus
// two hours (the rescan window of importdescriptors), when its block came after the import, or
// when it is in the mempool (Core 24+ scans the mempool on import). A wallet remembers a
// transaction after a reorg or an eviction took it away, with 0 confirmations, as Core does.
// Persisted with the devchain when it has a data directory.
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Db } from '../../store/db.js';
import { addressToScript } from '../network.js';
import type { DevChain } from './chain.js';
import { outpointKey } from './validate.js';

/** Core's TIMESTAMP_WINDOW: an import rescans blocks from two hours before its timestamp. */
export const RESCAN_WINDOW_SECONDS = 7200;

export interface WalletDescriptor {
  desc: string; // with checksum
  address: string;
  script: string;
  timestamp: number;
  importedAtHeight: number;
}

export interface CoreWallet {
  name: string;
  privateKeys: boolean;
  blank: boolean;
  descriptors: Map<string, WalletDescriptor>; // by script hex
  /** Transactions the wallet has seen, in the order it saw them. */
  txs: Map<string, string>; // txid -> hex
  scanned: { height: number; hash: string } | null;
}

export class CoreWallets {
  private wallets = new Map<string, CoreWallet>();
  private loaded = new Set<string>();

  constructor(private readonly chain: DevChain, private readonly db: Db | null) {
    if (db) this.load(db);
  }

  exists(name: string): boolean {
    return this.wallets.has(name);
  }
  isLoaded(name: string): boolean {
    return this.loaded.has(name);
  }
  loadedNames(): string[] {
    return [...this.loaded];
  }
  markLoaded(name: string, loaded: boolean): void {
    if (loaded) this.loaded.add(name);
    else this.loaded.delete(name);
  }
  get(name: string): CoreWallet | undefined {
    return this.loaded.has(name) ? this.wallets.get(name) : undefined;
  }

  create(name: string, privateKeys: boolean, blank: boolean): CoreWallet {
    const w: CoreWallet = { name, privateKeys, blank, descriptors: new Map(), txs: new Map(), scanned: null };
    this.wallets.set(name, w);
    this.loaded.add(name);
    this.db?.prepare('INSERT INTO devchain_wallets (name, private_keys, blank) VALUES (?, ?, ?)').run(name, privateKeys ? 1 : 0, blank ? 1 : 0);
    return w;
  }

  load(db: Db): void {
    for (const r of db.prepare('SELECT name, private_keys, blank FROM devchain_wallets').all() as { name: string; private_keys: number; blank: number }[]) {
      this.wallets.set(r.name, { name: r.name, privateKeys: r.private_keys === 1, blank: r.blank === 1, descriptors: new Map(), txs: new Map(), scanned: null });
      // Created with load_on_startup: loaded again when the node starts.
      this.loaded.add(r.name);
    }
    for (const d of db.prepare('SELECT wallet, descriptor, timestamp, imported_at_height FROM devchain_wallet_descriptors').all() as {
      wallet: string;
      descriptor: string;
      timestamp: number;
      imported_at_height: number;
    }[]) {
      const w = this.wallets.get(d.wallet);
      const address = /^addr\(([^)]+)\)/.exec(d.descriptor)?.[1];
      if (!w || !address) continue;
      const script = addressToScript(address, this.chain.network);
      w.descriptors.set(script, { desc: d.descriptor, address, script, timestamp: d.timestamp, importedAtHeight: d.imported_at_height });
    }
    for (const t of db.prepare('SELECT wallet, txid, hex FROM devchain_wallet_txs ORDER BY seen_at, rowid').all() as { wallet: string; txid: string; hex: string }[]) {
      this.wallets.get(t.wallet)?.txs.set(t.txid, t.hex);
    }
  }

  /** Adds or re-times an addr() descriptor; the next look rescans from the earliest timestamp. */
  importAddress(w: CoreWallet, desc: string, address: string, timestamp: number): void {
    const script = addressToScript(address, this.chain.network);
    const prev = w.descriptors.get(script);
    const d: WalletDescriptor = { desc, address, script, timestamp, importedAtHeight: prev?.importedAtHeight ?? this.chain.height() };
    w.descriptors.set(script, d);
    w.scanned = null;
    this.db
      ?.prepare('INSERT OR REPLACE INTO devchain_wallet_descriptors (wallet, descriptor, timestamp, imported_at_height) VALUES (?, ?, ?, ?)')
      .run(w.name, desc, timestamp, d.importedAtHeight);
  }

  /** Brings the wallet's transactions up to date with the chain and the mempool. */
  refresh(w: CoreWallet): void {
    const tip = this.chain.tip();
    let from = 0;
    if (w.scanned && this.chain.blockAt(w.scanned.height)?.hash === w.scanned.hash) from = w.scanned.height + 1;
    for (let h = from; h <= tip.height; h++) {
      const b = this.chain.blockAt(h)!;
      for (const txid of b.txids) this.consider(w, txid, (d) => h > d.importedAtHeight || b.time >= d.timestamp - RESCAN_WINDOW_SECONDS);
    }
    w.scanned = { height: tip.height, hash: tip.hash };
    for (const txid of this.chain.mempoolTxids()) this.consider(w, txid, () => true);
  }

  private consider(w: CoreWallet, txid: string, visible: (d: WalletDescriptor) => boolean): void {
    if (w.txs.has(txid)) return;
    const t = this.chain.tx(txid);
    if (!t) return;
    const pays = t.p.outputs.some((o) => {
      const d = w.descriptors.get(bytesToHex(o.script));
      return d !== undefined && visible(d);
    });
    const spends = t.kind === 'normal' && t.p.inputs.some((i) => this.ownsOutput(w, i.txid, i.vout));
    if (!pays && !spends) return;
    w.txs.set(txid, t.p.hex);
    this.db?.prepare('INSERT OR IGNORE INTO devchain_wallet_txs (wallet, txid, hex, seen_at) VALUES (?, ?, ?, ?)').run(w.name, txid, t.p.hex, Date.now());
  }

  /** Whether txid:vout is an output of a wallet transaction paying one of the wallet's scripts. */
  ownsOutput(w: CoreWallet, txid: string, vout: number): boolean {
    if (!w.txs.has(txid)) return false;
    const o = this.chain.tx(txid)?.p.outputs[vout];
    return o !== undefined && w.descriptors.has(bytesToHex(o.script));
  }

  /** Wallet outputs unspent in the best chain plus the mempool (listunspent's set at minconf 0). */
  unspent(w: CoreWallet): { txid: string; vout: number; value: bigint; script: string; address: string; height?: number }[] {
    const out: { txid: string; vout: number; value: bigint; script: string; address: string; height?: number }[] = [];
    for (const [script, d] of w.descriptors) {
      for (const c of this.chain.unspent(script)) {
        if (!w.txs.has(c.txid)) continue;
        out.push({ txid: c.txid, vout: c.vout, value: c.value, script, address: d.address, ...(c.height !== undefined ? { height: c.height } : {}) });
      }
    }
    return out;
  }

  /** Outpoints (txid:vout) a wallet transaction spends that are the wallet's. */
  spentOwn(w: CoreWallet, txid: string): string[] {
    const t = this.chain.tx(txid);
    if (!t || t.kind !== 'normal') return [];
    return t.p.inputs.filter((i) => this.ownsOutput(w, i.txid, i.vout)).map((i) => outpointKey(i.txid, i.vout));
  }
}
