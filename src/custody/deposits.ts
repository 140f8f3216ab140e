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
//
// Cost: a poll reads the tip; the addresses are read only when the tip moved (every open address,
// `readConcurrency` at a time), when `mempoolRescanMs` passed (every open address: mempool-only
// changes), or when an address was never read (that address). Block hashes of confirmed outputs
// are remembered across tips (BestChainHashes), so a steady chain costs one tip read per poll
// and one pass per block or per rescan interval, whatever the poll interval.
//
// Expired requests (`lateAfterMs` past their expiry, no funds seen at their address) stay watched
// so that a late deposit is refunded, but their addresses are read only at their slot heights,
// one block in `lateEveryBlocks` (src/custody/late-deposits.ts): reads per block follow the open
// requests plus 1/lateEveryBlocks of the expired ones. After a reorg, a start with no scanned
// tip, or a gap of lateEveryBlocks blocks or more, every address is read. The scanned tip and
// the addresses not read yet survive a restart (SQLite), so a restart reads the open addresses
// and only the slots passed since.
//
// A source that follows addresses in an index of its own (Bitcoin Core's watch-only wallet) is
// told about every address before it is read (chain.watchAddresses, with the time it was first
// watched, so the source can look back that far); it imports each address once.
import { BestChainHashes } from '../chain/best-chain.js';
import type { ChainSource, Tip } from '../chain/types.js';
import type { Db, Migration } from '../store/db.js';
import { MetanodeError } from '../util/errors.js';
import { mapLimit } from '../util/map-limit.js';
import { lateDepositSlot, slotsBetween } from './late-deposits.js';

export type WatchKind = 'deposit' | 'vault';
export type DepositStatus = 'seen' | 'confirmed' | 'spent' | 'gone';

export interface WatchMeta {
  kind: WatchKind;
  requestId?: string;
  epoch?: number;
  /** The request's expiry (unix seconds), for deposit addresses: see `lateAfterMs`. */
  expiry?: number;
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
  {
    // The expiry of a deposit address's request (read on its slot once expired), whether the
    // address still waits for its first read, and the tip the last pass was made at.
    id: 'deposits-002-late',
    sql: `
      ALTER TABLE deposit_watches ADD COLUMN expiry INTEGER;
      ALTER TABLE deposit_watches ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE deposit_scan (id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL, hash TEXT NOT NULL);
    `,
  },
];

const key = (txid: string, vout: number) => `${txid}:${vout}`;

export interface DepositWatcherOptions {
  chain: ChainSource;
  db?: Db;
  minConfirmations?: number;
  now?: () => number;
  /**
   * While the chain tip stays the same, every watched address is re-read at most this often
   * (ms): that is how mempool-only changes (a new unconfirmed deposit, a mempool spend, an
   * evicted transaction) are noticed. A new tip or a reorg always re-reads every address at
   * once. 0 (the default here) re-reads on every poll; a node passes chain.mempoolRescanMs.
   */
  mempoolRescanMs?: number;
  /** Address reads in flight at once during a pass (default 8). */
  readConcurrency?: number;
  /**
   * A deposit address whose request expired at least this long ago (ms), with no funds seen on
   * it, is read only at its slot heights (see lateEveryBlocks). Absent: every address is read at
   * every block. A node passes two rounds, so that every address a round's view counts as open
   * (unexpired at the round start) is read at every block.
   */
  lateAfterMs?: number;
  /** One block in this many is an expired request address's slot (custody.lateDepositEveryBlocks; default 1). */
  lateEveryBlocks?: number;
}

