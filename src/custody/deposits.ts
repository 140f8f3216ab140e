// Follows the deposit addresses of open transfer requests and the vault addresses on the chain:
// which outputs pay them, how many confirmations each has, when one is spent, and when a reorg
// took one away. State is plain data (one record per outpoint), written through to SQLite when a
// database is given so a restarted node remembers what it saw.
//
// A deposit's lifecycle: 'seen' (in the mempool or below minConfirmations) -> 'confirmed'
// (>= minConfirmations, confirming block still in the best chain) -> 'spent'. 'gone' when the
// chain source no longer knows the transaction (a reorg dropped it, or it was evicted); a 'gone'
// deposit that reappears becomes 'seen' again. A confirmed deposit whose confirming block left
// the best chain drops back to 'seen' with 0 confirmations until it confirms again.
import type { ChainSource } from '../chain/types.js';
import type { Db, Migration } from '../store/db.js';
import { MetanodeError } from '../util/errors.js';

export type WatchKind = 'deposit' | 'vault';
export type DepositStatus = 'seen' | 'confirmed' | 'spent' | 'gone';

export interface WatchMeta {
  kind: WatchKind;
  requestId?: string;
  epoch?: number;
}

export interface Deposit {
  txid: string;
  vout: number;
  value: bigint;
  address: string;
  scriptPubKey: string;
  kind: WatchKind;
  requestId?: string;
  epoch?: number;
  confirmations: number;
  status: DepositStatus;
  blockHeight?: number;
  blockHash?: string;
  spentBy?: string;
  firstSeenAt: number; // unix ms
}

export type DepositEventType = 'seen' | 'confirmed' | 'unconfirmed' | 'spent' | 'gone';
export interface DepositEvent {
  type: DepositEventType;
  deposit: Deposit;
}

export interface DepositFilter {
  address?: string;
  requestId?: string;
  kind?: WatchKind;
  status?: DepositStatus | DepositStatus[];
}

export const depositMigrations: Migration[] = [
  {
    id: 'deposits-001-tables',
    sql: `
      CREATE TABLE deposit_watches (
        address TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('deposit','vault')),
        request_id TEXT, epoch INTEGER, added_at INTEGER NOT NULL);
      CREATE TABLE deposits (
        txid TEXT NOT NULL, vout INTEGER NOT NULL, value TEXT NOT NULL, address TEXT NOT NULL,
        script TEXT NOT NULL, kind TEXT NOT NULL, request_id TEXT, epoch INTEGER,
        confirmations INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('seen','confirmed','spent','gone')),
        block_height INTEGER, block_hash TEXT, spent_by TEXT, first_seen_at INTEGER NOT NULL,
        PRIMARY KEY (txid, vout));
      CREATE INDEX deposits_by_address ON deposits (address);
      CREATE INDEX deposits_by_request ON deposits (request_id);
    `,
  },
];

const key = (txid: string, vout: number) => `${txid}:${vout}`;

export class DepositWatcher {
  readonly minConfirmations: number;
  private readonly chain: ChainSource;
  private readonly db?: Db;
  private readonly now: () => number;
  private watches = new Map<string, WatchMeta>();
  private deposits = new Map<string, Deposit>();
  private running: Promise<DepositEvent[]> | null = null;

  constructor(opts: { chain: ChainSource; db?: Db; minConfirmations?: number; now?: () => number }) {
    const min = opts.minConfirmations ?? 1;
    if (!Number.isInteger(min) || min < 1) throw new MetanodeError('INVALID_CONFIG', `minConfirmations must be a positive integer, got ${min}`);
    this.minConfirmations = min;
    this.chain = opts.chain;
    this.db = opts.db;
    this.now = opts.now ?? Date.now;
    if (this.db) this.load();
  }

  watch(address: string, meta: WatchMeta): void {
    if (typeof address !== 'string' || address.length === 0) throw new MetanodeError('INVALID_INPUT', 'watch: address is empty');
    if (meta.kind !== 'deposit' && meta.kind !== 'vault') throw new MetanodeError('INVALID_INPUT', `watch: unknown kind ${String(meta.kind)}`);
    const m: WatchMeta = { kind: meta.kind, ...(meta.requestId !== undefined ? { requestId: meta.requestId } : {}), ...(meta.epoch !== undefined ? { epoch: meta.epoch } : {}) };
    this.watches.set(address, m);
    this.db
      ?.prepare('INSERT OR REPLACE INTO deposit_watches (address, kind, request_id, epoch, added_at) VALUES (?, ?, ?, ?, ?)')
      .run(address, m.kind, m.requestId ?? null, m.epoch ?? null, this.now());
  }

  /** Stops following an address; what was seen on it stays listed. */
  unwatch(address: string): void {
    this.watches.delete(address);
    this.db?.prepare('DELETE FROM deposit_watches WHERE address = ?').run(address);
  }

  watched(): { address: string; meta: WatchMeta }[] {
    return [...this.watches].map(([address, meta]) => ({ address, meta: { ...meta } }));
  }