export class DepositWatcher {
  readonly minConfirmations: number;
  readonly mempoolRescanMs: number;
  readonly readConcurrency: number;
  readonly lateAfterMs: number | undefined;
  readonly lateEveryBlocks: number;
  private readonly chain: ChainSource;
  private readonly db?: Db;
  private readonly now: () => number;
  private readonly bestChain: BestChainHashes;
  private watches = new Map<string, WatchMeta>();
  /** When each address was first watched (unix ms). */
  private addedAt = new Map<string, number>();
  private deposits = new Map<string, Deposit>();
  /**
   * Addresses to read on the next poll whatever the tip: watched (or re-watched with new meta)
   * since they were last read, or left with an output the source's index did not list yet. The
   * value is a generation, so a re-watch during a pass is not cleared by that pass.
   */
  private unread = new Map<string, number>();
  private generation = 0;
  /** The tip of the last pass over every open address, and when that pass started. */
  private lastFullPass: { height: number; hash: string; at: number } | null = null;
  private running: Promise<DepositEvent[]> | null = null;

  constructor(opts: DepositWatcherOptions) {
    const min = opts.minConfirmations ?? 1;
    if (!Number.isInteger(min) || min < 1) throw new MetanodeError('INVALID_CONFIG', `minConfirmations must be a positive integer, got ${min}`);
    const rescan = opts.mempoolRescanMs ?? 0;
    if (!Number.isSafeInteger(rescan) || rescan < 0) throw new MetanodeError('INVALID_CONFIG', `mempoolRescanMs must be a non-negative integer (ms), got ${rescan}`);
    const conc = opts.readConcurrency ?? 8;
    if (!Number.isInteger(conc) || conc < 1 || conc > 256) throw new MetanodeError('INVALID_CONFIG', `readConcurrency must be an integer from 1 to 256, got ${conc}`);
    this.minConfirmations = min;
    this.mempoolRescanMs = rescan;
    this.readConcurrency = conc;
    const late = opts.lateAfterMs;
    if (late !== undefined && (!Number.isSafeInteger(late) || late < 0)) throw new MetanodeError('INVALID_CONFIG', `lateAfterMs must be a non-negative integer (ms), got ${late}`);
    const every = opts.lateEveryBlocks ?? 1;
    if (!Number.isInteger(every) || every < 1 || every > 10_000) throw new MetanodeError('INVALID_CONFIG', `lateEveryBlocks must be an integer from 1 to 10000, got ${every}`);
    this.lateAfterMs = late;
    this.lateEveryBlocks = every;
    this.chain = opts.chain;
    this.bestChain = new BestChainHashes(opts.chain);
    this.db = opts.db;
    this.now = opts.now ?? Date.now;
    if (this.db) this.load();
  }

  watch(address: string, meta: WatchMeta): void {
    if (typeof address !== 'string' || address.length === 0) throw new MetanodeError('INVALID_INPUT', 'watch: address is empty');
    if (meta.kind !== 'deposit' && meta.kind !== 'vault') throw new MetanodeError('INVALID_INPUT', `watch: unknown kind ${String(meta.kind)}`);
    if (meta.expiry !== undefined && !Number.isSafeInteger(meta.expiry)) throw new MetanodeError('INVALID_INPUT', `watch: expiry must be an integer (unix seconds), got ${meta.expiry}`);
    const m: WatchMeta = {
      kind: meta.kind,
      ...(meta.requestId !== undefined ? { requestId: meta.requestId } : {}),
      ...(meta.epoch !== undefined ? { epoch: meta.epoch } : {}),
      ...(meta.expiry !== undefined ? { expiry: meta.expiry } : {}),
    };
    const prev = this.watches.get(address);
    if (prev && prev.kind === m.kind && prev.requestId === m.requestId && prev.epoch === m.epoch && prev.expiry === m.expiry) return;
    this.watches.set(address, m);
    if (!this.addedAt.has(address)) this.addedAt.set(address, this.now());
    // A new address, or one that now belongs to something else, is read on the next poll. (The
    // expiry alone changing, as when a watch kept from before it was recorded gets it, needs no read.)
    if (!prev || prev.kind !== m.kind || prev.requestId !== m.requestId || prev.epoch !== m.epoch) this.unread.set(address, ++this.generation);
    this.db
      ?.prepare('INSERT OR REPLACE INTO deposit_watches (address, kind, request_id, epoch, added_at, expiry, unread) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(address, m.kind, m.requestId ?? null, m.epoch ?? null, this.addedAt.get(address)!, m.expiry ?? null, this.unread.has(address) ? 1 : 0);
  }

  /** Whether `address` is currently read only at its slot heights (an expired request's, no funds seen on it). */
  isLate(address: string, at = this.now()): boolean {
    const meta = this.watches.get(address);
    return meta !== undefined && this.lateMeta(meta, at) && !this.fundedAddresses().has(address);
  }

  private lateMeta(meta: WatchMeta, at: number): boolean {
    return this.lateAfterMs !== undefined && meta.kind === 'deposit' && meta.requestId !== undefined && meta.expiry !== undefined && meta.expiry * 1000 + this.lateAfterMs <= at;
  }

  private fundedAddresses(): Set<string> {
    const s = new Set<string>();
    for (const d of this.deposits.values()) if (d.status === 'seen' || d.status === 'confirmed') s.add(d.address);
    return s;
  }

  /** Stops following an address; what was seen on it stays listed. */
  unwatch(address: string): void {
    this.watches.delete(address);
    this.addedAt.delete(address);
    this.unread.delete(address);
    this.db?.prepare('DELETE FROM deposit_watches WHERE address = ?').run(address);
  }

  watched(): { address: string; meta: WatchMeta }[] {
    return [...this.watches].map(([address, meta]) => ({ address, meta: { ...meta } }));
  }

  /** Value of an output this watcher has seen (any status), null when unknown. */
  valueOf(txid: string, vout: number): bigint | null {
    return this.deposits.get(key(txid, vout))?.value ?? null;
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

  /**
   * Brings the deposits up to date; returns what changed. Every open watched address is read
   * when the tip moved (new block, reorg) since the last pass, or mempoolRescanMs after it, and
   * expired requests' addresses when the tip passed their slot heights (all of them after a
   * reorg); addresses not read yet are read on any poll. Concurrent calls share one pass.
   */
  poll(): Promise<DepositEvent[]> {
    this.running ??= this.pollOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pollOnce(): Promise<DepositEvent[]> {
    const startedAt = this.now();
    const tip = await this.chain.getTip();
    const last = this.lastFullPass;
    // (A clock set back counts as due: the wall clock must not be able to stall the rescans.)
    const due = last === null || startedAt - last.at >= this.mempoolRescanMs || startedAt < last.at;
    const moved = last === null || last.height !== tip.height || last.hash !== tip.hash;
    const full = due || moved;
    try {
      // Expired requests' addresses due in this pass: none while the tip stays; those whose slot
      // heights the tip passed when it extends the last pass's chain; every one otherwise.
      let lateSlots: Set<number> | null | 'none' = 'none';
      if (moved) {
        lateSlots = null;
        if (last !== null && tip.height > last.height) {
          await this.bestChain.follow(tip);
          if ((await this.bestChain.hashAt(last.height)) === last.hash) lateSlots = slotsBetween(last.height, tip.height, this.lateEveryBlocks);
        }
      }
      const funded = this.fundedAddresses();
      const toRead = [...this.watches].filter(([address, meta]) => {
        if (this.unread.has(address)) return true;
        if (!full) return false;
        if (!this.lateMeta(meta, startedAt) || funded.has(address)) return true;
        return lateSlots !== 'none' && (lateSlots === null || lateSlots.has(lateDepositSlot(meta.requestId!, this.lateEveryBlocks)));
      });
      const generations = new Map(toRead.map(([address]) => [address, this.unread.get(address)]));
      const { events, recheck } = await this.pass(tip, toRead, full, moved);
      if (full) this.lastFullPass = { height: tip.height, hash: tip.hash, at: startedAt };
      const read: string[] = [];
      for (const [address, gen] of generations) {
        if (gen !== undefined && this.unread.get(address) === gen) {
          this.unread.delete(address);
          read.push(address);
        }
      }
      for (const address of recheck) if (this.watches.has(address)) this.unread.set(address, ++this.generation);
      this.persistUnread(read, [...recheck].filter((a) => this.watches.has(a)));
      return events;
    } catch (e) {
      // A header read may have been answered from a chain other than `tip`'s: trust none of them.
      this.bestChain.reset();
      throw e;
    }
  }

  /**
   * Reads `toRead` (in parallel, bounded) and judges what each lists, in watch order so the
   * events come out the same whatever order the reads finish in. Works on a copy of the deposit
   * map that replaces it only once the SQLite transaction went through: a pass that fails half
   * way leaves memory and database as they were, and the next poll tries again.
   */
  private async pass(tip: Tip, toRead: [string, WatchMeta][], full: boolean, moved: boolean): Promise<{ events: DepositEvent[]; recheck: Set<string> }> {
    const events: DepositEvent[] = [];
    const recheck = new Set<string>();
    if (toRead.length === 0) {
      if (moved) this.persist(this.deposits, new Set(), tip);
      return { events, recheck };
    }
    await this.bestChain.follow(tip);
    if (this.chain.watchAddresses) {
      await this.chain.watchAddresses(toRead.map(([address]) => ({ address, since: Math.floor((this.addedAt.get(address) ?? this.now()) / 1000) })));
    }
    const lists = await mapLimit(toRead, this.readConcurrency, ([address]) => this.chain.getAddressUtxos(address));

    const next = new Map(this.deposits);
    const byAddress = new Map<string, Deposit[]>();
    for (const d of next.values()) {
      const l = byAddress.get(d.address);
      if (l) l.push(d);
      else byAddress.set(d.address, [d]);
    }
    const changed = new Set<string>();
    const heights = new Set<number>();
    const emit = (type: DepositEventType, d: Deposit) => {
      events.push({ type, deposit: { ...d } });
      changed.add(key(d.txid, d.vout));
    };

    for (let i = 0; i < toRead.length; i++) {
      const [address, meta] = toRead[i];
      const listed = new Set<string>();
      for (const u of lists[i]) {
        const k = key(u.txid, u.vout);
        listed.add(k);
        let confirmations = 0;
        let blockHeight: number | undefined;
        let blockHash: string | undefined;
        if (u.status.confirmed && u.status.blockHeight !== undefined && u.status.blockHash !== undefined) {
          heights.add(u.status.blockHeight);
          if (await this.bestChain.contains(u.status.blockHeight, u.status.blockHash)) {
            confirmations = tip.height - u.status.blockHeight + 1;
            blockHeight = u.status.blockHeight;
            blockHash = u.status.blockHash;
          }
        }
        const status: DepositStatus = confirmations >= this.minConfirmations ? 'confirmed' : 'seen';
        const prev = next.get(k);
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
        next.set(k, d);
        if (!prev || prev.status === 'gone' || prev.status === 'spent') {
          emit('seen', d);
          if (status === 'confirmed') emit('confirmed', d);
        } else if (prev.status === 'seen' && status === 'confirmed') emit('confirmed', d);
        else if (prev.status === 'confirmed' && status === 'seen') emit('unconfirmed', d);
        else if (prev.confirmations !== d.confirmations || prev.blockHash !== d.blockHash) changed.add(k);
      }
      // Outputs we knew on this address that the source no longer lists: spent, or gone.
      for (const d of byAddress.get(address) ?? []) {
        if (listed.has(key(d.txid, d.vout)) || d.status === 'spent' || d.status === 'gone') continue;
        const os = await this.chain.getOutSpend(d.txid, d.vout);
        if (os.spent) {
          const nd: Deposit = { ...d, status: 'spent', ...(os.txid ? { spentBy: os.txid } : {}) };
          next.set(key(d.txid, d.vout), nd);
          emit('spent', nd);
          continue;
        }
        const tx = await this.chain.getTx(d.txid);
        if (tx === null) {
          const nd: Deposit = { ...d, status: 'gone', confirmations: 0 };
          delete nd.blockHeight;
          delete nd.blockHash;
          next.set(key(d.txid, d.vout), nd);
          emit('gone', nd);
          continue;
        }
        // Known, unspent, yet not listed: the source's address index lags; judge on the next poll.
        recheck.add(address);
      }
    }
    // Header reads are answered at the source's tip of the moment; if that moved during the
    // pass some may belong to another chain than `tip`'s. The results stand (the next poll sees
    // the new tip and redoes the pass), the remembered hashes do not.
    if (this.bestChain.takeReads() > 0) {
      const after = await this.chain.getTip();
      if (after.height !== tip.height || after.hash !== tip.hash) this.bestChain.reset();
    }
    if (full) this.bestChain.retain(heights);
    this.persist(next, changed, moved ? tip : undefined);
    this.deposits = next;
    return { events, recheck };
  }

  private load(): void {
    const db = this.db!;
    for (const w of db.prepare('SELECT address, kind, request_id, epoch, added_at, expiry, unread FROM deposit_watches ORDER BY rowid').all() as {
      address: string;
      kind: WatchKind;
      request_id: string | null;
      epoch: number | null;
      added_at: number;
      expiry: number | null;
      unread: number;
    }[]) {
      this.addedAt.set(w.address, w.added_at);
      this.watches.set(w.address, {
        kind: w.kind,
        ...(w.request_id !== null ? { requestId: w.request_id } : {}),
        ...(w.epoch !== null ? { epoch: w.epoch } : {}),
        ...(w.expiry !== null ? { expiry: w.expiry } : {}),
      });
      if (w.unread) this.unread.set(w.address, ++this.generation);
    }
    // The tip of the last pass: a restart reads the open addresses (a mempool rescan is due) and
    // the expired requests' addresses whose slots passed since, not every address.
    const scan = db.prepare('SELECT height, hash FROM deposit_scan WHERE id = 1').get() as { height: number; hash: string } | undefined;
    if (scan) this.lastFullPass = { height: scan.height, hash: scan.hash, at: 0 };
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

  private persistUnread(read: string[], unread: string[]): void {
    if (!this.db || (read.length === 0 && unread.length === 0)) return;
    const set = this.db.prepare('UPDATE deposit_watches SET unread = ? WHERE address = ?');
    this.db.transaction(() => {
      for (const a of read) if (!this.unread.has(a)) set.run(0, a);
      for (const a of unread) set.run(1, a);
    })();
  }

  /** Writes the changed deposits and, after a pass at a new tip, that tip, in one transaction. */
  private persist(deposits: Map<string, Deposit>, keys: Set<string>, scanned?: Tip): void {
    if (!this.db || (keys.size === 0 && !scanned)) return;
    const db = this.db;
    const up = db.prepare(`INSERT OR REPLACE INTO deposits
      (txid, vout, value, address, script, kind, request_id, epoch, confirmations, status, block_height, block_hash, spent_by, first_seen_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    db.transaction(() => {
      for (const k of keys) {
        const d = deposits.get(k)!;
        up.run(d.txid, d.vout, d.value.toString(), d.address, d.scriptPubKey, d.kind, d.requestId ?? null, d.epoch ?? null, d.confirmations, d.status,
          d.blockHeight ?? null, d.blockHash ?? null, d.spentBy ?? null, d.firstSeenAt);
      }
      if (scanned) db.prepare('INSERT OR REPLACE INTO deposit_scan (id, height, hash) VALUES (1, ?, ?)').run(scanned.height, scanned.hash);
    })();
  }
}