  list(filter: DepositFilter = {}): Deposit[] {
    const statuses = filter.status === undefined ? undefined : Array.isArray(filter.status) ? filter.status : [filter.status];
    return [...this.deposits.values()]
      .filter(
        (d) =>
          (filter.address === undefined || d.address === filter.address) &&
          (filter.requestId === undefined || d.requestId === filter.requestId) &&
          (filter.kind === undefined || d.kind === filter.kind) &&
          (statuses === undefined || statuses.includes(d.status)),
      )
      .map((d) => ({ ...d }))
      .sort((a, b) => a.firstSeenAt - b.firstSeenAt || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));
  }

  /** One pass over every watched address; returns what changed. Concurrent calls share one pass. */
  poll(): Promise<DepositEvent[]> {
    this.running ??= this.pollOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pollOnce(): Promise<DepositEvent[]> {
    const events: DepositEvent[] = [];
    const tip = await this.chain.getTip();
    const hashAt = new Map<number, string>();
    const inBestChain = async (height: number, hash: string): Promise<boolean> => {
      if (height > tip.height) return false;
      if (!hashAt.has(height)) hashAt.set(height, height === tip.height ? tip.hash : (await this.chain.getBlockHeaderByHeight(height)).hash);
      return hashAt.get(height) === hash;
    };
    const changed = new Set<string>();
    const emit = (type: DepositEventType, d: Deposit) => {
      events.push({ type, deposit: { ...d } });
      changed.add(key(d.txid, d.vout));
    };

    for (const [address, meta] of [...this.watches]) {
      const utxos = await this.chain.getAddressUtxos(address);
      const listed = new Set<string>();
      for (const u of utxos) {
        const k = key(u.txid, u.vout);
        listed.add(k);
        let confirmations = 0;
        let blockHeight: number | undefined;
        let blockHash: string | undefined;
        if (u.status.confirmed && u.status.blockHeight !== undefined && u.status.blockHash !== undefined) {
          if (await inBestChain(u.status.blockHeight, u.status.blockHash)) {
            confirmations = tip.height - u.status.blockHeight + 1;
            blockHeight = u.status.blockHeight;
            blockHash = u.status.blockHash;
          }
        }
        const status: DepositStatus = confirmations >= this.minConfirmations ? 'confirmed' : 'seen';
        const prev = this.deposits.get(k);
        const d: Deposit = {
          txid: u.txid,
          vout: u.vout,
          value: u.value,
          address,
          scriptPubKey: u.scriptPubKey,
          kind: meta.kind,
          ...(meta.requestId !== undefined ? { requestId: meta.requestId } : {}),
          ...(meta.epoch !== undefined ? { epoch: meta.epoch } : {}),
          confirmations,
          status,
          ...(blockHeight !== undefined ? { blockHeight, blockHash } : {}),
          firstSeenAt: prev?.firstSeenAt ?? this.now(),
        };
        this.deposits.set(k, d);
        if (!prev || prev.status === 'gone' || prev.status === 'spent') {
          emit('seen', d);
          if (status === 'confirmed') emit('confirmed', d);
        } else if (prev.status === 'seen' && status === 'confirmed') emit('confirmed', d);
        else if (prev.status === 'confirmed' && status === 'seen') emit('unconfirmed', d);
        else if (prev.confirmations !== d.confirmations || prev.blockHash !== d.blockHash) changed.add(k);
      }
      // Outputs we knew on this address that the source no longer lists: spent, or gone.
      for (const d of this.deposits.values()) {
        if (d.address !== address || listed.has(key(d.txid, d.vout)) || d.status === 'spent' || d.status === 'gone') continue;
        const os = await this.chain.getOutSpend(d.txid, d.vout);
        if (os.spent) {
          const nd: Deposit = { ...d, status: 'spent', ...(os.txid ? { spentBy: os.txid } : {}) };
          this.deposits.set(key(d.txid, d.vout), nd);
          emit('spent', nd);
          continue;
        }
        const tx = await this.chain.getTx(d.txid);
        if (tx === null) {
          const nd: Deposit = { ...d, status: 'gone', confirmations: 0 };
          delete nd.blockHeight;
          delete nd.blockHash;
          this.deposits.set(key(d.txid, d.vout), nd);
          emit('gone', nd);
        }
        // Known, unspent, yet not listed: the source's address index lags; judge on the next poll.
      }
    }
    this.persist(changed);
    return events;
  }

  private load(): void {
    const db = this.db!;
    for (const w of db.prepare('SELECT address, kind, request_id, epoch FROM deposit_watches').all() as {
      address: string;
      kind: WatchKind;
      request_id: string | null;
      epoch: number | null;
    }[]) {
      this.watches.set(w.address, { kind: w.kind, ...(w.request_id !== null ? { requestId: w.request_id } : {}), ...(w.epoch !== null ? { epoch: w.epoch } : {}) });
    }
    for (const r of db.prepare('SELECT * FROM deposits').all() as Record<string, unknown>[]) {
      const d: Deposit = {
        txid: r.txid as string,
        vout: r.vout as number,
        value: BigInt(r.value as string),
        address: r.address as string,
        scriptPubKey: r.script as string,
        kind: r.kind as WatchKind,
        confirmations: r.confirmations as number,
        status: r.status as DepositStatus,
        firstSeenAt: r.first_seen_at as number,
        ...(r.request_id !== null ? { requestId: r.request_id as string } : {}),
        ...(r.epoch !== null ? { epoch: r.epoch as number } : {}),
        ...(r.block_height !== null ? { blockHeight: r.block_height as number, blockHash: r.block_hash as string } : {}),
        ...(r.spent_by !== null ? { spentBy: r.spent_by as string } : {}),
      };
      this.deposits.set(key(d.txid, d.vout), d);
    }
  }

  private persist(keys: Set<string>): void {
    if (!this.db || keys.size === 0) return;
    const db = this.db;
    const up = db.prepare(`INSERT OR REPLACE INTO deposits
      (txid, vout, value, address, script, kind, request_id, epoch, confirmations, status, block_height, block_hash, spent_by, first_seen_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    db.transaction(() => {
      for (const k of keys) {
        const d = this.deposits.get(k)!;
        up.run(d.txid, d.vout, d.value.toString(), d.address, d.scriptPubKey, d.kind, d.requestId ?? null, d.epoch ?? null, d.confirmations, d.status,
          d.blockHeight ?? null, d.blockHash ?? null, d.spentBy ?? null, d.firstSeenAt);
      }
    })();
  }
}
